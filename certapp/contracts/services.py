"""Enrollments, contracts and monthly service reports. Money moves only through ledger.services."""
import re
from dataclasses import dataclass
from datetime import date, timedelta

from sqlalchemy import func, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import aliased, joinedload, selectinload

from certapp.accounts.models import User
from certapp.accounts.services import require_role
from certapp.audit.services import record_event
from certapp.certificates.models import CERTIFICATE_TRANSITIONS, Certificate, Child
from certapp.common import clock
from certapp.common.bulk import BulkResult, for_each
from certapp.common.errors import ConflictError, DomainError, NotFoundError, TransitionError, ValidationError
from certapp.common.events import announce
from certapp.common.money import format_rub, share
from certapp.common.months import add_months, first_of_month, month_label, months_between
from certapp.common.states import transition
from certapp.common.templating import format_date, plural
from certapp.common.web import path_for
from certapp.contracts.models import (
    CONTRACT_TRANSITIONS,
    ENROLLMENT_TRANSITIONS,
    GROUNDS_BY_ROLE,
    SEAT_HOLDING_STATUSES,
    TERMINATION_GROUNDS,
    Contract,
    ContractMonth,
    Enrollment,
    ServiceReport,
)
from certapp.db import db, transaction, utcnow
from certapp.deadlines.services import due_date
from certapp.documents.services import SignedDocument, next_number, sign_document, signed_document_finder
from certapp.jobs.bulk import register_bulk, start_bulk
from certapp.ledger import services as ledger
from certapp.ledger.models import CertificateBalance, LedgerEntry
from certapp.programs.models import Program, StudyGroup
from certapp.programs.services import seats_left
from certapp.reference.models import Municipality, Period
from certapp.registry.services import admitted_in, require_registry_provider


class EnrollmentError(DomainError):
    code = "enrollment_refused"
    status = 422


def check_offered_in(program, municipality_id: int) -> None:
    """A certificate pays only for a program offered in its own municipality by a provider admitted
    there: the contract is paid by that municipality under its agreement with the provider."""
    if municipality_id not in {m.id for m in program.municipalities} \
            or not admitted_in(program.provider_id, municipality_id):
        name = db.session.get(Municipality, municipality_id).name
        raise EnrollmentError(f"Программа не предлагается в муниципальном образовании сертификата ({name}): "
                              "сертификат оплачивает обучение у исполнителей, допущенных в этом муниципалитете.",
                              field="group_id", code="not_offered_in_municipality")


# --- months --------------------------------------------------------------------------------------

def parse_month(value, field: str = "month") -> date:
    """'2026-12', '12.2026' or a date -> the first day of that month."""
    if isinstance(value, date):
        return first_of_month(value)
    text = str(value or "").strip()
    for sep, order in (("-", (0, 1)), (".", (1, 0))):
        parts = text.split(sep)
        if len(parts) in (2, 3):
            try:
                year, month = int(parts[order[0]]), int(parts[order[1]])
                return date(year, month, 1)
            except ValueError:
                break
    raise ValidationError("Месяц указывается как ГГГГ-ММ, например 2026-12.", field=field)


def split_evenly(total: int, parts: int) -> list[int]:
    """Kopeck-exact split: the first months take the remainder kopecks."""
    base, remainder = divmod(total, parts)
    return [base + (1 if i < remainder else 0) for i in range(parts)]


@dataclass(frozen=True)
class MonthShare:
    """One month of a price schedule: its price and what the certificate pays of it."""

    month: date
    price: int
    certificate_amount: int

    @property
    def parent_amount(self) -> int:
        return self.price - self.certificate_amount


def split_schedule(prices: list[tuple[date, int]], available: int) -> tuple[MonthShare, ...]:
    """The one rule of the split: the certificate pays what it can month by month, in month order
    (each month's certificate part at most what is left of the available balance), the parent the rest
    of each month. A month in force on its 1st is paid in full while the money lasts (ПФДО practice)."""
    left, shares = max(0, available), []
    for month, price in sorted(prices):
        part = min(price, left)
        left -= part
        shares.append(MonthShare(month, price, part))
    return tuple(shares)


@dataclass(frozen=True)
class PriceSplit:
    """What a contract would cost from a month to a group's end, and who pays which part."""

    price_per_month: int
    months: list[date]
    total: int
    certificate_part: int
    #: month by month, in month order (split_schedule)
    shares: tuple[MonthShare, ...] = ()

    @property
    def parent_part(self) -> int:
        return self.total - self.certificate_part


def price_split(price_per_month: int, start_month: date, ends_on: date, available: int) -> PriceSplit:
    """The one rule of the offer: the certificate pays up to what is available now, the parent the rest."""
    months = months_between(start_month, ends_on)
    shares = split_schedule([(month, price_per_month) for month in months], available)
    return PriceSplit(price_per_month, months, price_per_month * len(months),
                      sum(s.certificate_amount for s in shares), shares)


def catalog_offers(parent: User, programs: list, today: date | None = None) -> dict[int, list]:
    """For a parent browsing the catalog: per program, for each of their active certificates that can
    pay for it (the program is offered in the certificate's municipality), what a contract from this
    month (or the nearest group's start) to the group's end would split into."""
    today = today or clock.today()
    certificates = [c for c in db.session.execute(
        select(Certificate).join(Child).where(Child.parent_id == parent.id, Certificate.status == "active")
        .order_by(Certificate.id)).scalars()]
    if not certificates:
        return {}
    available = {c.id: c.balance.available if c.balance else 0 for c in certificates}  # accounting: no money
    offers = {}
    for program in programs:
        groups = [g for g in program.groups if g.ends_on >= today]
        if not groups:
            continue
        group = min(groups, key=lambda g: g.starts_on)
        start = max(first_of_month(today), first_of_month(group.starts_on))
        offered_in = {m.id for m in program.municipalities}
        payable = [(c, price_split(program.price_per_month, start, group.ends_on, available[c.id]))
                   for c in certificates if c.municipality_id in offered_in]
        if payable:
            offers[program.id] = payable
    return offers


