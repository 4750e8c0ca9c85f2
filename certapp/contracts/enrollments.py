"""Enrollment requests: a parent asks for a seat in a group, the provider accepts (the contract is offered)
or declines. Money moves only through ledger.services."""
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date

from sqlalchemy import Select, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import selectinload

from certapp.accounts.models import User
from certapp.audit.services import record_event
from certapp.certificates.health import check_program_scope, statuses_of
from certapp.certificates.models import Certificate, Child
from certapp.common import clock, events
from certapp.common.bulk import BulkResult, for_each
from certapp.common.errors import ConflictError, DomainError, NotFoundError, ValidationError
from certapp.common.months import first_of_month, months_between, parse_month
from certapp.common.roles import require_role
from certapp.common.rows import get_existing
from certapp.common.states import transition
from certapp.common.templating import format_date, plural
from certapp.common.validators import free_text
from certapp.common.web import path_for
from certapp.contracts.models import ENROLLMENT_TRANSITIONS, SEAT_HOLDING_STATUSES, Contract, ContractMonth, Enrollment
from certapp.contracts.months import PriceSplit, price_split
from certapp.contracts.seats import seats_left
from certapp.db import db, utcnow
from certapp.deadlines.services import due_date
from certapp.documents.services import next_number
from certapp.jobs.bulk import register_bulk, start_bulk
from certapp.jobs.models import Job
from certapp.ledger import services as ledger
from certapp.programs.models import Program, StudyGroup
from certapp.reference.models import Municipality, Period
from certapp.reference.service_scope import financed_codes, list_service_codes
from certapp.registry.services import admitted_in, require_registry_provider


class EnrollmentError(DomainError):
    code = "enrollment_refused"
    status = 422


def check_offered_in(program: Program, municipality_id: int) -> None:
    """A certificate pays only for a program offered in its own municipality by a provider admitted
    there: the contract is paid by that municipality under its agreement with the provider."""
    if municipality_id not in {m.id for m in program.municipalities} \
            or not admitted_in(program.provider_id, municipality_id):
        name = get_existing(Municipality, municipality_id).name
        raise EnrollmentError(f"Программа не предлагается в муниципальном образовании сертификата ({name}): "
                              "сертификат оплачивает обучение у исполнителей, допущенных в этом муниципалитете.",
                              field="group_id", code="not_offered_in_municipality")


def catalog_offers(parent: User, programs: list[Program], today: date | None = None
                   ) -> dict[int, list[tuple[Certificate, PriceSplit]]]:
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
    in_scope = _service_scope(certificates)
    offers = {}
    for program in programs:
        groups = [g for g in program.groups if g.ends_on >= today]
        if not groups:
            continue
        group = min(groups, key=lambda g: g.starts_on)
        start = max(first_of_month(today), first_of_month(group.starts_on))
        offered_in = {m.id for m in program.municipalities}
        payable = [(c, price_split(program.price_per_month, start, group.ends_on, available[c.id]))
                   for c in certificates if c.municipality_id in offered_in and in_scope(c, program)]
        if payable:
            offers[program.id] = payable
    return offers


def _service_scope(certificates: list[Certificate]) -> Callable[[Certificate, Program], bool]:
    """Whether a certificate can pay for a program under the service's scope, as check_program_scope decides
    at enrollment (the program's registry number financed; a child with ОВЗ or a disability only in an
    adapted program), read once for the catalog's page rather than per card."""
    codes = {(code.direction_id, code.adapted): code.id for code in list_service_codes()}
    financed = {m: {code.id for code in financed_codes(m)} for m in {c.municipality_id for c in certificates}}
    health = {c.id: bool(statuses_of(c.child)) for c in certificates}

    def in_scope(certificate: Certificate, program: Program) -> bool:
        code = codes.get((program.direction_id, program.adapted))
        if code is None:
            return True  # no registry number for the direction: check_program_scope does not refuse either
        return code in financed[certificate.municipality_id] and (program.adapted or not health[certificate.id])
    return in_scope


def _seats_left(group: StudyGroup) -> int:
    return seats_left([group])[group.id]


