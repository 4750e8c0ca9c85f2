"""Every role's pages open on the demo dataset without an error: the screens have real data to show."""
from datetime import timedelta

import pytest
from sqlalchemy import select, text

from certapp.accounts.models import User
from certapp.db import db
from certapp.demo import load_demo
from certapp.uow import transaction
from tests.factories import current_period
from tests.shared import shared_fixture

PAGES = {
    None: ["/", "/catalog", "/catalog/1", "/registry/", "/registry/export.csv", "/reference/directions", "/verify",
           "/.well-known/jwks.json", "/api/v1/openapi.json", "/open", "/open/04624000", "/open/04624000/registry",
           "/open/04624000/catalog", "/open/04624000/catalog/meta"],
    "parent": ["/", "/children", "/certificates/", "/certificates/1", "/certificates/1/print", "/certificates/apply",
               "/certificates/applications", "/enrollments", "/contracts", "/contracts/1", "/reports/feedback",
               "/enroll/1", "/account/profile", "/children/1/edit", "/contracts/1/print", "/children/1/health"],
    "provider": ["/", "/registry/applications", "/provider/programs", "/enrollments", "/contracts", "/contracts/1",
                 "/reports/feedback", "/provider/programs/new", "/matters", "/contracts/1/print", "/monitoring/",
                 "/monitoring/visits/1"],
    "department": ["/", "/registry/review", "/registry/applications/1", "/programs/review", "/certificates/queue",
                   "/certificates/holders", "/certificates/on-behalf", "/certificates/1", "/children/corrections", "/contracts", "/audit/",
                   "/reports/social-orders", "/reports/social-orders/1", "/reports/execution",
                   "/reports/indicators", "/reports/feedback", "/bookkeeping/agreements", "/bookkeeping/registers",
                   "/bookkeeping/reconciliation", "/reference/periods", "/reference/service-codes", "/registry/entries/1",
                   "/matters", "/matters?overdue=1", "/publication", "/imports", "/registry/applications/1/print",
                   "/reports/social-orders/1/print", "/reports/execution/print", "/certificates/1/print",
                   "/certificates/applications/1/print", "/monitoring/", "/monitoring/checklist",
                   "/monitoring/visits/1", "/monitoring/staff"],
    "bookkeeping": ["/", "/bookkeeping/agreements", "/bookkeeping/agreements/1", "/bookkeeping/registers",
                    "/bookkeeping/registers/1", "/bookkeeping/reconciliation", "/certificates/holders",
                    "/reports/execution", "/contracts", "/matters", "/bookkeeping/invoices",
                    "/bookkeeping/agreements/1/print"],
    "moc": ["/", "/monitoring/", "/monitoring/?year=2026", "/monitoring/checklist", "/monitoring/visits/new",
            "/monitoring/visits/1", "/account/profile", "/notifications"],
}
EMAILS = {"parent": "ivanova@karatuz.demo", "provider": "cdt@karatuz.demo", "department": "uo@karatuz.demo",
          "bookkeeping": "buh@karatuz.demo", "moc": "moc@karatuz.demo"}


def _ids_from_one() -> None:
    """The pages above name the demo's rows by id (…/1). On PostgreSQL the rolled-back tests before this
    one used ids up (a sequence is not rolled back): the empty tables' sequences start again at 1."""
    if db.engine.dialect.name != "postgresql":
        return
    for table in db.metadata.sorted_tables:
        if "id" in table.c and db.session.execute(select(table.c.id).limit(1)).first() is None:
            sequence = db.session.execute(text("SELECT pg_get_serial_sequence(:table, 'id')"),
                                          {"table": table.name}).scalar()
            if sequence:
                db.session.execute(text(f"ALTER SEQUENCE {sequence} RESTART"))


def _demo():
    """The demo's logins by email (the demo built once per module and database: tests/shared.py)."""
    _ids_from_one()
    with transaction():
        logins = load_demo(today=current_period().starts_on + timedelta(days=80))
    return {email: password for _, email, password in logins}


demo = shared_fixture(_demo)


@pytest.mark.parametrize("role", list(PAGES))
def test_every_page_of_a_role_opens_on_the_demo_data(app, demo, role):
    client = app.test_client()
    if role:
        assert client.post("/account/login", data={"email": EMAILS[role],
                                                    "password": demo[EMAILS[role]]}).status_code == 302
        assert db.session.execute(db.select(User).where(User.email == EMAILS[role])).scalar_one().role == role
    for path in PAGES[role]:
        response = client.get(path)
        assert response.status_code == 200, (role, path, response.status_code)


#: the second district's officials and the regional operator, on pages that must show their data
SECOND_DISTRICT = {
    "uo@kuragino.demo": {"/certificates/holders": "30-2627-000001", "/reports/social-orders": "Утверждён",
                         "/registry/admissions": "ЦДТ", "/reports/indicators": "Показатели",
                         "/contracts": "Робототехника", "/": "Курагинский район"},
    "buh@kuragino.demo": {"/bookkeeping/agreements": "ЦДТ", "/bookkeeping/registers": "ЦДТ",
                          "/bookkeeping/reconciliation": "ЦДТ", "/": "Курагинский район"},
    "region@krai.demo": {"/": "Курагинский район", "/reports/region": "Регион, всего",
                         "/certificates/holders?municipality=04630000": "30-2627-000001",
                         "/certificates/holders?municipality=04624000": "24-2627-000001",
                         "/reports/execution": "Отчёт об исполнении социального заказа", "/audit/": "Журнал",
                         "/monitoring/region": "Регион, всего", "/monitoring/staff?municipality=04624000": "Григорьева"},
}


@pytest.mark.parametrize("email", list(SECOND_DISTRICT))
def test_the_second_district_and_the_region_see_their_data_on_their_pages(app, demo, email):
    client = app.test_client()
    assert client.post("/account/login", data={"email": email, "password": demo[email]}).status_code == 302
    for path, expected in SECOND_DISTRICT[email].items():
        response = client.get(path)
        assert response.status_code == 200 and expected in response.get_data(as_text=True), (email, path)
