"""?page= of the HTML lists: one rule for every page (certapp.common.pagination.page_number)."""
import pytest

from certapp.audit.services import record_event
from certapp.common.pagination import page_number
from certapp.db import db

#: what an address may carry as its page: letters, zero, a NUL, 5 000 digits, a page past any OFFSET
WRONG_PAGES = ["abc", "0", "-2", "\x00", "1" * 5000, str(10**20), "2.5"]


@pytest.mark.parametrize("value", WRONG_PAGES)
def test_a_wrong_page_is_the_first(value):
    assert page_number({"page": value}) == 1


def test_a_page_in_any_scripts_digits_is_that_page():
    assert page_number({}) == 1 and page_number({"page": "3"}) == 3
    assert page_number({"page": "١٢"}) == page_number({"page": "１２"}) == page_number({"page": " 12 "}) == 12


@pytest.mark.parametrize("role, url", [
    ("department", "/audit/"), ("department", "/notifications"), ("department", "/mail/outbox"),
    ("department", "/matters"), ("department", "/contracts"), ("department", "/certificates/holders"),
    ("department", "/certificates/queue"), ("department", "/programs/review"), ("department", "/registry/review"),
    ("department", "/reports/feedback"), ("bookkeeping", "/bookkeeping/agreements"), (None, "/registry/"),
    (None, "/catalog"),
])
def test_every_list_page_reads_a_wrong_page_as_its_first(app, login, users, role, url):
    """The same rule on every list: never a 500 (int() of 5 000 digits, an OFFSET past 64 bits) nor a 422."""
    client = login(users[role]) if role else app.test_client()
    for value in WRONG_PAGES:
        answer = client.get(url, query_string={"page": value})
        assert answer.status_code == 200, (url, value[:20])


def test_the_second_page_asked_in_arabic_indic_or_fullwidth_digits_is_the_second(login, users):
    for number in range(51):  # the journal shows 50 a page
        record_event("thing.touch", ("Thing", number + 1), actor=users["department"])
    db.session.commit()
    client = login(users["department"])
    for typed in ("2", "٢", "２"):
        page = client.get("/audit/", query_string={"object_type": "Thing", "page": typed}).get_data(as_text=True)
        assert "Страница 2 из 2 (всего 51)" in page and page.count("<tr><td>") == 1, typed
