"""Calendar months as the first day of the month: the unit of contracts, reports and registers."""
from collections.abc import Mapping
from datetime import date
from typing import Any, overload

from certapp.common.errors import ValidationError
from certapp.common.normalise import ascii_text

#: the years anyone may ask about (reports, orders, calendars, agreements): the certificates began under
#: 189-ФЗ of 2020; a year outside would be a typo, and date() fails past 9999 (a 500, not an answer)
MIN_YEAR, MAX_YEAR = 2020, 2100
YEAR_MESSAGE = f"Укажите год от {MIN_YEAR} до {MAX_YEAR}."


def check_year(year, field: str = "year") -> int:
    """The one check of a year typed in a page, a query string or a JSON body. Raises ValidationError."""
    if isinstance(year, bool) or not isinstance(year, int) or not MIN_YEAR <= year <= MAX_YEAR:
        raise ValidationError(YEAR_MESSAGE, field=field)
    return year


@overload
def year_arg(values: Mapping[str, Any], default: int, name: str = "year") -> int: ...
@overload
def year_arg(values: Mapping[str, Any], default: None, name: str = "year") -> int | None: ...
def year_arg(values: Mapping[str, Any], default: int | None, name: str = "year") -> int | None:
    """?year= of a page (or a form's year): the default when absent; anything but a year in range is a
    ValidationError (a 422 page with the message), never int() of 5000 digits or date(99999, 1, 1)."""
    raw = ascii_text(values.get(name)).strip()  # ２０２６ is 2026 (common.normalise)
    if not raw:
        return default
    if not (raw.isascii() and raw.isdigit() and len(raw) <= 6):
        raise ValidationError(YEAR_MESSAGE, field=name)
    return check_year(int(raw), name)


MONTH_MESSAGE = "Выберите месяц, например «декабрь 2026»."


def month_arg(values, name: str = "month") -> date | None:
    """?month= of a list (a month picker sends «2026-12»; «12.2026» typed where the browser has none): the
    first day of that month, None when absent; anything else is a ValidationError with the Russian
    message for the field (never int() of 5000 digits or date(99999, 1, 1))."""
    raw = ascii_text(values.get(name)).strip()
    if not raw:
        return None
    parts = raw.split("-") if "-" in raw else raw.split(".")[::-1]  # ГГГГ-ММ[-ДД] or [ДД.]ММ.ГГГГ
    if len(parts) not in (2, 3) or not all(p.isascii() and p.isdigit() and len(p) <= 4 for p in parts):
        raise ValidationError(MONTH_MESSAGE, field=name)
    year, month = int(parts[0]), int(parts[1])
    if not 1 <= month <= 12:
        raise ValidationError(MONTH_MESSAGE, field=name)
    first = date(check_year(year, name), month, 1)
    if len(parts) == 3 and not 1 <= int(parts[2]) <= (add_months(first, 1) - first).days:
        raise ValidationError(MONTH_MESSAGE, field=name)  # a date's day that the month does not have
    return first


def parse_month(value, field: str = "month") -> date:
    """A month that must be given (a report's, a register's, an enrollment's start): a date's month, or
    `month_arg`'s text (a date's text too: its month); absent or anything else is a ValidationError with
    MONTH_MESSAGE beside `field`. The one rule of a month for the pages, the API and the commands."""
    if isinstance(value, date):
        return first_of_month(value)
    month = month_arg({field: value if isinstance(value, str) else ""}, field)
    if month is None:
        raise ValidationError(MONTH_MESSAGE, field=field)
    return month


def first_of_month(day: date) -> date:
    return day.replace(day=1)


def add_months(month: date, n: int) -> date:
    index = month.year * 12 + month.month - 1 + n
    return date(index // 12, index % 12 + 1, 1)


def add_years(day: date, years: int) -> date:
    """The same day `years` later (or earlier); 29 February becomes the 28th in a common year."""
    try:
        return day.replace(year=day.year + years)
    except ValueError:  # 29 February
        return day.replace(year=day.year + years, day=28)


def months_between(start: date, end: date) -> list[date]:
    """First days of the months from start to end inclusive."""
    result, month = [], first_of_month(start)
    while month <= first_of_month(end):
        result.append(month)
        month = add_months(month, 1)
    return result


def quarter_months(year: int, quarter: int | None = None) -> tuple[date, date]:
    """The first days of the first and the last month of a quarter (1–4), or of the year (None)."""
    if quarter is None:
        return date(year, 1, 1), date(year, 12, 1)
    return date(year, 3 * quarter - 2, 1), date(year, 3 * quarter, 1)


def last_finished_quarter(today: date) -> tuple[int, int]:
    """(year, quarter) of the last quarter that is over on `today`."""
    return (today.year, (today.month - 1) // 3) if today.month > 3 else (today.year - 1, 4)


MONTHS_RU = ("январь", "февраль", "март", "апрель", "май", "июнь", "июль", "август", "сентябрь", "октябрь",
             "ноябрь", "декабрь")


def month_label(month: date) -> str:
    """date(2026, 10, 1) -> «октябрь 2026»."""
    return f"{MONTHS_RU[month.month - 1]} {month.year}"


#: the genitive, after «с» and «до»: «с января 2026 по декабрь 2026»
MONTHS_RU_GENITIVE = ("января", "февраля", "марта", "апреля", "мая", "июня", "июля", "августа", "сентября", "октября",
                      "ноября", "декабря")


def month_text(month: date | str) -> str:
    """A month as people read it, from a date or the «ГГГГ-ММ» a signed document keeps: «2026-07» -> «июль 2026»."""
    return month_label(date.fromisoformat(f"{month}-01") if isinstance(month, str) else month)


def month_label_from(month: date) -> str:
    """date(2026, 1, 1) -> «января 2026» (as in «с января 2026»)."""
    return f"{MONTHS_RU_GENITIVE[month.month - 1]} {month.year}"
