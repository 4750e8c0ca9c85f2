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
import hashlib
import os
import shutil
from contextlib import contextmanager
from pathlib import Path

import pytest
from flask import g
from sqlalchemy import create_engine, make_url, text

# jobs run at once, in the test's process, from an in-memory queue (tests/jobs start real workers)
os.environ.setdefault("CERTAPP_JOBS_URL", "memory://")

from certapp import create_app
from certapp.common.clock import DEFAULT_TIME_ZONE
from certapp.config import clock_from_environment, normalise_db_url
from certapp.db import db
from certapp.jobs import huey

huey.immediate = True
from tests import factories, shared  # noqa: E402

PG_URL = os.environ.get("CERTAPP_TEST_DATABASE_URL")
PG_SKIP = "CERTAPP_TEST_DATABASE_URL is not set: the PostgreSQL leg of this test is skipped"
#: gw0, gw1 … when pytest-xdist runs the suite in several processes (scripts/test: -n auto, at most 4)
WORKER = os.environ.get("PYTEST_XDIST_WORKER")
#: each worker its own Redis database (15, 14 …), since the tests that use Redis empty theirs
#: CERTAPP_TEST_REDIS_DB moves the first one, so that two checkouts can run their suites at once
REDIS_DB = int(os.environ.get("CERTAPP_TEST_REDIS_DB", "15"))
REDIS_URL = f"redis://127.0.0.1:6379/{REDIS_DB - int(WORKER[2:]) if WORKER else REDIS_DB}"

#: The tests read their days from the app's clock (certapp.common.clock), in the installation's zone
#: (Krasnoyarsk, UTC+7), not the machine's (UTC here): a local day begins 7 hours before the UTC one.
TEST_ZONE = DEFAULT_TIME_ZONE
#: The day (a local moment) every test runs on unless it sets its own CLOCK_NOW: an ordinary school day, so
#: that nothing depends on the day the suite runs. CERTAPP_TEST_TODAY runs the suite as of another day
#: (`CERTAPP_TEST_TODAY=2027-01-01T00:30 scripts/test`); the servers and workers the tests start read it
#: (and the zone) from CERTAPP_CLOCK_NOW (CERTAPP_TIME_ZONE), set here for them.
DEFAULT_TEST_TODAY = "2026-12-04T12:00"
TEST_TODAY = clock_from_environment(os.environ.get("CERTAPP_TEST_TODAY", "") or DEFAULT_TEST_TODAY)
os.environ["CERTAPP_CLOCK_NOW"] = TEST_TODAY
os.environ["CERTAPP_TIME_ZONE"] = TEST_ZONE

TEST_CONFIG = {
    "TESTING": True,
    "TIME_ZONE": TEST_ZONE,
    "CLOCK_NOW": TEST_TODAY,
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


#: the files that decide the migrated schema: the migrations and what they import from the app
_MIGRATIONS = Path(__file__).resolve().parent.parent


def _migrations_key() -> str:
    """A digest of the migrations (and certapp/db.py, which they import): a migrated database kept
    under this key is the one the migrations would build now."""
    digest = hashlib.sha256()
    files = sorted(path for path in (_MIGRATIONS / "migrations").rglob("*")
                   if path.is_file() and "__pycache__" not in path.parts)
    for path in [*files, _MIGRATIONS / "certapp" / "db.py"]:
        digest.update(str(path.relative_to(_MIGRATIONS)).encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()[:12]


def _migrate(url: str) -> None:
    """Run the migrations on an empty database, then let go of its connections."""
    app = make_app(url)
    with app.app_context():
        from flask_migrate import upgrade
        upgrade()
        db.session.remove()
        db.engine.dispose()


def _postgresql_database(url: str) -> str:
    """This process's PostgreSQL database (under pytest-xdist each worker its own beside the given one,
    test_gw0 …), created afresh as a copy of a template migrated once: `<given>_migrated_<key>`, built
    by the first process that needs it (an advisory lock keeps the others waiting) and kept on the
    server for the next runs while the migrations do not change."""
    given = make_url(url)
    name = f"{given.database}_{WORKER}" if WORKER else given.database
    template = f"{given.database}_migrated_{_migrations_key()}"
    admin = create_engine(given.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text("SELECT pg_advisory_lock(hashtext(:name))"), {"name": template})
        try:
            if conn.execute(text("SELECT 1 FROM pg_database WHERE datname = :name"), {"name": template}).first() is None:
                building = f"{template}_partial"  # renamed once migrated: a run stopped halfway leaves no template
                conn.execute(text(f'DROP DATABASE IF EXISTS "{building}"'))
                conn.execute(text(f'CREATE DATABASE "{building}"'))
                _migrate(given.set(database=building).render_as_string(hide_password=False))
                conn.execute(text(f'ALTER DATABASE "{building}" RENAME TO "{template}"'))
                stale = conn.execute(text("SELECT datname FROM pg_database WHERE datname LIKE :prefix AND datname <> :name"),
                                     {"prefix": f"{given.database}_migrated_%", "name": template}).scalars().all()
                for old in stale:  # the templates of migrations that have changed since
                    conn.execute(text(f'DROP DATABASE IF EXISTS "{old}"'))
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))
            conn.execute(text(f'CREATE DATABASE "{name}" TEMPLATE "{template}"'))
        finally:
            conn.execute(text("SELECT pg_advisory_unlock(hashtext(:name))"), {"name": template})
    admin.dispose()
    return given.set(database=name).render_as_string(hide_password=False)


