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


def format_number(value, digits: int = 0) -> str:
    """12345.6 -> '12 345,6' (no-break space between thousands, comma decimal); None -> '—'."""
    if value is None:
        return "—"
    text = f"{float(value):,.{digits}f}"
    return text.replace(",", "\u00a0").replace(".", ",")
