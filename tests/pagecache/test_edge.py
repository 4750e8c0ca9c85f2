"""The page cache's WSGI edge (certapp.pagecache.edge): an anonymous hit answered before Flask with the
app's own headers, after one query (the stamps); a seat taken shows on the very next request; a logged-in
reader, a token, a session cookie (a flash waiting) never get its answer; its hits are not counted by the
catalog's rate limit while misses are."""
import pytest
from flask import request_started

from certapp.pagecache.pages import ANONYMOUS_CACHE_CONTROL
from tests.conftest import REDIS_URL
from tests.pagecache.test_page_cache import _Statements


class _Entered:
    """Whether the requests made while the block runs went into the Flask app (its request_started)."""

    def __init__(self, app):
        self.app, self.count = app, 0

    def _note(self, sender, **extra):
        self.count += 1

    def __enter__(self):
        request_started.connect(self._note, self.app)
        return self

    def __exit__(self, *exc):
        request_started.disconnect(self._note, self.app)


def _edge(app, call, *args, **kwargs):
    """The answer, and whether the edge gave it (True: the app was never entered)."""
    with _Entered(app) as entered:
        response = call(*args, **kwargs)
    return response, entered.count == 0


def _headers(response) -> dict:
    return {k: v for k, v in response.headers.items() if k not in ("X-Request-ID", "Content-Length")}


def test_an_anonymous_hit_is_answered_at_the_edge_with_the_apps_own_answer_after_one_query(app, client, program):
    for address in (f"/catalog/{program.id}", "/catalog?direction=sport&age=10", "/api/v1/programs/catalog",
                    f"/api/v1/programs/{program.id}", "/registry/", "/api/v1/registry/entries"):
        made, at_edge = _edge(app, client.get, address)
        assert made.status_code == 200 and not at_edge, address
        with _Statements() as sent:
            kept, at_edge = _edge(app, client.get, address)
        assert at_edge and kept.data == made.data, address
        assert len(sent.seen) == 1 and "data_version" in sent.seen[0]
        assert _headers(kept) == _headers(made)  # ETag, Cache-Control, Vary, the security headers, X-Pagination
        assert kept.headers["Cache-Control"] == ANONYMOUS_CACHE_CONTROL and "Set-Cookie" not in kept.headers
        assert kept.headers["Vary"] == "Cookie, Authorization"
        assert kept.headers["X-Request-ID"] != made.headers["X-Request-ID"]
        assert int(kept.headers["Content-Length"]) == len(made.data)


def test_an_etag_held_is_answered_304_at_the_edge_with_the_caching_and_security_headers(app, client, program):
    page = client.get("/catalog")
    client.get("/catalog")
    again, at_edge = _edge(app, client.get, "/catalog", headers={"If-None-Match": page.headers["ETag"]})
    assert again.status_code == 304 and at_edge and again.data == b""
    for name in ("ETag", "Cache-Control", "Vary", "Content-Security-Policy", "X-Content-Type-Options"):
        assert again.headers[name] == page.headers[name]
    head, at_edge = _edge(app, client.head, "/catalog")
    assert head.status_code == 200 and at_edge and head.data == b""


def test_a_seat_taken_shows_on_the_very_next_request_through_the_edge(app, client, program, take_the_seat):
    page = f"/catalog/{program.id}"
    client.get(page)
    held, at_edge = _edge(app, client.get, page)
    assert at_edge and "1 из 1" in held.get_data(as_text=True)

    take_the_seat()

    fresh, at_edge = _edge(app, client.get, page, headers={"If-None-Match": held.headers["ETag"]})
    assert fresh.status_code == 200 and not at_edge and "0 из 1" in fresh.get_data(as_text=True)
    again, at_edge = _edge(app, client.get, page)
    assert at_edge and "0 из 1" in again.get_data(as_text=True)
    assert client.get("/api/v1/programs/catalog?seats=true").json == []


def test_a_logged_in_reader_and_a_token_never_get_the_edge_answer(app, client, users, login, api, program):
    page = f"/catalog/{program.id}"
    client.get(page)
    assert _edge(app, client.get, page)[1]
    mine, at_edge = _edge(app, login(users["parent"]).get, page)
    assert not at_edge and users["parent"].full_name.split()[0] in mine.get_data(as_text=True)
    assert "ETag" not in mine.headers and mine.headers["Cache-Control"] == "no-store"
    client.get(f"/api/v1/programs/{program.id}")
    assert _edge(app, client.get, f"/api/v1/programs/{program.id}")[1]
    token, at_edge = _edge(app, api(users["parent"]).get, f"/api/v1/programs/{program.id}")
    assert not at_edge and "ETag" not in token.headers


