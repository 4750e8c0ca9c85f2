"""Health endpoints, request ids and log lines without personal data or secrets."""
import json
import logging

import pytest
from sqlalchemy import text

from certapp.db import db
from certapp.observability import JSONFormatter, MaskingFilter, mask


def test_healthz_answers_without_the_database(client):
    response = client.get("/healthz")
    assert (response.status_code, response.get_json()) == (200, {"status": "ok"})


def test_readyz_is_ready_on_a_migrated_database_with_keys(app, client):
    from certapp.documents.keys import key_store

    key_store().ensure()
    response = client.get("/readyz")
    assert response.status_code == 200, response.get_json()
    assert response.get_json()["checks"] == {"database": "ok", "migrations": "ok", "keys": "ok"}


def test_readyz_is_503_when_migrations_are_behind(app, client):
    from certapp.documents.keys import key_store

    key_store().ensure()
    version = db.session.execute(text("SELECT version_num FROM alembic_version")).scalar_one()
    db.session.execute(text("UPDATE alembic_version SET version_num = '0001_foundation'"))
    db.session.commit()
    try:
        response = client.get("/readyz")
        assert response.status_code == 503
        assert response.get_json()["checks"]["migrations"] == "not current"
    finally:
        db.session.execute(text("UPDATE alembic_version SET version_num = :v"), {"v": version})
        db.session.commit()


@pytest.mark.app_config(KEYS_DIR="/nonexistent/certapp-keys")
def test_readyz_is_503_without_keys(client):
    response = client.get("/readyz")
    assert response.status_code == 503
    assert response.get_json()["checks"]["keys"] == "missing"


def test_every_answer_carries_a_request_id_also_shown_in_errors(client, api):
    page = client.get("/no-such-page")
    request_id = page.headers["X-Request-ID"]
    assert len(request_id) == 32 and request_id in page.get_data(as_text=True)
    error = api().get("/api/v1/no-such-endpoint", headers={"X-Request-ID": "lb-1234567890"})
    assert error.headers["X-Request-ID"] == "lb-1234567890"
    assert error.get_json()["request_id"] == "lb-1234567890"
    forged = client.get("/healthz", headers={"X-Request-ID": "<script>x</script>"})
    assert forged.headers["X-Request-ID"] != "<script>x</script>"  # replaced by a fresh id


def test_one_structured_line_per_request_without_query_string(client, users, login, caplog):
    caplog.set_level(logging.INFO, logger="certapp.request")
    login(users["parent"]).get("/catalog?q=112-233-445%2095")
    record = [r for r in caplog.records if r.name == "certapp.request" and r.fields["path"] == "/catalog"][-1]
    assert record.fields["status"] == 200 and record.fields["user_id"] == users["parent"].id
    assert record.fields["duration_ms"] >= 0 and record.fields["request_id"]
    assert "q=" not in json.dumps(record.fields)


@pytest.mark.parametrize("secret, shown", [
    ("СНИЛС 112-233-445 95", "СНИЛС ***-***-*** **"),
    ("snils=11223344595", "snils=***********"),
    ("Authorization: Bearer cat_AbCdEf123456789", "Authorization: Bearer ***"),
    ("token cat_AbCdEf1234567890xyz", "token cat_***"),
    ("password=Secret-123&x=1", "password=***&x=1"),
    ('{"new_password": "Secret-123"}', '{"new_password": "***"}'),
])
def test_log_lines_mask_snils_tokens_and_passwords(secret, shown):
    assert mask(secret) == shown


def test_json_log_format_is_one_masked_object_per_line():
    record = logging.LogRecord("certapp.request", logging.INFO, __file__, 1, "child %s", ("112-233-445 95",), None)
    record.fields = {"path": "/children", "status": 200}
    MaskingFilter().filter(record)
    line = JSONFormatter().format(record)
    assert "\n" not in line
    body = json.loads(line)
    assert (body["message"], body["path"], body["status"]) == ("child ***-***-*** **", "/children", 200)