def _sqlite_database(path: Path, cache: Path) -> str:
    """A copy of a SQLite file migrated once and kept in pytest's cache under the migrations' key."""
    migrated = cache / f"migrated-{_migrations_key()}.sqlite"
    if not migrated.exists():
        building = cache / f"{migrated.name}.{os.getpid()}"  # then moved in whole: workers may race
        building.unlink(missing_ok=True)
        _migrate(f"sqlite:///{building}")
        os.replace(building, migrated)
        for old in cache.glob("migrated-*.sqlite"):
            if old != migrated:
                old.unlink(missing_ok=True)
    shutil.copyfile(migrated, path)
    return f"sqlite:///{path}"


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
    """A migrated database of each kind holding the reference data, once per test process: a copy of
    one migrated once per change of the migrations (see _postgresql_database, _sqlite_database)."""
    if request.param == "postgresql":
        if not PG_URL:
            pytest.skip(PG_SKIP)
        url = _postgresql_database(normalise_db_url(PG_URL))
    else:
        cache = request.config.cache if hasattr(request.config, "cache") else None
        folder = cache.mkdir("certapp-migrated") if cache else tmp_path_factory.getbasetemp()
        url = _sqlite_database(tmp_path_factory.mktemp("db") / "test.sqlite", Path(folder))
    _reset(_app_for(url, {}))
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


#: the app of each database and test configuration, built once per process: building one costs ~1 s of
#: CPU (mostly the OpenAPI document), which was half the suite's set-up
_APPS: dict[tuple[str, str], object] = {}

#: settings read while a request is served, not when the app is built: a test that overrides only these
#: runs on the default app (its configuration put back after it)
RUNTIME_SETTINGS = frozenset({"CLOCK_NOW", "MAX_CONTENT_LENGTH", "LIVE_REPORT_LIMIT", "JOB_MAX_ATTEMPTS"})


def _app_for(url: str, overrides: dict):
    """The app of the database built with these overrides (once), its configuration put back as it was
    built."""
    key = (url, repr(sorted(overrides.items())))
    app = _APPS.get(key)
    if app is None:
        app = _APPS[key] = make_app(url, **overrides)
        app.config["_BUILT_WITH"] = dict(app.config)
    else:
        built = app.config["_BUILT_WITH"]
        app.config.clear()
        app.config.update(built, _BUILT_WITH=built)
    return app


def _overrides(request) -> dict:
    marker = request.node.get_closest_marker("app_config")
    return marker.kwargs if marker else {}


def _builds_own_app(overrides: dict) -> bool:
    return not set(overrides) <= RUNTIME_SETTINGS


#: the open module transaction of each database's default app (see tests/shared.py)
_MODULE_TRANSACTIONS: dict[str, shared.ModuleTransaction] = {}


def _end_module_transaction(url: str) -> None:
    held = _MODULE_TRANSACTIONS.pop(url, None)
    if held is not None:
        try:
            held.outer.rollback()
        finally:
            held.connection.close()


def _shares_module_transaction(request) -> bool:
    """Whether the test runs on the default app inside its module's transaction."""
    return ("app" in request.fixturenames and not _builds_own_app(_overrides(request))
            and not request.node.get_closest_marker("commits"))