def upcoming_payments(certificate_ids: list[int], today: date | None = None, per_certificate: int = 3
                      ) -> dict[int, list[tuple[date, int]]]:
    """The next months that contracts in force will draw from each certificate: (month, amount), soonest
    first, a few per certificate, in one query."""
    if not certificate_ids:
        return {}
    rows = db.session.execute(
        select(Contract.certificate_id, ContractMonth.month, func.sum(ContractMonth.certificate_amount))
        .join(ContractMonth, ContractMonth.contract_id == Contract.id)
        .where(Contract.certificate_id.in_(certificate_ids), Contract.status == "active",
               ContractMonth.status == "planned", ContractMonth.month >= first_of_month(today or clock.today()))
        .group_by(Contract.certificate_id, ContractMonth.month)
        .order_by(Contract.certificate_id, ContractMonth.month))
    result: dict[int, list[tuple[date, int]]] = {}
    for certificate_id, month, amount in rows:
        months = result.setdefault(certificate_id, [])
        if len(months) < per_certificate:
            months.append((month, int(amount)))
    return result


def _seats_left(group: StudyGroup) -> int:
    return seats_left([group])[group.id]


# --- enrollment ----------------------------------------------------------------------------------

def request_enrollment(parent: User, certificate_id: int, group_id: int, start_month, today: date | None = None
                       ) -> Enrollment:
    """A parent asks to enroll the certificate's child in a group, from start_month to the group's end.

    Refuses (EnrollmentError): no seats, the child's age outside the program's, a certificate not active,
    months outside the certificate's period, the same child already enrolled in the group."""
    require_role(parent, "parent")
    today = today or clock.today()
    certificate = db.session.get(Certificate, certificate_id)
    if certificate is None or certificate.child.parent_id != parent.id:
        raise NotFoundError("Сертификат не найден.")
    group = catalog_group(group_id)
    program, child = group.program, certificate.child
    start = parse_month(start_month, "start_month")
    if start not in start_months(group, today):
        raise EnrollmentError("Месяц начала должен быть не раньше текущего месяца и начала занятий группы и не позже "
                              "их окончания.", field="start_month")
    check_enrollment(certificate, group, start)
    if _seats_left(group) <= 0:
        raise EnrollmentError("В группе нет свободных мест.", field="group_id")
    enrollment = Enrollment(parent_id=parent.id, child_id=child.id, certificate_id=certificate.id, group_id=group.id,
                            provider_id=program.provider_id, start_month=start, status="requested",
                            municipality_id=certificate.municipality_id)
    try:
        with db.session.begin_nested():
            db.session.add(enrollment)
            db.session.flush()
    except IntegrityError:
        raise ConflictError("Ребёнок уже записан в эту группу.", field="group_id", code="already_enrolled")
    record_event("enrollment.requested", enrollment, to_state="requested", actor=parent,
                 details={"group_id": group.id, "certificate_id": certificate.id, "start_month": start})
    announce("enrollment.requested", enrollment, actor=parent)
    return enrollment


def catalog_group(group_id: int) -> StudyGroup:
    """A group of a published program of a provider in the registry: one a parent can ask to join."""
    group = db.session.get(StudyGroup, group_id)
    if group is None or group.program.status != "published" or not group.program.provider.in_registry:
        raise NotFoundError("Группа не найдена в каталоге.")
    return group


def group_enrollment_options(parent: User, group_id: int, start_month=None, today: date | None = None
                             ) -> tuple[StudyGroup, date, list["EnrollmentOption"]]:
    """enrollment_options for the API: the group from the catalog, the start month (by default the first
    one open) checked against the group's months."""
    group = catalog_group(group_id)
    months = start_months(group, today or clock.today())
    if not months:
        raise EnrollmentError("Занятия группы уже закончились.", field="group_id")
    start = parse_month(start_month, "start_month") if start_month else months[0]
    if start not in months:
        raise ValidationError("Месяц начала должен быть не раньше текущего месяца и начала занятий группы и не "
                              "позже их окончания.", field="start_month")
    return group, start, enrollment_options(parent, group, start)


def group_labels(program: Program, groups: list[StudyGroup]) -> dict[int, str]:
    """How the enrollment form names each group: its name and schedule, the school year its lessons start
    in (a period of the program's municipalities), its dates and free seats («Группа 1, пн, ср 15:00–16:30
    — 2026/27 учебный год, 01.09.2026–31.05.2027, свободно 3 места из 12»); two groups still alike after
    that are told apart by their teacher."""
    periods = db.session.execute(select(Period).where(Period.municipality_id.in_(
        [m.id for m in program.municipalities])).order_by(Period.starts_on)).scalars().all()
    seats = seats_left(groups)

    def label(group: StudyGroup, teacher: bool) -> str:
        period = next((p for p in periods if p.starts_on <= group.starts_on <= p.ends_on), None)
        free = max(seats.get(group.id, 0), 0)
        seats_text = (f"свободно {free} {plural(free, 'место', 'места', 'мест')} из {group.capacity}" if free
                      else "свободных мест нет")
        return (f"{group.name}, {group.schedule}" + (f" ({group.teacher})" if teacher else "")
                + (f" — {period.name}, " if period else " — ")
                + f"{format_date(group.starts_on)}–{format_date(group.ends_on)}, {seats_text}")

    labels = {group.id: label(group, False) for group in groups}
    alike = {text for text in labels.values() if list(labels.values()).count(text) > 1}
    return {group.id: label(group, True) if labels[group.id] in alike else labels[group.id] for group in groups}


def start_months(group: StudyGroup, today: date) -> list[date]:
    """The months a child can start in the group: from this month (or the group's start) to its end."""
    return months_between(max(first_of_month(group.starts_on), first_of_month(today)), group.ends_on)


