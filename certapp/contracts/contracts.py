"""The contract: its document, the offer's split as it stands now, signing, termination and the certificate
document's parts 2 and 3. Money moves only through ledger.services."""
from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from typing import Any

from sqlalchemy import Select, func, or_, select
from sqlalchemy.orm import joinedload, selectinload
from sqlalchemy.sql.base import ExecutableOption

from certapp.accounts.models import User
from certapp.audit.services import record_event
from certapp.certificates.models import Certificate, Child
from certapp.common import clock, events
from certapp.common.errors import ConflictError, NotFoundError, TransitionError, ValidationError
from certapp.common.money import format_rub
from certapp.common.months import add_months, first_of_month
from certapp.common.roles import require_role
from certapp.common.states import transition
from certapp.common.validators import free_text
from certapp.contracts.enrollments import EnrollmentError
from certapp.contracts.models import (
    CONTRACT_TRANSITIONS,
    GROUNDS_BY_ROLE,
    TERMINATION_GROUNDS,
    Contract,
    ContractMonth,
    Enrollment,
    ServiceReport,
)
from certapp.contracts.months import MonthShare, price_split, split_schedule
from certapp.db import db, utcnow
from certapp.documents.services import SignedDocument, next_number, sign_document, signed_document_finder
from certapp.ledger import services as ledger
from certapp.ledger.models import CertificateBalance
from certapp.programs.models import Program
from certapp.registry.models import Provider


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


#: what the contract document (and the API's answer: the municipality) reads, loaded with the contract in
#: one query (and its months in a second)
DOCUMENT_LOAD = (joinedload(Contract.municipality, innerjoin=True),
                 joinedload(Contract.certificate, innerjoin=True), joinedload(Contract.provider, innerjoin=True),
                 joinedload(Contract.child, innerjoin=True), joinedload(Contract.group, innerjoin=True),
                 joinedload(Contract.program, innerjoin=True).joinedload(Program.direction, innerjoin=True),
                 selectinload(Contract.months))


#: what signing reads: the document, and the certificate's balance the split is computed from (read with
#: the contract under its lock, in the same statement, instead of once more)
SIGN_LOAD = (*DOCUMENT_LOAD, joinedload(Contract.certificate, innerjoin=True).joinedload(Certificate.balance))


#: what a month's report reads besides the contract: its months, and the program and parent its notice names
REPORT_LOAD = (joinedload(Contract.program, innerjoin=True), joinedload(Contract.parent, innerjoin=True),
               selectinload(Contract.months))


def get_contract(contract_id: int, user: User, *, for_update: bool = False, load: tuple[ExecutableOption, ...] = ()) -> Contract:
    """The contract the user may see. `for_update`: locked (only its own row) and reloaded; `load`:
    loader options for what the caller reads (DOCUMENT_LOAD, REPORT_LOAD), in one or two queries
    instead of a load per relation."""
    stmt = select(Contract).where(Contract.id == contract_id).options(*load)
    if for_update:
        # serialises signing, reports and termination of one contract on PostgreSQL, and reloads it
        stmt = stmt.with_for_update(of=Contract).execution_options(populate_existing=True)
    contract = db.session.execute(stmt).scalar_one_or_none()
    if contract is None or not (
            (user.role == "parent" and contract.parent_id == user.id)
            or (user.role == "provider" and contract.provider_id == user.provider_id)
            or user.reads_as("department", "bookkeeping")):
        raise NotFoundError("Договор не найден.")
    return contract


def contract_content(contract: Contract) -> dict[str, Any]:
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


def _transition(contract: Contract, to_status: str, actor: User, details: dict[str, Any] | None = None) -> None:
    transition(contract, to_status, CONTRACT_TRANSITIONS, actor, event="contract",
               refusal="Договор в состоянии «{status}».", details=details)


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


def split_payload(split: OfferSplit) -> dict[str, Any]:
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
    contract = get_contract(contract_id, parent, for_update=True, load=SIGN_LOAD)
    if contract.status == "active":
        return contract  # a retried or double-clicked signing: already done
    if contract.certificate.status != "active":
        raise EnrollmentError(f"Сертификат не действует: {contract.certificate.status_name.lower()}.")
    offered = contract.certificate_part
    split = current_split(contract)  # the balance was read afresh with the locked contract (SIGN_LOAD)
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
    reason = free_text(reason, "Укажите причину расторжения.")
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
    events.contract_notice_given.send(contract, actor=actor)
    return contract


