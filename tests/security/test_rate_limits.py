"""Rate limits: 429 with Retry-After and a Russian message, counted per address or account."""
import socket

import pytest

from certapp.db import db
from tests.conftest import REDIS_URL, make_app


def _redis_reachable() -> bool:
    try:
        socket.create_connection(("127.0.0.1", 6379), timeout=0.5).close()
    except OSError:
        return False
    return True


@pytest.mark.app_config(RATELIMIT_ENABLED=True, RATELIMIT_LOGIN="3/minute")
def test_login_hammering_from_one_address_gets_429_in_russian(client):
    for _ in range(3):
        assert client.post("/account/login", data={"email": "a@example.ru", "password": "x"}).status_code == 422
    response = client.post("/account/login", data={"email": "b@example.ru", "password": "x"})
    assert response.status_code == 429
    assert 1 <= int(response.headers["Retry-After"]) <= 60
    assert "Слишком много запросов. Повторите через" in response.get_data(as_text=True)
    other = client.post("/account/login", data={"email": "b@example.ru", "password": "x"},
                        environ_base={"REMOTE_ADDR": "192.0.2.10"})
    assert other.status_code == 422  # another address is counted apart


@pytest.mark.app_config(RATELIMIT_ENABLED=True, RATELIMIT_VERIFY="2/minute")
def test_public_verification_api_is_limited_with_a_json_error(api):
    client = api()
    for _ in range(2):
        assert client.post("/api/v1/certificates/verify", json={"code": "CQ1:x"}).status_code != 429
    response = client.post("/api/v1/certificates/verify", json={"code": "CQ1:x"})
    assert response.status_code == 429
    assert response.get_json()["status"] == "rate_limited"
    assert response.headers["Retry-After"]


@pytest.mark.app_config(RATELIMIT_ENABLED=True, RATELIMIT_REGISTER="1/hour")
def test_registration_page_and_api_share_one_counter(client):
    assert client.post("/account/register", data={"email": "bad"}).status_code == 422
    response = client.post("/api/v1/account/register", json={"email": "bad"})
    assert response.status_code == 429


@pytest.mark.app_config(RATELIMIT_ENABLED=True, RATELIMIT_CATALOG="2/minute")
def test_catalog_search_is_limited_but_other_pages_are_not(client):
    """Searches made afresh are counted; the same page again comes from the cache's edge, uncounted
    (tests/pagecache/test_edge.py)."""
    for text in ("робот", "шахматы"):
        assert client.get(f"/catalog?q={text}").status_code == 200
    assert client.get("/catalog?q=танцы").status_code == 429
    assert client.get("/").status_code == 200


@pytest.mark.app_config(RATELIMIT_ENABLED=True, RATELIMIT_TOKEN="1/hour")
def test_token_creation_is_counted_per_account(users, login):
    client = login(users["parent"])
    assert client.post("/account/tokens", data={"name": "1С"}).status_code == 201
    assert client.post("/account/tokens", data={"name": "1С"}).status_code == 429
    assert login(users["provider"]).post("/account/tokens", data={"name": "1С"}).status_code == 201


@pytest.mark.skipif(not _redis_reachable(), reason="no Redis at 127.0.0.1:6379")
@pytest.mark.commits  # apps of its own on the database
def test_two_servers_on_one_redis_count_together(database_url):
    import redis

    redis.Redis.from_url(REDIS_URL).flushdb()
    config = {"RATELIMIT_ENABLED": True, "RATELIMIT_STORAGE_URI": REDIS_URL, "RATELIMIT_LOGIN": "2/minute"}
    first, second = make_app(database_url, **config), make_app(database_url, **config)
    data = {"email": "x@example.ru", "password": "x"}
    try:
        with first.app_context():
            assert first.test_client().post("/account/login", data=data).status_code == 422
        with second.app_context():
            assert second.test_client().post("/account/login", data=data).status_code == 422
        with first.app_context():
            assert first.test_client().post("/account/login", data=data).status_code == 429
    finally:
        for server in (first, second):
            with server.app_context():
                db.session.remove()
                db.engine.dispose()
        redis.Redis.from_url(REDIS_URL).flushdb()


def test_the_embedded_default_keeps_the_counters_in_a_file_beside_the_data(monkeypatch, tmp_path):
    from certapp.config import load_config

    monkeypatch.delenv("REDIS_URL", raising=False)
    assert load_config(str(tmp_path))["RATELIMIT_STORAGE_URI"] == f"sqlite:///{tmp_path.resolve()}/ratelimit.sqlite"
    monkeypatch.setenv("REDIS_URL", "redis://127.0.0.1:6379/3")
    assert load_config(str(tmp_path))["RATELIMIT_STORAGE_URI"] == "redis://127.0.0.1:6379/3"