def _module_data_key(item) -> tuple:
    """Where a test stands among its module's tests for the module transaction it needs (on each database in
    turn): tests that do
    not share it first (each ends the open ones), then by the settings the shared data is built under,
    then by the shared data asked for, the less first (a test asking for less than the transaction holds
    starts a fresh one: shared.holds_more_than_used). `users` is under every other builder that has one."""
    marker = item.get_closest_marker("app_config")
    settings = marker.kwargs if marker else {}
    # first by database: each switch sets the session's database up again (a PostgreSQL one is dropped and
    # copied anew, which an open module transaction of the other group would refuse)
    database = getattr(item, "callspec", None) and item.callspec.params.get("database_url") or ""
    if ("app" not in item.fixturenames or _builds_own_app(settings)
            or item.get_closest_marker("commits")):
        return (database, 0)
    names = sorted(name for name in item.fixturenames if name in shared.BY_NAME)
    level = 0 if not names else 1 if names == ["users"] else 2
    return (database, 1, repr(sorted(settings.items())), level, names)


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(config, items):
    """Each module's tests grouped by the module transaction they need (_module_data_key), in the random
    order pytest-randomly gave them within a group: otherwise a module mixing tests of several kinds
    rebuilds its shared data at nearly every switch. Modules keep their places."""
    grouped, start = [], 0
    for index in range(1, len(items) + 1):
        if index == len(items) or getattr(items[index], "module", None) is not getattr(items[start], "module", None):
            grouped.extend(sorted(items[start:index], key=_module_data_key))
            start = index
    items[:] = grouped


@pytest.fixture(scope="session", autouse=True)
def module_transactions_ended():
    yield
    for url in list(_MODULE_TRANSACTIONS):
        _end_module_transaction(url)


@contextmanager
def _in_module_transaction(url: str, request, settings: dict):
    """Run the default app (in the current app context) inside a savepoint of its module's transaction,
    rolled back at the end of the test; the shared data the test uses is built first (tests/shared.py).
    As in _rolled_back, the engine is swapped for the connection during the test."""
    module = (request.node.module.__name__, repr(sorted(settings.items())))  # data built under its settings
    held = _MODULE_TRANSACTIONS.get(url)
    if held is not None and (held.module != module or shared.holds_more_than_used(held, request)):
        _end_module_transaction(url)
        held = None
    engines = db.engines
    engine = engines[None]
    if held is None:
        connection = engine.connect()
        held = _MODULE_TRANSACTIONS[url] = shared.ModuleTransaction(module, connection, connection.begin())
    engines[None] = held.connection
    shared.current = held
    try:
        shared.build_for(request)
        savepoint = held.connection.begin_nested()
        try:
            yield
        finally:
            db.session.remove()
            try:
                savepoint.rollback()
            except Exception:  # the test left the module's transaction unusable: start the next one afresh
                _end_module_transaction(url)
                raise
    finally:
        shared.current = None
        engines[None] = engine


@pytest.fixture(autouse=True)
def committed_work_removed(request):
    """Before a test that does not share its module's transaction, the open ones ended (SQLite would
    keep the test's other connections waiting on their write lock); after a test marked
    @pytest.mark.commits, its database back to the reference data alone (whether it used `app` or
    apps of its own on `database_url`)."""
    if not _shares_module_transaction(request):
        for url in list(_MODULE_TRANSACTIONS):
            _end_module_transaction(url)
    yield
    if request.node.get_closest_marker("commits") and "database_url" in request.fixturenames:
        _reset(_app_for(request.getfixturevalue("database_url"), {}))


@pytest.fixture
def app(request, database_url):
    """The app on a database holding the reference data, its work rolled back after the test (or,
    with @pytest.mark.commits, committed and emptied after it). @pytest.mark.app_config(KEY=value)
    overrides the configuration."""
    overrides = _overrides(request)
    own = _builds_own_app(overrides)
    app = _app_for(database_url, overrides if own else {})
    if not own:
        app.config.update(overrides)
    with app.app_context():
        if request.node.get_closest_marker("commits"):
            yield app  # the database is reset by committed_work_removed
            db.session.remove()
        elif own:
            with _rolled_back():
                yield app
        else:
            with _in_module_transaction(database_url, request, overrides):
                yield app
        if own:
            db.engine.dispose()


@pytest.fixture
def client(app):
    return app.test_client()


def _users():
    """One account of each role, with factories.PASSWORD (built once per module: tests/shared.py)."""
    result = {role: factories.make_user(role) for role in ("parent", "provider", "department", "bookkeeping", "region")}
    db.session.commit()
    return result


users = shared.shared_fixture(_users)


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
