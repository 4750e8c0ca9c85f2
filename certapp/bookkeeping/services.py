"""Agreements, monthly payment registers and reconciliation. Reads the ledger; never moves money in it."""
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, timedelta

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from certapp.accounts.models import User
from certapp.accounts.services import require_role
from certapp.audit.services import record_event
from certapp.bookkeeping.models import (
    AGREEMENT_TRANSITIONS,
    REGISTER_TRANSITIONS,
    Agreement,
    PaymentRegister,
    PaymentRegisterLine,
)
from certapp.certificates.models import Certificate
from certapp.common.errors import ConflictError, DomainError, NotFoundError, TransitionError, ValidationError
from certapp.common.months import add_months
from certapp.common.states import transition
from certapp.contracts.models import Contract
from certapp.db import db, utcnow
from certapp.documents.services import next_number, sign_document
from certapp.ledger.models import CertificateBalance, LedgerEntry
from certapp.reference.services import own_municipality_id
from certapp.registry.models import Provider


class AgreementRequiredError(DomainError):
    code = "agreement_required"
    status = 409


# --- agreements ----------------------------------------------------------------------------------

def prepare_agreement(provider_id: int, municipality_id: int, actor=None) -> Agreement:
    """A draft agreement of a municipality with a provider it has just admitted (called on the
    admission): each municipality pays a provider under its own agreement."""
    agreement = Agreement(provider_id=provider_id, municipality_id=municipality_id, status="draft")
    db.session.add(agreement)
    record_event("agreement.draft", agreement, to_state="draft", actor=actor,
                 details={"provider_id": provider_id, "municipality_id": municipality_id})
    return agreement


def get_agreement(agreement_id: int) -> Agreement:
    agreement = db.session.get(Agreement, agreement_id)
    if agreement is None:
        raise NotFoundError("Соглашение не найдено.")
    return agreement


def agreements_query(status: str | None = None):
    stmt = select(Agreement).join(Provider).order_by(Agreement.status, Provider.short_name)
    return stmt.where(Agreement.status == status) if status else stmt


def _term(valid_from: date | None, valid_to: date | None) -> None:
    if not isinstance(valid_from, date):
        raise ValidationError("Укажите дату начала действия соглашения.", field="valid_from")
    if valid_to is not None and valid_to < valid_from:
        raise ValidationError("Окончание действия раньше начала.", field="valid_to")


def agreement_content(agreement: Agreement) -> dict:
    p = agreement.provider
    return {"number": agreement.number, "version": agreement.version, "provider": {"inn": p.inn, "name": p.full_name},
            "concluded_on": agreement.concluded_on, "valid_from": agreement.valid_from,
            "valid_to": agreement.valid_to, "bik": agreement.bik, "settlement_account": agreement.settlement_account}


def conclude_agreement(agreement_id: int, actor: User, valid_from: date, valid_to: date | None,
                       concluded_on: date | None = None) -> Agreement:
    """Bookkeeping concludes a draft: number, date, term, and the bank details copied from the registry."""
    require_role(actor, "bookkeeping")
    agreement = get_agreement(agreement_id)
    _term(valid_from, valid_to)
    if not agreement.provider.in_registry:
        raise TransitionError("Исполнитель не состоит в реестре: соглашение заключить нельзя.")
    _transition(agreement, "concluded", actor)
    agreement.number = next_number("agreement")
    agreement.concluded_on = concluded_on or date.today()
    agreement.valid_from, agreement.valid_to = valid_from, valid_to
    agreement.bik, agreement.settlement_account = agreement.provider.bik, agreement.provider.settlement_account
    agreement.signature = sign_document(agreement_content(agreement))
    return agreement


