"""One clock: the rules' day is the one in the installation's zone, not the server's, and a fixed
clock (CLOCK_NOW) moves it for tests and demonstrations."""
from datetime import UTC, date, datetime

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
        before = datetime.now(UTC)
        assert before <= clock.now() <= datetime.now(UTC)
