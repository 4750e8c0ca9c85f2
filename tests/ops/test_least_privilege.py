"""deploy/postgresql/grants.sql: the application's role works the system but cannot alter the
audit log or the schema."""
import uuid
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.exc import ProgrammingError

from certapp.db import db
from tests import factories
from tests.conftest import make_app

#: the application's role reads the data through a connection of its own
pytestmark = pytest.mark.commits


GRANTS = Path(__file__).resolve().parents[2] / "deploy" / "postgresql" / "grants.sql"


@pytest.fixture
def app_role(app, database_url):
    if not database_url.startswith("postgresql"):
        pytest.skip("roles and grants are PostgreSQL's")
    role = f"certapp_app_{uuid.uuid4().hex[:8]}"
    db.session.execute(text(f'CREATE ROLE "{role}" LOGIN'))
    sql = GRANTS.read_text().replace("certapp_app", f'"{role}"')
    for statement in filter(None, (s.strip() for s in "\n".join(
            line for line in sql.splitlines() if not line.startswith("--")).split(";"))):
        db.session.execute(text(statement))
    db.session.commit()
    url = create_engine(database_url).url.set(username=role, password=None)
    yield url.render_as_string(hide_password=False)
    db.session.execute(text(f'DROP OWNED BY "{role}"'))
    db.session.execute(text(f'DROP ROLE "{role}"'))
    db.session.commit()


def test_the_application_role_works_but_cannot_touch_the_audit_log(app_role):
    limited = make_app(app_role)
    with limited.app_context():
        user = factories.make_user("parent")  # writes a user and a sealed audit event
        db.session.commit()
        assert user.id
        for statement in ("UPDATE audit_event SET action = 'x'", "DELETE FROM audit_event",
                          "TRUNCATE audit_event", "DROP TABLE audit_anchor", "ALTER TABLE certificate ADD COLUMN x int",
                          "UPDATE alembic_version SET version_num = 'x'"):
            with pytest.raises(ProgrammingError, match="permission denied|must be owner"):
                db.session.execute(text(statement))
            db.session.rollback()
        db.session.remove()
        db.engine.dispose()