def amend_agreement(agreement_id: int, actor: User, valid_from: date, valid_to: date | None) -> Agreement:
    """A supplementary agreement: a new term and the registry's current bank details, as a new version."""
    require_role(actor, "bookkeeping")
    agreement = get_agreement(agreement_id)
    if agreement.status != "concluded":
        raise TransitionError("Изменить можно только заключённое соглашение.")
    _term(valid_from, valid_to)
    before = agreement_content(agreement)
    agreement.valid_from, agreement.valid_to = valid_from, valid_to
    agreement.bik, agreement.settlement_account = agreement.provider.bik, agreement.provider.settlement_account
    agreement.version += 1
    agreement.signature = sign_document(agreement_content(agreement))
    record_event("agreement.amend", agreement, from_state=f"v{agreement.version - 1}",
                 to_state=f"v{agreement.version}", actor=actor, details={"before": before})
    return agreement


def end_agreement(agreement_id: int, actor: User, ended_on: date, reason: str) -> Agreement:
    require_role(actor, "bookkeeping")
    agreement = get_agreement(agreement_id)
    reason = " ".join((reason or "").split())
    if not reason:
        raise ValidationError("Укажите основание прекращения.", field="reason")
    if not isinstance(ended_on, date):
        raise ValidationError("Укажите дату прекращения.", field="ended_on")
    _transition(agreement, "ended", actor, reason)
    agreement.ended_on, agreement.end_reason = ended_on, reason
    agreement.valid_to = min(filter(None, (agreement.valid_to, ended_on)))
    return agreement


def _transition(obj, to_status: str, actor: User, reason: str | None = None) -> None:
    agreement = isinstance(obj, Agreement)
    transition(obj, to_status, AGREEMENT_TRANSITIONS if agreement else REGISTER_TRANSITIONS, actor,
               event="agreement" if agreement else "payment_register", refusal="Нельзя перевести из состояния «{status}».",
               details={"reason": reason} if reason else None)


def agreement_in_force(provider_id: int, municipality_id: int, month: date) -> Agreement | None:
    agreement = db.session.execute(select(Agreement).where(
        Agreement.provider_id == provider_id, Agreement.municipality_id == municipality_id,
        Agreement.status == "concluded")).scalar_one_or_none()
    last = add_months(month, 1) - timedelta(days=1)
    return agreement if agreement is not None and agreement.in_force_during(month, last) else None


# --- payment registers ---------------------------------------------------------------------------

def _unregistered_entries(provider_id: int, municipality_id: int, month: date):
    """Spend entries and their corrections of the provider's contracts paid by the municipality up to
    the month, not yet in a register."""
    taken = select(PaymentRegisterLine.ledger_entry_id).where(PaymentRegisterLine.active)
    return (select(LedgerEntry, Contract).join(Contract, LedgerEntry.contract_id == Contract.id)
            .where(Contract.provider_id == provider_id, Contract.municipality_id == municipality_id,
                   LedgerEntry.d_spent != 0, LedgerEntry.month <= month,
                   LedgerEntry.id.not_in(taken))
            .order_by(LedgerEntry.month, LedgerEntry.id))


