"""Dates the Russian way for pages."""
from datetime import date, datetime

from certapp.common.clock import zone


def format_date(value: date | datetime | None) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        value = value.astimezone(zone()).date()
    return value.strftime("%d.%m.%Y")


def format_datetime(value: datetime | None) -> str:
    if value is None:
        return ""
    return value.astimezone(zone()).strftime("%d.%m.%Y %H:%M")


def format_number(value, digits: int = 0) -> str:
    """12345.6 -> '12 345,6' (no-break space between thousands, comma decimal); None -> '—'."""
    if value is None:
        return "—"
    text = f"{float(value):,.{digits}f}"
    return text.replace(",", "\u00a0").replace(".", ",")


def plural(n: int, one: str, few: str, many: str) -> str:
    """The Russian form of a noun after the number n: 1 минута, 2 минуты, 5 минут, 21 минута."""
    n = abs(int(n))
    if n % 10 == 1 and n % 100 != 11:
        return one
    if 2 <= n % 10 <= 4 and not 12 <= n % 100 <= 14:
        return few
    return many


def format_wait(seconds: float) -> str:
    """A waiting time for a person: '45 секунд', '3 минуты' (rounded up)."""
    seconds = max(1, int(-(-seconds // 1)))
    if seconds < 60:
        return f"{seconds} {plural(seconds, 'секунду', 'секунды', 'секунд')}"
    minutes = -(-seconds // 60)
    return f"{minutes} {plural(minutes, 'минуту', 'минуты', 'минут')}"
