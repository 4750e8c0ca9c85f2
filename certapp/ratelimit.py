"""Rate limits on the endpoints that can be hammered: one table, applied in create_app().

Counters live in a shared storage: Redis when REDIS_URL is set, so that several servers count
together; on the embedded default a SQLite file in the instance folder (SQLiteStorage below), so
that every worker process of the server counts together. A breach answers 429 with Retry-After and
a Russian message (certapp.errors). Each limit can be set in the environment (RATELIMIT_LOGIN …).
"""
import os
import sqlite3
import threading
import time
from functools import partial
from pathlib import Path
from urllib.parse import urlsplit

from flask import current_app, request
from flask_limiter import Limiter
from flask_login import current_user
from limits import parse_many
from limits.storage import Storage

#: scope -> the endpoints that share its counter, the methods counted, and its default limit
#: (config RATELIMIT_<SCOPE> overrides; the syntax is the limits library's, e.g. "10/minute")
LIMITS = {
    "login": (("accounts.login",), ("POST",), "10/minute;100/hour"),
    "register": (("accounts.register", "accounts_api.register"), ("POST",), "10/hour"),
    "password": (("accounts.password", "accounts_api.change_password"), ("POST",), "10/hour"),
    "token": (("accounts.create_token", "accounts_api.create_token"), ("POST",), "20/hour"),
    "letters": (("accounts.forgot_password", "accounts.resend_confirmation", "accounts_api.password_reset",
                 "accounts_api.resend_confirmation"), ("POST",), "5/hour"),
    "verify": (("certificates.verify", "certificates.verify_link", "certificates_api.verify", "documents.verify", "documents_api.verify"),
               None, "60/minute"),
    "catalog": (("programs.catalog", "programs_api.catalog"), None, "120/minute"),
}


def client_key() -> str:
    """Who is counted: the account when logged in (or holding a token), else the address."""
    if current_user and current_user.is_authenticated:
        return f"user:{current_user.id}"
    return f"addr:{request.remote_addr or '-'}"


def apply_limits(app) -> None:
    """Give the app its own limiter (the view functions are shared by every app of a process, so a
    global one would collect their limits) and wrap each listed endpoint's view in its scope's
    shared limit."""
    limiter = Limiter(key_func=client_key, headers_enabled=True)
    limiter.init_app(app)
    app.extensions["certapp.limiter"] = limiter  # the limit wrappers hold it only weakly
    for scope, (endpoints, methods, default) in LIMITS.items():
        key = f"RATELIMIT_{scope.upper()}"
        app.config.setdefault(key, default)
        _checked(key, app.config[key])  # a mistyped limit stops the start, not a request with a 500
        shared = limiter.shared_limit(partial(_configured, key), scope=scope,
                                      methods=list(methods) if methods else None)
        for endpoint in endpoints:
            app.view_functions[endpoint] = shared(app.view_functions[endpoint])


def seconds_to_reset() -> int:
    """Seconds until the breached limit of this request lets the client in again."""
    current = current_app.extensions["certapp.limiter"].current_limit
    return max(1, int(current.reset_at - time.time()) + 1) if current else 60


