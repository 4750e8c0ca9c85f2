"""Monthly service reports: which months can be reported, the provider's report of a month or a whole group,
corrections. Money moves only through ledger.services."""
import re
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import selectinload

from certapp.accounts.models import User
from certapp.audit.services import record_event
from certapp.common import clock, events
from certapp.common.bulk import BulkResult, for_each
from certapp.common.errors import ConflictError, NotFoundError, TransitionError, ValidationError
from certapp.common.money import format_rub, share
from certapp.common.months import add_months, month_label, parse_month
from certapp.common.roles import require_role
from certapp.common.templating import plural
from certapp.common.validators import free_text
from certapp.contracts.contracts import REPORT_LOAD, _transition, get_contract
from certapp.contracts.models import Contract, ContractMonth, ServiceReport
from certapp.contracts.months import month_is_over, month_key
from certapp.db import db, insert_unless_taken
from certapp.ledger import services as ledger
from certapp.ledger.models import LedgerEntry
from certapp.programs.models import StudyGroup
from certapp.registry.services import require_registry_provider

#: the most lessons a month can hold: two a day on each of 31 days (a guard against typos; the group's
#: schedule caps it further, scheduled_lessons)
MAX_LESSONS_PER_MONTH = 2 * 31
#: the most attendance marks of a month: ten children's visits a day on 31 days would already be a group
#: of ten present every day — a guard against typos, not a rule of the order
MAX_ATTENDANCE_PER_MONTH = 31 * 10


def _month_of(contract: Contract, month: date) -> ContractMonth:
    row = next((m for m in contract.months if m.month == month), None)
    if row is None:
        raise ValidationError("Этого месяца нет в договоре.", field="month")
    return row


def _lessons(delivered: bool | None, planned: object, held: object) -> tuple[bool, int | None, int | None]:
    """(delivered, planned, held) from what the provider gave: the lessons, or only whether the month
    was delivered (then in full or not at all)."""
    if planned is None and held is None:
        if delivered is None:
            raise ValidationError("Укажите, сколько занятий было запланировано и сколько проведено.",
                                  field="lessons_held")
        return bool(delivered), None, None
    if not isinstance(planned, int) or isinstance(planned, bool) or not 1 <= planned <= MAX_LESSONS_PER_MONTH:
        raise ValidationError(f"Занятий по расписанию — целое число от 1 до {MAX_LESSONS_PER_MONTH}.",
                              field="lessons_planned")
    if not isinstance(held, int) or isinstance(held, bool) or not 0 <= held <= planned:
        raise ValidationError(f"Проведено занятий — от 0 до {planned} (не больше, чем по расписанию).",
                              field="lessons_held")
    return held > 0, planned, held


#: the schedule's days of the week, as people write them («пн, ср 15:00», «вторник и четверг», «пн–пт»)
_WEEKDAYS = (("пн", "понедельник"), ("вт", "вторник"), ("ср", "сред"), ("чт", "четверг"), ("пт", "пятниц"),
             ("сб", "суббот"), ("вс", "воскресен"))
_WEEKDAY_WORD = re.compile(r"(?<![а-яе])(" + "|".join(f"{full}[а-яе]*" for _, full in _WEEKDAYS) + "|"
                           + "|".join(short for short, _ in _WEEKDAYS) + r")(?![а-яе])")
_DAY_RANGE = re.compile(r"^\s*[-–—]\s*$")


def _weekday_of(word: str) -> int | None:
    for index, (short, full) in enumerate(_WEEKDAYS):
        if word == short or word.startswith(full):
            return index
    return None


def schedule_weekdays(schedule: str | None) -> set[int]:
    """The weekdays (0 = Monday) a group's schedule names: «пн, ср 15:00–16:30» -> {0, 2}; «пн–пт» is a
    range. Empty when the text names none (then the schedule gives no count of lessons)."""
    text = (schedule or "").lower().replace("ё", "е")
    days: set[int] = set()
    previous, previous_end = None, 0
    for match in _WEEKDAY_WORD.finditer(text):
        day = _weekday_of(match.group(1))
        if day is None:
            continue
        if previous is not None and _DAY_RANGE.match(text[previous_end:match.start()]) and day > previous:
            days.update(range(previous, day + 1))
        days.add(day)
        previous, previous_end = day, match.end()
    return days


def scheduled_lessons(group: StudyGroup, month: date) -> int | None:
    """How many lessons the group's schedule has in the month: its weekdays between the group's start and
    end that fall in the month (public holidays included: the cap of a report, a cancelled lesson is
    reported as not held). None when the schedule names no weekdays."""
    weekdays = schedule_weekdays(group.schedule)
    if not weekdays:
        return None
    first = max(month, group.starts_on)
    last = min(add_months(month, 1) - timedelta(days=1), group.ends_on)
    return sum(1 for n in range((last - first).days + 1) if (first + timedelta(days=n)).weekday() in weekdays)


#: contracts whose months are reported (a terminated one: the months before its termination)
REPORTING_STATUSES = ("active", "terminated")


