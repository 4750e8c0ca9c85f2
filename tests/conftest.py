"""Fixtures: the app on each database, a clean database per test, clients logged in per role.

Every test that uses `app` runs on SQLite and, when CERTAPP_TEST_DATABASE_URL is set, on
PostgreSQL too. The schema is built by the Alembic migrations, as in production.

Each database holds its reference data and nothing else between tests. A test runs inside one
outer transaction that is rolled back at its end: the app's sessions join it through a savepoint
(`join_transaction_mode="create_savepoint"`), so the app's own commit() and rollback() work as in
production, on that savepoint. A test whose work must really be committed, because other threads
or processes read it (concurrency, job workers, servers) or because it changes the schema, says
so with @pytest.mark.commits: it runs on the database itself, which is emptied after it.
"""
import os
from contextlib import contextmanager
from pathlib import Path

import pytest
from flask import g
from sqlalchemy import create_engine, inspect, make_url, text

# jobs run at once, in the test's process, from an in-memory queue (tests/jobs start real workers)
os.environ.setdefault("CERTAPP_JOBS_URL", "memory://")

from certapp import create_app
from certapp.config import normalise_db_url
from certapp.db import db
from certapp.jobs import huey

huey.immediate = True
from tests import factories  # noqa: E402

PG_URL = os.environ.get("CERTAPP_TEST_DATABASE_URL")
PG_SKIP = "CERTAPP_TEST_DATABASE_URL is not set: the PostgreSQL leg of this test is skipped"
#: gw0, gw1 … when pytest-xdist runs the suite in several processes (scripts/test: -n auto, at most 4)
WORKER = os.environ.get("PYTEST_XDIST_WORKER")
#: each worker its own Redis database (15, 14 …), since the tests that use Redis empty theirs
#: CERTAPP_TEST_REDIS_DB moves the first one, so that two checkouts can run their suites at once
REDIS_DB = int(os.environ.get("CERTAPP_TEST_REDIS_DB", "15"))
REDIS_URL = f"redis://127.0.0.1:6379/{REDIS_DB - int(WORKER[2:]) if WORKER else REDIS_DB}"

#: The tests build their dates from date.today() (the machine's zone); the app's clock reads the same zone
#: here, so that a run near midnight in Krasnoyarsk does not see two different days.
MACHINE_ZONE = os.environ.get("TZ") or (Path("/etc/timezone").read_text().strip()
                                        if Path("/etc/timezone").exists() else "UTC")

TEST_CONFIG = {
    "TESTING": True,
    "TIME_ZONE": MACHINE_ZONE,
    "SECRET_KEY": "test-secret-key-not-for-production",
    "WTF_CSRF_ENABLED": False,
    # cheap hashing in tests only; production uses config.DEFAULTS (above OWASP's minimum)
    "PASSWORD_HASH_PARAMS": {"time_cost": 1, "memory_cost": 8, "parallelism": 1},
    "SERVER_NAME": "localhost",
    # limits are tested where they are enabled (tests/security/test_rate_limits.py)
    "RATELIMIT_ENABLED": False,
    # a test's certificates are rolled back unheard by the cache: it is tested where it is enabled
    # (tests/certificates/test_state_cache.py)
    "CERTIFICATE_STATE_CACHE": False,
}


@pytest.fixture(scope="session", autouse=True)
def instance_path(tmp_path_factory):
    """The instance folder (keys, the rate limits' counters) in pytest's own temporary folders,
    which pytest removes in its turn, not in a folder left in /tmp; read when an app is built."""
    path = str(tmp_path_factory.mktemp("instance"))
    os.environ["CERTAPP_INSTANCE_PATH"] = path
    return path


def _wipe(url: str) -> None:
    """Drop every table, so that the migrations start from an empty database."""
    engine = create_engine(url)
    with engine.begin() as conn:
        if engine.dialect.name == "postgresql":
            conn.execute(text("DROP SCHEMA public CASCADE"))
            conn.execute(text("CREATE SCHEMA public"))
        else:
            conn.execute(text("PRAGMA foreign_keys=OFF"))
            for table in inspect(conn).get_table_names():  # IF EXISTS: FTS5's tables go with theirs
                conn.execute(text(f'DROP TABLE IF EXISTS "{table}"'))
    engine.dispose()


