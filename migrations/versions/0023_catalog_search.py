"""the catalog's text search: PostgreSQL full-text search (the Russian configuration, a GIN index over
the program's title and description) and, on SQLite, an FTS5 index kept by triggers

Revision ID: 0023_catalog_search
Revises: 0022_reconciliation_runs
Create Date: 2026-11-30 12:45:00

Neither is a model (certapp.programs.search builds the queries; certapp.db.SEARCH_OBJECTS keeps them
out of the autogenerate comparison). A later batch migration that rebuilds the program table on
SQLite drops the triggers with it: recreate them there (SQLITE_TRIGGERS below).
"""
from alembic import op

revision = '0023_catalog_search'
down_revision = '0022_reconciliation_runs'
branch_labels = None
depends_on = None

SQLITE_TRIGGERS = (
    "CREATE TRIGGER program_search_insert AFTER INSERT ON program BEGIN "
    "INSERT INTO program_search (rowid, title, description) VALUES (new.id, new.title, new.description); END",
    "CREATE TRIGGER program_search_delete AFTER DELETE ON program BEGIN "
    "INSERT INTO program_search (program_search, rowid, title, description) "
    "VALUES ('delete', old.id, old.title, old.description); END",
    "CREATE TRIGGER program_search_update AFTER UPDATE OF title, description ON program BEGIN "
    "INSERT INTO program_search (program_search, rowid, title, description) "
    "VALUES ('delete', old.id, old.title, old.description); "
    "INSERT INTO program_search (rowid, title, description) VALUES (new.id, new.title, new.description); END",
)


def upgrade():
    if op.get_bind().dialect.name == "postgresql":
        op.execute("CREATE INDEX ix_program_search ON program USING gin "
                   "(to_tsvector('russian'::regconfig, (title::text || ' ' || description)))")
        return
    op.execute("CREATE VIRTUAL TABLE program_search USING fts5(title, description, content='program', "
               "content_rowid='id', tokenize='unicode61 remove_diacritics 2')")
    for trigger in SQLITE_TRIGGERS:
        op.execute(trigger)
    op.execute("INSERT INTO program_search (program_search) VALUES ('rebuild')")


def downgrade():
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP INDEX ix_program_search")
        return
    for name in ("insert", "delete", "update"):
        op.execute(f"DROP TRIGGER program_search_{name}")
    op.execute("DROP TABLE program_search")
