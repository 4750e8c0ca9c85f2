"""One clock: the rules' day is the one in the installation's zone, not the server's, and a fixed
clock (CLOCK_NOW) moves it for tests and demonstrations."""
import re
from datetime import UTC, date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from flask import Flask

from certapp.common import clock
from certapp.config import load_config
from tests import factories
from tests.conftest import TEST_TODAY, TEST_ZONE


def _app(**config) -> Flask:
    app = Flask("clock-test")
    app.config.update(config)
    return app


def test_the_day_begins_in_krasnoyarsk_not_on_the_server():
    # 20:00 UTC on 4 December is 03:00 on 5 December in Krasnoyarsk (UTC+7)
    with _app(CLOCK_NOW=datetime(2026, 12, 4, 20, 0, tzinfo=UTC), TIME_ZONE="Asia/Krasnoyarsk").app_context():
        assert clock.today() == date(2026, 12, 5)
    with _app(CLOCK_NOW=datetime(2026, 12, 4, 20, 0, tzinfo=UTC), TIME_ZONE="Europe/Moscow").app_context():
        assert clock.today() == date(2026, 12, 4)


def test_a_stored_moment_has_its_local_day_and_a_local_day_its_moments():
    """Days, months and years over stored (UTC) moments are Krasnoyarsk's: 1 January begins at 17:00 UTC on
    31 December (an admission decided then counts in the new year)."""
    with _app(TIME_ZONE="Asia/Krasnoyarsk").app_context():
        assert clock.day_start(date(2027, 1, 1)) == datetime(2026, 12, 31, 17, 0, tzinfo=UTC)
        assert clock.day_of(datetime(2026, 12, 31, 17, 30, tzinfo=UTC)) == date(2027, 1, 1)
        assert clock.day_of(datetime(2026, 12, 31, 16, 59, tzinfo=UTC)) == date(2026, 12, 31)


def test_a_fixed_day_reads_as_that_local_day_whatever_its_form():
    for fixed in ("2027-01-03", date(2027, 1, 3), "2027-01-03T23:30"):
        with _app(CLOCK_NOW=fixed).app_context():
            assert clock.today() == date(2027, 1, 3), fixed
            assert clock.now().tzinfo is not None


def test_without_a_fixed_day_the_clock_is_the_real_one():
    with _app().app_context():
        before = datetime.now(UTC)  # the real clock, on purpose
        assert before <= clock.now() <= datetime.now(UTC)  # the real clock, on purpose


ROOT = Path(__file__).resolve().parents[2]
#: a day or a moment read from the machine's clock instead of certapp.common.clock
WALL_CLOCK = re.compile(r"(?<![`\w.])(?:date\.today|datetime\.(?:now|utcnow|today))\(")
DAY_FROM_WALL_CLOCK = re.compile(r"(?<![`\w.])date\.today\(")


#: a test that takes the fixed day away, leaving the app on the real one
CLOCK_REMOVED = re.compile(r"""pop\(\s*["']CLOCK_NOW["']|del\b.*\[\s*["']CLOCK_NOW["']\s*\]|CLOCK_NOW["']?\s*[=:]\s*None\b""")


def _files(folder: str) -> list[Path]:
    return [path for path in sorted((ROOT / folder).rglob("*.py")) if "migrations" not in path.parts]


def _calls(folder: str, pattern: re.Pattern) -> list[str]:
    return [f"{path.relative_to(ROOT)}:{number}: {line.strip()}"
            for path in _files(folder)
            for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
            if pattern.search(line.split("#")[0]) and "the real clock, on purpose" not in line]


def test_the_tests_read_the_day_from_the_one_clock():
    """Tests and factories take the day from certapp.common.clock (the test's CLOCK_NOW, else the real
    day in the app's zone), never from the machine: nothing depends on the day the suite runs."""
    assert _calls("tests", WALL_CLOCK) == []


def test_the_rules_read_the_day_from_the_one_clock():
    """The app's days come from clock.today() (a timestamp's moment may still be read in UTC)."""
    assert _calls("certapp", DAY_FROM_WALL_CLOCK) == []


def test_the_rules_read_the_factories_the_fixtures_and_the_scripts_the_tests_run():
    """The rules above read every file the tests take their days from, and catch every form of the wall
    clock (a rule that read nothing would pass whatever the files hold)."""
    read = {str(path.relative_to(ROOT)) for path in _files("tests")}
    assert {"tests/factories.py", "tests/conftest.py", "tests/browser/conftest.py", "tests/shared.py"} <= read
    for call in (name + "()" for name in ("date.today", "datetime.now", "datetime.utcnow", "datetime.today")):
        for line in (f"day = {call}", f"x = ({call}, 1)", f"f({call})"):
            assert WALL_CLOCK.search(line), line
    for line in ("clock.today()", "clock.now()", "`date.today()` in prose", "period.starts_on.today()"):
        assert not WALL_CLOCK.search(line), line
    key = "_".join(("CLOCK", "NOW"))
    for line in (f'app.config.pop("{key}", None)', f"del app.config['{key}']",
                 f"app.config.update({key}=None)", f'{{"{key}": None}}'):
        assert CLOCK_REMOVED.search(line), line
    # scripts/bench_campaign.py is run by tests/ops against a server on the suite's day
    assert _calls("scripts", DAY_FROM_WALL_CLOCK) == []


def test_no_test_puts_the_app_back_on_the_real_day():
    """A test that sets its own day puts the suite's day back (`app.config["CLOCK_NOW"] = day`), never
    removes it: without CLOCK_NOW the app would read the real day."""
    assert _calls("tests", CLOCK_REMOVED) == []


def test_every_test_runs_on_the_suites_day_unless_it_sets_its_own(app, tmp_path):
    """tests/conftest.py fixes the day (TEST_TODAY; CERTAPP_TEST_TODAY for a run as of another day) for the
    apps, the factories and the servers and workers the tests start: no test runs on the real day."""
    fixed = datetime.fromisoformat(TEST_TODAY)
    day = fixed.date()
    assert clock.now() == fixed.replace(tzinfo=ZoneInfo(TEST_ZONE)).astimezone(UTC)
    assert clock.today() == day
    assert factories.this_month() == day.replace(day=1)
    period = factories.current_period()
    assert period.starts_on <= day <= period.ends_on
    assert factories.child_data()["birth_date"].year == day.year - 10
    # a server or worker a test starts is configured from the environment, as in production
    served = load_config(str(tmp_path))
    assert (served["CLOCK_NOW"], served["TIME_ZONE"]) == (TEST_TODAY, TEST_ZONE)
    served_app = Flask("served")
    served_app.config.update(served)
    with served_app.app_context():
        assert clock.today() == day
