"""The certificate's «Движение средств» reads as a statement: each movement says what it is (the
contract's number, the month in words) and shows the balances it left, with its change beneath —
a reserve no longer reads as «Доступно −7 500,00 ₽» alone."""
import re

from certapp.common.money import format_rub
from certapp.db import db
from certapp.ledger import services as ledger
from tests import factories


def _cells(html: str) -> list[list[str]]:
    table = html[html.index('class="table small statement"'):]
    table = table[:table.index("</table>")]
    rows = re.findall(r"<tr>(.*?)</tr>", table, re.S)[1:]
    return [[re.sub(r"<[^>]+>", " ", cell).split() for cell in re.findall(r"<td[^>]*>(.*?)</td>", row, re.S)]
            for row in rows]


def test_the_statement_shows_what_each_movement_is_and_the_balance_after_it(app, users, login):
    factories.make_provider(users["provider"], users["department"])
    program = factories.make_program(users["provider"], users["department"])
    certificate = factories.make_certificate(parent=users["parent"], department=users["department"])
    contract = factories.make_contract(certificate, users["provider"], program)
    db.session.commit()
    lines = ledger.statement(certificate.id)
    assert [line.entry.kind for line in lines] == ["issue", "reserve"]
    nominal, reserved = lines[0].available, lines[1].reserved
    assert lines[1].available == nominal - reserved and reserved > 0

    page = login(users["parent"]).get(f"/certificates/{certificate.id}").get_data(as_text=True)
    assert "остаток после операции" in page
    rows = _cells(page)
    issue, reserve = (" ".join(" ".join(cell) for cell in row) for row in rows)
    assert issue.startswith(rows[0][0][0]) and "Выдача сертификата" in issue
    assert f"Резерв по договору договор {contract.number}" in reserve
    def money(kopecks):  # as the page writes it, its no-break spaces read as spaces
        return " ".join(format_rub(kopecks).split())
    # Доступно: the balance after the reserve, and beneath it the change; the same for the reserve
    assert " ".join(rows[1][3]) == f"{money(nominal - reserved)} {money(-reserved)}"
    assert " ".join(rows[1][4]) == f"{money(reserved)} +{money(reserved)}"
