"""Working days: Monday to Friday, except the public holidays and moved days off, plus the
Saturdays made working by a decree. Pure functions over a {day: "holiday" | "workday"} map."""
from datetime import date, timedelta

#: The weekdays off of the production calendar, as `flask reference load` fills it (a year the
#: department already keeps is left as it is). 2026: the Government's decree moved 3 and 4 January
#: to 9 January and 31 December; 8 March and 9 May fall on weekends and move to 9 March and 11 May.
#: 2027: the Labour Code's days off (art. 112), a holiday on a weekend moved to the next working
#: day; the January moves come with the Government's yearly decree — the department adds them on
#: the «Сроки» page when it is published.
PRODUCTION_CALENDAR = [
    (date(2026, 1, 1), "Новогодние каникулы"), (date(2026, 1, 2), "Новогодние каникулы"),
    (date(2026, 1, 5), "Новогодние каникулы"), (date(2026, 1, 6), "Новогодние каникулы"),
    (date(2026, 1, 7), "Рождество Христово"), (date(2026, 1, 8), "Новогодние каникулы"),
    (date(2026, 1, 9), "Перенос выходного с 3 января"), (date(2026, 2, 23), "День защитника Отечества"),
    (date(2026, 3, 9), "Перенос с 8 марта (Международный женский день)"), (date(2026, 5, 1), "Праздник Весны и Труда"),
    (date(2026, 5, 11), "Перенос с 9 мая (День Победы)"), (date(2026, 6, 12), "День России"),
    (date(2026, 11, 4), "День народного единства"), (date(2026, 12, 31), "Перенос выходного с 4 января"),
    (date(2027, 1, 1), "Новогодние каникулы"), (date(2027, 1, 4), "Новогодние каникулы"),
    (date(2027, 1, 5), "Новогодние каникулы"), (date(2027, 1, 6), "Новогодние каникулы"),
    (date(2027, 1, 7), "Рождество Христово"), (date(2027, 1, 8), "Новогодние каникулы"),
    (date(2027, 2, 23), "День защитника Отечества"), (date(2027, 3, 8), "Международный женский день"),
    (date(2027, 5, 3), "Перенос с 1 мая (Праздник Весны и Труда), ст. 112 ТК РФ"),
    (date(2027, 5, 10), "Перенос с 9 мая (День Победы), ст. 112 ТК РФ"),
    (date(2027, 6, 14), "Перенос с 12 июня (День России), ст. 112 ТК РФ"), (date(2027, 11, 4), "День народного единства"),
]


def is_working_day(day: date, exceptions: dict[date, str]) -> bool:
    kind = exceptions.get(day)
    if kind == "holiday":
        return False
    if kind == "workday":
        return True
    return day.weekday() < 5


def add_working_days(start: date, days: int, exceptions: dict[date, str]) -> date:
    """The day on which `days` working days after `start` have passed (start itself not counted)."""
    day, counted = start, 0
    while counted < days:
        day += timedelta(days=1)
        if is_working_day(day, exceptions):
            counted += 1
    return day


def next_working_day(day: date, exceptions: dict[date, str]) -> date:
    return add_working_days(day, 1, exceptions)


def working_days_between(start: date, end: date, exceptions: dict[date, str]) -> int:
    """Working days after `start` up to and including `end` (negative when `end` is earlier)."""
    if end < start:
        return -working_days_between(end, start, exceptions)
    return sum(is_working_day(start + timedelta(days=i), exceptions) for i in range(1, (end - start).days + 1))
