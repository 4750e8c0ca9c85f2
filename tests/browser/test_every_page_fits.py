"""Every role's page of the demo installation fits the screen it is read on: no sideways scroll at
1280 px or on a 390 px phone, lists become cards on the phone (each value under its column's title),
and a very long word (a 255-character program title) wraps instead of widening the page."""
import tempfile
import threading
from datetime import timedelta
from pathlib import Path

import pytest
from werkzeug.serving import make_server

from tests.test_pages import EMAILS, PAGES

SIZES = {"desktop": {"width": 1280, "height": 900}, "phone": {"width": 390, "height": 844}}
TOO_WIDE = """() => document.documentElement.scrollWidth - document.documentElement.clientWidth"""
#: the words of the lists' column titles that do not fit their column whole («Отправл|ен», «Свидетельс|тво»)
BROKEN_TITLES = """() => { const broken = []; const ctx = document.createElement('canvas').getContext('2d');
  for (const th of document.querySelectorAll('table.table thead th')) {
    const style = getComputedStyle(th); if (style.display === 'none') continue;
    const inner = th.clientWidth - parseFloat(style.paddingLeft) - parseFloat(style.paddingRight); ctx.font = style.font;
    for (const word of th.innerText.split(/\\s+/)) if (word && ctx.measureText(word).width > inner + 1) broken.push(word); }
  return broken; }"""


@pytest.fixture(scope="module")
def demo_server():
    """The demo installation on its own SQLite database and server (the journeys' server stays empty)."""
    from flask_migrate import upgrade

    from certapp.db import db
    from certapp.demo import load_demo
    from certapp.programs.models import Program
    from certapp.reference.services import load_reference_data
    from certapp.uow import transaction
    from tests.conftest import TEST_CONFIG, make_app
    from tests.factories import current_period

    folder = Path(tempfile.mkdtemp(prefix="certapp-widths-"))
    app = make_app("sqlite:///" + str(folder / "demo.sqlite"),
                   **{**TEST_CONFIG, "SERVER_NAME": None, "KEYS_DIR": str(folder / "keys")})
    with app.app_context():
        upgrade()
        load_reference_data()
        db.session.commit()
        with transaction():
            logins = load_demo(today=current_period().starts_on + timedelta(days=80))
            db.session.get(Program, 1).title = "Робототехника" + "И" * 240  # one word of 253 letters
        db.session.remove()
    server = make_server("127.0.0.1", 0, app, threaded=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_port}", {email: password for _, email, password in logins}
    server.shutdown()


@pytest.mark.parametrize("size", list(SIZES))
@pytest.mark.parametrize("role", list(PAGES))
def test_every_page_fits_the_screen(browser, demo_server, role, size):
    url, passwords = demo_server
    context = browser.new_context(viewport=SIZES[size], is_mobile=size == "phone", has_touch=size == "phone")
    page = context.new_page()
    if role:
        page.goto(f"{url}/account/login")
        page.get_by_label("Электронная почта").fill(EMAILS[role])
        page.get_by_label("Пароль", exact=True).fill(passwords[EMAILS[role]])
        page.get_by_role("button", name="Войти").click()
        page.wait_for_url(f"{url}/")
    wide, broken = [], []
    for path in PAGES[role]:
        if path.endswith((".csv", ".json")):
            continue
        page.goto(f"{url}{path}")
        if page.evaluate(TOO_WIDE) > 0:
            wide.append((path, page.evaluate("document.documentElement.scrollWidth")))
        if size == "desktop" and page.evaluate(BROKEN_TITLES):
            broken.append((path, page.evaluate(BROKEN_TITLES)))
        if size == "phone" and page.locator("table.table").count():
            # a list is a column of cards: each value carries its column's title
            first = page.locator("table.table tbody tr").first
            if first.count() and first.locator("td").count() > 1:
                assert "as-cards" in page.locator("table.table").first.get_attribute("class"), path
                assert first.locator("td[data-label]").count() >= 1, path
                # the head's row is no empty framed card above the first one
                head = page.locator("table.table.as-cards thead tr").first
                assert head.evaluate("tr => getComputedStyle(tr).borderTopWidth") == "0px", path
    context.close()
    assert wide == [], f"pages wider than {SIZES[size]['width']} px"
    assert broken == [], "column titles broken inside a word"