def test_a_session_cookie_with_a_flash_waiting_goes_into_the_app(app, client, program):
    page = f"/catalog/{program.id}"
    client.get(page)
    assert _edge(app, client.get, page)[1]
    with client.session_transaction() as session:
        session["_flashes"] = [("success", "Заявка отправлена.")]
    shown, at_edge = _edge(app, client.get, page)
    assert not at_edge and "Заявка отправлена." in shown.get_data(as_text=True) and "ETag" not in shown.headers


@pytest.mark.app_config(RATELIMIT_ENABLED=True, RATELIMIT_CATALOG="3/minute")
def test_hits_are_not_counted_by_the_catalogs_rate_limit_and_misses_are(app, client, program):
    assert client.get("/catalog").status_code == 200  # a miss: counted (1)
    for _ in range(5):
        hit, at_edge = _edge(app, client.get, "/catalog")
        assert hit.status_code == 200 and at_edge
    assert client.get("/catalog?age=5").status_code == 200  # 2
    assert client.get("/catalog?age=6").status_code == 200  # 3
    assert client.get("/catalog?age=7").status_code == 429
    assert client.get("/catalog").status_code == 200  # still kept: answered at the edge


@pytest.mark.app_config(PAGE_CACHE_EDGE=False)
def test_with_the_edge_off_hits_go_through_the_app(app, client, program):
    first = client.get("/catalog")
    kept, at_edge = _edge(app, client.get, "/catalog")
    assert not at_edge and kept.headers["ETag"] == first.headers["ETag"] and kept.data == first.data


@pytest.mark.app_config(PAGE_CACHE_URL=REDIS_URL)
def test_the_edge_keeps_its_answers_in_redis_when_it_is_configured(app, client, program, take_the_seat):
    import redis  # only this test talks to Redis itself

    store = redis.Redis.from_url(REDIS_URL)
    store.flushdb()
    page = f"/catalog/{program.id}"
    client.get(page)
    assert len(store.keys("certapp:edge:*")) == 1
    assert _edge(app, client.get, page)[1]
    take_the_seat()
    fresh, at_edge = _edge(app, client.get, page)
    assert not at_edge and "0 из 1" in fresh.get_data(as_text=True)
    store.flushdb()


@pytest.mark.commits
def test_committed_for_real_the_next_request_after_a_seat_taken_is_made_afresh(app, client, program, take_the_seat):
    """The stamps read at the edge on the worker's own autocommit connection, as in production."""
    page = f"/catalog/{program.id}"
    client.get(page)
    assert _edge(app, client.get, page)[1]
    take_the_seat()
    fresh, at_edge = _edge(app, client.get, page)
    assert not at_edge and "0 из 1" in fresh.get_data(as_text=True)


def test_when_the_edge_cannot_read_the_stamps_the_app_answers(app, client, program, monkeypatch):
    from sqlalchemy.exc import OperationalError

    import certapp.pagecache.edge as edge

    client.get(f"/catalog/{program.id}")

    def fails():
        raise OperationalError("SELECT name, stamp FROM data_version", {}, Exception("connection refused"))

    monkeypatch.setattr(edge, "read_stamps", fails)
    answer, at_edge = _edge(app, client.get, f"/catalog/{program.id}")
    assert answer.status_code == 200 and not at_edge and "1 из 1" in answer.get_data(as_text=True)


@pytest.mark.app_config(WTF_CSRF_ENABLED=True)
def test_with_csrf_on_a_visitors_program_page_sets_no_cookie_and_is_kept_at_the_edge(app, client, program):
    """The department's decision form (its CSRF token written to the session) is made for the department
    only: made for a visitor it set a session cookie, so the page was never kept and every page after it
    went into the app."""
    page = f"/catalog/{program.id}"
    made = client.get(page)
    assert made.status_code == 200 and "Set-Cookie" not in made.headers
    assert made.headers["Cache-Control"] == ANONYMOUS_CACHE_CONTROL
    assert _edge(app, client.get, page)[1]


def test_a_repeated_parameter_in_another_order_is_another_page(app, client, program):
    """The pages and the API read a repeated parameter's first value: `?q=A&q=B` and `?q=B&q=A` show
    different rows, so they must not share a key (one must never be answered with the other's page)."""
    for address in ("/catalog", "/api/v1/programs/catalog"):
        found = client.get(f"{address}?q=Шахматы&q=Плавание")
        assert found.status_code == 200 and "Шахматы для всех" in found.get_data(as_text=True), address
        other, _ = _edge(app, client.get, f"{address}?q=Плавание&q=Шахматы")
        assert other.status_code == 200 and "Шахматы для всех" not in other.get_data(as_text=True), address
        assert other.headers["ETag"] != found.headers["ETag"]