def reportable_months(contract: Contract, today: date | None = None) -> list[ContractMonth]:
    """The one rule of what a provider can report on a contract on `today`: the months of a contract in
    force (or terminated: those before its termination) not reported yet, and over. Used by the
    contract's page, the group's lessons page, the API and report_month's check."""
    today = today or clock.today()
    if contract.status not in REPORTING_STATUSES:
        return []
    return [m for m in contract.months if m.status == "planned" and month_is_over(m.month, today)
            and not (contract.terminated_from and m.month >= contract.terminated_from)]


def _refuse_month(contract: Contract, row: ContractMonth) -> None:
    """Why a month of a contract in force is not in reportable_months: the refusal, changing nothing."""
    month = row.month
    if row.status == "cancelled" or (contract.terminated_from and month >= contract.terminated_from):
        # the months before the termination can still be reported
        raise ConflictError(f"{month:%m.%Y} отменён расторжением договора.", field="month", code="month_cancelled")
    if row.status != "planned":
        raise ConflictError(f"За {month_label(month)} отчёт уже подан.", field="month", code="already_reported")
    raise _not_over(month)


def _not_over(month: date) -> ValidationError:
    return ValidationError(f"За {month_label(month)} можно отчитаться только после окончания месяца — с "
                           f"{add_months(month, 1):%d.%m.%Y} (по порядку — до 5-го числа следующего месяца): "
                           "занятия этого месяца ещё не все прошли.", field="month", code="month_not_over")


def paid_advance(contract: Contract, month: date) -> int:
    entry = db.session.execute(select(LedgerEntry).where(
        LedgerEntry.certificate_id == contract.certificate_id,
        LedgerEntry.idempotency_key == month_key(contract.id, month) + ":advance")).scalar_one_or_none()
    return entry.amount if entry else 0


def report_month(contract_id: int, provider_user: User, month: date | str, delivered: bool | None = None,
                 reason: str | None = None, attendance: int | None = None, today: date | None = None, *,
                 lessons_planned: int | None = None, lessons_held: int | None = None) -> ServiceReport:
    """The provider reports a month once: lessons planned and held (or only whether it was delivered).
    The month costs the certificate its share × held / planned (rounded half up to the kopeck); the
    report spends that less the advance already paid, or returns an advance larger than it to the
    reserve, and releases the rest of the month's reserve to the certificate."""
    require_registry_provider(provider_user)
    today = today or clock.today()
    contract = get_contract(contract_id, provider_user, for_update=True, load=REPORT_LOAD)
    if contract.status not in REPORTING_STATUSES:
        raise TransitionError(f"Договор в состоянии «{contract.status_name}»: отчёт не принимается.")
    month = parse_month(month)
    row = _month_of(contract, month)
    if row not in reportable_months(contract, today):
        _refuse_month(contract, row)
    delivered, planned, held = _lessons(delivered, lessons_planned, lessons_held)
    scheduled = scheduled_lessons(contract.group, month) if planned is not None else None
    if planned is not None and scheduled is not None and planned > scheduled:
        raise ValidationError(f"По расписанию группы («{contract.group.schedule}») за {month_label(month)} — "
                              f"{scheduled} {plural(scheduled, 'занятие', 'занятия', 'занятий')}: больше занятий "
                              "по расписанию указать нельзя.", field="lessons_planned", code="more_than_scheduled")
    reason = free_text(reason, None if delivered else "Укажите, почему услуга не оказана.")
    if attendance is not None and not 0 <= attendance <= MAX_ATTENDANCE_PER_MONTH:
        raise ValidationError("Посещаемость указана неверно.", field="attendance")
    due = row.certificate_amount if delivered else 0
    if planned is not None and held is not None:
        due = share(row.certificate_amount, held, planned)
    advance = paid_advance(contract, month)
    # the money first (idempotent by its keys), then the report that names its entry: should the report
    # be a duplicate after all, the caller's transaction (or savepoint) takes the moves back with it
    key = month_key(contract.id, month)
    moves: dict[str, Any] = dict(contract_id=contract.id, actor=provider_user)
    entries = []
    if due > advance:
        entries.append(ledger.spend(contract.certificate_id, due - advance, key, month=month, **moves))
    elif due < advance:
        entries.append(ledger.refund(contract.certificate_id, advance - due, key + ":refund", month=month, **moves,
                                     reason=f"Аванс больше итоговой суммы за {month:%m.%Y}"))
    if row.certificate_amount > due:
        held_text = f"проведено {held} из {planned} занятий" if planned is not None else "услуга не оказана"
        entries.append(ledger.release(contract.certificate_id, row.certificate_amount - due, key + ":release",
                                      **moves, reason=f"{month:%m.%Y}: {held_text}" + (f": {reason}" if reason else "")))
    # one statement: the unique index on (contract, month) decides a race or a repeat, refused by name
    report = insert_unless_taken(
        ServiceReport, ["contract_id", "month"], contract_id=contract.id, month=month, delivered=delivered,
        reason=reason, attendance=attendance, lessons_planned=planned, lessons_held=held, amount=due,
        advance=advance, reported_by_id=provider_user.id, municipality_id=contract.municipality_id,
        ledger_entry_id=entries[0].id if entries else None)
    if report is None:
        raise ConflictError(f"За {month_label(month)} отчёт уже подан.", field="month", code="already_reported")
    row.status = "delivered" if delivered else "not_delivered"
    record_event("service_report.create", report, to_state=row.status, actor=provider_user,
                 details={"contract": contract.number, "month": month, "amount": due, "advance": advance,
                          "lessons": [planned, held]})
    events.contract_month_reported.send(report, actor=provider_user)
    if contract.status == "active" and all(m.status != "planned" for m in contract.months):
        _transition(contract, "completed", provider_user)
    return report