def check_enrollment(certificate: Certificate, group: StudyGroup, start: date) -> None:
    """Whether the certificate's child can be enrolled in the group from `start` (the seats aside): an
    active certificate of the program's municipality, the group's months inside the certificate's
    period, the child's age within the program's, the child not already in the group (a contract or a
    pending request). Raises EnrollmentError or ConflictError with the reason."""
    program, child = group.program, certificate.child
    if certificate.status != "active":
        raise EnrollmentError(f"Сертификат не действует: {certificate.status_name.lower()}.", field="certificate_id")
    check_offered_in(program, certificate.municipality_id)
    if start < first_of_month(certificate.valid_from) or first_of_month(group.ends_on) > first_of_month(certificate.valid_to):
        raise EnrollmentError(f"Занятия группы выходят за период сертификата ({certificate.period.name}).",
                              field="group_id")
    age = child.age_on(start)
    if not program.age_from <= age <= program.age_to:
        raise EnrollmentError(f"Программа для детей {program.age_from}–{program.age_to} лет, а ребёнку {age}.",
                              field="group_id")
    _ensure_not_enrolled(child, group.id)
    if db.session.execute(select(Enrollment.id).join(Child, Child.id == Enrollment.child_id).where(
            Child.snils_key == child.snils_key, Enrollment.group_id == group.id,
            Enrollment.status == "requested")).first():
        raise ConflictError("Ребёнок уже записан в эту группу: заявка ждёт ответа исполнителя.", field="group_id",
                            code="already_enrolled")


@dataclass
class EnrollmentOption:
    """One of the parent's certificates on the enrollment form: the split it would pay (usable) or why
    it cannot be used (refusal)."""

    certificate: Certificate
    split: PriceSplit | None = None
    refusal: str | None = None


def enrollment_options(parent: User, group: StudyGroup, start: date) -> list[EnrollmentOption]:
    """The parent's certificates for the enrollment form, each with the split of a contract from
    `start` to the group's end at its balance now (price_split) or the reason it cannot be used
    (check_enrollment): the form offers only the usable ones."""
    require_role(parent, "parent")
    certificates = db.session.execute(
        select(Certificate).join(Child, Child.id == Certificate.child_id)
        .where(Child.parent_id == parent.id, Certificate.status.in_(("active", "suspended")))  # not the past years'
        .options(selectinload(Certificate.balance), selectinload(Certificate.child))
        .order_by(Certificate.id.desc())).scalars().all()
    options = []
    for certificate in certificates:
        try:
            check_enrollment(certificate, group, start)
        except DomainError as refusal:
            options.append(EnrollmentOption(certificate, refusal=refusal.message))
            continue
        available = certificate.balance.available if certificate.balance else 0  # accounting: no money
        options.append(EnrollmentOption(certificate, price_split(group.program.price_per_month, start,
                                                                  group.ends_on, available)))
    return options


def _ensure_not_enrolled(child: Child, group_id: int) -> None:
    """The same child (by СНИЛС, whichever parent added it) holds one place in a group."""
    if db.session.execute(select(Contract.id).join(Child, Child.id == Contract.child_id).where(
            Child.snils_key == child.snils_key, Contract.group_id == group_id,
            Contract.status.in_(SEAT_HOLDING_STATUSES))).first():
        raise ConflictError("Ребёнок уже записан в эту группу.", field="group_id", code="already_enrolled")


def _own_enrollment(enrollment_id: int, user: User) -> Enrollment:
    enrollment = db.session.get(Enrollment, enrollment_id)
    allowed = enrollment is not None and (
        (user.role == "parent" and enrollment.parent_id == user.id)
        or (user.role == "provider" and enrollment.provider_id == user.provider_id)
        or user.reads_as("department"))
    if not allowed:
        raise NotFoundError("Заявка на обучение не найдена.")
    return enrollment


def _transition_enrollment(enrollment: Enrollment, to_status: str, actor: User, reason: str | None = None) -> None:
    transition(enrollment, to_status, ENROLLMENT_TRANSITIONS, actor, event="enrollment",
               refusal="Заявка на обучение уже в состоянии «{status}».", details={"reason": reason} if reason else None)
    enrollment.decided_at = utcnow()


def decline_enrollment(enrollment_id: int, actor: User, reason: str) -> Enrollment:
    require_registry_provider(actor)
    enrollment = _own_enrollment(enrollment_id, actor)
    reason = " ".join((reason or "").split())
    if not reason:
        raise ValidationError("Укажите причину отказа.", field="reason")
    enrollment.decline_reason = reason
    _transition_enrollment(enrollment, "declined", actor, reason)
    return enrollment


def cancel_enrollment(enrollment_id: int, actor: User) -> Enrollment:
    require_role(actor, "parent")
    enrollment = _own_enrollment(enrollment_id, actor)
    _transition_enrollment(enrollment, "cancelled", actor)
    return enrollment


def decide_enrollment(enrollment_id: int, action: str, actor: User, reason: str | None = None):
    """The provider's answer to an enrollment request: "accept" (the contract is offered) or
    "decline" with a reason."""
    _check_action(action)
    if action == "accept":
        return accept_enrollment(enrollment_id, actor)
    return decline_enrollment(enrollment_id, actor, reason)


def _check_action(action: str) -> None:
    if action not in ("accept", "decline"):
        raise ValidationError("Выберите действие: принять или отклонить.", field="action")


def _check_bulk_action(actor: User, action: str, reason: str | None) -> None:
    """Refuse a bulk answer as a whole before any row: the provider, the action, the common reason."""
    require_registry_provider(actor)
    _check_action(action)
    if action == "decline" and not " ".join((reason or "").split()):
        raise ValidationError("Укажите причину отказа: она будет одной для всех отмеченных заявок.", field="reason")


def decide_enrollments(enrollment_ids, action: str, actor: User, reason: str | None = None) -> BulkResult:
    """Accept or decline many requests at once (one reason for all); each row stands alone."""
    _check_bulk_action(actor, action, reason)
    return for_each(enrollment_ids, lambda enrollment_id: decide_enrollment(enrollment_id, action, actor, reason))


def start_deciding_enrollments(enrollment_ids, action: str, actor: User, reason: str | None = None):
    """decide_enrollments as a job, for more rows than a request should take (certapp.jobs.bulk)."""
    _check_bulk_action(actor, action, reason)
    return start_bulk("enrollments.decide", "Ответ на заявки на обучение", enrollment_ids, actor,
                      action=action, reason=reason)


