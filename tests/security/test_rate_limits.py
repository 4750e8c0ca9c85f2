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
    for _ in range(2):
        assert client.get("/catalog?q=робот").status_code == 200
    assert client.get("/catalog?q=робот").status_code == 429
    assert client.get("/").status_code == 200


@pytest.mark.app_config(RATELIMIT_ENABLED=True, RATELIMIT_TOKEN="1/hour")
def test_token_creation_is_counted_per_account(users, login):
    client = login(users["parent"])
    assert client.post("/account/tokens", data={"name": "1С"}).status_code == 201
    assert client.post("/account/tokens", data={"name": "1С"}).status_code == 429
    assert login(users["provider"]).post("/account/tokens", data={"name": "1С"}).status_code == 201


@pytest.mark.skipif(not _redis_reachable(), reason="no Redis at 127.0.0.1:6379")
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
