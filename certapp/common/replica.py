"""Reads from a PostgreSQL hot standby (DATABASE_REPLICA_URL), writes to the primary.

A view marked `@reads_from_replica` (the catalog, the open data, the public registry, reports, exports,
the regional comparison) sends its plain SELECTs to the standby (certapp.db.RoutingSession) when:
- the standby answers and is in recovery (a promoted or mistaken server is never read as a standby);
- it lags the primary by at most REPLICA_MAX_LAG_SECONDS (CERTAPP_REPLICA_MAX_LAG, 5 s by default);
- it has replayed the user's last write: a request that wrote puts the primary's WAL position after
  its commit (`pg_current_wal_lsn()`) in the session cookie, and the standby is used for that user
  only once `pg_last_wal_replay_lsn()` has reached it (read-your-writes). An API client (a bearer
  token, no cookie) gets the same with no change on its side: its token's mark is kept in Redis
  (REPLICA_MARK_URL, by default REDIS_URL) for a minute, keyed by the token's hash; with no Redis, or
  Redis failing, a token's reads go to the primary.
Otherwise, and when the standby fails during the view, the view reads the primary: never a 500
because of the standby. Its state is checked at most once a second per process.

The lag is an upper bound of how old the standby's data may be: the newest moment at which the
primary's WAL position (sampled at each check) was already replayed, or else the time since the
last replayed commit (`pg_last_xact_replay_timestamp()`).
"""
import hashlib
import logging
import math
import threading
import time
from collections import deque
from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar

from flask import Flask, current_app, g, has_request_context, request, session
from sqlalchemy import create_engine, event, text
from sqlalchemy.engine import Engine
from sqlalchemy.exc import DBAPIError

from certapp.db import REPLICA_READS, db

log = logging.getLogger(__name__)

#: app.extensions key of the app's Replica
EXTENSION = "certapp.replica"
#: the session cookie's key: the primary's WAL position after this user's last write
MARK = "wal_lsn"
#: app.extensions key of the bearer tokens' marks (TokenMarks, or None without Redis)
TOKEN_MARKS = "certapp.replica.token_marks"
#: g's flag: this request sent a write to the primary
_WROTE = "certapp_wrote"
#: g's flag: the answer is made to be kept in the page cache under the newest data version, so it is read
#: where that version is (the primary), never from a standby that may not have replayed it yet
PRIMARY_ONLY = "certapp_primary_only"
#: statements that do not change data (a transaction's own bookkeeping included)
_READS = ("SELECT", "SHOW", "SAVEPOINT", "RELEASE", "ROLLBACK", "BEGIN", "COMMIT", "SET ")

F = TypeVar("F", bound=Callable[..., Any])


def lsn(value: str) -> int:
    """A WAL position '16/B374D848' as a number (PostgreSQL's pg_lsn, comparable)."""
    high, low = value.split("/")
    return (int(high, 16) << 32) | int(low, 16)


class Replica:
    """The standby of one app in one process: its engine and what the last check found."""

    def __init__(self, engine: Engine, max_lag: float, interval: float = 1.0) -> None:
        self.engine = engine
        self.max_lag = max_lag
        self.interval = interval
        self._lock = threading.Lock()
        self._checked = -math.inf
        #: the standby's replayed WAL position when usable, else None
        self.replayed: int | None = None
        self.lag = math.inf
        #: (monotonic time, the primary's WAL position then), the last few seconds'
        self._samples: deque[tuple[float, int]] = deque()

    def engine_for(self, mark: int | None) -> Engine | None:
        """The standby's engine if it may serve a reader whose last write is at WAL position mark."""
        self.refresh()
        replayed = self.replayed
        if replayed is None or (mark is not None and replayed < mark):
            return None
        return self.engine

    def refresh(self, force: bool = False) -> None:
        now = time.monotonic()
        if not force and now - self._checked < self.interval:
            return
        if not self._lock.acquire(blocking=force):
            return  # another thread is checking: its last answer meanwhile
        try:
            if not force and now - self._checked < self.interval:
                return
            self._checked = now
            self.replayed, self.lag = self._check(now)
        finally:
            self._lock.release()

    def _check(self, now: float) -> tuple[int | None, float]:
        try:
            with db.engine.connect() as connection:
                self._samples.append((now, lsn(connection.execute(text("SELECT pg_current_wal_lsn()::text")).scalar_one())))
            with self.engine.connect() as connection:
                recovery, replayed, since_commit = connection.execute(text(
                    "SELECT pg_is_in_recovery(), pg_last_wal_replay_lsn()::text, "
                    "EXTRACT(EPOCH FROM clock_timestamp() - pg_last_xact_replay_timestamp())")).one()
        except DBAPIError as error:
            log.warning("the standby is not read: %s", str(error).splitlines()[0])
            return None, math.inf
        while self._samples and self._samples[0][0] < now - self.max_lag - 2 * self.interval:
            self._samples.popleft()
        if not recovery or replayed is None:
            log.warning("the standby is not read: DATABASE_REPLICA_URL is not a server in recovery")
            return None, math.inf
        position = lsn(replayed)
        caught_up = [moment for moment, primary in self._samples if primary <= position]
        lag = min(now - max(caught_up) if caught_up else math.inf,
                  float(since_commit) if since_commit is not None else math.inf)
        if lag > self.max_lag:
            log.warning("the standby is not read: it lags %.1f s (the limit is %s s)", lag, self.max_lag)
            return None, lag
        return position, lag


