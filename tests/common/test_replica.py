"""Reads from a real PostgreSQL hot standby (certapp.common.replica), started by the test itself.

The standby is a second PostgreSQL 15 cluster on a free port, made with `pg_basebackup -R` (streaming
replication) from the machine's primary at 127.0.0.1:5432 when its pg_hba.conf lets a replication
connection in; the machine's pg_hba.conf is not edited: without such a line the test makes a primary of
its own (initdb allows replication locally) and the standby from that one. Either way the app's
database is a fresh one, migrated, and everything the test starts is stopped and removed after it.
"""
import os
import shutil
import socket
import subprocess
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path

import pytest
from sqlalchemy import create_engine, event, make_url, text
from sqlalchemy.exc import OperationalError

from certapp.common.replica import EXTENSION, MARK, TOKEN_MARKS, TokenMarks
from certapp.db import db
from tests import factories
from tests.conftest import PG_SKIP, PG_URL, REDIS_URL, make_app

BIN = Path("/usr/lib/postgresql/15/bin")
pytestmark = [pytest.mark.commits,
              pytest.mark.skipif(not PG_URL, reason=PG_SKIP),
              pytest.mark.skipif(not (BIN / "pg_basebackup").exists() or shutil.which("runuser") is None,
                                 reason=f"PostgreSQL 15's binaries ({BIN}) or runuser are missing: no standby"),
              pytest.mark.skipif(os.geteuid() != 0, reason="the standby's clusters run as postgres by runuser, "
                                                           "which needs root")]


def _as_postgres(*command: str, check: bool = True) -> subprocess.CompletedProcess:
    return subprocess.run(["runuser", "-u", "postgres", "--", *command], capture_output=True, text=True,
                          check=check, timeout=60, cwd="/tmp")


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _start(data: Path, port: int) -> None:
    _as_postgres(str(BIN / "pg_ctl"), "-D", str(data), "-l", str(data.parent / f"{data.name}.log"), "-w", "-t", "30",
                 "-o", f"-p {port} -k {data.parent} -c listen_addresses=127.0.0.1 -c fsync=off "
                       "-c shared_buffers=16MB -c max_connections=30 -c wal_receiver_status_interval=1", "start")


def _stop(data: Path) -> None:
    _as_postgres(str(BIN / "pg_ctl"), "-D", str(data), "-m", "immediate", "-w", "stop", check=False)


def _base_backup(host: str, port: int, target: Path) -> subprocess.CompletedProcess:
    return _as_postgres(str(BIN / "pg_basebackup"), "-h", host, "-p", str(port), "-U", "postgres", "-D", str(target),
                        "-R", "-X", "stream", "-c", "fast", check=False)