def _end_on_notice(contract: Contract) -> None:
    """The noticed contract's last day has passed: it is terminated, the months from `terminated_from`
    are cancelled and their reserve returns to the certificate."""
    from_month = contract.terminated_from
    if from_month is None:
        raise TransitionError("Договор не расторгается: уведомление о расторжении не направлено.")
    cancelled = [m for m in contract.months if m.month >= from_month and m.status == "planned"]
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
CONTRACT_LIST_LOAD = (selectinload(Contract.municipality),
                      # the balance: an offer's current split is read from it (current_split)
                      selectinload(Contract.certificate).selectinload(Certificate.balance),
                      selectinload(Contract.child), selectinload(Contract.provider), selectinload(Contract.program),
                      selectinload(Contract.months))


def contracts_for(user: User, status: str | None = None, certificate_id: int | None = None,
                  provider_id: int | None = None, text: str | None = None, month: date | None = None
                  ) -> Select[Contract]:
    """The contracts a user sees, newest first, filtered: `text` — every word in the child's name, the
    contract's or the certificate's number; `month` — in force (by its months) in that month."""
    stmt = select(Contract).options(*CONTRACT_LIST_LOAD).order_by(Contract.id.desc())
    if user.role == "parent":
        stmt = stmt.where(Contract.parent_id == user.id)
    elif user.role == "provider":
        stmt = stmt.where(Contract.provider_id == (user.provider_id or -1))
    if status:
        stmt = stmt.where(Contract.status == status)
    if certificate_id:
        stmt = stmt.where(Contract.certificate_id == certificate_id)
    if provider_id:
        stmt = stmt.where(Contract.provider_id == provider_id)
    if month:
        stmt = stmt.where(Contract.start_month <= month, Contract.end_month >= month)
    words = (text or "").lower().replace("ё", "е").split()
    if words:
        stmt = stmt.join(Child, Child.id == Contract.child_id).join(Certificate, Certificate.id == Contract.certificate_id)
        for word in words[:5]:
            stmt = stmt.where(or_(*(func.replace(func.lower(column), "ё", "е").contains(word, autoescape=True)
                                    for column in (Child.last_name, Child.first_name, Child.patronymic,
                                                   Contract.number, Certificate.number))))
    return stmt


def contract_providers(user: User) -> list[Provider]:
    """The providers of the contracts an official sees: the choices of the contracts' provider filter."""
    if user.role in ("parent", "provider"):
        return []
    return list(db.session.execute(select(Provider).where(Provider.id.in_(select(Contract.provider_id).distinct()))
                                   .order_by(Provider.short_name)).scalars())



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


# --- a district's contracts in force arriving from another system (certapp.imports) -----------------

def enter_imported(certificate: Certificate, group: Any, start_month: date, price_per_month: int,
                   signed_on: date, actor: User | None) -> Contract:
    """A contract in force in the system a district leaves, carried over from `start_month` (the first
    month this system pays) to the group's end at `price_per_month`: its accepted enrollment, the contract
    signed (on `signed_on`, by the system's signature) and active, its months split by the certificate's
    available balance now (split_schedule: the parent pays the rest), and the certificate's part reserved
    in the ledger. The caller checked the certificate, the group (enrollments.check_enrollment) and the
    seats."""
    split = price_split(price_per_month, start_month, group.ends_on, _available(certificate.id, fresh=True))
    child = certificate.child
    enrollment = Enrollment(parent_id=child.parent_id, child_id=child.id, certificate_id=certificate.id,
                            group_id=group.id, provider_id=group.program.provider_id, start_month=start_month,
                            status="accepted", decided_at=utcnow(), municipality_id=certificate.municipality_id)
    db.session.add(enrollment)
    db.session.flush()
    contract = Contract(
        number=next_number("contract"), enrollment_id=enrollment.id, certificate_id=certificate.id,
        child_id=child.id, parent_id=child.parent_id, provider_id=group.program.provider_id,
        program_id=group.program_id, group_id=group.id, start_month=split.months[0], end_month=split.months[-1],
        price_per_month=price_per_month, total=split.total, certificate_part=split.certificate_part,
        parent_part=split.parent_part, status="active", offered_at=utcnow(),
        signed_at=datetime.combine(signed_on, time(12), tzinfo=UTC), municipality_id=certificate.municipality_id)
    for share in split.shares:
        contract.months.append(ContractMonth(month=share.month, certificate_amount=share.certificate_amount,
                                             parent_amount=share.parent_amount,
                                             municipality_id=contract.municipality_id))
    db.session.add(contract)
    db.session.flush()
    contract.signature = sign_document(contract_content(contract))
    if contract.certificate_part:
        ledger.reserve(certificate.id, contract.certificate_part, key=f"contract:{contract.id}:reserve",
                       contract_id=contract.id, actor=actor)
    record_event("contract.imported", contract, to_state="active", actor=actor,
                 details={"number": contract.number, "certificate_part": contract.certificate_part,
                          "parent_part": contract.parent_part})
    return contract
