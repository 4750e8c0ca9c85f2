"""the catalog's search on SQLite stems Russian words, as PostgreSQL's does: the FTS5 index holds the
stems of the program's title and description (ru_stem(), the Snowball stemmer registered on every
SQLite connection by certapp.db), and the query is stemmed alike (certapp.programs.search)

Revision ID: 0035_catalog_stemming
Revises: 0027_official_lists
Create Date: 2026-12-04 16:20:00

The index of 0023 read its text from the program table (external content), so it could only hold the
words as written; it becomes an FTS5 table with its own content (the stems), kept by triggers that call
ru_stem(). A connection without that function (the sqlite3 shell) cannot write programs: write them
through the app. A later batch migration that rebuilds the program table on SQLite drops these
triggers: recreate them there (SQLITE_TRIGGERS below). PostgreSQL: nothing changes.
"""
from alembic import op

revision = '0035_catalog_stemming'
down_revision = '0034_agreement_acceptance'
branch_labels = None
depends_on = None

SQLITE_TABLE = ("CREATE VIRTUAL TABLE program_search USING fts5(title, description, "
                "tokenize='unicode61 remove_diacritics 2')")
_INSERT = ("INSERT INTO program_search (rowid, title, description) "
           "VALUES (new.id, ru_stem(new.title), ru_stem(new.description));")
SQLITE_TRIGGERS = (
    f"CREATE TRIGGER program_search_insert AFTER INSERT ON program BEGIN {_INSERT} END",
    "CREATE TRIGGER program_search_delete AFTER DELETE ON program BEGIN "
    "DELETE FROM program_search WHERE rowid = old.id; END",
    "CREATE TRIGGER program_search_update AFTER UPDATE OF title, description ON program BEGIN "
    f"DELETE FROM program_search WHERE rowid = old.id; {_INSERT} END",
)
FILL = ("INSERT INTO program_search (rowid, title, description) "
        "SELECT id, ru_stem(title), ru_stem(description) FROM program")

#: 0023's index, for the downgrade
OLD_TABLE = ("CREATE VIRTUAL TABLE program_search USING fts5(title, description, content='program', "
             "content_rowid='id', tokenize='unicode61 remove_diacritics 2')")
OLD_TRIGGERS = (
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


def _drop_index():
    for name in ("insert", "delete", "update"):
        op.execute(f"DROP TRIGGER IF EXISTS program_search_{name}")
    op.execute("DROP TABLE IF EXISTS program_search")


def upgrade():
    bind = op.get_bind()
    if bind.dialect.name == "postgresql":
        return
    from certapp.db import register_stemmer

    register_stemmer(bind.connection.driver_connection)  # also when run outside the app's engine
    _drop_index()
    op.execute(SQLITE_TABLE)
    for trigger in SQLITE_TRIGGERS:
        op.execute(trigger)
    op.execute(FILL)


def downgrade():
    if op.get_bind().dialect.name == "postgresql":
        return
    _drop_index()
    op.execute(OLD_TABLE)
    for trigger in OLD_TRIGGERS:
        op.execute(trigger)
    op.execute("INSERT INTO program_search (program_search) VALUES ('rebuild')")
