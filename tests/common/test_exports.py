"""Exports never hand a spreadsheet a formula written by a user (CSV injection)."""
import csv
import io

import pytest
from openpyxl import load_workbook

from certapp.common.exports import Money, csv_response, xlsx_bytes

DANGEROUS = ["=HYPERLINK(\"http://evil\";\"x\")", "+7 913", "-2+3", "@SUM(A1)", "\tTab"]


@pytest.mark.parametrize("text", DANGEROUS)
def test_csv_cells_that_look_like_formulas_are_neutralised(app, text):
    response = csv_response(["Название"], [[text, Money(-150), 5]], "x.csv")
    rows = list(csv.reader(io.StringIO(response.get_data(as_text=True).lstrip("\ufeff")), delimiter=";"))
    assert rows[1] == ["'" + text, "-1,50", "5"]


@pytest.mark.parametrize("text", DANGEROUS)
def test_xlsx_cells_that_look_like_formulas_stay_text(text):
    book = load_workbook(io.BytesIO(xlsx_bytes([("Лист", ["Название", "Сумма"], [[text, Money(100)]], (1,))])))
    sheet = book.active
    assert sheet["A2"].value == text
    assert sheet["A2"].data_type == "s"
    assert sheet["B3"].data_type == "f"  # the total row stays the app's own formula


def test_a_csv_read_from_a_server_side_cursor_arrives_whole(database_url):
    """A download read in batches (yield_per: a named cursor on PostgreSQL) is written while the
    request's session is open: the session closes when the view returns, and a cursor fetched after
    that is gone (the holders' register broke so past its first 1 000 rows)."""
    from sqlalchemy import text

    from certapp.accounts.access import public
    from certapp.common.exports import csv_response
    from certapp.db import db
    from tests.conftest import make_app

    app = make_app(database_url)

    @app.route("/series.csv")
    @public
    def series():
        rows = db.session.execute(text("WITH RECURSIVE s(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM s WHERE n < 2500) "
                                       "SELECT n, 'строка ' || n FROM s ORDER BY n"),
                                  execution_options={"yield_per": 100})
        return csv_response(["n", "text"], rows, "series.csv")

    response = app.test_client().get("/series.csv")  # a request of its own, as on a server (no test context)
    lines = response.get_data().decode("utf-8-sig").splitlines()
    with app.app_context():
        db.engine.dispose()
    assert response.status_code == 200 and len(lines) == 2501 and lines[-1] == "2500;строка 2500"
    assert response.headers["Content-Type"] == "text/csv; charset=utf-8"  # one charset, not two