register_bulk("enrollments.decide", lambda row_id, user, action, reason: decide_enrollment(row_id, action, user, reason),
              ("заявка", "заявки", "заявок"), lambda: path_for("contracts.enrollments"))


def accept_enrollment(enrollment_id: int, actor: User) -> Contract:
    """The provider accepts: the contract is offered to the parent with the price split into the
    certificate's part (up to what is available now) and the parent's part, month by month."""
    require_registry_provider(actor)
    enrollment = _own_enrollment(enrollment_id, actor)
    return _offer(enrollment, actor)


def _offer(enrollment: Enrollment, actor: User | None, prolonged_from: Contract | None = None) -> Contract:
    """Accept the enrollment and offer the contract: from its start month to the group's end, the
    certificate paying up to what is available now and the parent the rest, month by month."""
    certificate = enrollment.certificate
    # lock the group: two acceptances cannot both take its last seat (PostgreSQL; SQLite is serialised)
    group = db.session.execute(select(StudyGroup).where(StudyGroup.id == enrollment.group_id).with_for_update()
                               ).scalar_one()
    if certificate.status != "active":
        raise EnrollmentError(f"Сертификат не действует: {certificate.status_name.lower()}.")
    check_offered_in(group.program, certificate.municipality_id)
    if _seats_left(group) <= 0:
        raise EnrollmentError("В группе нет свободных мест.")
    _ensure_not_enrolled(enrollment.child, group.id)
    _transition_enrollment(enrollment, "accepted", actor)
    balance = ledger.balance_of(certificate.id)
    split = price_split(group.program.price_per_month, enrollment.start_month, group.ends_on,
                        balance.available if balance else 0)
    months, price, total, certificate_part = split.months, split.price_per_month, split.total, split.certificate_part
    contract = Contract(
        number=next_number("contract"), enrollment_id=enrollment.id, certificate_id=certificate.id,
        child_id=enrollment.child_id, parent_id=enrollment.parent_id, provider_id=enrollment.provider_id,
        program_id=group.program_id, group_id=group.id, start_month=months[0], end_month=months[-1],
        price_per_month=price, total=total, certificate_part=certificate_part, parent_part=total - certificate_part,
        status="offered", offer_expires_on=due_date("offer", clock.today(), certificate.municipality_id),
        municipality_id=certificate.municipality_id, prolonged_from_id=getattr(prolonged_from, "id", None))
    for share_ in split.shares:
        contract.months.append(ContractMonth(month=share_.month, certificate_amount=share_.certificate_amount,
                                             parent_amount=share_.parent_amount,
                                             municipality_id=contract.municipality_id))
    db.session.add(contract)
    record_event("contract.offered", contract, to_state="offered", actor=actor,
                 details={"total": total, "certificate_part": certificate_part,
                          "prolonged_from": getattr(prolonged_from, "number", None)})
    db.session.flush()
    announce("contract.offered", contract, actor=actor)
    return contract


# --- prolongation ---------------------------------------------------------------------------------

#: how long before its period's end a contract is offered for the next period
PROLONGATION_DAYS = 92
#: the most lessons a month can hold: two a day on each of 31 days (a guard against typos; the group's
#: schedule caps it further, scheduled_lessons)
MAX_LESSONS_PER_MONTH = 2 * 31
#: the most attendance marks of a month: ten children's visits a day on 31 days would already be a group
#: of ten present every day — a guard against typos, not a rule of the order
MAX_ATTENDANCE_PER_MONTH = 31 * 10


def _next_certificate(contract: Contract) -> Certificate | None:
    """The child's active certificate of the next school year in the contract's municipality."""
    period = contract.certificate.period
    return db.session.execute(
        select(Certificate).join(Period, Period.id == Certificate.period_id)
        .where(Certificate.snils_key == contract.certificate.snils_key, Certificate.status == "active",
               Certificate.municipality_id == contract.municipality_id, Period.starts_on > period.ends_on)
        .order_by(Period.starts_on)).scalars().first()


def _continuing_group(contract: Contract, certificate: Certificate) -> StudyGroup | None:
    """The program's group in the next period, if the program continues (published, with a group
    starting inside the next certificate's validity)."""
    program = contract.program
    if program.status != "published" or not program.provider.in_registry:
        return None
    groups = [g for g in program.groups
              if certificate.valid_from <= g.starts_on <= certificate.valid_to or
              (g.starts_on <= certificate.valid_from <= g.ends_on)]
    return min(groups, key=lambda g: (g.name != contract.group.name, g.starts_on), default=None)


def prolong(contract: Contract, today: date | None = None) -> Contract | None:
    """Offer the contract for the next period: a new offer against the child's next certificate in the
    program's group of that period. None when there is nothing to offer (no next certificate yet, the
    program does not continue, no seat): the nightly job tries again the next day."""
    if db.session.execute(select(Contract.id).where(Contract.prolonged_from_id == contract.id)).first():
        return None
    certificate = _next_certificate(contract)
    group = _continuing_group(contract, certificate) if certificate else None
    if group is None:
        return None
    start = max(first_of_month(group.starts_on), first_of_month(certificate.valid_from))
    enrollment = Enrollment(parent_id=contract.parent_id, child_id=certificate.child_id, certificate_id=certificate.id,
                            group_id=group.id, provider_id=contract.provider_id, start_month=start,
                            status="requested", municipality_id=certificate.municipality_id)
    try:
        with db.session.begin_nested():
            db.session.add(enrollment)
            db.session.flush()
            return _offer(enrollment, None, prolonged_from=contract)
    except (DomainError, IntegrityError):
        return None  # no seat, the child already enrolled, a certificate not active: nothing to offer


def offer_prolongations(today: date | None = None, batch: int = 500) -> int:
    """Contracts of periods ending within PROLONGATION_DAYS whose program continues are offered for
    the next period (once each), walked in batches by id. Returns how many offers were made."""
    today = today or clock.today()
    later = aliased(Contract)
    ending = (select(Contract).join(Certificate, Certificate.id == Contract.certificate_id)
              .join(Period, Period.id == Certificate.period_id)
              .where(Contract.status.in_(("active", "completed")), Contract.terminated_from.is_(None),
                     Period.ends_on >= today, Period.ends_on <= today + timedelta(days=PROLONGATION_DAYS),
                     ~select(later.id).where(later.prolonged_from_id == Contract.id).exists())
              .order_by(Contract.id).limit(batch))
    offered, last_id = 0, 0
    while True:
        contracts = db.session.execute(ending.where(Contract.id > last_id)).scalars().all()
        offered += sum(1 for contract in contracts if prolong(contract, today))
        if len(contracts) < batch:
            return offered
        last_id = contracts[-1].id


