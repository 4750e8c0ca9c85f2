"""Monthly payment registers: built from the month's spends, approved, rejected, paid."""
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, Generic, TypeVar

from sqlalchemy import ColumnElement, Select, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import joinedload

from certapp.accounts.models import User
from certapp.audit.services import record_event
from certapp.bookkeeping.agreements import AgreementRequiredError, _transition, agreement_in_force
from certapp.bookkeeping.models import Invoice, PaymentRegister, PaymentRegisterLine
from certapp.common import clock
from certapp.common.errors import ConflictError, NotFoundError, TransitionError, ValidationError
from certapp.common.months import add_months, month_label
from certapp.common.roles import require_role
from certapp.common.rows import get_existing
from certapp.common.validators import free_text, text_field
from certapp.contracts.models import Contract
from certapp.contracts.months import month_is_over
from certapp.db import column_length, db
from certapp.documents.services import next_number
from certapp.jobs.models import Job
from certapp.jobs.services import start
from certapp.ledger.models import LedgerEntry
from certapp.reference.services import own_municipality_id
from certapp.registry.models import Provider

T = TypeVar("T")
S = TypeVar("S", bound=Select[Any])
#: runs one provider's part of a bulk build: a savepoint by default, a job's transaction of its own
Step = Callable[[], AbstractContextManager[object]]


def _payable_with(month: date) -> ColumnElement[bool]:
    """The entries a month's register pays (by the 10th of the next month): the spends, refunds and
    corrections of the month and before, and the advances of the next month."""
    return (LedgerEntry.d_spent != 0) & or_(
        LedgerEntry.month <= month, (LedgerEntry.kind == "advance") & (LedgerEntry.month <= add_months(month, 1)))


def _unregistered_entries(provider_id: int, municipality_id: int, month: date
                          ) -> Select[LedgerEntry, Contract]:
    """What the month's register of the provider in the municipality pays (_payable_with), not yet in
    a register."""
    taken = select(PaymentRegisterLine.ledger_entry_id).where(PaymentRegisterLine.active)
    return (select(LedgerEntry, Contract).join(Contract, LedgerEntry.contract_id == Contract.id)
            .where(Contract.provider_id == provider_id, Contract.municipality_id == municipality_id,
                   _payable_with(month), LedgerEntry.id.not_in(taken))
            .order_by(LedgerEntry.month, LedgerEntry.id))


def local_date(moment: datetime) -> date:
    """The day of a stored (UTC) moment where the officials work."""
    return clock.day_of(moment)


def check_month_over(month: date, today: date | None = None) -> None:
    """A month's register is built and approved only once the month is over: its reports come after
    its end (contracts.months.month_is_over), so before that it cannot hold the month's spends."""
    if not month_is_over(month, today or clock.today()):
        raise ValidationError(f"Реестр за {month_label(month)} можно сформировать и утвердить только после окончания "
                              f"месяца — с {add_months(month, 1):%d.%m.%Y}.", field="month", code="month_not_over")


def build_register(provider_id: int, month: date, actor: User | None,
                   municipality_id: int | None = None, today: date | None = None) -> PaymentRegister:
    """The month's register of a provider in a municipality (the official's own; the job names it):
    one line per spend entry (and correction), totalled.

    Raises AgreementRequiredError without a concluded agreement in force, ConflictError when the month's
    register exists, ValidationError when there is nothing to pay. `actor` None: the system's own
    job on the 1st (never a request: every view passes its user)."""
    if actor is not None:
        require_role(actor, "bookkeeping")
        municipality_id = own_municipality_id(actor)
    if municipality_id is None:
        raise ValidationError("Не указано муниципальное образование реестра.", field="municipality_id")
    month = month.replace(day=1)
    check_month_over(month, today)
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
        with db.session.begin_nested():  # the unique index decides a race or a repeat; the savepoint keeps the unit to refuse by name
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
        with db.session.begin_nested():  # the unique index decides a race or a repeat; the savepoint keeps the unit to refuse by name
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
class BuildResult(Generic[T]):
    built: list[T] = field(default_factory=list)
    skipped: list[tuple[Provider, str]] = field(default_factory=list)  # (provider, reason)


def providers_to_pay(month: date, municipality_id: int | None = None) -> list[tuple[int, int]]:
    """(provider, municipality) pairs with spends up to the month: the registers that may be built,
    one per municipality that pays the provider (all municipalities when none is named)."""
    stmt = (select(Contract.provider_id, Contract.municipality_id).distinct()
            .join(LedgerEntry, LedgerEntry.contract_id == Contract.id)
            .where(_payable_with(month.replace(day=1))))
    if municipality_id is not None:
        stmt = stmt.where(Contract.municipality_id == municipality_id)
    return sorted((provider_id, municipality_id) for provider_id, municipality_id in db.session.execute(stmt))


def registers_to_build(month: date, actor: User | None, today: date | None = None) -> list[tuple[int, int]]:
    """The (provider, municipality) pairs whose registers for the month are built in one action, once
    the actor may and the month is over. `actor` None: the system's job of the 1st."""
    municipality_id = None
    if actor is not None:
        require_role(actor, "bookkeeping")
        municipality_id = own_municipality_id(actor)
    month = month.replace(day=1)
    check_month_over(month, today)
    return providers_to_pay(month, municipality_id)


