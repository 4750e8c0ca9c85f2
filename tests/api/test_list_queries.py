"""No list of the API whose query count grows with its rows: each list GET is read with one row of its
kind and again with fifty (MANY), and runs the same number of SQL statements both times.

The test client shares the test's session, whose identity map would answer lazy loads without a
query and hide an N+1: the session is emptied before each measured request."""
import itertools
import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, timedelta

import pytest
from sqlalchemy import event, func, select

from certapp.accounts.models import User
from certapp.audit.services import record_event
from certapp.certificates import services as certificates
from certapp.db import db
from certapp.reporting.services import create_order
from tests.factories import (
    child_data,
    current_period,
    make_certificate,
    make_contract,
    make_program,
    make_provider,
    make_token,
    make_user,
    this_month,
)

#: the larger list: a statement per row would show as 49 more
MANY = 50
_numbers = itertools.count(1)


@dataclass
class World:
    """The ids of the accounts a list is read and filled by; `user(role)` loads one into the session."""

    ids: dict
    monkeypatch: pytest.MonkeyPatch

    def user(self, role: str) -> User:
        return db.session.get(User, self.ids[role])

    def counter(self, name: str, start: int):
        """This test's own sequence (years, days) starting at `start`."""
        return self.ids.setdefault(f"{name} counter", itertools.count(start))


@dataclass
class Listing:
    #: the list's address (or what makes it from the world, when it names a row of the test's own)
    url: str | Callable[[World], str]
    #: whose token reads the list (None: anyone, no token)
    reader: str | None
    #: adds one row the reader sees
    add: Callable[[World], object]
    #: the rows of the larger read: fewer where a row costs a whole month of bookkeeping or the rows
    #: are few by nature (a year's formed reports); any count above one shows a statement per row
    many: int = MANY
    #: the list's path in the OpenAPI document, when `url` is made from the world
    path: str | None = None


def _provider_world(world: World) -> World:
    if "executor" not in world.ids:  # users' "provider" is not in the registry
        executor, _ = make_provider(department=world.user("department"))
        world.ids["executor"] = executor.id
    return world


def _program(world: World):
    _provider_world(world)
    return make_program(world.user("executor"), world.user("department"), title=f"Программа {next(_numbers)}")


def _contract(world: World):
    _provider_world(world)
    if "program" not in world.ids:  # one program with room for everyone
        world.ids["program"] = make_program(world.user("executor"), world.user("department"), capacity=MANY,
                                             max_group_size=MANY).id
    from certapp.programs.models import Program

    certificate = make_certificate(world.user("parent"), world.user("department"))
    return make_contract(certificate, world.user("executor"), program=db.session.get(Program, world.ids["program"]))


def _application(world: World):
    parent = world.user("parent")
    child = certificates.add_child(parent, child_data())
    return certificates.apply(parent, child.id, current_period().id, True)


def _queued_certificate(world: World):
    """A certificate of accounting waiting in the queue: the default category has no funded place."""
    if "no places" not in world.ids:
        current_period().categories[0].funded_limit = 0
        db.session.flush()
        world.ids["no places"] = True
    return make_certificate(world.user("parent"), world.user("department"))


def _correction(world: World):
    """A parent's request to correct the record of a child with a certificate."""
    certificate = make_certificate(world.user("parent"), world.user("department"))
    return certificates.request_correction(certificate.child_id, world.user("parent"),
                                           {**child_data(), "last_name": "Петров", "snils": ""})


def _direction(world: World):
    from certapp.reference.models import Direction

    n = next(_numbers)
    direction = Direction(code=f"extra{n}", name=f"Направление {n}", service_code=f"9{n:05d}")
    db.session.add(direction)
    return direction


def _period(world: World):
    from certapp.reference.services import create_period

    year = next(world.counter("year", 2040))
    return create_period(code=f"{year}/{(year + 1) % 100:02d}", name=f"{year} учебный год", starts_on=date(year, 9, 1),
                         ends_on=date(year + 1, 8, 31), nominal=15_000_00, actor=world.user("department"))