# --- the contract ----------------------------------------------------------------------------------

#: what the contract document (and the API's answer: the municipality) reads, loaded with the contract in
#: one query (and its months in a second)
DOCUMENT_LOAD = (joinedload(Contract.municipality, innerjoin=True),
                 joinedload(Contract.certificate, innerjoin=True), joinedload(Contract.provider, innerjoin=True),
                 joinedload(Contract.child, innerjoin=True), joinedload(Contract.group, innerjoin=True),
                 joinedload(Contract.program, innerjoin=True).joinedload(Program.direction, innerjoin=True),
                 selectinload(Contract.months))


#: what a month's report reads besides the contract: its months, and the program and parent its notice names
REPORT_LOAD = (joinedload(Contract.program, innerjoin=True), joinedload(Contract.parent, innerjoin=True),
               selectinload(Contract.months))


def get_contract(contract_id: int, user: User, *, for_update: bool = False, load: tuple = ()) -> Contract:
    """The contract the user may see. `for_update`: locked (only its own row) and reloaded; `load`:
    loader options for what the caller reads (DOCUMENT_LOAD, REPORT_LOAD), in one or two queries
    instead of a load per relation."""
    stmt = select(Contract).where(Contract.id == contract_id).options(*load)
    if for_update:
        # serialises signing, reports and termination of one contract on PostgreSQL, and reloads it
        stmt = stmt.with_for_update(of=Contract).execution_options(populate_existing=True)
    contract = db.session.execute(stmt).scalar_one_or_none()
    allowed = contract is not None and (
        (user.role == "parent" and contract.parent_id == user.id)
        or (user.role == "provider" and contract.provider_id == user.provider_id)
        or user.reads_as("department", "bookkeeping"))
    if not allowed:
        raise NotFoundError("Договор не найден.")
    return contract


def contract_content(contract: Contract) -> dict:
    """The canonical content of the contract document, as signed."""
    return {
        "number": contract.number, "certificate": contract.certificate.number,
        "provider": {"inn": contract.provider.inn, "name": contract.provider.full_name},
        "parent": contract.parent.full_name, "child": contract.child.full_name,
        "program": contract.program.title, "service_code": contract.program.direction.service_code,
        "group": contract.group.name, "price_per_month": contract.price_per_month, "total": contract.total,
        "certificate_part": contract.certificate_part, "parent_part": contract.parent_part,
        "schedule": [[m.month, m.certificate_amount, m.parent_amount] for m in contract.months],
        "signed_at": contract.signed_at, "signed_ip": contract.signed_ip,
    }


@signed_document_finder
def _signed_contract(number: str) -> SignedDocument | None:
    contract = number.startswith("ДО-") and db.session.execute(select(Contract).where(
        Contract.number == number)).scalar_one_or_none()
    return contract and SignedDocument("contract", "Договор об образовании", contract.number,
                                       contract_content(contract), contract.signature,
                                       provider_id=contract.provider_id) or None


def _transition(contract: Contract, to_status: str, actor: User, details: dict | None = None) -> None:
    transition(contract, to_status, CONTRACT_TRANSITIONS, actor, event="contract",
               refusal="Договор в состоянии «{status}».", details=details)


# --- the offer's split, as it stands now -----------------------------------------------------------

@dataclass(frozen=True)
class OfferSplit:
    """The split a contract is signed with: for an offer, recomputed from the certificate's available
    balance now (split_schedule); for a contract signed or closed, the one it was signed with."""

    shares: tuple[MonthShare, ...]
    #: the certificate's part as offered (stored on the contract when the provider accepted)
    offered_certificate_part: int
    #: the certificate's available balance now (offers only; None for a contract already signed)
    available: int | None = None

    @property
    def certificate_part(self) -> int:
        return sum(s.certificate_amount for s in self.shares)

    @property
    def total(self) -> int:
        return sum(s.price for s in self.shares)

    @property
    def parent_part(self) -> int:
        return self.total - self.certificate_part

    @property
    def changed(self) -> str | None:
        """'down' when the balance no longer covers the offer (the parent pays more), 'up' when it
        covers more of it (the parent pays less), None when the offer stands as made."""
        if self.certificate_part == self.offered_certificate_part:
            return None
        return "down" if self.certificate_part < self.offered_certificate_part else "up"

    @property
    def message(self) -> str | None:
        """What the parent is told on the offer (and in a refused signing)."""
        if self.changed is None:
            return None
        why = ("остаток сертификата уменьшился (средства зарезервированы по другому договору)"
               if self.changed == "down" else "остаток сертификата увеличился")
        return (f"Расчёт изменился: {why} — сейчас доступно {format_rub(self.available or 0)}. "
                f"Теперь сертификат оплачивает {format_rub(self.certificate_part)} вместо "
                f"{format_rub(self.offered_certificate_part)}, вы оплачиваете {format_rub(self.parent_part)}.")


class SplitChangedError(ledger.InsufficientBalanceError):
    """The parent signs a split that is not the current one: nothing is signed or reserved, and the
    answer carries the current split, which the parent can then sign. A kind of the balance refusal,
    so that whoever handles that one (a retry, a concurrent signing) handles this one too."""

    code = "split_changed"
    status = 409

    def __init__(self, split: OfferSplit):
        told = split.message or (f"Подписываемый расчёт не совпадает с текущим: сертификат оплачивает "
                                 f"{format_rub(split.certificate_part)}, вы — {format_rub(split.parent_part)}.")
        super().__init__(f"{told} Проверьте новый расчёт и подпишите договор ещё раз.",
                         field="expected_certificate_amount")
        self.split = split
        #: added to the API's error body (certapp.errors)
        self.extra = {"split": split_payload(split)}