def _worker_database(url: str) -> str:
    """Under pytest-xdist each worker its own PostgreSQL database beside the given one (test_gw0 …),
    created when missing: the tests empty and refill theirs freely."""
    if not WORKER:
        return url
    given = make_url(url)
    name = f"{given.database}_{WORKER}"
    admin = create_engine(given, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        if conn.execute(text("SELECT 1 FROM pg_database WHERE datname = :name"), {"name": name}).first() is None:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return given.set(database=name).render_as_string(hide_password=False)


def make_app(url: str, **overrides):
    app = create_app({**TEST_CONFIG, "SQLALCHEMY_DATABASE_URI": url, **overrides})

    # Test requests run inside the test's app context (so that they share its session), which
    # would let Flask-Login's per-request user cache in `g` leak from one client to the next.
    def forget_cached_user():
        g.pop("_login_user", None)

    app.before_request_funcs.setdefault(None, []).insert(0, forget_cached_user)
    return app


@pytest.fixture(scope="session", params=["sqlite", "postgresql"])
def database_url(request, tmp_path_factory):
    """A migrated database of each kind holding the reference data, once per test session."""
    if request.param == "postgresql":
        if not PG_URL:
            pytest.skip(PG_SKIP)
        url = _worker_database(normalise_db_url(PG_URL))
    else:
        url = "sqlite:///" + str(tmp_path_factory.mktemp("db") / "test.sqlite")
    _wipe(url)
    app = _app_for(url, {})
    with app.app_context():
        from flask_migrate import upgrade
        upgrade()
    _reset(app)
    return url


def _clean(app) -> None:
    """Empty every table and restart the ids. On PostgreSQL a DELETE per table with the triggers
    off (the audit log refuses deletes) is ~20× faster than one TRUNCATE of 46 tables."""
    with app.app_context():
        tables = db.metadata.sorted_tables
        if db.engine.dialect.name == "postgresql":
            db.session.execute(text("SET LOCAL session_replication_role = replica"))
            for table in reversed(tables):
                db.session.execute(table.delete())
            used = db.session.execute(text(
                "SELECT sequencename FROM pg_sequences WHERE schemaname = 'public' AND last_value IS NOT NULL"))
            for (name,) in used:
                db.session.execute(text(f'ALTER SEQUENCE "{name}" RESTART'))
        else:
            db.session.execute(text("PRAGMA defer_foreign_keys=ON"))  # user <-> provider is a cycle
            for table in reversed(tables):
                db.session.execute(table.delete())
        db.session.commit()


def _reset(app) -> None:
    """Put the database back as every test expects it: the reference data and nothing else, committed."""
    _clean(app)
    with app.app_context():
        from certapp.reference.services import load_reference_data
        load_reference_data()
        db.session.commit()
        db.session.remove()


@contextmanager
def _rolled_back():
    """Run the app (in the current app context) inside one transaction rolled back at the end.

    The app's engine is swapped for one connection holding the outer transaction; every session
    joins it through a savepoint of its own (see _join_by_savepoint), so a commit() in the app
    releases that savepoint and a rollback() returns to it. Code that would open a connection of
    its own (`db.engine.connect()`) fails at once here: such a test needs @pytest.mark.commits."""
    engines = db.engines
    engine = engines[None]
    connection = engine.connect()
    outer = connection.begin()
    engines[None] = connection
    try:
        yield
    finally:
        db.session.remove()
        engines[None] = engine
        outer.rollback()
        connection.close()


def _join_by_savepoint() -> None:
    """Sessions bound to a connection already in a transaction begin a savepoint of their own and
    leave the transaction to its owner; bound to an engine (production, @pytest.mark.commits) this
    changes nothing."""
    db.session.session_factory.configure(join_transaction_mode="create_savepoint")


_join_by_savepoint()


#: the app of each database with the default test configuration, built once per process: building
#: one costs ~0.2 s of CPU (mostly the OpenAPI document), which was half the suite's set-up
_DEFAULT_APPS: dict[str, object] = {}


def _app_for(url: str, overrides: dict):
    """A fresh app for a test with its own configuration; the shared one, its configuration put back
    as it was built, otherwise."""
    if overrides:
        return make_app(url, **overrides)
    app = _DEFAULT_APPS.get(url)
    if app is None:
        app = _DEFAULT_APPS[url] = make_app(url)
        app.config["_BUILT_WITH"] = dict(app.config)
    else:
        built = app.config["_BUILT_WITH"]
        app.config.clear()
        app.config.update(built, _BUILT_WITH=built)
    return app


@pytest.fixture(autouse=True)
def committed_work_removed(request):
    """After a test marked @pytest.mark.commits, its database back to the reference data alone
    (whether it used `app` or apps of its own on `database_url`)."""
    yield
    if request.node.get_closest_marker("commits") and "database_url" in request.fixturenames:
        _reset(_app_for(request.getfixturevalue("database_url"), {}))


@pytest.fixture
def app(request, database_url):
    """The app on a database holding the reference data, its work rolled back after the test (or,
    with @pytest.mark.commits, committed and emptied after it). @pytest.mark.app_config(KEY=value)
    overrides the configuration."""
    marker = request.node.get_closest_marker("app_config")
    app = _app_for(database_url, marker.kwargs if marker else {})
    with app.app_context():
        if request.node.get_closest_marker("commits"):
            yield app  # the database is reset by committed_work_removed
            db.session.remove()
        else:
            with _rolled_back():
                yield app
        if marker:
            db.engine.dispose()


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def users(app):
    """One account of each role, with factories.PASSWORD."""
    result = {role: factories.make_user(role) for role in ("parent", "provider", "department", "bookkeeping", "region")}
    db.session.commit()
    return result


@pytest.fixture
def login(app):
    """login(user) -> a test client logged in as that user through the login form."""
    def _login(user, password=factories.PASSWORD):
        client = app.test_client()
        response = client.post("/account/login", data={"email": user.email, "password": password})
        assert response.status_code == 302, response.get_data(as_text=True)
        return client
    return _login


@pytest.fixture
def api(app):
    """api(user) -> a test client whose requests carry a fresh bearer token of that user."""
    def _api(user=None):
        client = app.test_client()
        if user is not None:
            token = factories.make_token(user)
            db.session.commit()
            client.environ_base["HTTP_AUTHORIZATION"] = f"Bearer {token}"
        return client
    return _api
