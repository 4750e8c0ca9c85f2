"""Browser journeys: a live server on a free port with a fresh SQLite database, driven by
Playwright in Debian's Chromium (a browser download by Playwright does not work on these machines).

Every page a journey opens is checked (check_page): no console error, no request to another host,
no horizontal scroll (at 1280 px and at a phone's 390 px), and no serious or critical axe-core violation (axe comes
inside the axe-playwright-python package, not fetched at run time). Failing tests keep a
screenshot and a trace in test-results/ (pytest-playwright's --screenshot/--tracing options).
"""
import os
import shutil
import threading
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from werkzeug.serving import make_server

CHROMIUM = next((path for path in (os.environ.get("CERTAPP_CHROMIUM"), shutil.which("chromium"),
                                   shutil.which("chromium-browser")) if path and os.access(path, os.X_OK)), None)
PHONE = {"width": 390, "height": 844}


def pytest_collection_modifyitems(config, items):
    if CHROMIUM:
        return
    skip = pytest.mark.skip(reason="no Chromium (apt-get install chromium, or set CERTAPP_CHROMIUM): "
                                   "the browser journeys are skipped")
    for item in items:
        if "tests/browser/" in str(item.fspath).replace(os.sep, "/"):
            item.add_marker(skip)


@pytest.fixture(scope="session")
def browser_type_launch_args():
    return {"executable_path": CHROMIUM, "headless": True,
            "args": ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                     "--disable-background-networking", "--disable-component-update", "--disable-sync"]}


class LiveServer:
    def __init__(self, app, url):
        self.app, self.url = app, url

    def run(self, action):
        """Run action() against the server's database (set-up and checks), committed."""
        from certapp.db import db
        from certapp.uow import transaction

        with self.app.app_context():
            with transaction():
                result = action()
            db.session.remove()
        return result


@pytest.fixture(scope="session")
def live_server(request, tmp_path_factory):
    """The app on a fresh SQLite database (a copy of the one the suite migrated once: tests/conftest.py
    _sqlite_database), served by a threaded server on a free port."""
    from certapp.db import db
    from tests.conftest import TEST_CONFIG, _sqlite_database, make_app

    folder = tmp_path_factory.mktemp("browser")
    url = _sqlite_database(folder / "live.sqlite", Path(request.config.cache.mkdir("certapp-migrated")))
    config = {**TEST_CONFIG, "SERVER_NAME": None, "WTF_CSRF_ENABLED": True, "KEYS_DIR": str(folder / "keys")}
    app = make_app(url, **config)
    with app.app_context():
        from certapp.reference.services import load_reference_data
        load_reference_data()
        db.session.commit()
        db.session.remove()
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield LiveServer(app, f"http://127.0.0.1:{server.server_port}")
    server.shutdown()
    with app.app_context():
        db.engine.dispose()


