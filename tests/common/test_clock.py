"""One clock: the rules' day is the one in the installation's zone, not the server's, and a fixed
clock (CLOCK_NOW) moves it for tests and demonstrations."""
import re
from datetime import UTC, date, datetime
from pathlib import Path

from flask import Flask

from certapp.common import clock


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


def _calls(folder: str, pattern: re.Pattern) -> list[str]:
    return [f"{path.relative_to(ROOT)}:{number}: {line.strip()}"
            for path in sorted((ROOT / folder).rglob("*.py")) if "migrations" not in path.parts
            for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
            if pattern.search(line.split("#")[0]) and "the real clock, on purpose" not in line]


def test_the_tests_read_the_day_from_the_one_clock():
    """Tests and factories take the day from certapp.common.clock (the test's CLOCK_NOW, else the real
    day in the app's zone), never from the machine: nothing depends on the day the suite runs."""
    assert _calls("tests", WALL_CLOCK) == []


def test_the_rules_read_the_day_from_the_one_clock():
    """The app's days come from clock.today() (a timestamp's moment may still be read in UTC)."""
    assert _calls("certapp", DAY_FROM_WALL_CLOCK) == []
