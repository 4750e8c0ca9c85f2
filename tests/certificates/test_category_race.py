"""The waiting queue under concurrent requests (SQLite with immediate transactions, and PostgreSQL
when configured): never more funded certificates than places, never two promotions for one place,
the queue funded in its order."""
import pytest
from sqlalchemy import func, select

from certapp.accounts.models import User
from certapp.certificates import services
from certapp.certificates.models import Certificate
from certapp.db import db
from certapp.ledger.models import LedgerEntry
from certapp.ledger.services import check_invariant
from certapp.reference.models import CertificateCategory
from certapp.reference.services import create_category, update_category
from tests.concurrency import run_concurrently
from tests.factories import child_data, current_period

#: every test runs its action from threads, each with its own connection
pytestmark = pytest.mark.commits


NAMES = ("Анна", "Борис", "Вера", "Глеб", "Дарья", "Егор", "Жанна", "Зоя")
LIMIT = 3


def _setup(users):
    period = current_period()
    category = create_category(period.id, {"name": "Дети из многодетных семей", "age_from": 5, "age_to": 17,
                                           "needs_document": True, "nominal": 12_000_00, "funded_limit": LIMIT},
                               users["department"])
    ids = []
    for name in NAMES:
        child = services.add_child(users["parent"], child_data(first_name=name))
        ids.append(services.apply(users["parent"], child.id, period.id, True, category_id=category.id).id)
    db.session.commit()
    return category.id, ids


def _certificates(category_id):
    db.session.expire_all()
    return db.session.execute(select(Certificate).where(Certificate.category_id == category_id)
                              .order_by(Certificate.id)).scalars().all()


def _kinds(category_id):
    certificates = _certificates(category_id)
    return ([c for c in certificates if c.kind == "financing" and c.status != "revoked"],
            [c for c in certificates if c.kind == "accounting" and c.status == "active"])


def test_applications_confirmed_at_once_fund_no_more_than_the_places(app, users):
    category_id, application_ids = _setup(users)
    department_id = users["department"].id

    def confirm(i):
        return services.confirm(application_ids[i], db.session.get(User, department_id))

    results = run_concurrently(app, len(application_ids), confirm)
    assert all(isinstance(r, int) for r in results), results
    funded, waiting = _kinds(category_id)
    assert len(funded) == LIMIT and len(waiting) == len(NAMES) - LIMIT
    assert sorted(services.queue_position(c) for c in waiting) == list(range(1, len(waiting) + 1))
    assert check_invariant() == []


def test_places_freed_at_once_are_each_taken_once_in_queue_order(app, users):
    category_id, application_ids = _setup(users)
    for application_id in application_ids:
        services.confirm(application_id, users["department"])
    db.session.commit()
    funded, waiting = _kinds(category_id)
    in_line = sorted(waiting, key=services.queue_position)
    funded_ids, department_id = [c.id for c in funded], users["department"].id

    def revoke(i):
        return services.change_status(funded_ids[i], "revoked", db.session.get(User, department_id), "Переезд")

    results = run_concurrently(app, len(funded_ids), revoke)
    assert all(isinstance(r, int) for r in results), results
    now_funded, still_waiting = _kinds(category_id)
    assert [c.id for c in now_funded] == [c.id for c in in_line[:LIMIT]]
    assert [c.id for c in still_waiting] == [c.id for c in in_line[LIMIT:]]
    opening = db.session.execute(select(LedgerEntry.certificate_id, func.count()).where(LedgerEntry.kind == "issue")
                                 .group_by(LedgerEntry.certificate_id)).all()
    assert all(count == 1 for _, count in opening) and len(opening) == 2 * LIMIT
    assert check_invariant() == []


def test_the_same_limit_raised_by_two_requests_at_once_funds_one(app, users):
    category_id, application_ids = _setup(users)
    for application_id in application_ids:
        services.confirm(application_id, users["department"])
    db.session.commit()
    department_id = users["department"].id
    values = {"name": "Дети из многодетных семей", "age_from": 5, "age_to": 17, "needs_document": True,
              "nominal": 12_000_00, "funded_limit": LIMIT + 1}

    def raise_limit(i):
        return update_category(category_id, values, db.session.get(User, department_id))

    results = run_concurrently(app, 4, raise_limit)
    assert all(isinstance(r, int) for r in results), results
    funded, waiting = _kinds(category_id)
    assert len(funded) == LIMIT + 1 and len(waiting) == len(NAMES) - LIMIT - 1
    assert db.session.get(CertificateCategory, category_id).funded_limit == LIMIT + 1
    assert check_invariant() == []
