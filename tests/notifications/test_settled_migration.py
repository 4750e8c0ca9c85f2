"""Migration 0036 (a notification's subject and settlement) upgrades a database holding notifications and
downgrades back, keeping them."""
import pytest
from flask_migrate import downgrade, upgrade
from sqlalchemy import inspect, text

from certapp.db import db

pytestmark = pytest.mark.commits  # migrations run on the database itself


def test_0036_keeps_the_notifications_both_ways(app):
    db.session.remove()
    downgrade(revision="0035_catalog_stemming")
    with db.engine.begin() as conn:
        assert "settled_at" not in {c["name"] for c in inspect(conn).get_columns("notification")}
        conn.execute(text("INSERT INTO notification (role, municipality_id, kind, title, body, created_at) "
                          "SELECT 'department', id, 'registry', 'Заявка в реестр № 1', '', CURRENT_TIMESTAMP "
                          "FROM municipality ORDER BY id LIMIT 1"))
    upgrade()
    with db.engine.connect() as conn:
        assert conn.execute(text("SELECT title, subject, settled_at FROM notification")).one() == (
            "Заявка в реестр № 1", None, None)
    downgrade(revision="0035_catalog_stemming")
    with db.engine.connect() as conn:
        assert conn.execute(text("SELECT title FROM notification")).scalar_one() == "Заявка в реестр № 1"
    upgrade()
