"""The public pages from a cache (certapp.pagecache): a change shows on the next anonymous request, 304 for
an ETag the reader holds, a logged-in user's page never kept nor served to another, and a cache that is
off or down makes the page as without one."""
import pytest
from sqlalchemy import event, text, update

from certapp.contracts.models import Contract
from certapp.db import db
from certapp.pagecache.pages import ANONYMOUS_CACHE_CONTROL
from certapp.pagecache.versions import scopes_written, stamps, touched
from tests.conftest import REDIS_URL


class _Statements:
    """The SQL statements the app sends while the block runs (the test's savepoints aside)."""

    def __enter__(self):
        self.seen: list[str] = []
        event.listen(db.engine, "before_cursor_execute", self._note)
        return self

    def _note(self, conn, cursor, statement, *args):
        if not statement.startswith(("SAVEPOINT", "RELEASE", "ROLLBACK")):
            self.seen.append(statement)

    def __exit__(self, *exc):
        event.remove(db.engine, "before_cursor_execute", self._note)


def test_a_seat_taken_shows_on_the_next_anonymous_program_page_and_catalog(app, client, program, take_the_seat):
    page, api = f"/catalog/{program.id}", f"/api/v1/programs/{program.id}"
    assert "1 из 1" in client.get(page).get_data(as_text=True)
    assert client.get(api).json["groups"][0]["seats_left"] == 1
    assert client.get("/api/v1/programs/catalog?seats=true").json[0]["id"] == program.id
    with _Statements() as kept:  # a second reading comes from the cache: one query, the stamps
        assert "1 из 1" in client.get(page).get_data(as_text=True)
    assert len(kept.seen) == 1 and "data_version" in kept.seen[0]

    take_the_seat()

    assert "0 из 1" in client.get(page).get_data(as_text=True)
    assert client.get(api).json["groups"][0]["seats_left"] == 0
    assert client.get("/api/v1/programs/catalog?seats=true").json == []
    assert "Шахматы для всех" not in client.get("/catalog?seats=1").get_data(as_text=True)


def test_an_etag_held_is_answered_304_until_the_data_changes(app, client, program, take_the_seat):
    first = client.get("/catalog")
    etag = first.headers["ETag"]
    assert first.status_code == 200 and first.headers["Cache-Control"] == ANONYMOUS_CACHE_CONTROL
    assert "Cookie" in first.headers["Vary"]
    again = client.get("/catalog", headers={"If-None-Match": etag})
    assert again.status_code == 304 and again.data == b"" and again.headers["ETag"] == etag
    assert client.get("/api/v1/programs/catalog", headers={"If-None-Match": etag}).status_code == 200  # another key

    take_the_seat()

    changed = client.get("/catalog", headers={"If-None-Match": etag})
    assert changed.status_code == 200 and changed.headers["ETag"] != etag


def test_the_same_filters_in_another_order_or_with_empty_ones_are_one_page(app, client, program):
    etag = client.get("/catalog?direction=technical&age=8").headers["ETag"]
    assert client.get("/catalog?age=8&q=&direction=technical").headers["ETag"] == etag
    assert client.get("/catalog?age=9&direction=technical").headers["ETag"] != etag


def test_a_logged_in_parent_gets_a_fresh_page_never_the_kept_one_nor_one_kept_from_it(app, client, users, login,
                                                                                      program):
    anonymous = client.get(f"/catalog/{program.id}")
    assert "Войдите</a>, чтобы записать" in anonymous.get_data(as_text=True)
    parent = login(users["parent"])
    surname = users["parent"].full_name.split()[0]
    for address in (f"/catalog/{program.id}", "/catalog"):
        mine = parent.get(address, headers={"If-None-Match": anonymous.headers["ETag"]})
        body = mine.get_data(as_text=True)
        assert mine.status_code == 200 and surname in body and "Войдите</a>, чтобы записать" not in body
        assert "ETag" not in mine.headers and mine.headers["Cache-Control"] == "no-store"
        # and what the parent was shown is not kept for the next anonymous reader
        other = client.get(address).get_data(as_text=True)
        assert surname not in other


def test_a_token_gets_the_api_answer_made_for_it(app, api, users, program):
    answer = api(users["parent"]).get("/api/v1/programs/catalog")
    assert answer.status_code == 200 and "ETag" not in answer.headers
    assert answer.headers["Cache-Control"] == "no-store"