def _category(world: World):
    from certapp.reference.services import create_category

    n = next(_numbers)
    return create_category(current_period().id, {"name": f"Категория {n}", "age_from": 5, "age_to": 17,
                                                 "nominal": 10_000_00, "funded_limit": n}, world.user("department"))


def _notification(world: World):
    from certapp.notifications.services import notify

    return notify("certificate", f"Уведомление {next(_numbers)}", user_id=world.ids["parent"])


def _holiday(world: World):
    from certapp.deadlines.services import add_holiday

    return add_holiday(date(2031, 1, 1) + timedelta(days=next(world.counter("day", 0))), "holiday", "Праздник",
                       world.user("department"))


def _enrollment(world: World):
    from certapp.contracts import enrollments as contracts

    _provider_world(world)
    if "program" not in world.ids:
        world.ids["program"] = make_program(world.user("executor"), world.user("department"), capacity=MANY,
                                             max_group_size=MANY).id
    from certapp.programs.models import Program

    group = db.session.get(Program, world.ids["program"]).groups[0]
    certificate = make_certificate(world.user("parent"), world.user("department"))
    return contracts.request_enrollment(world.user("parent"), certificate.id, group.id, this_month())


def _staff_request(world: World):
    """An account asks to act for a provider admitted in the department's municipality."""
    from certapp.registry.services import provider_of, request_staff_access

    _provider_world(world)
    return request_staff_access(make_user("provider"), provider_of(world.user("executor")).inn)


def _publication(world: World):
    """The indicators of another year (an unchanged set is not published again), published by another
    official of the municipality each time."""
    from certapp.publication.models import Publication
    from certapp.publication.services import publish

    department = world.user("department")
    year = 2030 + db.session.execute(select(func.count()).select_from(Publication)).scalar_one()
    return publish("indicators", make_user("department", municipality_id=department.municipality_id), year=year)


def _import_batch(world: World):
    """A dry run of a certificates file by the municipality's official."""
    from certapp.imports.services import template_rows, upload

    headers, rows = template_rows("certificates")
    content = ("\ufeff" + ";".join(headers) + "\n" + ";".join(rows[0]) + "\n").encode()
    return upload(world.user("department"), "certificates", "c.csv", content, dry_run=True)


def _moc(world: World) -> User:
    """The support centre of the department's municipality, made once per test."""
    if "moc" not in world.ids:
        world.ids["moc"] = make_user("moc", municipality_id=world.user("department").municipality_id).id
    return world.user("moc")


def _checklist_item(world: World):
    from certapp.monitoring.services import add_item

    return add_item(f"Пункт {next(_numbers)}", 1, _moc(world))


def _visit(world: World):
    """A visit to the executor's organisation, checked against a one-item checklist."""
    from certapp.monitoring.services import active_items, add_item, record_visit

    _provider_world(world)
    moc = _moc(world)
    items = active_items(moc.municipality_id) or [add_item("Расписание соответствует каталогу", 1, moc)]
    return record_visit(moc, provider_id=world.user("executor").provider_id, visited_on=date(2026, 11, 2),
                        results={item.id: ("met", f"<b>{next(_numbers)}</b>") for item in items}, today=date(2026, 12, 1))


def _municipality(world: World):
    from certapp.reference.services import create_municipality

    n = next(world.counter("municipality", 30))
    return create_municipality(name=f"Муниципальный округ № {n}", oktmo=f"9{n:07d}", number_code=f"{n:02d}")


def _deadline_kind(world: World):
    """The rules are the kinds of deadlines the code knows: one more kind, for this test only."""
    from certapp.deadlines.models import DEADLINE_KINDS

    n = next(_numbers)
    world.monkeypatch.setitem(DEADLINE_KINDS, f"extra_{n}", (f"Срок {n}", "working_days", 5))


def _published_set(world: World):
    """A municipality's indicators of one more year: a set of its own."""
    from certapp.publication.services import publish

    return publish("indicators", world.user("department"), year=next(world.counter("indicators year", 2030)))


