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
