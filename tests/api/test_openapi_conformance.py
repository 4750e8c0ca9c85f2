"""The API answers as its own OpenAPI document says, for every role (schemathesis, bounded).

For each role's token (and no token), schemathesis generates requests for every operation from
the document and checks each answer: never a server error, a documented status code, a
documented content type, and a body that conforms to the documented schema. Runs on the demo
dataset, so that the answers carry real rows.
"""
import os
from datetime import timedelta

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from schemathesis.checks import content_type_conformance, not_a_server_error, response_schema_conformance, status_code_conformance
from sqlalchemy import select

from certapp.accounts.models import User
from certapp.db import db
from certapp.uow import transaction
from tests import factories
from tests.shared import shared_fixture

#: examples per operation and role; CERTAPP_SCHEMATHESIS_EXAMPLES raises it for a longer run
EXAMPLES = int(os.environ.get("CERTAPP_SCHEMATHESIS_EXAMPLES", "4"))
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]
ROLES = [None, "parent", "provider", "department", "bookkeeping", "region", "moc"]


@pytest.fixture
def sqlite_only(database_url):
    """Skipped on PostgreSQL before the demo is loaded there for nothing."""
    if database_url.startswith("postgresql"):
        pytest.skip("the document and the serialisers are the same on both databases; SQLite leg only")


def _demo_data():
    """The demo dataset (built once per module and database: tests/shared.py)."""
    from certapp.demo import load_demo

    with transaction():
        load_demo(today=factories.current_period().starts_on + timedelta(days=80))


demo_data = shared_fixture(_demo_data)


@pytest.fixture
def demo(app, demo_data):
    return app


#: the requests generated for each operation of the document, by app (its test configuration): built once per
#: process and sent by every role in turn — the examples are derandomized, so every role met the same ones
#: anyway, and generating them was half of the test's time
_GENERATED: dict[int, list] = {}


def _generated(app) -> list:
    if id(app) not in _GENERATED:
        schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app)
        generated = []
        for result in schema.get_all_operations():
            generated.append(_examples(result.ok()))
        _GENERATED[id(app)] = generated
    return _GENERATED[id(app)]


def _examples(operation) -> list:
    cases: list = []

    @settings(max_examples=EXAMPLES, deadline=None, derandomize=True, database=None,
              phases=[Phase.explicit, Phase.generate], suppress_health_check=list(HealthCheck))
    @given(case=operation.as_strategy())
    def collect(case):
        cases.append(case)

    collect()
    return cases


@pytest.mark.parametrize("role", ROLES)
def test_every_answer_matches_the_openapi_document(sqlite_only, demo, role):
    headers = {}
    if role:
        user = db.session.execute(select(User).where(User.role == role).order_by(User.id).limit(1)).scalar_one()
        headers["Authorization"] = f"Bearer {factories.make_token(user)}"
        db.session.commit()
    failures = []
    for cases in _generated(demo):
        for case in cases:
            response = case.call(headers=headers)
            try:
                case.validate_response(response, checks=CHECKS, headers=headers)
            except Exception as error:  # noqa: BLE001 - every failure is listed, then the test fails
                failures.append(f"{case.method} {case.path}: {type(error).__name__}: {str(error)[:400]}")
                db.session.rollback()
                break  # the operation's other examples would tell the same
    assert failures == [], "\n".join(failures)
