"""Deadlines (сроки) in working days over the production calendar, and their rules."""
import calendar as month_calendar
from datetime import date

from flask import g, has_app_context
from sqlalchemy import select

from certapp.accounts.models import User
from certapp.audit.services import record_event
from certapp.common import clock
from certapp.common.errors import NotFoundError, ValidationError
from certapp.common.months import add_months
from certapp.common.roles import require_role
from certapp.db import db
from certapp.deadlines.calendar import PRODUCTION_CALENDAR, add_working_days, next_working_day, working_days_between
from certapp.deadlines.models import DEADLINE_KINDS, HOLIDAY_KINDS, DeadlineRule, Holiday
from certapp.reference.services import own_municipality_id


def exceptions() -> dict[date, str]:
    """The calendar's exceptions (a few dozen rows a year), read once per request or job."""
    cache = g.get("certapp_holidays") if has_app_context() else None
    if cache is None:
        cache = dict(db.session.execute(select(Holiday.day, Holiday.kind)).all())
        if has_app_context():
            g.certapp_holidays = cache
    return cache


def _forget_calendar() -> None:
    if has_app_context():
        g.pop("certapp_holidays", None)


def load_calendar() -> int:
    """Fill the production calendar's known years (PRODUCTION_CALENDAR); a year that already has
    days is the department's and is left as it is. Returns how many days were added."""
    kept = {day.year for day in db.session.execute(select(Holiday.day)).scalars()}
    added = [Holiday(day=day, kind="holiday", name=name) for day, name in PRODUCTION_CALENDAR if day.year not in kept]
    db.session.add_all(added)
    db.session.flush()
    _forget_calendar()
    return len(added)


def _municipality(municipality_id: int | None) -> int:
    """Whose rules: the one named, else that of the current scope (or the default)."""
    return municipality_id or own_municipality_id()


def rule_days(kind: str, municipality_id: int | None = None) -> int:
    row = db.session.get(DeadlineRule, (_municipality(municipality_id), kind))
    return row.days if row else DEADLINE_KINDS[kind][2]


def due_date(kind: str, start: date, municipality_id: int | None = None) -> date:
    """When a document of a municipality that started on `start` must be dealt with (a
    working-days kind), under that municipality's rule."""
    return add_working_days(start, rule_days(kind, municipality_id), exceptions())


def month_deadline(kind: str, month: date, municipality_id: int | None = None) -> date:
    """For a month's report or payment: the rule's day of the following month."""
    following = add_months(month.replace(day=1), 1)
    last = month_calendar.monthrange(following.year, following.month)[1]
    return following.replace(day=min(rule_days(kind, municipality_id), last))


def tomorrow_working(today: date) -> date:
    return next_working_day(today, exceptions())


def working_days_left(due: date, today: date | None = None) -> int:
    """Working days from today to the due date (0: due today; negative: overdue by that many)."""
    return working_days_between(today or clock.today(), due, exceptions())


def rules() -> list[dict]:
    """Every deadline with the days the current scope's municipality set (else the default), in one query."""
    municipality_id = _municipality(None)
    days: dict[str, int] = {kind: n for kind, n in db.session.execute(
        select(DeadlineRule.kind, DeadlineRule.days).where(DeadlineRule.municipality_id == municipality_id))}
    return [{"kind": kind, "name": name, "unit": unit, "default": default, "days": days.get(kind, default)}
            for kind, (name, unit, default) in DEADLINE_KINDS.items()]


def set_rule(kind: str, days, actor: User) -> DeadlineRule:
    """The department changes a deadline; documents already filed keep the due date they were given."""
    require_role(actor, "department")
    if kind not in DEADLINE_KINDS:
        raise ValidationError("Неизвестный срок.", field="kind")
    try:
        days = int(days)
    except (TypeError, ValueError):
        raise ValidationError("Срок — целое число дней.", field=kind)
    limit = 28 if DEADLINE_KINDS[kind][1] == "day_of_month" else 60
    if not 1 <= days <= limit:
        raise ValidationError(f"Срок: от 1 до {limit}.", field=kind)
    municipality_id = _municipality(actor.municipality_id)
    row = db.session.get(DeadlineRule, (municipality_id, kind))
    before = rule_days(kind, municipality_id)
    if row is None:
        row = DeadlineRule(kind=kind, days=days, updated_by_id=actor.id, municipality_id=municipality_id)
        db.session.add(row)
    else:
        row.days, row.updated_by_id = days, actor.id
    if before != days:
        record_event("deadline_rule.set", ("DeadlineRule", f"{municipality_id}:{kind}"), from_state=str(before),
                     to_state=str(days), actor=actor)
    return row


def set_rules(days_by_kind: dict, actor: User) -> None:
    """Several deadlines at once ({kind: days}); any wrong one refuses them all (the caller's transaction)."""
    for kind, days in days_by_kind.items():
        set_rule(kind, days, actor)


def holidays(year: int | None = None):
    stmt = select(Holiday).order_by(Holiday.day)
    return stmt.where(Holiday.day.between(date(year, 1, 1), date(year, 12, 31))) if year else stmt


def add_holiday(day, kind: str, name: str, actor: User) -> Holiday:
    require_role(actor, "department")
    if not isinstance(day, date):
        raise ValidationError("Укажите дату.", field="day")
    if kind not in HOLIDAY_KINDS:
        raise ValidationError("Выберите: праздничный или рабочий день.", field="kind")
    name = " ".join((name or "").split())
    if not name:
        raise ValidationError("Заполните поле «Основание».", field="name")
    if db.session.execute(select(Holiday.id).where(Holiday.day == day)).first():
        raise ValidationError(f"{day:%d.%m.%Y} уже есть в календаре.", field="day")
    row = Holiday(day=day, kind=kind, name=name[:255])
    db.session.add(row)
    db.session.flush()
    record_event("holiday.add", row, to_state=kind, actor=actor, details={"day": day, "name": name})
    _forget_calendar()
    return row


def remove_holiday(holiday_id: int, actor: User) -> None:
    require_role(actor, "department")
    row = db.session.get(Holiday, holiday_id)
    if row is None:
        raise NotFoundError("Дня нет в календаре.")
    record_event("holiday.remove", row, from_state=row.kind, actor=actor, details={"day": row.day, "name": row.name})
    db.session.delete(row)
    _forget_calendar()
