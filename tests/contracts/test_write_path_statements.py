"""The statements one signing and one month report send to the database, counted (never timed): the
write path stays as short as issue 26 left it (README, «Benchmark: contracts under concurrent load»).
A change that adds a round trip to either fails here and must say why, with the new count.

Each request runs as in production: a token, the view's unit of work committed on the real database,
a session that holds nothing from before (hence `commits`)."""
import pytest
from sqlalchemy import event

from certapp.common.months import add_months
from certapp.db import db
from tests.factories import make_contract

pytestmark = pytest.mark.commits

#: statements of one signing: the token; the contract locked, with its document and the certificate's
#: balance; its months; the contract's UPDATE and its audit event (flushed by the notification), the
#: provider's notification, its recipients, the letter, the offer's notices settled; the ledger entry
#: (its key decides a retry) and the balance's guarded UPDATE; at the commit the chain's lock (SQLite:
#: BEGIN IMMEDIATE at the start instead) and head, the entry's audit event inserted sealed and the
#: contract's sealed, and the public pages' data stamp
SIGN = {"postgresql": 16, "sqlite": 16}
#: statements of one month report: the token and the provider; the contract locked with its program and
#: parent; its months; the month's advance; the spending entry and the balance's UPDATE; the report (its
#: unique index decides a repeat); the month's status and the two audit events, the parent's notification,
#: its recipient and letter; unreported months left (the provider's, then the municipality's: this is the
#: only contract, so both notices are settled); at the commit the chain's lock (or BEGIN IMMEDIATE) and
#: head, and the events sealed
REPORT = {"postgresql": 21, "sqlite": 21}


def _statements(client, url: str, body: dict) -> tuple[list[str], object]:
    db.session.commit()
    db.session.expunge_all()
    statements: list[str] = []

    def count(_conn, _cursor, statement, *_):
        statements.append(" ".join(statement.split())[:120])

    event.listen(db.engine, "before_cursor_execute", count)
    try:
        response = client.post(url, json=body)
    finally:
        event.remove(db.engine, "before_cursor_execute", count)
    return statements, response


def test_a_signing_and_a_month_report_send_no_more_statements_than_counted(app, api, setup):
    dialect = db.engine.dialect.name
    contract = make_contract(setup["certificate"], setup["provider"], setup["program"], sign=False)
    contract_id, month = contract.id, contract.start_month
    parent, provider = api(setup["parent"]), api(setup["provider"])

    signing, response = _statements(parent, f"/api/v1/contracts/{contract_id}/sign", {})
    assert response.status_code == 200, response.get_data(as_text=True)
    assert len(signing) == SIGN[dialect], "\n".join(signing)

    app.config["CLOCK_NOW"] = f"{add_months(month, 1):%Y-%m}-03"  # the month is over: it can be reported
    report, response = _statements(provider, f"/api/v1/contracts/{contract_id}/reports",
                                   {"month": f"{month:%Y-%m}", "delivered": True})
    assert response.status_code == 201, response.get_data(as_text=True)
    assert len(report) == REPORT[dialect], "\n".join(report)
