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


MONTHS_RU = ("январь", "февраль", "март", "апрель", "май", "июнь", "июль", "август", "сентябрь", "октябрь",
             "ноябрь", "декабрь")


def month_label(month: date) -> str:
    """date(2026, 10, 1) -> «октябрь 2026»."""
    return f"{MONTHS_RU[month.month - 1]} {month.year}"