def split_payload(split: OfferSplit) -> dict:
    """The split for the API (kopecks): what to send back as expected_certificate_amount to sign it."""
    return {"certificate_part": split.certificate_part, "parent_part": split.parent_part, "total": split.total,
            "certificate_part_display": format_rub(split.certificate_part),
            "parent_part_display": format_rub(split.parent_part),
            "offered_certificate_part": split.offered_certificate_part, "available": split.available,
            "changed": split.changed, "message": split.message,
            "expected_certificate_amount": split.certificate_part,
            "months": [{"month": s.month.isoformat(), "price": s.price, "certificate_amount": s.certificate_amount,
                        "parent_amount": s.parent_amount} for s in split.shares]}


def _split_of(contract: Contract, offered: int, available: int) -> OfferSplit:
    prices = [(m.month, m.certificate_amount + m.parent_amount) for m in contract.months]
    if min(sum(p for _, p in prices), max(0, available)) == offered:
        # the balance still pays exactly the offer: it stands as made, month by month
        shares = tuple(MonthShare(m.month, m.certificate_amount + m.parent_amount, m.certificate_amount)
                       for m in contract.months)
    else:
        shares = split_schedule(prices, available)
    return OfferSplit(shares, offered, available)


def _available(certificate_id: int, fresh: bool = False) -> int:
    """The certificate's available balance (0 for an accounting certificate, which has no money)."""
    balance = db.session.get(CertificateBalance, certificate_id, populate_existing=fresh)
    return balance.available if balance else 0


def current_split(contract: Contract, fresh: bool = False) -> OfferSplit:
    """The contract's split as the parent signs it now: an offer re-split from the certificate's
    available balance when that no longer pays (or pays more of) the offer; a signed contract's as
    signed. `fresh`: the balance read again from the database."""
    if contract.status != "offered":
        return OfferSplit(tuple(MonthShare(m.month, m.certificate_amount + m.parent_amount, m.certificate_amount)
                                for m in contract.months), contract.certificate_part)
    return _split_of(contract, contract.certificate_part, _available(contract.certificate_id, fresh))


def _apply_split(contract: Contract, split: OfferSplit, actor: User) -> None:
    """Write the re-split the parent accepted into the contract and its months, before it is signed."""
    amounts = {s.month: s for s in split.shares}
    for row in contract.months:
        row.certificate_amount, row.parent_amount = amounts[row.month].certificate_amount, amounts[row.month].parent_amount
    contract.certificate_part, contract.parent_part = split.certificate_part, split.parent_part
    record_event("contract.resplit", contract, to_state=format_rub(split.certificate_part), actor=actor,
                 details={"offered_certificate_part": split.offered_certificate_part,
                          "certificate_part": split.certificate_part, "parent_part": split.parent_part,
                          "available": split.available})


def sign_contract(contract_id: int, parent: User, ip: str | None, expected_certificate_amount: int | None = None
                  ) -> Contract:
    """The parent accepts the offer: signing time and address recorded, the system signs the content,
    and the certificate's part is reserved. A repeated request reserves nothing twice.

    `expected_certificate_amount` (kopecks): the certificate's part the parent saw; None — the offer
    as made. The split signed is the current one (current_split): when the certificate's balance no
    longer pays the offer, the certificate pays what it can and the parent the rest, but only once
    the parent has seen that split. Raises SplitChangedError (with the current split) when what the
    parent saw is not the current split, also when another signing took the money meanwhile."""
    require_role(parent, "parent")
    contract = get_contract(contract_id, parent, for_update=True, load=DOCUMENT_LOAD)
    if contract.status == "active":
        return contract  # a retried or double-clicked signing: already done
    if contract.certificate.status != "active":
        raise EnrollmentError(f"Сертификат не действует: {contract.certificate.status_name.lower()}.")
    offered = contract.certificate_part
    split = current_split(contract, fresh=True)
    seen = offered if expected_certificate_amount is None else expected_certificate_amount
    if split.certificate_part != seen:
        raise SplitChangedError(split)
    if split.changed:
        _apply_split(contract, split, parent)
    # the signing time, the address and the signature over them are written with the status, in one
    # UPDATE (should the reservation be refused, the transaction rolls them back)
    contract.signed_at, contract.signed_ip = utcnow(), ip
    contract.signature = sign_document(contract_content(contract))
    _transition(contract, "active", parent)
    if contract.certificate_part:
        try:
            ledger.reserve(contract.certificate_id, contract.certificate_part, key=f"contract:{contract.id}:reserve",
                           contract_id=contract.id, actor=parent)
        except ledger.InsufficientBalanceError:
            # another contract of the certificate was signed between our reading and the reservation:
            # nothing is signed (the caller rolls back); the parent is shown the split as it is now
            raise SplitChangedError(_split_of(contract, offered, _available(contract.certificate_id, fresh=True)))
    return contract


def reject_offer(contract_id: int, parent: User) -> Contract:
    require_role(parent, "parent")
    contract = get_contract(contract_id, parent, for_update=True)
    _transition(contract, "rejected", parent)
    return contract


def _month_of(contract: Contract, month: date) -> ContractMonth:
    row = next((m for m in contract.months if m.month == month), None)
    if row is None:
        raise ValidationError("Этого месяца нет в договоре.", field="month")
    return row


def _lessons(delivered: bool | None, planned, held) -> tuple[bool, int | None, int | None]:
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


def month_is_over(month: date, today: date) -> bool:
    """A month is reported once it is over: from the 1st of the next month (by the order's practice by
    the 5th, deadlines «report»; a late report is still accepted, one before the month's end never)."""
    return add_months(first_of_month(month), 1) <= today


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


def month_key(contract_id: int, month: date) -> str:
    """The idempotency key of a contract month's movements (the advance, the report's) in the ledger."""
    return f"contract:{contract_id}:month:{month:%Y-%m}"


def paid_advance(contract: Contract, month: date) -> int:
    entry = db.session.execute(select(LedgerEntry).where(
        LedgerEntry.certificate_id == contract.certificate_id,
        LedgerEntry.idempotency_key == month_key(contract.id, month) + ":advance")).scalar_one_or_none()
    return entry.amount if entry else 0