def build_register(provider_id: int, month: date, actor: User | None,
                   municipality_id: int | None = None) -> PaymentRegister:
    """The month's register of a provider in a municipality (the official's own; the job names it):
    one line per spend entry (and correction), totalled.

    Raises AgreementRequiredError without a concluded agreement in force, ConflictError when the month's
    register exists, ValidationError when there is nothing to pay. `actor` None: the system's own
    job on the 1st (never a request: every view passes its user)."""
    if actor is not None:
        require_role(actor, "bookkeeping")
        municipality_id = own_municipality_id(actor)
    month = month.replace(day=1)
    provider = db.session.get(Provider, provider_id)
    if provider is None:
        raise NotFoundError("Исполнитель не найден.")
    agreement = agreement_in_force(provider_id, municipality_id, month)
    if agreement is None:
        raise AgreementRequiredError(f"У исполнителя {provider.short_name} нет действующего соглашения на "
                                     f"{month:%m.%Y}: списанные суммы учитываются к оплате, но в реестр не включаются.")
    exists = db.session.execute(select(PaymentRegister.id).where(
        PaymentRegister.provider_id == provider_id, PaymentRegister.municipality_id == municipality_id,
        PaymentRegister.month == month, PaymentRegister.status != "rejected")).first()
    if exists:
        raise _register_exists(provider, month)
    rows = db.session.execute(_unregistered_entries(provider_id, municipality_id, month)).all()
    if not rows:
        raise ValidationError(f"У исполнителя {provider.short_name} нет списаний к оплате за {month:%m.%Y}.",
                              field="month")
    register = PaymentRegister(number=next_number("payment_register"), provider_id=provider_id,
                               agreement_id=agreement.id, month=month, status="draft", municipality_id=municipality_id)
    try:
        with db.session.begin_nested():
            db.session.add(register)
            db.session.flush()
    except IntegrityError:  # built at the same instant by another request
        raise _register_exists(provider, month)
    for entry, contract in rows:
        register.lines.append(PaymentRegisterLine(
            ledger_entry_id=entry.id, contract_id=contract.id, certificate_number=contract.certificate.number,
            child_initials=contract.child.initials, program_title=contract.program.title, month=entry.month,
            amount=entry.d_spent, municipality_id=municipality_id))
    try:
        with db.session.begin_nested():
            db.session.flush()
    except IntegrityError:  # a concurrent build took an entry first
        raise ConflictError("Часть списаний уже включена в другой реестр; повторите.", code="entry_taken")
    register.total = sum(line.amount for line in register.lines)
    record_event("payment_register.draft", register, to_state="draft", actor=actor,
                 details={"month": month, "total": register.total, "lines": len(register.lines)})
    return register


def _register_exists(provider: Provider, month: date) -> ConflictError:
    return ConflictError(f"Реестр {provider.short_name} за {month:%m.%Y} уже сформирован.", field="month",
                         code="register_exists")


@dataclass
class BuildResult:
    built: list = field(default_factory=list)
    skipped: list = field(default_factory=list)  # (provider, reason)


def providers_to_pay(month: date, municipality_id: int | None = None) -> list[tuple[int, int]]:
    """(provider, municipality) pairs with spends up to the month: the registers that may be built,
    one per municipality that pays the provider (all municipalities when none is named)."""
    stmt = (select(Contract.provider_id, Contract.municipality_id).distinct()
            .join(LedgerEntry, LedgerEntry.contract_id == Contract.id)
            .where(LedgerEntry.d_spent != 0, LedgerEntry.month <= month.replace(day=1)))
    if municipality_id is not None:
        stmt = stmt.where(Contract.municipality_id == municipality_id)
    return sorted(tuple(row) for row in db.session.execute(stmt).all())


def build_all_registers(month: date, actor: User | None, step=None) -> BuildResult:
    """Build the month's registers of every provider with something to pay, in one action; a provider
    that cannot be paid is skipped with the reason. Each provider runs inside `step()` — by default a
    savepoint of the caller's transaction; the job passes a transaction of its own per provider that
    also counts progress. `actor` None: the system's job of the 1st."""
    municipality_id = None
    if actor is not None:
        require_role(actor, "bookkeeping")
        municipality_id = own_municipality_id(actor)
    month = month.replace(day=1)
    result = BuildResult()
    for provider_id, paying in providers_to_pay(month, municipality_id):
        try:
            with (step or db.session.begin_nested)():
                result.built.append(build_register(provider_id, month, actor, paying))
        except (AgreementRequiredError, ConflictError, ValidationError) as error:
            result.skipped.append((db.session.get(Provider, provider_id), error.message))
    return result


def start_building(month: date, actor: User):
    """Start building every provider's register for the month as a job (certapp.bookkeeping.jobs)."""
    from certapp.bookkeeping.jobs import build_registers
    from certapp.jobs.services import start

    require_role(actor, "bookkeeping")
    month = month.replace(day=1)
    return start(build_registers, "registers.build", f"Формирование реестров за {month:%m.%Y}", actor,
                 month.isoformat(), actor.id)