@pytest.mark.commits  # apps of its own on the database
def test_two_apps_on_the_embedded_default_count_together(database_url, monkeypatch, tmp_path):
    from certapp.config import load_config

    monkeypatch.delenv("REDIS_URL", raising=False)
    config = {"RATELIMIT_ENABLED": True, "RATELIMIT_LOGIN": "2/minute",
              "RATELIMIT_STORAGE_URI": load_config(str(tmp_path))["RATELIMIT_STORAGE_URI"]}
    first, second = make_app(database_url, **config), make_app(database_url, **config)
    data = {"email": "x@example.ru", "password": "x"}
    try:
        with first.app_context():
            assert first.test_client().post("/account/login", data=data).status_code == 422
        with second.app_context():
            assert second.test_client().post("/account/login", data=data).status_code == 422
        with first.app_context():
            assert first.test_client().post("/account/login", data=data).status_code == 429
        with second.app_context():
            assert second.test_client().post("/account/login", data=data).status_code == 429
    finally:
        for server in (first, second):
            with server.app_context():
                db.session.remove()
                db.engine.dispose()


def test_the_limits_are_read_from_the_environment_and_a_wrong_one_stops_the_start(monkeypatch, tmp_path):
    from certapp.config import load_config

    monkeypatch.setenv("RATELIMIT_LOGIN", "5/minute;50/hour")
    monkeypatch.setenv("RATELIMIT_VERIFY", " 30/minute ")
    config = load_config(str(tmp_path))
    assert (config["RATELIMIT_LOGIN"], config["RATELIMIT_VERIFY"]) == ("5/minute;50/hour", "30/minute")
    assert "RATELIMIT_REGISTER" not in config  # unset: the default (10/hour) stays
    monkeypatch.setenv("RATELIMIT_REGISTER", "ten per hour")
    with pytest.raises(ValueError, match="RATELIMIT_REGISTER"):
        load_config(str(tmp_path))


def test_a_wrong_limit_in_the_configuration_stops_the_app_from_starting(database_url):
    with pytest.raises(ValueError, match="RATELIMIT_CATALOG"):
        make_app(database_url, RATELIMIT_CATALOG="много")


def test_processes_sharing_the_file_never_let_more_than_the_limit_through(tmp_path):
    """Four processes hit one counter at once: exactly the limit passes in all (process memory would
    let each one's own 500 through)."""
    import subprocess
    import sys
    import time
    from pathlib import Path

    uri = f"sqlite:///{tmp_path}/ratelimit.sqlite"
    start = time.time() + 4  # after every process has imported, so that they hit together
    script = ("import time; from limits import parse, strategies; from limits.storage import storage_from_string; "
              "import certapp.ratelimit; "
              f"limiter = strategies.FixedWindowRateLimiter(storage_from_string({uri!r})); "
              f"item = parse('500/hour'); time.sleep(max(0, {start} - time.time())); "
              "print(sum(limiter.hit(item, 'addr:192.0.2.1') for _ in range(200)))")
    root = Path(__file__).resolve().parents[2]
    runs = [subprocess.Popen([sys.executable, "-c", script], cwd=root, stdout=subprocess.PIPE, text=True)
            for _ in range(4)]
    passed = [int(run.communicate(timeout=120)[0]) for run in runs]
    assert all(run.returncode == 0 for run in runs)
    assert sum(passed) == 500, passed


@pytest.mark.commits  # servers in processes of their own
def test_two_gunicorn_servers_on_one_instance_folder_count_together(app, database_url, tmp_path):
    """Real processes, as gunicorn's workers are: the verification limit, set in the environment,
    holds for the address across both (each would let 3 through on its own before)."""
    import os
    import subprocess
    import sys
    import time
    import urllib.error
    import urllib.request
    from pathlib import Path

    if not database_url.startswith("sqlite"):
        pytest.skip("the embedded default: SQLite, no Redis")
    root, bin_dir = Path(__file__).resolve().parents[2], Path(sys.executable).parent
    env = {key: value for key, value in os.environ.items() if key != "REDIS_URL"}
    env.update(DATABASE_URL=database_url, CERTAPP_INSTANCE_PATH=str(tmp_path), SECRET_KEY="rate-limit-test",
               FLASK_APP="wsgi", CERTAPP_LOG_LEVEL="WARNING", RATELIMIT_VERIFY="3/minute")
    subprocess.run([str(bin_dir / "flask"), "keys", "rotate", "--if-missing"], cwd=root, env=env, check=True,
                   stdout=subprocess.DEVNULL)
    ports = []
    for _ in range(2):
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            ports.append(sock.getsockname()[1])
    servers = [subprocess.Popen([str(bin_dir / "gunicorn"), "--config", "gunicorn.conf.py", "--bind",
                                 f"127.0.0.1:{port}", "--workers", "1", "wsgi:app"], cwd=root, env=env)
               for port in ports]

    def verify(port: int) -> int:
        request = urllib.request.Request(f"http://127.0.0.1:{port}/api/v1/certificates/verify", method="POST",
                                         data=b'{"code": "CQ1:x"}', headers={"Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(request, timeout=30) as response:
                return response.status
        except urllib.error.HTTPError as error:
            return error.code

    try:
        for port in ports:
            for _ in range(150):
                try:
                    urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=1)
                    break
                except OSError:
                    time.sleep(0.2)
        statuses = [verify(ports[n % 2]) for n in range(6)]
        assert 429 not in statuses[:3] and statuses[3:] == [429, 429, 429], statuses
        assert (tmp_path / "ratelimit.sqlite").exists()
    finally:
        for server in servers:
            server.terminate()
        for server in servers:
            try:
                server.wait(timeout=60)
            except subprocess.TimeoutExpired:  # a loaded machine: the test's answer stands
                server.kill()
                server.wait()
