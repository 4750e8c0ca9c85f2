"""Dates the Russian way for pages."""
from datetime import date, datetime
from zoneinfo import ZoneInfo

#: Krasnoyarsk krai time, in which the district's officials read dates
LOCAL_TZ = ZoneInfo("Asia/Krasnoyarsk")


def format_date(value: date | datetime | None) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        value = value.astimezone(LOCAL_TZ).date()
    return value.strftime("%d.%m.%Y")


def format_datetime(value: datetime | None) -> str:
    if value is None:
        return ""
    return value.astimezone(LOCAL_TZ).strftime("%d.%m.%Y %H:%M")
