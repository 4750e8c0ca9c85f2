"""One clock for the rules: what moment and what day it is where the officials work.

Rules ask `today()` (or `now()`); nothing calls `date.today()` or `datetime.now()` directly, so
that a day follows the municipality's time (Krasnoyarsk), not the server's time zone, and tests
set the day with the `CLOCK_NOW` setting (an ISO date or date-time, read per app) instead of
depending on the day the suite runs. Services keep their `today=` parameters for tests."""
from datetime import UTC, date, datetime, time
from zoneinfo import ZoneInfo

from flask import current_app, has_app_context

#: Krasnoyarsk krai time, in which the district's officials and parents live
DEFAULT_TIME_ZONE = "Asia/Krasnoyarsk"


def zone(municipality=None) -> ZoneInfo:
    """The municipality's time zone (its `time_zone` when it has one), else the installation's."""
    name = getattr(municipality, "time_zone", None)
    if not name and has_app_context():
        name = current_app.config.get("TIME_ZONE")
    return ZoneInfo(name or DEFAULT_TIME_ZONE)


def now() -> datetime:
    """This moment, aware, in UTC (or the moment `CLOCK_NOW` sets, read as local time)."""
    fixed = current_app.config.get("CLOCK_NOW") if has_app_context() else None
    if fixed:
        value = fixed if isinstance(fixed, datetime | date) else datetime.fromisoformat(str(fixed))
        if not isinstance(value, datetime):
            value = datetime.combine(value, time(12, 0))
        if value.tzinfo is None:
            value = value.replace(tzinfo=zone())
        return value.astimezone(UTC)
    return datetime.now(UTC)


def today(municipality=None) -> date:
    """The date in the municipality's time zone (the installation's by default)."""
    return now().astimezone(zone(municipality)).date()


def day_of(moment: datetime, municipality=None) -> date:
    """The local day of a stored (UTC) moment: where the officials work, not in UTC."""
    return moment.astimezone(zone(municipality)).date()


def day_start(day: date, municipality=None) -> datetime:
    """The moment (aware, in UTC) a local day begins: the bound of a period of days over stored moments
    (a day in Krasnoyarsk begins at 17:00 UTC the day before)."""
    return datetime.combine(day, time.min, tzinfo=zone(municipality)).astimezone(UTC)
