"""backup create → restore into an empty database round-trips the demo installation; then the
ledger, the reconciliation, the audit chain and the keys all check out on the copy."""
import uuid
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import create_engine, func, select, text

from certapp.certificates.models import Certificate
from certapp.config import normalise_db_url
from certapp.db import db
from certapp.uow import transaction
from tests import factories
from tests.conftest import make_app

#: the backup is read by pg_dump or a connection of its own
pytestmark = pytest.mark.commits


PASSPHRASE = "correct horse battery staple"


@pytest.fixture
def demo(app):
    from certapp.demo import load_demo

    with transaction():
        load_demo(today=factories.current_period().starts_on + timedelta(days=80))
    return app


@pytest.fixture
def empty_target(database_url, tmp_path):
    """An empty database of the same kind as the test's: a new PostgreSQL database or SQLite file."""
    if database_url.startswith("postgresql"):
        name = f"certapp_restore_{uuid.uuid4().hex[:8]}"
        admin = create_engine(database_url, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        url = str(create_engine(database_url).url.set(database=name).render_as_string(hide_password=False))
        yield normalise_db_url(url)
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()
    else:
        yield "sqlite:///" + str(tmp_path / "restored.sqlite")


def _cli(app, *args):
    with app.app_context():
        result = app.test_cli_runner().invoke(args=list(args))
        db.session.remove()
    return result


def test_backup_restores_into_an_empty_database_and_everything_checks(demo, empty_target, tmp_path, monkeypatch):
    monkeypatch.setenv("CERTAPP_BACKUP_PASSPHRASE", PASSPHRASE)
    archive = tmp_path / "copy.tar"
    certificates = db.session.execute(select(func.count()).select_from(Certificate)).scalar_one()
    qr = db.session.execute(select(Certificate.qr_payload).limit(1)).scalar_one()
    db.session.commit()
    created = demo.test_cli_runner().invoke(args=["backup", "create", "--output", str(archive)])
    assert created.exit_code == 0, created.output
    assert archive.stat().st_mode & 0o077 == 0  # readable by its owner only

    keys = tmp_path / "restored-keys"
    restored = make_app(empty_target, KEYS_DIR=str(keys))
    result = _cli(restored, "backup", "restore", str(archive))
    assert result.exit_code == 0, result.output
    for command in (["keys", "check"], ["ledger", "check"], ["reconcile"], ["audit", "verify"]):
        outcome = _cli(restored, *command)
        assert outcome.exit_code == 0, (command, outcome.output)
    with restored.app_context():
        assert db.session.execute(select(func.count()).select_from(Certificate)).scalar_one() == certificates
        answer = restored.test_client().post("/api/v1/certificates/verify", json={"code": qr})
        assert answer.get_json()["signature_valid"] is True  # the restored keys verify the old QR codes
        db.session.remove()
        db.engine.dispose()


def test_restore_refuses_a_database_that_is_not_empty(demo, tmp_path, monkeypatch):
    monkeypatch.setenv("CERTAPP_BACKUP_PASSPHRASE", PASSPHRASE)
    archive = tmp_path / "copy.tar"
    db.session.commit()
    assert demo.test_cli_runner().invoke(args=["backup", "create", "-o", str(archive)]).exit_code == 0
    demo.config["KEYS_DIR"] = str(tmp_path / "fresh-keys")
    result = demo.test_cli_runner().invoke(args=["backup", "restore", str(archive)])
    assert result.exit_code == 1 and "База данных не пуста" in result.output


def test_a_wrong_passphrase_or_a_damaged_archive_is_refused(demo, empty_target, tmp_path, monkeypatch):
    monkeypatch.setenv("CERTAPP_BACKUP_PASSPHRASE", PASSPHRASE)
    archive = tmp_path / "copy.tar"
    db.session.commit()
    assert demo.test_cli_runner().invoke(args=["backup", "create", "-o", str(archive)]).exit_code == 0
    restored = make_app(empty_target, KEYS_DIR=str(tmp_path / "k"))
    monkeypatch.setenv("CERTAPP_BACKUP_PASSPHRASE", "another passphrase entirely")
    result = _cli(restored, "backup", "restore", str(archive))
    assert result.exit_code == 1 and "Неверная фраза" in result.output
    assert not Path(tmp_path / "k").exists() or not any(Path(tmp_path / "k").iterdir())
    with restored.app_context():
        db.engine.dispose()


def test_backup_needs_a_passphrase(demo, tmp_path, monkeypatch):
    monkeypatch.delenv("CERTAPP_BACKUP_PASSPHRASE", raising=False)
    result = demo.test_cli_runner().invoke(args=["backup", "create", "-o", str(tmp_path / "x.tar")])
    assert result.exit_code == 1 and "CERTAPP_BACKUP_PASSPHRASE" in result.output
