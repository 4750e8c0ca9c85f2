"""a certificate's state changed: verifiers' caches hear of it (certapp.certificates.state_cache)

Revision ID: 0045_certificate_state
Revises: 0043_data_version
Create Date: 2026-12-04 22:30:00

PostgreSQL: a statement-level trigger sends NOTIFY certificate_state when a statement changes a
certificate's number, status, validity or code, or deletes one (delivered at its commit, to every
process that LISTENs). SQLite: a row trigger adds one to certificate_state_version's only row when
any of them actually changes, read by each process at most twice a second. Neither fires for an
issued certificate (nothing cached it yet). A later batch migration that rebuilds the certificate
table on SQLite drops the triggers: recreate them there (SQLITE_TRIGGERS below).
"""
from alembic import op

revision = '0045_certificate_state'
down_revision = '0043_data_version'
branch_labels = None
depends_on = None

_COLUMNS = "number, status, valid_from, valid_to, qr_payload"
_CHANGED = " OR ".join(f"old.{column} IS NOT new.{column}" for column in _COLUMNS.split(", "))
_BUMP = "UPDATE certificate_state_version SET version = version + 1 WHERE id = 1;"
SQLITE_TRIGGERS = (
    f"CREATE TRIGGER certificate_state_update AFTER UPDATE OF {_COLUMNS} ON certificate "
    f"WHEN {_CHANGED} BEGIN {_BUMP} END",
    f"CREATE TRIGGER certificate_state_delete AFTER DELETE ON certificate BEGIN {_BUMP} END",
)
PG_FUNCTION = """
CREATE FUNCTION certificate_state_notify() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('certificate_state', '');
    RETURN NULL;
END $$
"""
PG_TRIGGER = (f"CREATE TRIGGER certificate_state_notify AFTER UPDATE OF {_COLUMNS} OR DELETE ON certificate "
              "FOR EACH STATEMENT EXECUTE FUNCTION certificate_state_notify()")


def upgrade():
    if op.get_bind().dialect.name == "postgresql":
        op.execute(PG_FUNCTION)
        op.execute(PG_TRIGGER)
        return
    op.execute("CREATE TABLE certificate_state_version (id INTEGER PRIMARY KEY, version INTEGER NOT NULL)")
    op.execute("INSERT INTO certificate_state_version (id, version) VALUES (1, 0)")
    for trigger in SQLITE_TRIGGERS:
        op.execute(trigger)


def downgrade():
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER certificate_state_notify ON certificate")
        op.execute("DROP FUNCTION certificate_state_notify()")
        return
    op.execute("DROP TRIGGER certificate_state_update")
    op.execute("DROP TRIGGER certificate_state_delete")
    op.execute("DROP TABLE certificate_state_version")