def report_group(provider_user: User, group_id: int, month: date | str, rows: list[dict[str, Any]], today: date | None = None
                 ) -> BulkResult:
    """Lessons of a whole group for a month in one request: a row per contract ({contract_id,
    lessons_planned, lessons_held, reason}); each row stands alone."""
    require_registry_provider(provider_user)
    group = db.session.get(StudyGroup, group_id)
    if group is None or group.program.provider_id != provider_user.provider_id:
        raise NotFoundError("Группа не найдена.")
    month = parse_month(month)
    if not month_is_over(month, today or clock.today()):
        raise _not_over(month)
    by_contract = {row["contract_id"]: row for row in rows}

    def one(contract_id: int) -> ServiceReport:
        row = by_contract[contract_id]
        contract = get_contract(contract_id, provider_user)
        if contract.group_id != group.id:
            raise NotFoundError("Договор не относится к этой группе.")
        return report_month(contract_id, provider_user, month, reason=row.get("reason"), today=today,
                            lessons_planned=row.get("lessons_planned"), lessons_held=row.get("lessons_held"))

    return for_each(list(by_contract), one)


@dataclass
class GroupMonth:
    """A group's lessons page: the months that can be reported (newest first), the month shown, the
    contracts whose month it is to report, and the lessons the schedule has in it."""

    group: StudyGroup
    months: list[date]
    month: date | None
    contracts: list[Contract]
    scheduled: int | None
    #: the month shown is over (a month still going on cannot be reported yet)
    over: bool = True


def group_to_report(provider_user: User, group_id: int, month: date | None = None, today: date | None = None
                    ) -> GroupMonth:
    """What the group's bulk entry screen offers: the months some contract of the group can report
    (reportable_months), and for `month` (by default the latest of them) those contracts."""
    require_registry_provider(provider_user)
    today = today or clock.today()
    group = db.session.get(StudyGroup, group_id)
    if group is None or group.program.provider_id != provider_user.provider_id:
        raise NotFoundError("Группа не найдена.")
    contracts = db.session.execute(
        select(Contract).where(Contract.group_id == group.id, Contract.status.in_(REPORTING_STATUSES))
        .options(selectinload(Contract.months), selectinload(Contract.child)).order_by(Contract.id)).scalars().all()
    by_month: dict[date, list[Contract]] = {}
    for contract in contracts:
        for row in reportable_months(contract, today):
            by_month.setdefault(row.month, []).append(contract)
    months = sorted(by_month, reverse=True)
    month = month or (months[0] if months else None)
    return GroupMonth(group, months, month, by_month.get(month, []) if month else [],
                      scheduled_lessons(group, month) if month else None, not month or month_is_over(month, today))


def correct_month(contract_id: int, actor: User, month: date | str, amount: int, direction: str, reason: str
                  ) -> LedgerEntry:
    """The department corrects a reported month with a correcting entry: 'refund' moves spent back to
    available (the month was not in fact delivered), 'charge' moves available to spent."""
    require_role(actor, "department")
    contract = get_contract(contract_id, actor, for_update=True)
    month = parse_month(month)
    row = _month_of(contract, month)
    if row.status == "planned":
        raise ValidationError("За этот месяц ещё нет отчёта: исправлять нечего.", field="month")
    if direction not in ("refund", "charge"):
        raise ValidationError("Укажите вид корректировки.", field="direction")
    # a month's corrections stay within it: no more back than it spent, no more spent than its part
    spent = db.session.execute(select(func.coalesce(func.sum(LedgerEntry.d_spent), 0)).where(
        LedgerEntry.contract_id == contract.id, LedgerEntry.month == month)).scalar_one()
    if direction == "refund" and amount > spent:
        raise ValidationError(f"Вернуть можно не больше, чем списано за {month_label(month)}: "
                              f"{format_rub(spent)}.", field="amount_rub")
    if direction == "charge" and spent + amount > row.certificate_amount:
        raise ValidationError(f"Списать за {month_label(month)} можно не больше его доли сертификата "
                              f"({format_rub(row.certificate_amount)}); уже списано {format_rub(spent)}.",
                              field="amount_rub")
    deltas = (amount, 0, -amount, 0) if direction == "refund" else (-amount, 0, amount, 0)
    count = db.session.execute(select(func.count()).select_from(LedgerEntry).where(
        LedgerEntry.contract_id == contract.id, LedgerEntry.kind == "correction")).scalar_one()
    return ledger.correct(contract.certificate_id, deltas, f"contract:{contract.id}:correction:{count + 1}",
                          reason=reason, actor=actor, contract_id=contract.id, month=month)
