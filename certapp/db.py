"""The SQLAlchemy base with a constraint naming convention and SQLite tuning (the commit: certapp.uow)."""
import sqlite3
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, TypeVar, cast

from flask_sqlalchemy import SQLAlchemy
from flask_sqlalchemy.session import Session as FlaskSession
from sqlalchemy import JSON, BigInteger, CheckConstraint, DateTime, ForeignKey, MetaData, event
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.engine import CursorResult, Engine, Result
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from sqlalchemy.sql.selectable import CompoundSelect, Select
from sqlalchemy.types import TypeDecorator

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


#: session.info key: the standby's engine while the current view's reads may go to it (set and
#: removed by certapp.common.replica.reads_from_replica)
REPLICA_READS = "certapp.replica_reads"


class RoutingSession(FlaskSession):
    """The session of every request, command and job: everything goes to the primary (DATABASE_URL),
    except the plain SELECTs of a view that `reads_from_replica` let go to the hot standby.

    Only a SELECT without FOR UPDATE, outside a flush, may go to the standby; the first statement
    that is not one (a flush, an UPDATE, `session.connection()` for Core work) ends the unit's reads
    from the standby, so what it wrote is read back from the primary (read-your-writes inside a
    request). The scope hooks (certapp.common.scope) rewrite statements before this choice, so they
    apply wherever a statement is sent."""

    def get_bind(self, mapper=None, clause=None, bind=None, **kwargs):
        replica = self.info.get(REPLICA_READS)
        if replica is not None and bind is None:
            if _plain_read(clause) and not self._flushing:
                return replica
            del self.info[REPLICA_READS]
        return super().get_bind(mapper=mapper, clause=clause, bind=bind, **kwargs)


def _plain_read(clause) -> bool:
    if isinstance(clause, Select):
        return clause._for_update_arg is None
    return isinstance(clause, CompoundSelect)


db = SQLAlchemy(model_class=Base, session_options={"class_": RoutingSession})

if TYPE_CHECKING:
    # flask-sqlalchemy builds db.Model at run time (on Base, adding its table-name and bind machinery);
    # the models' columns and relationships are typed by the declarative base, so that is what mypy sees
    Model = Base
else:
    Model = db.Model


M = TypeVar("M")


def rowcount(result: Result[Any]) -> int:
    """The rows an UPDATE or DELETE run through the session matched (session.execute() is typed as
    answering a Result; for those statements it is a CursorResult, which counts them)."""
    return cast(CursorResult[Any], result).rowcount


def insert_unless_taken(model: type[M], unique: list[str], **values: Any) -> M | None:
    """INSERT … ON CONFLICT (unique) DO NOTHING RETURNING the row, in one statement: the new row as a
    persistent object, or None when the unique index already holds one with those values (a retry, or a
    concurrent transaction that inserted it: on PostgreSQL this one waits for that one to end). Where a
    unique index decides a race, without a savepoint around an INSERT that may fail."""
    insert = pg_insert if db.session.get_bind().dialect.name == "postgresql" else sqlite_insert
    return db.session.scalars(insert(model).values(**values).on_conflict_do_nothing(index_elements=unique)
                              .returning(model)).one_or_none()


def one_of(column: str, values, name: str | None = None) -> CheckConstraint:
    """CHECK (column IN (...)) written from the dict (or tuple) that names a document's statuses or
    kinds, so that the dict is the one source; tests/test_status_checks.py compares every such CHECK
    of the migrated database with its dict (a status added to the dict needs its migration)."""
    allowed = tuple(values)
    return CheckConstraint(f"{column} IN (" + ", ".join(f"'{value}'" for value in allowed) + ")",
                           name=name or column, info={"column": column, "values": allowed})


def column_length(column) -> int:
    """The length of a model's String column: the one limit of that field (the service checks it, and the
    API documents it)."""
    return column.property.columns[0].type.length


#: the largest id an id column holds (a PostgreSQL integer): a larger number names no row, and compared
#: with a column it is an error of the database, not an empty answer
MAX_ID = 2**31 - 1


def utcnow() -> datetime:
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator):
    """A timezone-aware UTC datetime on both databases (SQLite stores naive values)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is not None and value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        return value.astimezone(UTC) if value is not None else None

    def process_result_value(self, value, dialect):
        if value is not None and value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value


class StoredComputation:
    """Mixin of a summary too long to compute while a page waits (it reads a whole region): computed by
    a job, nightly or on request, and kept for the page and the API to answer at once."""

    computed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    #: how long the computation took, milliseconds
    duration_ms: Mapped[int] = mapped_column(BigInteger)
    #: who asked for it; None: the nightly job
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    #: the summary as JSON (the model says its shape)
    result: Mapped[dict[str, Any]] = mapped_column(JSON)


@event.listens_for(Engine, "connect")
def _sqlite_on_connect(dbapi_connection, connection_record):
    if not isinstance(dbapi_connection, sqlite3.Connection):
        return
    # Let SQLAlchemy emit BEGIN itself (see _sqlite_on_begin) instead of pysqlite.
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()
    # SQLite's own lower() folds only ASCII; searches need Cyrillic folded too.
    dbapi_connection.create_function("lower", 1, _py_lower, deterministic=True)
    register_stemmer(dbapi_connection)


def register_stemmer(dbapi_connection) -> None:
    """ru_stem(text): the catalog's search index triggers on program call it (migration 0035), so every
    connection that writes programs needs it."""
    from certapp.stemming import stemmed  # snowballstemmer is loaded only by SQLite connections

    dbapi_connection.create_function("ru_stem", 1, stemmed, deterministic=True)


def _py_lower(value):
    return value.lower() if isinstance(value, str) else value


@event.listens_for(Engine, "begin")
def _sqlite_on_begin(conn):
    # Every transaction takes the write lock at once: two transactions cannot both read a
    # balance and then both write it (the SQLite half of "never below zero").
    if conn.dialect.name == "sqlite":
        conn.exec_driver_sql("BEGIN IMMEDIATE")


#: database objects that migrations make outside the models (the catalog's search index, and SQLite's
#: FTS5 tables behind it; SQLite's version of certificates' states, migration 0045): the autogenerate
#: comparison leaves them alone, and the tests' emptying of every modelled table too
UNMODELLED_PREFIXES = ("program_search", "ix_program_search", "certificate_state")


def include_name(name, type_, parent_names) -> bool:
    """Alembic's filter: everything but the UNMODELLED objects."""
    return not (name or "").startswith(UNMODELLED_PREFIXES)