def report_month(contract_id: int, provider_user: User, month, delivered: bool | None = None,
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
    if scheduled is not None and planned > scheduled:
        raise ValidationError(f"По расписанию группы («{contract.group.schedule}») за {month_label(month)} — "
                              f"{scheduled} {plural(scheduled, 'занятие', 'занятия', 'занятий')}: больше занятий "
                              "по расписанию указать нельзя.", field="lessons_planned", code="more_than_scheduled")
    reason = " ".join((reason or "").split()) or None
    if not delivered and not reason:
        raise ValidationError("Укажите, почему услуга не оказана.", field="reason")
    if attendance is not None and not 0 <= attendance <= MAX_ATTENDANCE_PER_MONTH:
        raise ValidationError("Посещаемость указана неверно.", field="attendance")
    due = row.certificate_amount if delivered else 0
    if planned is not None:
        due = share(row.certificate_amount, held, planned)
    advance = paid_advance(contract, month)
    # the money first (idempotent by its keys), then the report that names its entry: should the report
    # be a duplicate after all, the caller's transaction (or savepoint) takes the moves back with it
    key, moves = month_key(contract.id, month), dict(contract_id=contract.id, actor=provider_user)
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
    report = ServiceReport(contract_id=contract.id, month=month, delivered=delivered, reason=reason,
                           attendance=attendance, lessons_planned=planned, lessons_held=held, amount=due,
                           advance=advance, reported_by_id=provider_user.id, municipality_id=contract.municipality_id,
                           ledger_entry_id=entries[0].id if entries else None)
    try:
        with db.session.begin_nested():
            db.session.add(report)
            db.session.flush()
    except IntegrityError:
        raise ConflictError(f"За {month_label(month)} отчёт уже подан.", field="month", code="already_reported")
    row.status = "delivered" if delivered else "not_delivered"
    record_event("service_report.create", report, to_state=row.status, actor=provider_user,
                 details={"contract": contract.number, "month": month, "amount": due, "advance": advance,
                          "lessons": [planned, held]})
    announce("contract.month_reported", report, actor=provider_user)
    if contract.status == "active" and all(m.status != "planned" for m in contract.months):
        _transition(contract, "completed", provider_user)
    return report


def report_group(provider_user: User, group_id: int, month, rows: list[dict], today: date | None = None
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

    def one(contract_id: int):
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
    return GroupMonth(group, months, month, by_month.get(month, []),
                      scheduled_lessons(group, month) if month else None, not month or month_is_over(month, today))


def terminate(contract_id: int, actor: User, reason: str, grounds: str | None = None, today: date | None = None
              ) -> Contract:
    """Notice of termination (by the parent, the provider or the department, on grounds open to its
    role): the contract ends on the last day of the month in which the notice is given — that month,
    in force on its 1st, is still paid — and the months after are cancelled, their reserve released,
    when it ends (end_noticed, every night)."""
    require_role(actor, "parent", "provider", "department")
    today = today or clock.today()
    allowed = GROUNDS_BY_ROLE[actor.role]
    grounds = grounds or allowed[0]
    if grounds not in allowed:
        raise ValidationError("Выберите основание расторжения: " + "; ".join(TERMINATION_GROUNDS[g] for g in allowed)
                              + ".", field="grounds")
    reason = " ".join((reason or "").split())
    if not reason:
        raise ValidationError("Укажите причину расторжения.", field="reason")
    contract = get_contract(contract_id, actor, for_update=True)
    if contract.status != "active":
        raise TransitionError(f"Договор в состоянии «{contract.status_name}»: расторгнуть его нельзя.")
    if contract.terminated_from:
        raise ConflictError(f"Уведомление о расторжении уже подано {contract.notice_given_on:%d.%m.%Y}: договор "
                            f"действует до {contract.ends_on:%d.%m.%Y}.", code="notice_given")
    from_month = add_months(first_of_month(today), 1)
    if contract.end_month < from_month:
        raise ValidationError("Договор и так заканчивается в этом месяце: расторгать нечего.", field="reason")
    contract.notice_given_on, contract.terminated_from = today, from_month
    contract.termination_grounds, contract.termination_reason, contract.terminated_by_id = grounds, reason, actor.id
    record_event("contract.notice", contract, to_state=f"до {contract.ends_on:%d.%m.%Y}", actor=actor,
                 details={"grounds": grounds, "reason": reason, "from_month": from_month, "by_role": actor.role})
    announce("contract.notice_given", contract, actor=actor)
    return contract


def _end_on_notice(contract: Contract) -> None:
    """The noticed contract's last day has passed: it is terminated, the months from `terminated_from`
    are cancelled and their reserve returns to the certificate."""
    cancelled = [m for m in contract.months if m.month >= contract.terminated_from and m.status == "planned"]
    transition(contract, "terminated", CONTRACT_TRANSITIONS, None, event="contract",
               refusal="Договор в состоянии «{status}».",
               details={"from_month": contract.terminated_from, "grounds": contract.termination_grounds})
    for month in cancelled:
        month.status = "cancelled"
    amount = sum(m.certificate_amount for m in cancelled)
    if amount:
        ledger.release(contract.certificate_id, amount, f"contract:{contract.id}:terminate", contract_id=contract.id,
                       reason=f"Расторжение с {contract.terminated_from:%m.%Y}: {contract.termination_reason}")


def end_noticed(today: date | None = None, batch: int = 500) -> int:
    """Contracts whose notice month is over end (one batch; the job calls again while there are more)."""
    stmt = (select(Contract).where(Contract.status == "active", Contract.terminated_from <= (today or clock.today()))
            .order_by(Contract.id).limit(batch).with_for_update(skip_locked=True))
    ended = 0
    for contract in db.session.execute(stmt).scalars():
        _end_on_notice(contract)
        ended += 1
    return ended


def correct_month(contract_id: int, actor: User, month, amount: int, direction: str, reason: str):
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


# --- the certificate document's parts 2 and 3 --------------------------------------------------------

#: contracts that were concluded (signed), whatever became of them since
CONCLUDED_STATUSES = ("active", "terminated", "completed")


@dataclass
class MonthResult:
    month: date
    status: str
    status_name: str
    #: what the certificate pays for the month by the contract, and what it cost once reported
    planned: int
    spent: int | None
    lessons_planned: int | None = None
    lessons_held: int | None = None


@dataclass
class ContractPart:
    contract: Contract
    months: list[MonthResult]

    @property
    def delivered(self) -> int:
        return sum(1 for m in self.months if m.status == "delivered")

    @property
    def spent(self) -> int:
        return sum(m.spent or 0 for m in self.months)


def certificate_parts(certificate_id: int) -> list[ContractPart]:
    """Parts 2 and 3 of the social certificate (189-ФЗ): the services and executors chosen — the
    contracts concluded with it — and each contract's results month by month, in two queries."""
    contracts = db.session.execute(select(Contract).where(
        Contract.certificate_id == certificate_id, Contract.status.in_(CONCLUDED_STATUSES))
        .options(selectinload(Contract.months)).order_by(Contract.signed_at, Contract.id)).scalars().all()
    reports = {(r.contract_id, r.month): r for r in db.session.execute(select(ServiceReport).where(
        ServiceReport.contract_id.in_([c.id for c in contracts]))).scalars()} if contracts else {}
    parts = []
    for contract in contracts:
        months = []
        for row in contract.months:
            report = reports.get((contract.id, row.month))
            months.append(MonthResult(row.month, row.status, row.status_name, row.certificate_amount,
                                      report.amount if report else None,
                                      report.lessons_planned if report else None,
                                      report.lessons_held if report else None))
        parts.append(ContractPart(contract, months))
    return parts


# --- lists ------------------------------------------------------------------------------------------

#: what the lists of requests and contracts show (pages and API), loaded a page at a time (an IN query per
#: relation: also fine inside the counts' subqueries), not once per row
ENROLLMENT_LIST_LOAD = (selectinload(Enrollment.municipality), selectinload(Enrollment.certificate),
                        selectinload(Enrollment.child), selectinload(Enrollment.provider),
                        selectinload(Enrollment.group).selectinload(StudyGroup.program), selectinload(Enrollment.contract))
CONTRACT_LIST_LOAD = (selectinload(Contract.municipality),
                      # the balance: an offer's current split is read from it (current_split)
                      selectinload(Contract.certificate).selectinload(Certificate.balance),
                      selectinload(Contract.child), selectinload(Contract.provider), selectinload(Contract.program),
                      selectinload(Contract.months))


def enrollments_for(user: User, status: str | None = None):
    stmt = select(Enrollment).options(*ENROLLMENT_LIST_LOAD).order_by(Enrollment.id.desc())
    if user.role == "parent":
        stmt = stmt.where(Enrollment.parent_id == user.id)
    elif user.role == "provider":
        stmt = stmt.where(Enrollment.provider_id == (user.provider_id or -1))
    if status:
        stmt = stmt.where(Enrollment.status == status)
    return stmt


def contracts_for(user: User, status: str | None = None, certificate_id: int | None = None):
    stmt = select(Contract).options(*CONTRACT_LIST_LOAD).order_by(Contract.id.desc())
    if user.role == "parent":
        stmt = stmt.where(Contract.parent_id == user.id)
    elif user.role == "provider":
        stmt = stmt.where(Contract.provider_id == (user.provider_id or -1))
    if status:
        stmt = stmt.where(Contract.status == status)
    if certificate_id:
        stmt = stmt.where(Contract.certificate_id == certificate_id)
    return stmt


def expire_period(period_id: int, actor: User | None, today: date | None = None, batch: int | None = None) -> dict:
    """At the period's end what is still available on its certificates expires; nothing carries over.
    `batch`: at most that many certificates (those done are expired, so the next call goes on); the
    callers loop, a transaction per batch, so that a region's period never sits in one transaction."""
    from certapp.reference.services import get_period
    period = get_period(period_id)
    today = today or clock.today()
    if today <= period.ends_on:
        raise ValidationError(f"Период {period.name} ещё не закончился ({period.ends_on:%d.%m.%Y}).", field="period")
    counts = {"certificates": 0, "amount": 0}
    pending = (select(Certificate).where(Certificate.period_id == period.id,
                                         or_(Certificate.status == "active", Certificate.status == "suspended"))
               .order_by(Certificate.id))
    certificates = db.session.execute(pending.limit(batch) if batch else pending).scalars().all()
    for certificate in certificates:
        entry = ledger.expire(certificate.id, key=f"expire:{period.code}", actor=actor)
        transition(certificate, "expired", CERTIFICATE_TRANSITIONS, actor, event="certificate",
                   refusal="Сертификат в состоянии «{status}».", details={"expired": entry.amount if entry else 0})
        counts["certificates"] += 1
        counts["amount"] += entry.amount if entry else 0
    return counts


def expire_period_in_batches(period_id: int, actor: User | None, batch: int = 1000, today: date | None = None) -> dict:
    """expire_period a batch per transaction until none is left; the totals."""
    totals = {"certificates": 0, "amount": 0}
    while True:
        with transaction():
            counts = expire_period(period_id, actor, today, batch=batch)
        totals = {key: totals[key] + counts[key] for key in totals}
        if counts["certificates"] < batch:
            return totals


def lapse_offers(today: date | None = None, batch: int = 500) -> int:
    """Offers not signed by their day lapse: the seat is freed; nothing was reserved, so nothing is
    released. Returns how many lapsed (one batch; the job calls again while there are more)."""
    today = today or clock.today()
    stmt = (select(Contract).where(Contract.status == "offered", Contract.offer_expires_on < today)
            .order_by(Contract.id).limit(batch).with_for_update(skip_locked=True))
    lapsed = 0
    for contract in db.session.execute(stmt).scalars():
        transition(contract, "lapsed", CONTRACT_TRANSITIONS, None, event="contract",
                   refusal="Договор в состоянии «{status}».",
                   details={"reason": f"не подписан до {contract.offer_expires_on:%d.%m.%Y} включительно"})
        lapsed += 1
    return lapsed
