"""QR verification keeps certificates' states per process (certapp.certificates.state_cache); a change
made by another process (here: another engine, as another server would) reaches it within a second
(PostgreSQL: LISTEN/NOTIFY, SQLite: the version read)."""
import time
from typing import NamedTuple

import pytest
from flask import current_app
from sqlalchemy import create_engine, event, text

from certapp.certificates.state_cache import EXTENSION
from certapp.db import db
from tests.factories import make_certificate

pytestmark = [pytest.mark.commits, pytest.mark.app_config(CERTIFICATE_STATE_CACHE=True)]


@pytest.fixture
def cache(app):
    cache = current_app.extensions[EXTENSION]
    # the previous test's states: the database was emptied under the cache (its version counter too), and
    # the next certificate takes the same number again
    cache.clear()
    yield cache
    cache.close()


@pytest.fixture
def certificate(users):
    """The certificate's id, number and code (plain values: reading the object again would open a
    transaction that holds SQLite's lock while the other engine writes)."""
    made = make_certificate(users["parent"], users["department"])
    db.session.commit()
    certificate = Issued(made.id, made.number, made.qr_payload)
    db.session.commit()
    return certificate


class Issued(NamedTuple):
    id: int
    number: str
    qr_payload: str


def _verify(api, code: str) -> dict:
    response = api().post("/api/v1/certificates/verify", json={"code": code})
    assert response.status_code == 200
    return response.json


def _reads_of_certificates(app) -> list[str]:
    read: list[str] = []
    event.listen(db.engine, "before_cursor_execute",
                 lambda conn, cursor, statement, *args: read.append(statement) if "certificate.qr_payload" in statement else None)
    return read


def _cached(app, cache, api, code: str) -> None:
    """Verify until the answer comes from the cache (PostgreSQL: once the process listens)."""
    read = _reads_of_certificates(app)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        read.clear()
        assert _verify(api, code)["in_force"] is True
        if not read:
            return
        time.sleep(0.05)
    raise AssertionError("the certificate's state was never answered from the cache")


def test_a_revocation_by_another_server_is_seen_by_a_cached_verification_within_a_second(app, cache, api, certificate):
    _cached(app, cache, api, certificate.qr_payload)
    other = create_engine(app.config["SQLALCHEMY_DATABASE_URI"])
    try:
        with other.begin() as connection:
            connection.execute(text("UPDATE certificate SET status = 'revoked' WHERE id = :id"), {"id": certificate.id})
        committed = time.monotonic()
        while (answer := _verify(api, certificate.qr_payload))["status"] != "revoked":
            assert time.monotonic() - committed < 1.0, "a revoked certificate was still answered as active"
            time.sleep(0.02)
    finally:
        other.dispose()
    assert answer["in_force"] is False and answer["signature_valid"] is True
    assert time.monotonic() - committed < 1.0


def test_a_typed_number_is_answered_from_the_cache_and_sees_a_suspension(app, cache, api, users, certificate):
    _cached(app, cache, api, certificate.qr_payload)
    read = _reads_of_certificates(app)
    assert _verify(api, certificate.number)["in_force"] is True
    assert not read
    response = api(users["department"]).post(f"/api/v1/certificates/{certificate.id}/status",
                                             json={"status": "suspended", "reason": "Проверка документов"})
    assert response.status_code == 200
    committed = time.monotonic()
    while _verify(api, certificate.number)["status"] != "suspended":
        assert time.monotonic() - committed < 1.0
        time.sleep(0.02)