class SQLiteStorage(Storage):
    """The embedded default's counters (`sqlite:///path`): one small SQLite file that every worker
    process of one server shares, so that the limits hold per server, not per worker, with no server
    to run. Fixed windows only (the limiter's default strategy). Several servers count together only
    in Redis (REDIS_URL).

    Each increment is one atomic statement (an upsert that starts a new window when the old one has
    expired); a connection is opened lazily in each process and thread (gunicorn forks after the
    master built the app)."""

    STORAGE_SCHEME = ["sqlite"]
    #: an expired window's row is swept after this many increments of a process
    SWEEP_EVERY = 1000

    def __init__(self, uri: str | None = None, wrap_exceptions: bool = False, **options):
        # as SQLAlchemy's: sqlite:///relative/file, sqlite:////absolute/file
        self.path = urlsplit(uri).path[1:] if uri else ""
        self.path = self.path or ":memory:"
        self._local = threading.local()
        self._increments = 0
        super().__init__(uri, wrap_exceptions=wrap_exceptions, **options)

    @property
    def base_exceptions(self):
        return sqlite3.Error

    def _db(self) -> sqlite3.Connection:
        conn, pid = getattr(self._local, "conn", None), getattr(self._local, "pid", None)
        if conn is None or pid != os.getpid():  # a forked worker opens its own
            if self.path != ":memory:":
                Path(self.path).parent.mkdir(parents=True, exist_ok=True)
            conn = sqlite3.connect(self.path, timeout=10, isolation_level=None, check_same_thread=False)
            # several workers opening the new file at once: switching it to WAL takes a lock that the busy
            # timeout does not wait for, so the set-up is tried again for a while instead of failing
            for attempt in range(50):
                try:
                    conn.execute("PRAGMA journal_mode=WAL")
                    conn.execute("PRAGMA synchronous=NORMAL")
                    conn.execute("CREATE TABLE IF NOT EXISTS rate_limit "
                                 "(key TEXT PRIMARY KEY, value INTEGER NOT NULL, expires_at REAL NOT NULL)")
                    break
                except sqlite3.OperationalError:
                    if attempt == 49:
                        raise
                    time.sleep(0.1)
            self._local.conn, self._local.pid = conn, os.getpid()
        return conn

    def incr(self, key: str, expiry: int, amount: int = 1) -> int:
        now = time.time()
        conn = self._db()
        value = conn.execute(
            "INSERT INTO rate_limit (key, value, expires_at) VALUES (?, ?, ?) ON CONFLICT (key) DO UPDATE SET "
            "value = CASE WHEN expires_at <= ? THEN excluded.value ELSE value + excluded.value END, "
            "expires_at = CASE WHEN expires_at <= ? THEN excluded.expires_at ELSE expires_at END RETURNING value",
            (key, amount, now + expiry, now, now)).fetchone()[0]
        self._increments += 1
        if self._increments % self.SWEEP_EVERY == 0:
            conn.execute("DELETE FROM rate_limit WHERE expires_at <= ?", (now,))
        return value

    def get(self, key: str) -> int:
        row = self._db().execute("SELECT value FROM rate_limit WHERE key = ? AND expires_at > ?",
                                 (key, time.time())).fetchone()
        return row[0] if row else 0

    def get_expiry(self, key: str) -> float:
        now = time.time()
        row = self._db().execute("SELECT expires_at FROM rate_limit WHERE key = ? AND expires_at > ?",
                                 (key, now)).fetchone()
        return row[0] if row else now

    def check(self) -> bool:
        try:
            self._db().execute("SELECT 1").fetchone()
        except sqlite3.Error:
            return False
        return True

    def reset(self) -> int | None:
        return self._db().execute("DELETE FROM rate_limit").rowcount

    def clear(self, key: str) -> None:
        self._db().execute("DELETE FROM rate_limit WHERE key = ?", (key,))


def storage_uri(instance_path: str) -> str:
    """Where the counters live: Redis when REDIS_URL is set (every server counts together), else the
    SQLite file beside the data, shared by the workers of this server."""
    return os.environ.get("REDIS_URL") or "sqlite:///" + str(Path(instance_path).resolve() / "ratelimit.sqlite")


def limits_from_environment() -> dict:
    """RATELIMIT_LOGIN, RATELIMIT_REGISTER … set in the environment, checked against the limits syntax."""
    found = {}
    for scope in LIMITS:
        key = f"RATELIMIT_{scope.upper()}"
        if os.environ.get(key, "").strip():
            found[key] = _checked(key, os.environ[key].strip())
    return found


def _configured(key: str) -> str:
    """A limit as configured now (read on each request: a test or an operator may change it)."""
    return str(current_app.config[key])


def _checked(key: str, value: str) -> str:
    try:
        if not parse_many(value):
            raise ValueError(value)
    except ValueError:
        raise ValueError(f"{key}={value!r} is not a rate limit (the limits syntax: '10/minute;100/hour')") from None
    return value
