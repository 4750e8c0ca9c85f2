"""The data versions: which tables each public scope shows, the stamp set by the commit that wrote
one of them, and the stamps read once per request.

Which tables a transaction wrote is read from the SQL it sends (INSERT INTO / UPDATE / DELETE FROM
<table>), at the engine: ORM flushes, Core statements and raw text alike. A contract's status moves a
group's seats (its trigger updates study_group), so «contract» belongs to the catalog. Just before
the session commits, each scope written gets a new stamp by one upsert in the same transaction: a
reader that sees the commit's data sees its stamp, and the stamp's row is locked only while the
commit itself runs.
"""
import os
import re
import secrets
import threading

from flask import has_request_context, request
from sqlalchemy import event, text
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session, SessionTransaction

from certapp.db import db

#: scope -> the tables whose rows its pages show
SCOPES: dict[str, frozenset[str]] = {
    "catalog": frozenset({"program", "study_group", "program_municipality", "contract", "provider",
                          "registry_entry", "admission", "license", "municipality", "direction", "period",
                          "feedback"}),
    "registry": frozenset({"provider", "registry_entry", "license", "admission", "municipality"}),
    "open": frozenset({"publication", "municipality"}),
}
_SCOPES_OF: dict[str, set[str]] = {}
for _scope, _tables in SCOPES.items():
    for _table in _tables:
        _SCOPES_OF.setdefault(_table, set()).add(_scope)

_WRITE = re.compile(r'\b(?:INSERT\s+INTO|UPDATE|DELETE\s+FROM)\s+"?(\w+)"?', re.IGNORECASE)
#: the scopes written on a connection since its transaction began (Connection.info: the DBAPI connection's)
_TOUCHED = "certapp.pagecache.touched"
#: the connections a session's transaction holds (Session.info)
_CONNECTIONS = "certapp.pagecache.connections"
#: the stamps read by this request (request.environ)
_STAMPS = "certapp.pagecache.stamps"
_UPSERT = text("INSERT INTO data_version (name, stamp) VALUES (:name, :stamp) "
               "ON CONFLICT (name) DO UPDATE SET stamp = excluded.stamp")


def scopes_written(statement: str) -> set[str]:
    """The public scopes a statement writes to (none for a read)."""
    found: set[str] = set()
    for table in _WRITE.findall(statement):
        found |= _SCOPES_OF.get(table.lower(), set())
    return found


@event.listens_for(Engine, "before_cursor_execute")
def _note_writes(conn: Connection, cursor, statement: str, parameters, context, executemany) -> None:
    if statement[:6].upper() != "SELECT":
        scopes = scopes_written(statement)
        if scopes:
            conn.info.setdefault(_TOUCHED, set()).update(scopes)


@event.listens_for(Engine, "commit")
@event.listens_for(Engine, "rollback")
def _forget_connection(conn: Connection) -> None:
    conn.info.pop(_TOUCHED, None)


@event.listens_for(Session, "after_begin")
def _remember_connection(session: Session, transaction: SessionTransaction, connection: Connection) -> None:
    session.info.setdefault(_CONNECTIONS, []).append(connection)


@event.listens_for(Session, "before_commit")
def _bump_before_commit(session: Session) -> None:
    """The stamps of the scopes this transaction wrote, set in it (after a last flush: what the
    commit would flush counts too). A savepoint's release (SQLAlchemy tells before_commit for those too)
    waits for the real commit: the stamp's row stays unlocked until then."""
    if session.in_nested_transaction() or not session.info.get(_CONNECTIONS):
        return
    session.flush()
    written = touched(session)
    if written:
        bump(session, written)
    for connection in session.info.get(_CONNECTIONS, []):
        connection.info.pop(_TOUCHED, None)


@event.listens_for(Session, "after_transaction_end")
def _forget_session(session: Session, transaction: SessionTransaction) -> None:
    if transaction.parent is None:
        for connection in session.info.pop(_CONNECTIONS, []):
            if not connection.closed:
                connection.info.pop(_TOUCHED, None)


def touched(session: Session) -> set[str]:
    """The scopes the session's open transaction has written and not yet committed."""
    found: set[str] = set()
    for connection in session.info.get(_CONNECTIONS, []):
        if not connection.closed:
            found |= connection.info.get(_TOUCHED, set())
    return found


def bump(session: Session, scopes) -> None:
    """New stamps for the scopes, in the session's transaction (in name order: two transactions lock
    the rows in the same order)."""
    session.execute(_UPSERT, [{"name": name, "stamp": secrets.randbits(62)} for name in sorted(scopes)])


def bump_all() -> None:
    """Every scope anew: after data written outside the session's SQL (COPY of a generated region)."""
    bump(db.session(), SCOPES)


def stamps() -> dict[str, int]:
    """The stamp of every scope, read once per request (0 for a scope never written)."""
    # kept in the request's environ, not in g: a test's requests share its app context (and g)
    environ = request.environ if has_request_context() else {}
    cached = environ.get(_STAMPS)
    if cached is None:
        cached = environ[_STAMPS] = read_stamps()
    return cached


def read_stamps() -> dict[str, int]:
    """The stamp of every scope as committed now (one query; 0 for a scope never written)."""
    found = {name: 0 for name in SCOPES}
    found.update((name, stamp) for name, stamp in _read())
    return found


def keep_stamps(environ: dict, found: dict[str, int]) -> None:
    """The stamps the WSGI edge read for this request (before anything of the page was read), used by
    the request if it goes on into the app: one query a request either way."""
    environ[_STAMPS] = found


_READ = text("SELECT name, stamp FROM data_version")
#: each thread's connection for reading the stamps (autocommit, kept open between requests)
_reader = threading.local()


def _read() -> list:
    """The stamps as committed, in one round trip: on a connection of this thread's own in autocommit, so
    that a page answered from the cache opens no transaction (no BEGIN, COMMIT nor pool check-out on the
    request's session). On SQLite (a file read in process, and every transaction there takes the write
    lock: certapp.db) and on a session bound to a connection already in a transaction (a test's), the
    session reads them."""
    bind = db.engines[None]  # the primary's (a test's connection); no session made for a hit
    if not isinstance(bind, Engine) or bind.dialect.name == "sqlite":
        return list(db.session.execute(_READ))
    for attempt in (1, 2):
        conn = getattr(_reader, "conn", None)
        if conn is None or conn.closed or _reader.engine is not bind or _reader.pid != os.getpid():
            conn = bind.connect().execution_options(isolation_level="AUTOCOMMIT")
            _reader.conn, _reader.engine, _reader.pid = conn, bind, os.getpid()
        try:
            return list(conn.execute(_READ))
        except DBAPIError:  # the server restarted or dropped the connection: once more on a new one
            _reader.conn = None
            conn.invalidate()
            if attempt == 2:
                raise
    return []