def _open_sets_url(world: World) -> str:
    from certapp.reference.services import get_district

    return f"/api/v1/open/{get_district().oktmo}"


def _ledger_entry(world: World):
    """One more movement of one certificate's money (a rouble reserved)."""
    from certapp.ledger import services as ledger

    if "ledger certificate" not in world.ids:
        world.ids["ledger certificate"] = make_certificate(world.user("parent"), world.user("department")).id
    n = next(_numbers)
    return ledger.reserve(world.ids["ledger certificate"], 100, f"test:{n}", contract_id=None)  # type: ignore[arg-type]


def _ledger_url(world: World) -> str:
    if "ledger certificate" not in world.ids:
        _ledger_entry(world)
    return f"/api/v1/certificates/{world.ids['ledger certificate']}/ledger"


def _child_due_for_anonymisation(world: World):
    """A child applied for in the municipality, whose record was made long ago and never used since
    (no certificate): its retention period is over."""
    from datetime import UTC, datetime

    child = _application(world).child
    child.created_at = datetime(2001, 1, 1, tzinfo=UTC)
    db.session.flush()
    return child


def _formed_report(world: World):
    """The year's execution report formed once more: its next version."""
    from certapp.common import clock
    from certapp.reporting.services import form_execution_report

    return form_execution_report(clock.today().year, None, world.user("department"))


def _formed_url(world: World) -> str:
    from certapp.common import clock

    return f"/api/v1/reports/execution/formed?year={clock.today().year}"


def _bookkeeping_world(world: World) -> World:
    """The executor with an agreement in force from 2020 and a contract reported for the period's first
    month (dated at the period's start, whatever today is)."""
    if "agreement" in world.ids:
        return world
    from sqlalchemy import select

    from certapp.bookkeeping import agreements
    from certapp.bookkeeping.models import Agreement
    from certapp.common.months import add_months
    from certapp.contracts import service_reports

    _provider_world(world)
    executor, bookkeeper = world.user("executor"), world.user("bookkeeping")
    start = current_period().starts_on
    program = make_program(executor, world.user("department"))
    certificate = make_certificate(world.user("parent"), world.user("department"), today=start)
    contract = make_contract(certificate, executor, program=program, today=start)
    service_reports.report_month(contract.id, executor, start, True, today=add_months(start, 1))
    agreement = db.session.execute(select(Agreement).where(Agreement.provider_id == executor.provider_id)).scalar_one()
    agreements.conclude_agreement(agreement.id, bookkeeper, date(2020, 1, 1), None)
    agreements.accept_agreement(agreement.id, executor)
    world.ids["agreement"] = agreement.id
    return world


def _agreement(world: World):
    """A provider admitted to the registry: its draft agreement."""
    return make_provider(department=world.user("department"))


def _register(world: World):
    """The month's register built; the one before it rejected, so that the month is built again."""
    from certapp.bookkeeping import registers
    from certapp.common.months import add_months

    _bookkeeping_world(world)
    start, bookkeeper = current_period().starts_on, world.user("bookkeeping")
    if "register" in world.ids:
        registers.reject_register(world.ids["register"], bookkeeper, "Повторное формирование")
    register = registers.build_register(world.user("executor").provider_id, start, bookkeeper,
                                        today=add_months(start, 1))
    world.ids["register"] = register.id
    return register


def _invoice(world: World):
    """An advance invoice for the contract's next month (the first is spent: reported)."""
    from certapp.bookkeeping import invoices
    from certapp.common.months import add_months

    _bookkeeping_world(world)
    start = current_period().starts_on
    month = add_months(start, next(world.counter("invoice month", 1)))
    return invoices.form_invoice("advance", world.user("executor").provider_id, month, world.user("bookkeeping"),
                                 today=add_months(start, 9))