def test_changes_not_yet_committed_are_not_served_from_nor_kept_in_the_cache(app, client, program):
    client.get(f"/catalog/{program.id}")
    db.session.execute(update(Contract).where(Contract.id == -1).values(status="active"))
    assert touched(db.session()) == {"catalog"}
    assert "ETag" not in client.get(f"/catalog/{program.id}").headers
    db.session.rollback()
    assert touched(db.session()) == set()


def test_a_commit_that_writes_a_scopes_table_gives_it_a_new_stamp_and_a_read_does_not(app, program):
    with app.test_request_context():
        before = stamps()
    db.session.execute(text("SELECT count(*) FROM contract")).scalar_one()
    db.session.commit()
    with app.test_request_context():
        assert stamps() == before
    db.session.execute(update(Contract).where(Contract.id == -1).values(status="active"))  # Core, no row
    db.session.commit()
    with app.test_request_context():
        after = stamps()
    assert after["catalog"] != before["catalog"] and after["open"] == before["open"]
    assert scopes_written('UPDATE "provider" SET full_name = 1') == {"catalog", "registry"}
    assert scopes_written("SELECT * FROM contract FOR UPDATE") == set()


def test_the_public_registry_and_open_data_pages_are_kept_too(app, client, program):
    registry = client.get("/registry/")
    assert registry.status_code == 200 and registry.headers["Cache-Control"] == ANONYMOUS_CACHE_CONTROL
    assert client.get("/registry/", headers={"If-None-Match": registry.headers["ETag"]}).status_code == 304
    entries = client.get("/api/v1/registry/entries")
    assert entries.status_code == 200 and "X-Pagination" in entries.headers
    kept = client.get("/api/v1/registry/entries")
    assert kept.json == entries.json and kept.headers["X-Pagination"] == entries.headers["X-Pagination"]


@pytest.mark.app_config(PAGE_CACHE=False)
def test_with_the_cache_off_pages_are_made_each_time(app, client, users, program):
    page = client.get(f"/catalog/{program.id}")
    assert page.status_code == 200 and "ETag" not in page.headers and page.headers["Cache-Control"] == "no-store"


@pytest.mark.app_config(PAGE_CACHE_URL="redis://127.0.0.1:1/0")
def test_a_redis_that_is_down_leaves_the_pages_made_without_it(app, client, program, take_the_seat):
    for _ in range(2):
        page = client.get(f"/catalog/{program.id}")
        assert page.status_code == 200 and "1 из 1" in page.get_data(as_text=True)
    take_the_seat()
    assert "0 из 1" in client.get(f"/catalog/{program.id}").get_data(as_text=True)


@pytest.mark.app_config(PAGE_CACHE_URL=REDIS_URL)
def test_pages_are_kept_in_redis_when_it_is_configured(app, client, program, take_the_seat):
    import redis  # only this test talks to Redis itself

    store = redis.Redis.from_url(REDIS_URL)
    store.flushdb()
    page = f"/catalog/{program.id}"
    assert "1 из 1" in client.get(page).get_data(as_text=True)
    assert len(store.keys("certapp:page:*")) == 1
    with _Statements() as kept:
        assert "1 из 1" in client.get(page).get_data(as_text=True)
    assert len(kept.seen) == 1
    take_the_seat()
    assert "0 из 1" in client.get(page).get_data(as_text=True)
    store.flushdb()


@pytest.mark.commits
def test_committed_for_real_a_seat_taken_shows_on_the_next_request(app, client, program, take_the_seat):
    """The stamps read on a connection of their own (autocommit, no transaction), as in production."""
    page = f"/catalog/{program.id}"
    assert "1 из 1" in client.get(page).get_data(as_text=True)
    etag = client.get(page).headers["ETag"]
    take_the_seat()
    fresh = client.get(page, headers={"If-None-Match": etag})
    assert fresh.status_code == 200 and "0 из 1" in fresh.get_data(as_text=True)


def test_a_savepoint_released_leaves_the_stamp_to_the_real_commit(app, program):
    with app.test_request_context():
        before = stamps()["catalog"]
    with db.session.begin_nested():
        db.session.execute(update(Contract).where(Contract.id == -1).values(status="active"))
    assert touched(db.session()) == {"catalog"}
    assert db.session.execute(text("SELECT count(*) FROM data_version WHERE name = 'catalog' AND stamp != :s"),
                              {"s": before}).scalar_one() == 0
    db.session.commit()
    with app.test_request_context():
        assert stamps()["catalog"] != before