def request_enrollment(parent: User, certificate_id: int, group_id: int, start_month: object, today: date | None = None
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
        with db.session.begin_nested():  # the unique index decides a race or a repeat; the savepoint keeps the unit to refuse by name
            db.session.add(enrollment)
            db.session.flush()
    except IntegrityError:
        raise ConflictError("Ребёнок уже записан в эту группу.", field="group_id", code="already_enrolled")
    record_event("enrollment.requested", enrollment, to_state="requested", actor=parent,
                 details={"group_id": group.id, "certificate_id": certificate.id, "start_month": start})
    events.enrollment_requested.send(enrollment, actor=parent)
    return enrollment


def catalog_group(group_id: int) -> StudyGroup:
    """A group of a published program of a provider in the registry: one a parent can ask to join."""
    group = db.session.get(StudyGroup, group_id)
    if group is None or group.program.status != "published" or not group.program.provider.in_registry:
        raise NotFoundError("Группа не найдена в каталоге.")
    return group


def group_enrollment_options(parent: User, group_id: int, start_month: object = None, today: date | None = None
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
    check_program_scope(child, program, certificate.municipality_id)  # Приложение 1 к 458-п
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
    if enrollment is None or not (
            (user.role == "parent" and enrollment.parent_id == user.id)
            or (user.role == "provider" and enrollment.provider_id == user.provider_id)
            or user.reads_as("department")):
        raise NotFoundError("Заявка на обучение не найдена.")
    return enrollment


def _transition_enrollment(enrollment: Enrollment, to_status: str, actor: User | None, reason: str | None = None) -> None:
    transition(enrollment, to_status, ENROLLMENT_TRANSITIONS, actor, event="enrollment",
               refusal="Заявка на обучение уже в состоянии «{status}».", details={"reason": reason} if reason else None)
    enrollment.decided_at = utcnow()


def decline_enrollment(enrollment_id: int, actor: User, reason: str | None) -> Enrollment:
    require_registry_provider(actor)
    enrollment = _own_enrollment(enrollment_id, actor)
    reason = free_text(reason, "Укажите причину отказа.")
    enrollment.decline_reason = reason
    _transition_enrollment(enrollment, "declined", actor, reason)
    return enrollment


def cancel_enrollment(enrollment_id: int, actor: User) -> Enrollment:
    require_role(actor, "parent")
    enrollment = _own_enrollment(enrollment_id, actor)
    _transition_enrollment(enrollment, "cancelled", actor)
    return enrollment


def decide_enrollment(enrollment_id: int, action: str, actor: User, reason: str | None = None
                      ) -> Enrollment | Contract:
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
    free_text(reason, "Укажите причину отказа: она будет одной для всех отмеченных заявок."
              if action == "decline" else None)


def decide_enrollments(enrollment_ids: Iterable[int], action: str, actor: User, reason: str | None = None) -> BulkResult:
    """Accept or decline many requests at once (one reason for all); each row stands alone."""
    _check_bulk_action(actor, action, reason)
    return for_each(enrollment_ids, lambda enrollment_id: decide_enrollment(enrollment_id, action, actor, reason))


def start_deciding_enrollments(enrollment_ids: Iterable[int], action: str, actor: User, reason: str | None = None
                               ) -> Job:
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
    events.contract_offered.send(contract, actor=actor)
    return contract


#: what the lists of requests and contracts show (pages and API), loaded a page at a time (an IN query per
#: relation: also fine inside the counts' subqueries), not once per row
ENROLLMENT_LIST_LOAD = (selectinload(Enrollment.municipality), selectinload(Enrollment.certificate),
                        selectinload(Enrollment.child), selectinload(Enrollment.provider),
                        selectinload(Enrollment.group).selectinload(StudyGroup.program), selectinload(Enrollment.contract))


def enrollments_for(user: User, status: str | None = None) -> Select[Enrollment]:
    stmt = select(Enrollment).options(*ENROLLMENT_LIST_LOAD).order_by(Enrollment.id.desc())
    if user.role == "parent":
        stmt = stmt.where(Enrollment.parent_id == user.id)
    elif user.role == "provider":
        stmt = stmt.where(Enrollment.provider_id == (user.provider_id or -1))
    if status:
        stmt = stmt.where(Enrollment.status == status)
    return stmt