class Pair:
    """A primary and its streaming standby, the app's database on both."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.own_primary: Path | None = None
        self.standby = folder / "standby"
        self.standby_port = _free_port()
        self.primary_url = ""

    def standby_url(self) -> str:
        return make_url(self.primary_url).set(host="127.0.0.1", port=self.standby_port).render_as_string(False)

    def start_standby(self) -> None:
        _start(self.standby, self.standby_port)
        engine = create_engine(self.standby_url())
        try:
            for _ in range(100):  # the database's first connection waits for the standby to be consistent
                try:
                    with engine.connect() as connection:
                        connection.execute(text("SELECT 1"))
                    return
                except OperationalError:
                    time.sleep(0.1)
        finally:
            engine.dispose()

    def stop_standby(self) -> None:
        _stop(self.standby)


@contextmanager
def standby_pair():
    folder = Path(tempfile.mkdtemp(prefix="certapp-standby-"))
    shutil.chown(folder, "postgres", "postgres")
    pair = Pair(folder)
    machine = make_url(PG_URL)
    name = f"certapp_replica_{os.getpid()}"
    admin_url = machine.set(database="postgres")
    try:
        if _base_backup(machine.host or "127.0.0.1", machine.port or 5432, folder / "probe").returncode == 0:
            shutil.rmtree(folder / "probe")
        else:  # the machine's pg_hba.conf refuses replication: a primary of our own
            shutil.rmtree(folder / "probe", ignore_errors=True)
            pair.own_primary = folder / "primary"
            port = _free_port()
            _as_postgres(str(BIN / "initdb"), "-D", str(pair.own_primary), "-A", "trust", "-U", "postgres",
                         "--no-sync", "-E", "UTF8", "--locale", "C.UTF-8")
            _start(pair.own_primary, port)
            admin_url = machine.set(host="127.0.0.1", port=port, database="postgres")
        admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
        with admin.connect() as connection:
            connection.execute(text(f'CREATE DATABASE "{name}"'))
        admin.dispose()
        pair.primary_url = admin_url.set(database=name).render_as_string(False)
        result = _base_backup(admin_url.host, admin_url.port, pair.standby)
        assert result.returncode == 0, result.stderr
        pair.start_standby()
        yield pair
    finally:
        pair.stop_standby()
        if pair.own_primary is not None:
            _stop(pair.own_primary)
        elif pair.primary_url:
            admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
            with admin.connect() as connection:
                connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            admin.dispose()
        shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture(scope="module")
def pair():
    with standby_pair() as pair:
        # the page cache off: these tests prove where a page's reads go; the cached pages are below
        app = make_app(pair.primary_url, SQLALCHEMY_REPLICA_URI=pair.standby_url(), REPLICA_MAX_LAG_SECONDS=60.0,
                       PAGE_CACHE=False, REPLICA_MARK_URL=REDIS_URL)
        with app.app_context():
            from flask_migrate import upgrade

            from certapp.reference.services import load_reference_data
            upgrade()
            load_reference_data()
            db.session.commit()
            db.session.remove()
        pair.app = app
        yield pair
        with app.app_context():
            db.engine.dispose()
            app.extensions[EXTENSION].engine.dispose()


@pytest.fixture
def app(pair):
    with pair.app.app_context():
        yield pair.app
        db.session.remove()


def _on_standby(app):
    """The statements the app sent to the standby (a list filled while the test runs)."""
    sent: list[str] = []
    event.listen(app.extensions[EXTENSION].engine, "before_cursor_execute",
                 lambda conn, cursor, statement, *args: sent.append(statement))
    return sent


def _replayed(app) -> None:
    """Wait until the standby has replayed all the primary has now (streaming: well under a second)."""
    with db.engine.connect() as primary:
        target = primary.execute(text("SELECT pg_current_wal_lsn()::text")).scalar_one()
    standby = app.extensions[EXTENSION].engine
    for _ in range(100):
        with standby.connect() as connection:
            if connection.execute(text("SELECT pg_last_wal_replay_lsn() >= CAST(:target AS pg_lsn)"), {"target": target}).scalar_one():
                return
        time.sleep(0.05)
    raise AssertionError("the standby did not replay the primary's WAL within 5 s")


def _replay(app, paused: bool) -> None:
    with app.extensions[EXTENSION].engine.connect() as connection:
        connection.execute(text("SELECT pg_wal_replay_pause()" if paused else "SELECT pg_wal_replay_resume()"))


def _program(title: str):
    user, _ = factories.make_provider()
    program = factories.make_program(user, title=title)
    db.session.commit()
    return program


def test_the_catalog_is_read_from_the_standby_and_a_writer_reads_its_own_writes_from_the_primary(app, pair):
    """A program published while the standby's replay is paused: an anonymous reader (the standby)
    does not see it yet, a user who has just written (the primary, by the WAL mark) does; once replayed,
    both see it. The writes themselves (the login's records) went to the primary."""
    _program("Робототехника для начинающих")
    _replayed(app)
    app.extensions[EXTENSION].refresh(force=True)  # not the state of a check made while the standby started
    sent = _on_standby(app)
    anonymous = app.test_client()
    assert "Робототехника для начинающих" in anonymous.get("/catalog").get_data(as_text=True)
    assert any("program" in statement for statement in sent)
    with app.extensions[EXTENSION].engine.connect() as connection:
        assert connection.execute(text("SELECT pg_is_in_recovery()")).scalar_one()

    _replay(app, paused=True)
    try:
        _program("Шахматы: первые шаги")
        parent = factories.make_user("parent")
        db.session.commit()
        writer = app.test_client()
        assert writer.post("/account/login", data={"email": parent.email, "password": factories.PASSWORD}).status_code == 302
        with writer.session_transaction() as cookie:
            assert cookie.get(MARK)  # the login wrote (on the primary: the standby refuses writes)
        app.extensions[EXTENSION].refresh(force=True)
        sent.clear()
        assert "Шахматы: первые шаги" not in anonymous.get("/catalog").get_data(as_text=True)
        assert sent  # the standby answered it, without the program it has not replayed
        sent.clear()
        assert "Шахматы: первые шаги" in writer.get("/catalog").get_data(as_text=True)
        assert not sent  # the writer's read went to the primary
    finally:
        _replay(app, paused=False)
    _replayed(app)
    app.extensions[EXTENSION].refresh(force=True)
    sent.clear()
    assert "Шахматы: первые шаги" in writer.get("/catalog").get_data(as_text=True)
    assert sent  # replayed past the writer's mark: the standby again
    with writer.session_transaction() as cookie:
        assert MARK not in cookie


def _submitted_program(title: str):
    from certapp.programs import services as programs

    user, _ = factories.make_provider()
    program = factories.make_program(user, title=title, publish=False)
    programs.submit_program(program.id, user)
    return program


def test_an_api_token_reads_its_own_writes_from_the_primary_without_a_cookie(app, pair):
    """A department's integration publishes a program by its token while the standby's replay is paused:
    the token's next read goes to the primary (its WAL mark kept in Redis under the token's hash; the
    client sends no cookie and nothing new), another token's read goes to the standby, which lacks it;
    once the standby has replayed past the mark, the token reads the standby again."""
    import redis  # only this test looks into Redis itself

    program = _submitted_program("Гончарное дело")
    token = factories.make_token(factories.make_user("department"))
    other = factories.make_token(factories.make_user("department"))
    db.session.commit()
    _replayed(app)
    app.extensions[EXTENSION].refresh(force=True)
    mine = {"Authorization": f"Bearer {token}"}
    integration = app.test_client(use_cookies=False)
    _replay(app, paused=True)
    try:
        decided = integration.post(f"/api/v1/programs/{program.id}/decision", json={"decision": "published"},
                                   headers=mine)
        assert decided.status_code == 200, decided.json
        assert redis.Redis.from_url(REDIS_URL).get(TokenMarks.key(token))  # the mark, kept for the token
        app.extensions[EXTENSION].refresh(force=True)
        sent = _on_standby(app)
        own = integration.get("/api/v1/programs/catalog", headers=mine)
        assert program.id in [row["id"] for row in own.json]
        assert not sent  # the token's read went to the primary
        theirs = integration.get("/api/v1/programs/catalog", headers={"Authorization": f"Bearer {other}"})
        assert theirs.status_code == 200 and program.id not in [row["id"] for row in theirs.json]
        assert sent  # the other token read the standby, which has not replayed the decision
    finally:
        _replay(app, paused=False)
    _replayed(app)
    app.extensions[EXTENSION].refresh(force=True)
    sent.clear()
    assert program.id in [row["id"] for row in integration.get("/api/v1/programs/catalog", headers=mine).json]
    assert sent  # replayed past the token's mark: the standby again


def test_a_token_reads_the_primary_when_redis_does_not_answer(app, pair):
    token = factories.make_token(factories.make_user("department"))
    db.session.commit()
    _replayed(app)
    app.extensions[EXTENSION].refresh(force=True)
    kept = app.extensions[TOKEN_MARKS]
    app.extensions[TOKEN_MARKS] = TokenMarks("redis://127.0.0.1:1/0", 60)  # nothing listens there
    try:
        sent = _on_standby(app)
        answer = app.test_client().get("/api/v1/programs/catalog", headers={"Authorization": f"Bearer {token}"})
        assert answer.status_code == 200 and not sent
        assert app.test_client().get("/api/v1/programs/catalog").status_code == 200 and sent  # anonymous: standby
    finally:
        app.extensions[TOKEN_MARKS] = kept


def test_a_standby_that_lags_beyond_the_limit_is_not_read(app, pair):
    _replay(app, paused=True)
    replica = app.extensions[EXTENSION]
    try:
        _program("Хор мальчиков")
        replica.refresh(force=True)
        replica.max_lag = 0.2
        time.sleep(0.3)
        replica.refresh(force=True)
        sent = _on_standby(app)
        assert "Хор мальчиков" in app.test_client().get("/catalog").get_data(as_text=True)
        assert not sent
    finally:
        replica.max_lag = 60.0
        _replay(app, paused=False)


def test_reads_fall_back_to_the_primary_when_the_standby_stops(app, pair):
    """Stopped after the last check found it well: the view's read fails on the standby and is read
    again from the primary (no 500); the next checks leave the standby out until it is back."""
    _program("Лепка из глины")
    _replayed(app)
    replica = app.extensions[EXTENSION]
    replica.refresh(force=True)
    assert replica.replayed is not None
    pair.stop_standby()
    try:
        response = app.test_client().get("/catalog")
        assert response.status_code == 200
        assert "Лепка из глины" in response.get_data(as_text=True)
        assert replica.replayed is None
        assert app.test_client().get("/open").status_code in (200, 302)
    finally:
        pair.start_standby()
    replica.refresh(force=True)
    assert replica.replayed is not None


def test_the_municipality_scope_holds_on_the_standby(app, pair):
    """The scope hook (certapp.common.scope) limits the standby's reads as it does the primary's: an
    official of another municipality reads no certificate of Karatuz there."""
    from sqlalchemy import func, select

    from certapp.certificates.models import Certificate
    from certapp.common.scope import set_scope
    from certapp.db import REPLICA_READS
    from certapp.reference.services import create_municipality

    certificate = factories.make_certificate()
    other = create_municipality(name="Курагинский район", oktmo="04630000", number_code="63")
    db.session.commit()
    own, other_id = certificate.municipality_id, other.id
    _replayed(app)
    sent = _on_standby(app)
    with app.test_request_context():
        session = db.session()
        counts = {}
        for municipality_id in (own, other_id):
            session.info[REPLICA_READS] = app.extensions[EXTENSION].engine
            set_scope(municipality_id)
            counts[municipality_id] = session.execute(
                select(func.count()).select_from(Certificate).where(Certificate.number == certificate.number)).scalar_one()
            set_scope(None)
        session.info.pop(REPLICA_READS, None)
        session.rollback()
    assert counts == {own: 1, other_id: 0}
    assert sum("municipality_id" in statement for statement in sent) == 2


def test_the_public_registry_open_data_and_the_regional_comparison_read_the_standby(app, pair):
    factories.make_provider()
    region = factories.make_user("region")
    db.session.commit()
    official = app.test_client()
    assert official.post("/account/login", data={"email": region.email, "password": factories.PASSWORD}).status_code == 302
    _replayed(app)
    app.extensions[EXTENSION].refresh(force=True)
    sent = _on_standby(app)
    for client, url in ((app.test_client(), "/registry/"), (app.test_client(), "/registry/export.csv"),
                        (app.test_client(), "/open"), (app.test_client(), "/api/v1/programs/catalog"),
                        (official, "/reports/region")):
        sent.clear()
        response = client.get(url)
        assert response.status_code in (200, 302), (url, response.status_code)
        assert sent, f"{url} was not read from the standby"


def test_a_page_made_for_the_page_cache_reads_the_primary_never_a_lagging_standby(pair):
    """An anonymous page is kept under the newest data stamp: made from a standby that has not replayed
    that change, it would show seats that are gone until the next change. So it is made from the primary."""
    cached = make_app(pair.primary_url, SQLALCHEMY_REPLICA_URI=pair.standby_url(), REPLICA_MAX_LAG_SECONDS=60.0,
                      PAGE_CACHE=True)
    with cached.app_context():
        _replayed(cached)
        _replay(cached, paused=True)
        try:
            _program("Керамика для малышей")
            cached.extensions[EXTENSION].refresh(force=True)
            sent = _on_standby(cached)
            anonymous = cached.test_client()
            assert "Керамика для малышей" in anonymous.get("/catalog").get_data(as_text=True)
            assert "Керамика для малышей" in anonymous.get("/catalog").get_data(as_text=True)  # now from the cache
            assert not sent
        finally:
            _replay(cached, paused=False)
            db.session.remove()
            db.engine.dispose()
            cached.extensions[EXTENSION].engine.dispose()