def get_register(register_id: int) -> PaymentRegister:
    register = db.session.get(PaymentRegister, register_id)
    if register is None:
        raise NotFoundError("Реестр не найден.")
    return register


def approve_register(register_id: int, actor: User) -> PaymentRegister:
    """Approve: the register is frozen from now on."""
    require_role(actor, "bookkeeping")
    register = get_register(register_id)
    _transition(register, "approved", actor)
    register.approved_at, register.approved_by_id = utcnow(), actor.id
    return register


def reject_register(register_id: int, actor: User, reason: str) -> PaymentRegister:
    """Reject a draft: its entries are free again for a new register."""
    require_role(actor, "bookkeeping")
    reason = " ".join((reason or "").split())
    if not reason:
        raise ValidationError("Укажите причину отклонения.", field="reason")
    register = get_register(register_id)
    _transition(register, "rejected", actor, reason)
    register.rejection_reason = reason
    for line in register.lines:
        line.active = False
    return register


def mark_paid(register_id: int, actor: User, order_number: str, order_date: date) -> PaymentRegister:
    require_role(actor, "bookkeeping")
    order_number = " ".join((order_number or "").split())
    if not order_number or len(order_number) > 32:
        raise ValidationError("Укажите номер платёжного поручения.", field="payment_order_number")
    if not isinstance(order_date, date):
        raise ValidationError("Укажите дату платёжного поручения.", field="payment_order_date")
    register = get_register(register_id)
    if register.status == "approved" and order_date < register.approved_at.date():
        raise ValidationError("Платёжное поручение не может быть раньше утверждения реестра.",
                              field="payment_order_date")
    register.payment_order_number, register.payment_order_date = order_number, order_date
    _transition(register, "paid", actor)
    return register


def refresh_register(register_id: int, actor: User) -> PaymentRegister:
    """Re-collect a draft register's lines (spends reported since it was built). An approved register is frozen."""
    require_role(actor, "bookkeeping")
    register = get_register(register_id)
    if register.status != "draft":
        raise TransitionError(f"Реестр {register.status_name.lower()}: изменять его нельзя.", code="register_frozen")
    existing = {line.ledger_entry_id for line in register.lines}
    for entry, contract in db.session.execute(
            _unregistered_entries(register.provider_id, register.municipality_id, register.month)).all():
        if entry.id not in existing:
            register.lines.append(PaymentRegisterLine(
                ledger_entry_id=entry.id, contract_id=contract.id, certificate_number=contract.certificate.number,
                child_initials=contract.child.initials, program_title=contract.program.title, month=entry.month,
                amount=entry.d_spent, municipality_id=register.municipality_id))
    db.session.flush()
    register.total = sum(line.amount for line in register.lines)
    record_event("payment_register.refresh", register, to_state="draft", actor=actor, details={"total": register.total})
    return register


def registers_query(month: date | None = None, status: str | None = None, provider_id: int | None = None):
    stmt = select(PaymentRegister).order_by(PaymentRegister.month.desc(), PaymentRegister.id)
    if month:
        stmt = stmt.where(PaymentRegister.month == month.replace(day=1))
    if status:
        stmt = stmt.where(PaymentRegister.status == status)
    if provider_id:
        stmt = stmt.where(PaymentRegister.provider_id == provider_id)
    return stmt


# --- reconciliation ------------------------------------------------------------------------------

@dataclass
class ProviderLine:
    provider_id: int
    name: str
    spent: int = 0
    paid: int = 0
    approved: int = 0
    payable: int = 0

    @property
    def mismatch(self) -> int:
        return self.spent - (self.paid + self.approved + self.payable)


@dataclass
class Reconciliation:
    totals: dict
    providers: list
    certificates: list
    mismatches: list

    @property
    def ok(self) -> bool:
        return not self.mismatches