def _agreement_report(world: World):
    """The provider's report on its agreement for one more quarter (from 2020 on: all of them over)."""
    from certapp.bookkeeping.agreement_reports import form_agreement_report

    _bookkeeping_world(world)
    n = next(world.counter("quarter", 0))
    return form_agreement_report(world.user("executor"), world.ids["agreement"], 2020 + n // 4, n % 4 + 1)


def _feedback(world: World):
    """A parent's rating of a delivered month of a contract of their own."""
    from certapp.common.months import add_months
    from certapp.contracts import service_reports
    from certapp.reporting.services import leave_feedback

    _provider_world(world)
    if "program" not in world.ids:
        world.ids["program"] = make_program(world.user("executor"), world.user("department"), capacity=MANY,
                                             max_group_size=MANY).id
    from certapp.programs.models import Program

    start = current_period().starts_on
    certificate = make_certificate(world.user("parent"), world.user("department"), today=start)
    contract = make_contract(certificate, world.user("executor"), program=db.session.get(Program, world.ids["program"]),
                             today=start)
    service_reports.report_month(contract.id, world.user("executor"), start, True, today=add_months(start, 1))
    return leave_feedback(world.user("parent"), contract.id, start, 5, None)


LISTINGS = {
    "account tokens": Listing("/api/v1/account/tokens", "parent", lambda w: make_token(w.user("parent"))),
    "audit events": Listing("/api/v1/audit-events?object_type=Thing", "department",
                            lambda w: record_event("thing.touch", ("Thing", next(_numbers)), actor=w.user("department"))),
    "notifications": Listing("/api/v1/notifications", "parent", _notification),
    "holidays": Listing("/api/v1/deadlines/holidays?year=2031", "department", _holiday),
    "registry entries": Listing("/api/v1/registry/entries", None, lambda w: make_provider(department=w.user("department"))),
    "registry applications": Listing("/api/v1/registry/applications", "department",
                                     lambda w: make_provider(department=w.user("department"))),
    "admissions": Listing("/api/v1/registry/admissions", "department",
                          lambda w: make_provider(department=w.user("department"))),
    "catalog": Listing(f"/api/v1/programs/catalog?page_size={MANY}", None, _program),
    "programs": Listing("/api/v1/programs?status=published", "department", _program),
    "children": Listing("/api/v1/certificates/children", "parent",
                        lambda w: certificates.add_child(w.user("parent"), child_data())),
    "certificate applications": Listing("/api/v1/certificates/applications", "parent", _application),
    "certificate queue": Listing("/api/v1/certificates/applications?status=submitted", "department", _application),
    "certificates": Listing("/api/v1/certificates", "department",
                            lambda w: make_certificate(w.user("parent"), w.user("department"))),
    "own certificates": Listing("/api/v1/certificates", "parent",
                                lambda w: make_certificate(w.user("parent"), w.user("department"))),
    "queued certificates": Listing("/api/v1/certificates", "department", _queued_certificate),
    "queued applications": Listing("/api/v1/certificates/applications", "parent", _queued_certificate),
    "child corrections": Listing("/api/v1/certificates/child-corrections", "department", _correction),
    "directions": Listing("/api/v1/reference/directions", None, _direction),
    "periods": Listing("/api/v1/reference/periods", None, _period),
    "certificate categories": Listing("/api/v1/reference/certificate-categories", None, _category),
    "matters": Listing("/api/v1/matters", "department", _application),
    "enrollments": Listing("/api/v1/enrollments", "parent", _enrollment),
    "staff requests": Listing("/api/v1/registry/staff-requests", "department", _staff_request),
    "social orders": Listing("/api/v1/reports/social-orders", "department",
                             lambda w: create_order(next(w.counter("year", 2030)), w.user("department"))),
    "contracts": Listing("/api/v1/contracts", "department", _contract),
    "own contracts": Listing("/api/v1/contracts", "parent", _contract),
    "publications": Listing("/api/v1/publications", "department", _publication),
    "municipalities": Listing("/api/v1/reference/municipalities", None, _municipality),
    "deadline rules": Listing("/api/v1/deadlines/rules", "department", _deadline_kind),
    "open sets": Listing(_open_sets_url, None, _published_set, path="/api/v1/open/{oktmo}"),
    "certificate ledger": Listing(_ledger_url, "parent", _ledger_entry,
                                  path="/api/v1/certificates/{certificate_id}/ledger"),
    "due for anonymisation": Listing("/api/v1/privacy/due", "department", _child_due_for_anonymisation),
    "formed execution reports": Listing(_formed_url, "department", _formed_report, many=5,
                                        path="/api/v1/reports/execution/formed"),
    "feedback": Listing("/api/v1/reports/feedback", "parent", _feedback, many=10),
    "agreements": Listing("/api/v1/bookkeeping/agreements", "bookkeeping", _agreement, many=10),
    "payment registers": Listing("/api/v1/bookkeeping/payment-registers", "bookkeeping", _register, many=5),
    "invoices": Listing("/api/v1/bookkeeping/invoices", "bookkeeping", _invoice, many=5),
    "agreement reports": Listing("/api/v1/bookkeeping/agreement-reports", "bookkeeping", _agreement_report, many=10),
    "imports": Listing("/api/v1/imports", "department", _import_batch),
    "checklist items": Listing("/api/v1/monitoring/checklist-items", "department", _checklist_item),
    "monitoring visits": Listing("/api/v1/monitoring/visits", "department", _visit),
    "own monitoring visits": Listing("/api/v1/monitoring/visits", "executor", _visit),
}

#: the list GETs not counted above, and why (the contract test below keeps this honest)
NOT_COUNTED: dict[str, str] = {
    "/api/v1/reference/service-codes": "the twelve registry numbers of the reference data: a fixed list",
    "/api/v1/reference/municipalities/{municipality_id}/service-codes": "at most the twelve registry numbers",
    "/api/v1/monitoring/region": "one row per municipality of the installation and the region's, a few queries each",
}


def _read(app, client, url) -> tuple[int, list]:
    """The statements one GET runs, and its rows."""
    db.session.commit()
    db.session.expunge_all()
    statements = []

    def count(*_args):
        statements.append(1)

    event.listen(db.engine, "before_cursor_execute", count)
    try:
        response = client.get(url)
    finally:
        event.remove(db.engine, "before_cursor_execute", count)
    assert response.status_code == 200, response.get_data(as_text=True)
    return len(statements), response.json


@pytest.mark.parametrize("name", list(LISTINGS))
def test_a_list_runs_as_many_queries_for_fifty_rows_as_for_one(name, app, api, users, monkeypatch):
    listing = LISTINGS[name]
    world = World({role: user.id for role, user in users.items()}, monkeypatch)
    listing.add(world)
    url = listing.url(world) if callable(listing.url) else listing.url
    client = api(world.user(listing.reader) if listing.reader else None)
    one, rows = _read(app, client, url)
    for _ in range(listing.many - 1):
        listing.add(world)
    fifty, more_rows = _read(app, client, url)
    assert len(more_rows) - len(rows) == listing.many - 1  # the rows added are listed
    assert fifty == one, f"{url}: {one} statements for {len(rows)} rows, {fifty} for {len(more_rows)}"


def test_every_list_of_the_api_is_paginated_and_counted_or_excused(app):
    """Every GET answering an array has the one pagination contract (page, page_size, X-Pagination)
    and is either counted above or named in NOT_COUNTED with the reason."""
    from certapp.extensions import api

    counted = {listing.path or listing.url.split("?")[0] for listing in LISTINGS.values()}  # type: ignore[union-attr]
    lists = {}
    for path, operations in api.spec.to_dict()["paths"].items():
        answer = operations.get("get", {}).get("responses", {}).get("200", {})
        if answer.get("content", {}).get("application/json", {}).get("schema", {}).get("type") == "array":
            lists[path] = (answer, operations["get"])
    assert len(lists) >= 30
    for path, (answer, operation) in lists.items():
        names = {parameter["name"] for parameter in operation.get("parameters", [])}
        assert {"page", "page_size"} <= names and "per_page" not in names, path
        assert "X-Pagination" in json.dumps(answer.get("headers", {})), path
    assert set(lists) == counted | set(NOT_COUNTED)