class TokenMarks:
    """The WAL position after each bearer token's last write, in Redis for `ttl` seconds (past it the
    standby has replayed the write, or lags beyond the limit and is not read at all). Kept as 16 hex
    digits, raised only (two writes of one token at once: the later position stays)."""

    _RAISE = ("local old = redis.call('GET', KEYS[1]) "
              "if (not old) or ARGV[1] > old then redis.call('SET', KEYS[1], ARGV[1], 'EX', ARGV[2]) "
              "else redis.call('EXPIRE', KEYS[1], ARGV[2]) end")

    def __init__(self, url: str, ttl: int) -> None:
        import redis  # only an installation with Redis needs the client

        self._redis = redis.Redis.from_url(url, socket_timeout=0.25, socket_connect_timeout=0.25)
        self._errors = (redis.RedisError, OSError)
        self.ttl = ttl

    @staticmethod
    def key(token: str) -> str:
        return "certapp:wal_lsn:token:" + hashlib.sha256(token.encode()).hexdigest()

    def remember(self, token: str, position: str) -> None:
        try:
            self._redis.eval(self._RAISE, 1, self.key(token), f"{lsn(position):016x}", self.ttl)
        except self._errors as error:  # the write is committed; its reader may meet a standby behind it
            log.error("a token's WAL position was not kept (Redis: %s): its next reads may miss its write", error)

    def mark(self, token: str) -> tuple[bool, int | None]:
        """(known, position): whether Redis answered, and the token's mark if it has one."""
        try:
            value = self._redis.get(self.key(token))
        except self._errors as error:
            log.warning("a token's WAL position was not read (Redis: %s): it reads the primary", error)
            return False, None
        return True, int(value, 16) if value else None  # type: ignore[arg-type]  # bytes: no decode_responses


def _bearer_token() -> str | None:
    """The request's bearer token (an API client's), if it sends one."""
    header = request.headers.get("Authorization", "")
    return header[7:].strip() or None if header[:7].lower() == "bearer " else None


def init_replica(app: Flask) -> None:
    """The standby's engine and the read-your-writes mark, when SQLALCHEMY_REPLICA_URI is set."""
    url = app.config.get("SQLALCHEMY_REPLICA_URI")
    if not url:
        return
    engine = create_engine(url, pool_pre_ping=True, connect_args={
        "connect_timeout": 2, "options": "-c default_transaction_read_only=on"})
    event.listen(engine, "before_cursor_execute", _refuse_write)
    replica = app.extensions[EXTENSION] = Replica(engine, float(app.config.get("REPLICA_MAX_LAG_SECONDS", 5)))
    marks_url = app.config.get("REPLICA_MARK_URL")
    app.extensions[TOKEN_MARKS] = TokenMarks(marks_url, int(max(60, 10 * replica.max_lag))) if marks_url else None
    with app.app_context():
        event.listen(db.engine, "before_cursor_execute", _note_write)
    app.after_request(_mark_write)


def _is_write(statement: str, context) -> bool:
    if context is not None and (context.isinsert or context.isupdate or context.isdelete):
        return True
    return not statement.lstrip()[:9].upper().startswith(_READS)


def _refuse_write(conn, cursor, statement, parameters, context, executemany) -> None:
    if _is_write(statement, context):
        raise RuntimeError(f"a write sent to the standby: {statement[:80]}")


def _note_write(conn, cursor, statement, parameters, context, executemany) -> None:
    if has_request_context() and not g.get(_WROTE) and _is_write(statement, context):
        setattr(g, _WROTE, True)


def _mark_write(response):
    """After a request that wrote (its unit committed or rolled back already): the primary's WAL
    position, so that this user's next reads wait for the standby to replay it."""
    if g.pop(_WROTE, False):
        try:
            with db.engine.connect() as connection:
                position = connection.execute(text("SELECT pg_current_wal_lsn()::text")).scalar_one()
        except DBAPIError:  # the primary's failure is the request's own to report, not the mark's
            log.exception("the primary's WAL position was not read")
            return response
        token = _bearer_token()
        if token is None:
            session[MARK] = position
        elif (marks := current_app.extensions.get(TOKEN_MARKS)) is not None:
            marks.remember(token, position)
    return response


def _reader_mark() -> tuple[bool, int | None]:
    """(known, position): the WAL position the standby must have replayed for this reader — the session's
    mark, or a token's kept in Redis; not known (a token without Redis to ask) reads the primary."""
    token = _bearer_token()
    if token is None:
        mark = session.get(MARK)
        return True, lsn(mark) if mark else None
    marks: TokenMarks | None = current_app.extensions.get(TOKEN_MARKS)
    return marks.mark(token) if marks is not None else (False, None)


def reads_from_replica(view: F) -> F:
    """Let this view's plain reads go to the standby (see the module), else to the primary."""
    @wraps(view)
    def wrapper(*args, **kwargs):
        replica: Replica | None = current_app.extensions.get(EXTENSION)
        if g.get(PRIMARY_ONLY):
            return view(*args, **kwargs)
        if replica is None:
            return view(*args, **kwargs)
        known, mark = _reader_mark()
        engine = replica.engine_for(mark) if known else None
        if engine is None:
            return view(*args, **kwargs)
        if mark is not None and MARK in session:
            session.pop(MARK)  # replayed: the user's reads need not wait for it any more
        own = db.session()
        own.info[REPLICA_READS] = engine
        try:
            return view(*args, **kwargs)
        except DBAPIError:
            assert replica is not None
            replica.refresh(force=True)
            if replica.replayed is not None:
                raise  # the standby answers: the error is the view's own
            own.rollback()  # the standby went away during the view: the view again, on the primary
            own.info.pop(REPLICA_READS, None)
            return view(*args, **kwargs)
        finally:
            own.info.pop(REPLICA_READS, None)
    return wrapper  # type: ignore[return-value]
