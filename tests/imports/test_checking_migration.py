"""Migration 0050 (an upload «checking» while its job reads the rows) upgrades a database holding batches
and downgrades back, a batch still being checked failed with the reason."""
import pytest
from flask_migrate import downgrade, upgrade
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError

from certapp.db import db

pytestmark = pytest.mark.commits  # migrations run on the database itself

_INSERT = ("INSERT INTO import_batch (kind, status, dry_run, filename, sha256, content, rows, created, skipped, "
           "problem_count, created_at, municipality_id) SELECT 'certificates', :status, :dry_run, :name, 'x', :content, "
           "1, 0, 0, 0, CURRENT_TIMESTAMP, id FROM municipality ORDER BY id LIMIT 1")


def _batches(conn) -> list[tuple]:
    return [tuple(row) for row in conn.execute(text("SELECT filename, status, content FROM import_batch ORDER BY id"))]


def test_0050_keeps_the_batches_both_ways(app):
    db.session.remove()
    downgrade(revision="0045_certificate_state")
    with db.engine.begin() as conn:
        conn.execute(text(_INSERT), {"status": "queued", "dry_run": False, "name": "загрузка.csv", "content": b"a;b"})
        conn.execute(text(_INSERT), {"status": "checked", "dry_run": True, "name": "проверка.csv", "content": None})
        with pytest.raises(IntegrityError, match="ck_import_batch_status|CHECK"), conn.begin_nested():
            conn.execute(text(_INSERT), {"status": "checking", "dry_run": True, "name": "x.csv", "content": b"a"})
    upgrade()
    with db.engine.begin() as conn:
        assert _batches(conn) == [("загрузка.csv", "queued", b"a;b"), ("проверка.csv", "checked", None)]
        conn.execute(text(_INSERT), {"status": "checking", "dry_run": False, "name": "новая.csv", "content": b"c"})
    downgrade(revision="0045_certificate_state")
    with db.engine.connect() as conn:
        assert _batches(conn)[:2] == [("загрузка.csv", "queued", b"a;b"), ("проверка.csv", "checked", None)]
        assert _batches(conn)[2] == ("новая.csv", "failed", None)
        assert "загрузите файл ещё раз" in conn.execute(text("SELECT message FROM import_batch WHERE filename = 'новая.csv'")).scalar_one()
    upgrade()