def reconcile() -> Reconciliation:
    """District, provider and certificate figures. Per certificate: nominal = available + reserved + spent
    + expired, each equal to its entries; per provider: spent = paid + approved-unpaid + payable."""
    from certapp.ledger.services import check_invariant

    mismatches = [f"Сертификат {m.certificate_id}: {m.field} = {m.cached}, по проводкам {m.from_entries}"
                  for m in check_invariant()]
    certificates = db.session.execute(
        select(Certificate.number, CertificateBalance.nominal, CertificateBalance.available,
               CertificateBalance.reserved, CertificateBalance.spent, CertificateBalance.expired)
        .join(CertificateBalance, CertificateBalance.certificate_id == Certificate.id).order_by(Certificate.number)
    ).all()
    totals = {key: sum(getattr(row, key) for row in certificates)
              for key in ("nominal", "available", "reserved", "spent", "expired")}
    totals["certificates"] = len(certificates)

    providers: dict[int, ProviderLine] = {}
    for provider_id, name, spent in db.session.execute(
            select(Contract.provider_id, Provider.short_name, func.sum(LedgerEntry.d_spent))
            .join(Contract, LedgerEntry.contract_id == Contract.id).join(Provider, Provider.id == Contract.provider_id)
            .group_by(Contract.provider_id, Provider.short_name)):
        providers[provider_id] = ProviderLine(provider_id, name, spent=int(spent or 0))
    by_status = defaultdict(int)
    for provider_id, status, amount in db.session.execute(
            select(PaymentRegister.provider_id, PaymentRegister.status, func.sum(PaymentRegisterLine.amount))
            .join(PaymentRegisterLine, PaymentRegisterLine.register_id == PaymentRegister.id)
            .where(PaymentRegisterLine.active).group_by(PaymentRegister.provider_id, PaymentRegister.status)):
        by_status[(provider_id, status)] = int(amount or 0)
    for line in providers.values():
        line.paid = by_status[(line.provider_id, "paid")]
        line.approved = by_status[(line.provider_id, "approved")]
        # payable: spent and not yet in an approved or paid register (unregistered, or in a draft)
        line.payable = line.spent - line.paid - line.approved
        if line.payable < 0:
            mismatches.append(f"{line.name}: в реестрах {line.paid + line.approved} коп. больше списанного "
                              f"{line.spent} коп.")
    register_totals = db.session.execute(
        select(PaymentRegister.number, PaymentRegister.total, func.coalesce(func.sum(PaymentRegisterLine.amount), 0))
        .outerjoin(PaymentRegisterLine, PaymentRegisterLine.register_id == PaymentRegister.id)
        .where(PaymentRegister.status.in_(("approved", "paid")))
        .group_by(PaymentRegister.id, PaymentRegister.number, PaymentRegister.total)).all()
    for number, total, lines in register_totals:
        if total != lines:
            mismatches.append(f"Реестр {number}: итог {total} коп., сумма строк {lines} коп.")
    for number, entry_id, amount, d_spent in db.session.execute(
            select(PaymentRegister.number, LedgerEntry.id, PaymentRegisterLine.amount, LedgerEntry.d_spent)
            .join(PaymentRegisterLine, PaymentRegisterLine.register_id == PaymentRegister.id)
            .join(LedgerEntry, LedgerEntry.id == PaymentRegisterLine.ledger_entry_id)
            .where(PaymentRegisterLine.active, PaymentRegisterLine.amount != LedgerEntry.d_spent)):
        mismatches.append(f"Реестр {number}: строка проводки {entry_id} на {amount} коп., а проводка — {d_spent} коп.")
    totals["paid"] = sum(p.paid for p in providers.values())
    totals["approved"] = sum(p.approved for p in providers.values())
    totals["payable"] = sum(p.payable for p in providers.values())
    return Reconciliation(totals, sorted(providers.values(), key=lambda p: p.name), certificates, mismatches)