def build_or_skip(result: BuildResult[PaymentRegister], provider_id: int, paying: int, month: date, actor: User | None,
                  today: date | None = None) -> None:
    """One provider's register of the action into `result`, or the reason it cannot be paid. A savepoint:
    the action records a refusal per provider and goes on, the refused provider's partial work undone."""
    try:
        with db.session.begin_nested():  # one row's refusal is recorded and the rest goes on: a savepoint undoes that row only
            result.built.append(build_register(provider_id, month.replace(day=1), actor, paying, today))
    except (AgreementRequiredError, ConflictError, ValidationError) as error:
        result.skipped.append((get_existing(Provider, provider_id), error.message))


def build_all_registers(month: date, actor: User | None, today: date | None = None) -> BuildResult[PaymentRegister]:
    """Build the month's registers of every provider with something to pay, in the caller's unit; a
    provider that cannot be paid is skipped with the reason (the job commits each provider in a unit of
    its own: bookkeeping.jobs)."""
    result: BuildResult[PaymentRegister] = BuildResult()
    for provider_id, paying in registers_to_build(month, actor, today):
        build_or_skip(result, provider_id, paying, month, actor, today)
    return result


def start_building(month: date, actor: User) -> Job:
    """Start building every provider's register for the month as a job (certapp.bookkeeping.jobs)."""
    from certapp.bookkeeping.jobs import build_registers  # the job runs this module's functions: bookkeeping.jobs imports it

    require_role(actor, "bookkeeping")
    month = month.replace(day=1)
    check_month_over(month)
    return start(build_registers, "registers.build", f"Формирование реестров за {month:%m.%Y}", actor,
                 month.isoformat(), actor.id)


def _own(stmt: S, model: type[PaymentRegister] | type[Invoice], user: User | None) -> S:
    """A provider reads only the registers and invoices that pay it (officials: their municipality's, by
    the scope): the one place both lists and gets are limited."""
    if user is not None and user.role == "provider":
        stmt = stmt.where(model.provider_id == (user.provider_id or -1))
    return stmt


def get_register(register_id: int, user: User | None = None) -> PaymentRegister:
    register = db.session.execute(_own(select(PaymentRegister).where(PaymentRegister.id == register_id),
                                       PaymentRegister, user)).scalar_one_or_none()
    if register is None:
        raise NotFoundError("Реестр не найден.")
    return register


def approve_register(register_id: int, actor: User, today: date | None = None) -> PaymentRegister:
    """Approve: the register is frozen from now on. Refused (month_not_over) before its month is over."""
    require_role(actor, "bookkeeping")
    register = get_register(register_id)
    if register.status == "draft":
        check_month_over(register.month, today)
    _transition(register, "approved", actor)
    # the approval's moment by the one clock: a payment order is dated between it and today
    register.approved_at, register.approved_by_id = clock.now(), actor.id
    return register


def reject_register(register_id: int, actor: User, reason: str) -> PaymentRegister:
    """Reject a draft: its entries are free again for a new register."""
    require_role(actor, "bookkeeping")
    reason = free_text(reason, "Укажите причину отклонения.")
    register = get_register(register_id)
    _transition(register, "rejected", actor, reason)
    register.rejection_reason = reason
    for line in register.lines:
        line.active = False
    return register


def mark_paid(register_id: int, actor: User, order_number: str, order_date: date, today: date | None = None
              ) -> PaymentRegister:
    """The approved register is paid by a payment order dated between the register's approval and today
    (a payment order is not dated in the future). Every field's refusal at once."""
    require_role(actor, "bookkeeping")
    today = today or clock.today()
    register = get_register(register_id)
    errors = {}
    try:
        order_number = text_field(order_number, "payment_order_number", "№ платёжного поручения",
                                  column_length(PaymentRegister.payment_order_number)) or ""
    except ValidationError as error:
        errors.update(error.fields)
    if not isinstance(order_date, date):
        errors["payment_order_date"] = "Укажите дату платёжного поручения."
    elif order_date > today:
        errors["payment_order_date"] = (f"Дата платёжного поручения ({order_date:%d.%m.%Y}) не может быть позже "
                                        f"сегодняшнего дня ({today:%d.%m.%Y}).")
    elif register.status == "approved" and register.approved_at \
            and order_date < (approved := local_date(register.approved_at)):
        errors["payment_order_date"] = (f"Платёжное поручение не может быть раньше утверждения реестра "
                                        f"({approved:%d.%m.%Y}).")
    if errors:
        raise ValidationError(" ".join(errors.values()), field=next(iter(errors)), fields=errors)
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


def registers_query(month: date | None = None, status: str | None = None, provider_id: int | None = None,
                    user: User | None = None) -> Select[PaymentRegister]:
    stmt = _own(select(PaymentRegister).options(joinedload(PaymentRegister.provider),
                                                joinedload(PaymentRegister.municipality))
                .order_by(PaymentRegister.month.desc(), PaymentRegister.id), PaymentRegister, user)
    if month:
        stmt = stmt.where(PaymentRegister.month == month.replace(day=1))
    if status:
        stmt = stmt.where(PaymentRegister.status == status)
    if provider_id:
        stmt = stmt.where(PaymentRegister.provider_id == provider_id)
    return stmt