class PageWatch:
    """Collects what a page does wrong while a journey runs: console errors, uncaught errors and
    requests to hosts other than the app's."""

    def __init__(self, page, base_url):
        self.page, self.host, self.phone = page, urlsplit(base_url).netloc, False
        self.errors: list[str] = []
        page.on("console", self._console)
        page.on("pageerror", lambda error: self.errors.append(f"page error: {error}"))
        page.on("request", self._request)
        self.dialogs: list[str] = []  # what the confirmations asked, in order
        page.on("dialog", self._dialog)  # «Утвердить …?» — the journeys say yes
        # axe is handed to the browser once and run in each document it opens (evaluating its 500 KB
        # before each check took a quarter of a check's time)
        page.add_init_script(script=_axe_script())

    def _dialog(self, dialog):
        self.dialogs.append(dialog.message)
        dialog.accept()

    def _console(self, message):
        if message.type != "error":
            return
        # a form answered with its errors is the document itself at 422: Chromium logs that status
        # too, but it is the page working as designed, not a failed resource
        if "status of 422" in message.text and message.location.get("url") == self.page.url:
            return
        self.errors.append(f"console: {message.text}")

    def _request(self, request):
        parts = urlsplit(request.url)
        if parts.scheme in ("http", "https") and parts.netloc != self.host:
            self.errors.append(f"request to another host: {request.url}")

    def check(self, phone: bool | None = None) -> None:
        """The checks every visited page must pass (call after each navigation); `phone` is no longer
        needed (both sizes are checked alike) and kept for the journeys that pass it."""
        self.page.wait_for_load_state("load")
        where = self.page.url
        assert self.errors == [], (where, self.errors)
        overflow = self.page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")
        if overflow > 0:  # at either size: a page never scrolls sideways
            wide = self.page.evaluate("""() => [...document.querySelectorAll('body *')]
                .filter(e => e.getBoundingClientRect().right > document.documentElement.clientWidth + 1)
                .filter(e => { for (let a = e.parentElement; a; a = a.parentElement) {
                                 if (getComputedStyle(a).overflowX !== 'visible') return false; } return true; })
                .slice(0, 5).map(e => e.tagName.toLowerCase() + (e.className ? '.' + e.className : '')
                                      + ' ' + Math.round(e.getBoundingClientRect().right) + 'px')""")
            width = self.page.evaluate("document.documentElement.clientWidth")
            raise AssertionError(f"{where}: horizontal scroll of {overflow}px at {width}px; too wide: {wide}")
        if not self.page.evaluate("typeof axe !== 'undefined'"):  # a document the init script did not reach
            self.page.evaluate(_axe_script())
        rules = _serious_rules(self.page)
        violations = self.page.evaluate("rules => axe.run({resultTypes: ['violations'], runOnly: {type: 'rule', values: rules}})"
                                        ".then(results => results.violations)", rules)
        serious = [f"{v['id']} ({v['impact']}): {v['help']} — {[n['target'] for n in v['nodes']][:3]}"
                   for v in violations if v["impact"] in ("serious", "critical")]
        assert serious == [], (where, serious)


#: the axe rules that can report a serious or critical violation (learnt from axe itself, once)
_SERIOUS_RULES: list[str] = []


def _serious_rules(page) -> list[str]:
    """The ids of axe's rules any of whose checks can fail as serious or critical: the only violations the
    journeys refuse, so running the 26 of 89 rules that are at most moderate ('region', the landmarks) decides
    nothing. A rule's impact is the highest of its failed checks' (axe-core's documentation)."""
    if not _SERIOUS_RULES:
        _SERIOUS_RULES.extend(page.evaluate("""() => axe._audit.rules
            .filter(rule => rule.enabled !== false && !(rule.tags || []).includes('experimental'))
            .filter(rule => rule.impact ? ['serious', 'critical'].includes(rule.impact)
                : [...rule.any, ...rule.all, ...rule.none].some(check => ['serious', 'critical']
                    .includes((axe._audit.checks[check.id || check] || {}).impact)))
            .map(rule => rule.id)"""))
        assert len(_SERIOUS_RULES) > 20, _SERIOUS_RULES  # axe's internals changed: look again
    return _SERIOUS_RULES


def _axe_script() -> str:
    """axe-core's script as axe-playwright-python ships it (no download at run time)."""
    from axe_playwright_python.base import AXE_SCRIPT

    return AXE_SCRIPT


@pytest.fixture(params=["desktop", "phone"])
def viewport(request):
    return request.param


@pytest.fixture
def browser_context_args(browser_context_args, viewport):
    if viewport == "phone":
        return {**browser_context_args, "viewport": PHONE, "is_mobile": True, "has_touch": True}
    return {**browser_context_args, "viewport": {"width": 1280, "height": 900}}


@pytest.fixture
def watch(page, live_server, viewport):
    watcher = PageWatch(page, live_server.url)
    watcher.phone = viewport == "phone"
    return watcher


@pytest.fixture(scope="session")
def base_url(live_server):
    """pytest-base-url's fixture, answered by the live server (page.goto("/…") works too)."""
    return live_server.url



def pytest_terminal_summary(terminalreporter):
    """Name the screenshots and traces that failing browser tests left (pytest-playwright's --output)."""
    output = Path(terminalreporter.config.getoption("output", "test-results"))
    artifacts = sorted(path for path in output.rglob("*") if path.suffix in (".png", ".zip")) if output.is_dir() else []
    if artifacts:
        terminalreporter.section("browser test artifacts")
        for path in artifacts:
            terminalreporter.write_line(f"{path}  (a trace opens with: playwright show-trace {path})"
                                        if path.suffix == ".zip" else str(path))
