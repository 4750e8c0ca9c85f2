"""Calendar months as the first day of the month: the unit of contracts, reports and registers."""
from datetime import date


def first_of_month(day: date) -> date:
    return day.replace(day=1)


def add_months(month: date, n: int) -> date:
    index = month.year * 12 + month.month - 1 + n
    return date(index // 12, index % 12 + 1, 1)


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


def month_label_from(month: date) -> str:
    """date(2026, 1, 1) -> «января 2026» (as in «с января 2026»)."""
    return f"{MONTHS_RU_GENITIVE[month.month - 1]} {month.year}"
