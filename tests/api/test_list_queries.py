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
from sqlalchemy import event

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

    def user(self, role: str) -> User:
        return db.session.get(User, self.ids[role])

    def counter(self, name: str, start: int):
        """This test's own sequence (years, days) starting at `start`."""
        return self.ids.setdefault(f"{name} counter", itertools.count(start))


@dataclass
class Listing:
    url: str
    #: whose token reads the list (None: anyone, no token)
    reader: str | None
    #: adds one row the reader sees
    add: Callable[[World], object]


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
    """A new version of the registry, published by another official of the municipality each time."""
    from certapp.publication.services import publish

    department = world.user("department")
    return publish("registry", make_user("department", municipality_id=department.municipality_id))


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
}

#: the list GETs not counted here, and why (the contract test below keeps this honest)
NOT_COUNTED = {
    "/api/v1/reference/municipalities": "the installation's few municipalities: a fixed list",
    "/api/v1/deadlines/rules": "the fixed set of deadline rules",
    "/api/v1/open/{oktmo}": "a municipality's few published sets (five kinds, one set a year), one query",
    "/api/v1/certificates/{certificate_id}/ledger": "not yet counted",
    "/api/v1/bookkeeping/agreements": "not yet counted",
    "/api/v1/bookkeeping/payment-registers": "not yet counted",
    "/api/v1/bookkeeping/invoices": "not yet counted",
    "/api/v1/bookkeeping/agreement-reports": "not yet counted",
    "/api/v1/reports/execution/formed": "not yet counted",
    "/api/v1/reports/feedback": "not yet counted",
    "/api/v1/privacy/due": "not yet counted",
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
def test_a_list_runs_as_many_queries_for_fifty_rows_as_for_one(name, app, api, users):
    listing = LISTINGS[name]
    world = World({role: user.id for role, user in users.items()})
    listing.add(world)
    client = api(world.user(listing.reader) if listing.reader else None)
    one, rows = _read(app, client, listing.url)
    for _ in range(MANY - 1):
        listing.add(world)
    fifty, more_rows = _read(app, client, listing.url)
    assert len(more_rows) - len(rows) == MANY - 1  # the rows added are listed
    assert fifty == one, f"{listing.url}: {one} statements for {len(rows)} rows, {fifty} for {len(more_rows)}"


def test_every_list_of_the_api_is_paginated_and_counted_or_excused(app):
    """Every GET answering an array has the one pagination contract (page, page_size, X-Pagination)
    and is either counted above or named in NOT_COUNTED with the reason."""
    from certapp.extensions import api

    counted = {listing.url.split("?")[0] for listing in LISTINGS.values()}
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
