"""Agreements, the advance and final invoices, monthly payment registers and reconciliation. Money
moves only through certapp.ledger.services (here: an approved advance)."""
import json
import time
from collections import defaultdict
from dataclasses import asdict, dataclass, field
from datetime import date, timedelta

from flask import current_app
from sqlalchemy import func, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import joinedload

from certapp.accounts.models import User
from certapp.accounts.services import require_role
from certapp.audit.services import record_event
from certapp.bookkeeping.models import (
    AGREEMENT_REPORT_TRANSITIONS,
    AGREEMENT_TRANSITIONS,
    INVOICE_KINDS,
    INVOICE_TRANSITIONS,
    REGISTER_TRANSITIONS,
    Agreement,
    AgreementReport,
    AgreementVersion,
    Invoice,
    InvoiceLine,
    PaymentRegister,
    PaymentRegisterLine,
    ReconciliationRun,
)
from certapp.certificates.models import Certificate
from certapp.common import clock, events
from certapp.common.errors import ConflictError, DomainError, NotFoundError, TransitionError, ValidationError
from certapp.common.money import share
from certapp.common.months import add_months, check_year, month_label, quarter_months
from certapp.common.scope import current_scope
from certapp.common.states import transition
from certapp.contracts.models import Contract, ContractMonth, ServiceReport
from certapp.contracts.services import month_is_over, month_key
from certapp.db import db, utcnow
from certapp.documents.services import (
    SignedDocument,
    canonical,
    next_number,
    sign_document,
    signed_document_finder,
)
from certapp.ledger import services as ledger
from certapp.ledger.models import CertificateBalance, LedgerEntry
from certapp.reference.models import Municipality
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


def visible_agreements(user: User | None = None):
    """The agreements a user may see, in one place for every list and get: a provider its own (in every
    municipality that pays it), an official those of their municipality (the scope limits them);
    no user: the caller's rule decides (bookkeeping's services require their role first)."""
    stmt = select(Agreement)
    if user is not None and user.role == "provider":
        stmt = stmt.where(Agreement.provider_id == (user.provider_id or -1))
    return stmt


def get_agreement(agreement_id: int, user: User | None = None) -> Agreement:
    agreement = db.session.execute(visible_agreements(user).where(Agreement.id == agreement_id)).scalar_one_or_none()
    if agreement is None:
        raise NotFoundError("Соглашение не найдено.")
    return agreement


def agreements_query(status: str | None = None, user: User | None = None):
    stmt = visible_agreements(user).join(Provider).order_by(Agreement.status, Provider.short_name, Agreement.id)
    return stmt.where(Agreement.status == status) if status else stmt


def agreements_to_sign(user: User):
    """The provider's agreements whose current version waits for its signature."""
    return visible_agreements(user).where(Agreement.status == "concluded", or_(
        Agreement.provider_signed_version.is_(None), Agreement.provider_signed_version < Agreement.version))


def _term(valid_from: date | None, valid_to: date | None) -> None:
    if not isinstance(valid_from, date):
        raise ValidationError("Укажите дату начала действия соглашения.", field="valid_from")
    if valid_to is not None and valid_to < valid_from:
        raise ValidationError("Окончание действия раньше начала.", field="valid_to")


#: the subject of the agreement (458-п п. 6.1.4; постановление 677 п. 3): what its content names
AGREEMENT_SUBJECT = ("Финансовое обеспечение (возмещение) затрат исполнителя услуг, связанных с оказанием "
                     "муниципальной услуги в социальной сфере «Реализация дополнительных общеразвивающих программ» "
                     "в соответствии с социальными сертификатами, в пределах объёма, указанного в соглашении")
#: the day of the next month by which a month is paid (the final invoice and the register)
PAYMENT_DAY = 10


def payment_terms(agreement: Agreement) -> str:
    """How and when the provider is paid, as the agreement says it."""
    day = agreement.payment_day or PAYMENT_DAY
    advance = (f"аванс — {agreement.advance_percent} % суммы месяца по договорам, действующим на 1-е число месяца "
               "(авансовый счёт с 1-го числа месяца); " if agreement.advance_percent else "")
    return (f"Ежемесячно по реестру на оплату: {advance}окончательный расчёт — итоговым счётом после окончания "
            "месяца по доле фактически оказанных услуг (проведённых занятий) за вычетом аванса, на основании "
            f"отчётов исполнителя; оплата не позднее {day}-го числа следующего месяца на расчётный счёт "
            "исполнителя.")


def agreement_content(agreement: Agreement) -> dict:
    """The canonical content of the agreement document, as both parties sign it: the parties (the
    municipality's authorised body and the provider), the subject, the volume, the money terms, the
    term and the bank details."""
    p, m = agreement.provider, agreement.municipality
    return {"number": agreement.number, "version": agreement.version,
            "parties": {"authority": {"name": m.authority or m.name, "municipality": m.name, "oktmo": m.oktmo,
                                      "order": m.order or None},
                        "provider": {"inn": p.inn, "name": p.full_name, "head": f"{p.head_position} {p.head_name}"}},
            "subject": AGREEMENT_SUBJECT,
            "volume": {"children": agreement.volume_children, "amount_limit": agreement.amount_limit},
            "payment": {"advance_percent": agreement.advance_percent, "payment_day": agreement.payment_day,
                        "terms": payment_terms(agreement)},
            "concluded_on": agreement.concluded_on, "valid_from": agreement.valid_from,
            "valid_to": agreement.valid_to, "bik": agreement.bik, "settlement_account": agreement.settlement_account}


def legacy_agreement_content(agreement) -> dict:
    """The content agreements were signed over before the provider signed them too (migration 0034):
    what /documents/verify checks for those that have no version as signed."""
    p = agreement.provider
    return {"number": agreement.number, "version": agreement.version, "provider": {"inn": p.inn, "name": p.full_name},
            "concluded_on": agreement.concluded_on, "valid_from": agreement.valid_from,
            "valid_to": agreement.valid_to, "bik": agreement.bik, "settlement_account": agreement.settlement_account}


def current_version(agreement: Agreement) -> AgreementVersion | None:
    """The current version as signed (None for an agreement concluded before versions were kept)."""
    return next((v for v in agreement.versions if v.version == agreement.version), None)


def signed_content(agreement: Agreement) -> dict:
    """What the authorised body's signature covers: the current version's content as signed."""
    version = current_version(agreement)
    return version.content if version is not None else legacy_agreement_content(agreement)


def _volume(volume_children, amount_limit) -> tuple[int | None, int | None]:
    for value, name, label in ((volume_children, "volume_children", "Число сертификатов (детей)"),
                               (amount_limit, "amount_limit", "Предельный объём средств")):
        if value is not None and (not isinstance(value, int) or isinstance(value, bool) or value <= 0
                                  or value >= 10**13):
            raise ValidationError(f"{label} — целое положительное число или пусто (не ограничено).", field=name)
    return volume_children, amount_limit


def _sign_version(agreement: Agreement, actor: User) -> AgreementVersion:
    """The authorised body signs the agreement's current content (bookkeeping concludes or amends for the
    department): the signature on the agreement, and the version kept as signed for the provider to sign."""
    content = agreement_content(agreement)
    agreement.signature = sign_document(content)
    version = AgreementVersion(agreement=agreement, version=agreement.version, content=json.loads(canonical(content)),
                               valid_from=agreement.valid_from, valid_to=agreement.valid_to,
                               signature=agreement.signature, signed_at=utcnow(), signed_by_id=actor.id,
                               municipality_id=agreement.municipality_id)
    db.session.add(version)
    return version


def conclude_agreement(agreement_id: int, actor: User, valid_from: date, valid_to: date | None,
                       concluded_on: date | None = None, volume_children: int | None = None,
                       amount_limit: int | None = None) -> Agreement:
    """Bookkeeping concludes a draft for the authorised body: number, date, term, volume, the money terms
    (the advance's share, the payment day), the bank details copied from the registry, the authority's
    signature. The agreement comes into force when the provider signs it too (accept_agreement)."""
    require_role(actor, "bookkeeping")
    agreement = get_agreement(agreement_id)
    _term(valid_from, valid_to)
    volume_children, amount_limit = _volume(volume_children, amount_limit)
    if not agreement.provider.in_registry:
        raise TransitionError("Исполнитель не состоит в реестре: соглашение заключить нельзя.")
    _transition(agreement, "concluded", actor)
    agreement.number = next_number("agreement")
    agreement.concluded_on = concluded_on or clock.today()
    agreement.valid_from, agreement.valid_to = valid_from, valid_to
    agreement.volume_children, agreement.amount_limit = volume_children, amount_limit
    agreement.advance_percent, agreement.payment_day = advance_percent(), PAYMENT_DAY
    agreement.bik, agreement.settlement_account = agreement.provider.bik, agreement.provider.settlement_account
    _sign_version(agreement, actor)
    events.agreement_to_sign.send(agreement, actor=actor)
    return agreement


#: amend_agreement's volume arguments left out: the volume stays as it is
UNCHANGED = object()


def amend_agreement(agreement_id: int, actor: User, valid_from: date, valid_to: date | None,
                    volume_children=UNCHANGED, amount_limit=UNCHANGED) -> Agreement:
    """A supplementary agreement: a new term (and volume, when given) and the registry's current bank
    details, as a new version signed by the authorised body. It takes effect when the provider signs it;
    until then the agreement stays in force on the term of the last version both signed."""
    require_role(actor, "bookkeeping")
    agreement = get_agreement(agreement_id)
    if agreement.status != "concluded":
        raise TransitionError("Изменить можно только заключённое соглашение.")
    _term(valid_from, valid_to)
    volume_children, amount_limit = _volume(
        agreement.volume_children if volume_children is UNCHANGED else volume_children,
        agreement.amount_limit if amount_limit is UNCHANGED else amount_limit)
    before = signed_content(agreement)
    agreement.valid_from, agreement.valid_to = valid_from, valid_to
    agreement.volume_children, agreement.amount_limit = volume_children, amount_limit
    agreement.bik, agreement.settlement_account = agreement.provider.bik, agreement.provider.settlement_account
    agreement.version += 1
    _sign_version(agreement, actor)
    record_event("agreement.amend", agreement, from_state=f"v{agreement.version - 1}",
                 to_state=f"v{agreement.version}", actor=actor, details={"before": before})
    events.agreement_to_sign.send(agreement, actor=actor)
    return agreement


def provider_acceptance_content(agreement: Agreement, version: AgreementVersion) -> dict:
    """What the provider's signature covers: the version's content as the authority signed it, that
    signature, and who signed for the provider and when."""
    return {"agreement": agreement.number, "version": version.version, "content": version.content,
            "authority_signature": version.signature, "provider": agreement.provider.inn,
            "signed_at": version.provider_signed_at, "signed_by": version.provider_signed_by_id}


def accept_agreement(agreement_id: int, provider_user: User) -> Agreement:
    """The provider signs (accepts) the agreement's current version, concluded and signed by the
    authorised body: with both signatures it is in force on that version's term (458-п п. 6.1.4). A
    repeated request signs nothing twice. Raises NotFoundError (not its agreement), TransitionError (a
    draft, or ended)."""
    require_role(provider_user, "provider")
    agreement = get_agreement(agreement_id, provider_user)
    if agreement.status == "draft":
        raise TransitionError("Соглашение ещё не подписано уполномоченным органом: подписать его нельзя.",
                              code="agreement_not_offered")
    if agreement.status != "concluded":
        raise TransitionError(f"Соглашение {agreement.status_name.lower()}: подписать его нельзя.",
                              code="agreement_ended")
    if not agreement.awaits_provider:
        return agreement  # a retried or double-clicked signing: already done
    version = current_version(agreement)
    if version is None:  # every version since migration 0034 is kept; an older one was taken as signed
        raise TransitionError("Редакция соглашения не найдена.")
    version.provider_signed_at, version.provider_signed_by_id = utcnow(), provider_user.id
    version.provider_signature = sign_document(provider_acceptance_content(agreement, version))
    before = agreement.provider_signed_version
    agreement.provider_signed_version = agreement.version
    agreement.in_force_from, agreement.in_force_to = version.valid_from, version.valid_to
    record_event("agreement.provider_signed", agreement, from_state=f"v{before}" if before else "concluded",
                 to_state=f"v{agreement.version}", actor=provider_user,
                 details={"version": agreement.version, "provider_id": agreement.provider_id})
    events.agreement_provider_signed.send(agreement, actor=provider_user)
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
    if agreement.in_force_from is not None:
        agreement.in_force_to = min(filter(None, (agreement.in_force_to, ended_on)))
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

def _payable_with(month: date):
    """The entries a month's register pays (by the 10th of the next month): the spends, refunds and
    corrections of the month and before, and the advances of the next month."""
    return (LedgerEntry.d_spent != 0) & or_(
        LedgerEntry.month <= month, (LedgerEntry.kind == "advance") & (LedgerEntry.month <= add_months(month, 1)))


def _unregistered_entries(provider_id: int, municipality_id: int, month: date):
    """What the month's register of the provider in the municipality pays (_payable_with), not yet in
    a register."""
    taken = select(PaymentRegisterLine.ledger_entry_id).where(PaymentRegisterLine.active)
    return (select(LedgerEntry, Contract).join(Contract, LedgerEntry.contract_id == Contract.id)
            .where(Contract.provider_id == provider_id, Contract.municipality_id == municipality_id,
                   _payable_with(month), LedgerEntry.id.not_in(taken))
            .order_by(LedgerEntry.month, LedgerEntry.id))


def local_date(moment) -> date:
    """The day of a stored (UTC) moment where the officials work."""
    return moment.astimezone(clock.zone()).date()


def check_month_over(month: date, today: date | None = None) -> None:
    """A month's register is built and approved only once the month is over: its reports come after
    its end (contracts.services.month_is_over), so before that it cannot hold the month's spends."""
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
            .where(_payable_with(month.replace(day=1))))
    if municipality_id is not None:
        stmt = stmt.where(Contract.municipality_id == municipality_id)
    return sorted(tuple(row) for row in db.session.execute(stmt).all())


def build_all_registers(month: date, actor: User | None, step=None, today: date | None = None) -> BuildResult:
    """Build the month's registers of every provider with something to pay, in one action; a provider
    that cannot be paid is skipped with the reason. Each provider runs inside `step()` — by default a
    savepoint of the caller's transaction; the job passes a transaction of its own per provider that
    also counts progress. `actor` None: the system's job of the 1st."""
    municipality_id = None
    if actor is not None:
        require_role(actor, "bookkeeping")
        municipality_id = own_municipality_id(actor)
    month = month.replace(day=1)
    check_month_over(month, today)
    result = BuildResult()
    for provider_id, paying in providers_to_pay(month, municipality_id):
        try:
            with (step or db.session.begin_nested)():
                result.built.append(build_register(provider_id, month, actor, paying, today))
        except (AgreementRequiredError, ConflictError, ValidationError) as error:
            result.skipped.append((db.session.get(Provider, provider_id), error.message))
    return result


def start_building(month: date, actor: User):
    """Start building every provider's register for the month as a job (certapp.bookkeeping.jobs)."""
    from certapp.bookkeeping.jobs import build_registers
    from certapp.jobs.services import start

    require_role(actor, "bookkeeping")
    month = month.replace(day=1)
    check_month_over(month)
    return start(build_registers, "registers.build", f"Формирование реестров за {month:%m.%Y}", actor,
                 month.isoformat(), actor.id)


def _own(stmt, model, user: User | None):
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
    reason = " ".join((reason or "").split())
    if not reason:
        raise ValidationError("Укажите причину отклонения.", field="reason")
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
    order_number = " ".join((order_number or "").split())
    if not order_number or len(order_number) > 32:
        errors["payment_order_number"] = "Укажите номер платёжного поручения (до 32 символов)."
    if not isinstance(order_date, date):
        errors["payment_order_date"] = "Укажите дату платёжного поручения."
    elif order_date > today:
        errors["payment_order_date"] = (f"Дата платёжного поручения ({order_date:%d.%m.%Y}) не может быть позже "
                                        f"сегодняшнего дня ({today:%d.%m.%Y}).")
    elif register.status == "approved" and order_date < (approved := local_date(register.approved_at)):
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


# --- invoices: the advance and the final -----------------------------------------------------------

def advance_percent() -> int:
    """The advance's share of a month, per cent (configuration ADVANCE_PERCENT, default 80)."""
    percent = int(current_app.config["ADVANCE_PERCENT"])  # config.DEFAULTS holds the 80 %
    if not 0 <= percent <= 100:
        raise RuntimeError(f"ADVANCE_PERCENT must be from 0 to 100, not {percent}")
    return percent


def _advance_rows(provider_id: int, municipality_id: int, month: date):
    """Contract months paid in full this month (the contract in force on its 1st) that have neither
    an advance nor a report yet."""
    return (select(Contract, ContractMonth).join(ContractMonth, ContractMonth.contract_id == Contract.id)
            .where(Contract.provider_id == provider_id, Contract.municipality_id == municipality_id,
                   Contract.status == "active", Contract.start_month <= month,
                   or_(Contract.terminated_from.is_(None), Contract.terminated_from > month),
                   ContractMonth.month == month, ContractMonth.status == "planned",
                   ContractMonth.certificate_amount > 0)
            .order_by(Contract.id))


def _final_rows(provider_id: int, municipality_id: int, month: date):
    return (select(Contract, ServiceReport, ContractMonth)
            .join(ServiceReport, ServiceReport.contract_id == Contract.id)
            .join(ContractMonth, (ContractMonth.contract_id == Contract.id) & (ContractMonth.month == month))
            .where(Contract.provider_id == provider_id, Contract.municipality_id == municipality_id,
                   ServiceReport.month == month)
            .order_by(Contract.id))


def _line(contract: Contract, month_amount: int, amount: int, **figures) -> InvoiceLine:
    return InvoiceLine(contract_id=contract.id, certificate_number=contract.certificate.number,
                       child_initials=contract.child.initials, program_title=contract.program.title,
                       month_amount=month_amount, amount=amount, municipality_id=contract.municipality_id, **figures)


def form_invoice(kind: str, provider_id: int, month: date, actor: User | None, municipality_id: int | None = None,
                 today: date | None = None) -> Invoice:
    """A provider's advance invoice for a month (from its 1st) or its final invoice (after the month,
    from the month's reports). Raises AgreementRequiredError, ConflictError (formed already),
    ValidationError (too early, nothing to invoice)."""
    if kind not in INVOICE_KINDS:
        raise ValidationError("Вид счёта: advance или final.", field="kind")
    if actor is not None:
        require_role(actor, "bookkeeping")
        municipality_id = own_municipality_id(actor)
    month, today = month.replace(day=1), today or clock.today()
    provider = db.session.get(Provider, provider_id)
    if provider is None:
        raise NotFoundError("Исполнитель не найден.")
    if kind == "advance" and month > today:
        raise ValidationError(f"Авансовый счёт за {month:%m.%Y} формируется с 1-го числа месяца.", field="month")
    if kind == "final" and add_months(month, 1) > today:
        raise ValidationError(f"Итоговый счёт за {month:%m.%Y} формируется после окончания месяца.", field="month")
    agreement = agreement_in_force(provider_id, municipality_id, month)
    if agreement is None:
        raise AgreementRequiredError(f"У исполнителя {provider.short_name} нет действующего соглашения на {month:%m.%Y}.")
    invoice = Invoice(number=next_number("invoice"), kind=kind, provider_id=provider_id, agreement_id=agreement.id,
                      month=month, status="draft", municipality_id=municipality_id,
                      share_percent=advance_percent() if kind == "advance" else None)
    if kind == "advance":
        percent = invoice.share_percent
        for contract, row in db.session.execute(_advance_rows(provider_id, municipality_id, month)).all():
            amount = share(row.certificate_amount, percent, 100)
            if amount:
                invoice.lines.append(_line(contract, row.certificate_amount, amount, advance=amount))
    else:
        for contract, report, row in db.session.execute(_final_rows(provider_id, municipality_id, month)).all():
            invoice.lines.append(_line(contract, row.certificate_amount, report.amount - report.advance,
                                       lessons_planned=report.lessons_planned, lessons_held=report.lessons_held,
                                       due=report.amount, advance=report.advance))
    if not invoice.lines:
        raise ValidationError(f"У исполнителя {provider.short_name} нечего включить в {INVOICE_KINDS[kind].lower()} "
                              f"за {month:%m.%Y}.", field="month")
    invoice.total = sum(line.amount for line in invoice.lines)
    try:
        with db.session.begin_nested():
            db.session.add(invoice)
            db.session.flush()
    except IntegrityError:
        raise ConflictError(f"{INVOICE_KINDS[kind]} {provider.short_name} за {month:%m.%Y} уже сформирован.",
                            field="month", code="invoice_exists")
    record_event(f"invoice.{kind}", invoice, to_state="draft", actor=actor,
                 details={"month": month, "total": invoice.total, "lines": len(invoice.lines)})
    return invoice


def providers_to_invoice(month: date, municipality_id: int | None = None) -> list[tuple[int, int]]:
    """(provider, municipality) pairs with contract months in the month (all municipalities when none)."""
    pairs = select(Contract.provider_id, Contract.municipality_id).distinct().join(
        ContractMonth, ContractMonth.contract_id == Contract.id).where(ContractMonth.month == month.replace(day=1))
    if municipality_id is not None:
        pairs = pairs.where(Contract.municipality_id == municipality_id)
    return sorted(tuple(row) for row in db.session.execute(pairs).all())


def form_invoices(kind: str, month: date, actor: User | None, today: date | None = None, step=None) -> BuildResult:
    """Every provider's invoice of a kind for the month (a provider that cannot be invoiced is skipped
    with the reason). Each provider runs inside `step()` — a savepoint by default; the job passes a
    transaction of its own that also counts progress. `actor` None: the system's job of the 1st."""
    municipality_id = None
    if actor is not None:
        require_role(actor, "bookkeeping")
        municipality_id = own_municipality_id(actor)
    month = month.replace(day=1)
    result = BuildResult()
    for provider_id, paying in providers_to_invoice(month, municipality_id):
        try:
            with (step or db.session.begin_nested)():
                result.built.append(form_invoice(kind, provider_id, month, actor, paying, today))
        except (AgreementRequiredError, ConflictError, ValidationError) as error:
            result.skipped.append((db.session.get(Provider, provider_id), error.message))
    return result


def start_forming_invoices(kind: str, month: date, actor: User):
    """Form every provider's invoices of a kind for the month as a job with progress (bookkeeping.jobs)."""
    from certapp.bookkeeping.jobs import form_invoices_job
    from certapp.jobs.services import start

    require_role(actor, "bookkeeping")
    if kind not in INVOICE_KINDS:
        raise ValidationError("Вид счёта: advance или final.", field="kind")
    month = month.replace(day=1)
    return start(form_invoices_job, "invoices.form", f"{INVOICE_KINDS[kind]}: все исполнители за {month:%m.%Y}",
                 actor, kind, month.isoformat(), actor.id)


def get_invoice(invoice_id: int, user: User | None = None) -> Invoice:
    invoice = db.session.execute(_own(select(Invoice).where(Invoice.id == invoice_id), Invoice, user)
                                 ).scalar_one_or_none()
    if invoice is None:
        raise NotFoundError("Счёт не найден.")
    return invoice


def invoice_content(invoice: Invoice) -> dict:
    return {"number": invoice.number, "kind": invoice.kind, "provider": invoice.provider.inn, "month": invoice.month,
            "agreement": invoice.agreement.number, "total": invoice.total, "approved_at": invoice.approved_at,
            "lines": [[line.contract_id, line.month_amount, line.lessons_planned, line.lessons_held, line.due,
                       line.advance, line.amount] for line in invoice.lines]}


@signed_document_finder
def _signed_agreement_or_invoice(number: str) -> SignedDocument | None:
    if number.startswith("СГ-"):
        agreement = db.session.execute(select(Agreement).where(Agreement.number == number)).scalar_one_or_none()
        return agreement and SignedDocument("agreement", "Соглашение о финансовом обеспечении затрат",
                                            agreement.number, signed_content(agreement), agreement.signature,
                                            gender="n", provider_id=agreement.provider_id)
    if number.startswith("СЧ-"):
        invoice = db.session.execute(select(Invoice).where(Invoice.number == number)).scalar_one_or_none()
        return invoice and SignedDocument("invoice", invoice.kind_name, invoice.number, invoice_content(invoice),
                                          invoice.signature, provider_id=invoice.provider_id)
    return None


def approve_invoice(invoice_id: int, actor: User) -> Invoice:
    """Approve an invoice. An advance pays each line from its certificate's reserve (reserved → spent);
    a line whose month was reported meanwhile is paid by the report instead and drops to zero."""
    require_role(actor, "bookkeeping")
    invoice = get_invoice(invoice_id)
    transition(invoice, "approved", INVOICE_TRANSITIONS, actor, event="invoice",
               refusal="Счёт в состоянии «{status}».")
    invoice.approved_at, invoice.approved_by_id = utcnow(), actor.id
    if invoice.kind == "advance":
        for line in invoice.lines:
            contract = db.session.execute(select(Contract).where(Contract.id == line.contract_id).with_for_update()
                                          .execution_options(populate_existing=True)).scalar_one()
            row = next(m for m in contract.months if m.month == invoice.month)
            if row.status != "planned" or contract.status != "active" or (
                    contract.terminated_from and contract.terminated_from <= invoice.month):
                line.amount = line.advance = 0
                continue
            entry = ledger.advance(contract.certificate_id, line.amount, month_key(contract.id, invoice.month)
                                   + ":advance", contract_id=contract.id, month=invoice.month, actor=actor)
            line.ledger_entry_id = entry.id
        invoice.total = sum(line.amount for line in invoice.lines)
    invoice.signature = sign_document(invoice_content(invoice))
    return invoice


def reject_invoice(invoice_id: int, actor: User, reason: str) -> Invoice:
    """Reject a draft (a new one can be formed for the month)."""
    require_role(actor, "bookkeeping")
    reason = " ".join((reason or "").split())
    if not reason:
        raise ValidationError("Укажите причину отклонения.", field="reason")
    invoice = get_invoice(invoice_id)
    transition(invoice, "rejected", INVOICE_TRANSITIONS, actor, event="invoice",
               refusal="Счёт в состоянии «{status}».", details={"reason": reason})
    invoice.rejection_reason = reason
    return invoice


def invoices_query(month: date | None = None, kind: str | None = None, status: str | None = None,
                   provider_id: int | None = None, user: User | None = None):
    stmt = _own(select(Invoice).options(joinedload(Invoice.provider), joinedload(Invoice.municipality))
                .order_by(Invoice.month.desc(), Invoice.kind, Invoice.id.desc()), Invoice, user)
    if month:
        stmt = stmt.where(Invoice.month == month.replace(day=1))
    for column, value in ((Invoice.kind, kind), (Invoice.status, status), (Invoice.provider_id, provider_id)):
        if value:
            stmt = stmt.where(column == value)
    return stmt


# --- the provider's report on the execution of its agreement ---------------------------------------------

def _quarter(year: int, quarter: int) -> tuple[date, date]:
    """The first days of the quarter's first and last months; refuses a quarter or year out of range."""
    check_year(year)
    if quarter not in (1, 2, 3, 4):
        raise ValidationError("Квартал — от 1 до 4.", field="quarter")
    return quarter_months(year, quarter)


def agreement_report_figures(agreement: Agreement, year: int, quarter: int) -> dict:
    """What the provider delivered under the agreement in the quarter and what it received, month by
    month, in three grouped queries: contracts and children served, months delivered, the certificates'
    money spent, and the registers paid in the quarter."""
    first, last = _quarter(year, quarter)
    of_agreement = (Contract.provider_id == agreement.provider_id) & (Contract.municipality_id == agreement.municipality_id)
    served = {month: (children, months) for month, children, months in db.session.execute(
        select(ContractMonth.month, func.count(func.distinct(Contract.child_id)), func.count())
        .join(Contract, Contract.id == ContractMonth.contract_id)
        .where(of_agreement, ContractMonth.status == "delivered", ContractMonth.month.between(first, last))
        .group_by(ContractMonth.month))}
    spent = dict(db.session.execute(
        select(LedgerEntry.month, func.sum(LedgerEntry.d_spent)).join(Contract, Contract.id == LedgerEntry.contract_id)
        .where(of_agreement, LedgerEntry.d_spent != 0, LedgerEntry.month.between(first, last))
        .group_by(LedgerEntry.month)).all())
    received = db.session.execute(select(func.coalesce(func.sum(PaymentRegister.total), 0)).where(
        PaymentRegister.provider_id == agreement.provider_id, PaymentRegister.municipality_id == agreement.municipality_id,
        PaymentRegister.status == "paid",
        PaymentRegister.payment_order_date.between(first, add_months(last, 1) - timedelta(days=1)))).scalar_one()
    months = [{"month": f"{m:%Y-%m}", "children": served.get(m, (0, 0))[0], "months_delivered": served.get(m, (0, 0))[1],
               "spent": int(spent.get(m, 0))} for m in (first, add_months(first, 1), last)]
    return {"agreement": agreement.number, "provider": agreement.provider.inn, "year": year, "quarter": quarter,
            "months": months, "totals": {"months_delivered": sum(m["months_delivered"] for m in months),
                                         "spent": sum(m["spent"] for m in months), "received": int(received)}}


def agreement_report_content(report: AgreementReport) -> dict:
    return {"number": report.number, "figures": report.figures, "formed_at": report.formed_at}


def form_agreement_report(provider_user: User, agreement_id: int, year: int, quarter: int,
                          today: date | None = None) -> AgreementReport:
    """The provider forms its report on the agreement for a quarter that is over, from the data; it is
    signed and goes to bookkeeping. Raises ValidationError (the quarter not over), ConflictError (a
    report for the quarter is on review or accepted)."""
    require_role(provider_user, "provider")
    agreement = db.session.get(Agreement, agreement_id)
    if agreement is None or agreement.provider_id != provider_user.provider_id or agreement.number is None:
        raise NotFoundError("Соглашение не найдено.")
    first, last = _quarter(year, quarter)
    if add_months(last, 1) > (today or clock.today()):
        raise ValidationError(f"Отчёт за {quarter} квартал {year} года формируется после его окончания.",
                              field="quarter")
    if not agreement.in_force_during(first, add_months(last, 1) - timedelta(days=1)) and agreement.status != "ended":
        raise ValidationError("Соглашение не действовало в этом квартале.", field="quarter")
    report = AgreementReport(number=next_number("agreement_report"), agreement_id=agreement.id,
                             provider_id=agreement.provider_id, year=year, quarter=quarter, status="submitted",
                             figures=agreement_report_figures(agreement, year, quarter), formed_at=utcnow(),
                             formed_by_id=provider_user.id, municipality_id=agreement.municipality_id, signature="")
    try:
        with db.session.begin_nested():
            db.session.add(report)
            db.session.flush()
    except IntegrityError:
        raise ConflictError(f"Отчёт за {quarter} квартал {year} года по соглашению {agreement.number} уже подан.",
                            field="quarter", code="report_exists")
    report.signature = sign_document(agreement_report_content(report))
    record_event("agreement_report.submitted", report, to_state="submitted", actor=provider_user,
                 details={"agreement": agreement.number, "year": year, "quarter": quarter})
    return report


def decide_agreement_report(report_id: int, decision: str, actor: User, reason: str | None = None) -> AgreementReport:
    """Bookkeeping accepts the report or returns it with a reason (the provider forms it anew)."""
    require_role(actor, "bookkeeping")
    if decision not in ("accepted", "returned"):
        raise ValidationError("Решение: принять или вернуть на доработку.", field="decision")
    reason = " ".join((reason or "").split()) or None
    if decision == "returned" and not reason:
        raise ValidationError("Укажите, что исправить.", field="reason")
    report = db.session.get(AgreementReport, report_id)
    if report is None:
        raise NotFoundError("Отчёт не найден.")
    transition(report, decision, AGREEMENT_REPORT_TRANSITIONS, actor, event="agreement_report",
               refusal="Отчёт уже в состоянии «{status}».", details={"reason": reason} if reason else None)
    report.decided_at, report.decided_by_id, report.return_reason = utcnow(), actor.id, reason
    return report


def agreement_reports_query(user: User, status: str | None = None):
    stmt = select(AgreementReport).order_by(AgreementReport.year.desc(), AgreementReport.quarter.desc(),
                                            AgreementReport.id.desc())
    if user.role == "provider":
        stmt = stmt.where(AgreementReport.provider_id == (user.provider_id or -1))
    return stmt.where(AgreementReport.status == status) if status else stmt


def get_agreement_report(report_id: int, user: User) -> AgreementReport:
    report = db.session.get(AgreementReport, report_id)
    if report is None or (user.role == "provider" and report.provider_id != user.provider_id):
        raise NotFoundError("Отчёт не найден.")
    return report


@signed_document_finder
def _signed_agreement_report(number: str) -> SignedDocument | None:
    report = number.startswith("ОС-") and db.session.execute(select(AgreementReport).where(
        AgreementReport.number == number)).scalar_one_or_none()
    return report and SignedDocument("agreement_report", "Отчёт об исполнении соглашения", report.number,
                                     agreement_report_content(report), report.signature,
                                     provider_id=report.provider_id) or None


def registers_query(month: date | None = None, status: str | None = None, provider_id: int | None = None,
                    user: User | None = None):
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
class MunicipalityLine:
    name: str
    certificates: int
    nominal: int
    available: int
    reserved: int
    spent: int
    expired: int


@dataclass
class Reconciliation:
    totals: dict
    providers: list
    municipalities: list
    mismatches: list

    #: computed now (not a stored run)
    live = True
    computed_at = None
    duration_ms = None

    @property
    def ok(self) -> bool:
        return not self.mismatches

    @property
    def mismatch_count(self) -> int:
        return len(self.mismatches)


BALANCE_FIELDS = ("nominal", "available", "reserved", "spent", "expired")


def _balance_sums():
    return [func.coalesce(func.sum(getattr(CertificateBalance, field)), 0) for field in BALANCE_FIELDS]


def reconcile(progress=None, batch: int = 50_000) -> Reconciliation:
    """The summary, computed in the database (its memory does not grow with the certificates): totals
    and per-municipality lines of the certificates' money, per provider spent = paid + approved-unpaid
    + payable, and only the mismatches — per certificate (nominal = available + reserved + spent +
    expired, each equal to its entries), per register (its total = its lines = their entries). The
    per-certificate lines are read page by page (certificate_lines) or streamed (stream_certificate_lines)."""
    from certapp.ledger.services import check_invariant

    low, high = db.session.execute(select(func.min(CertificateBalance.certificate_id),
                                          func.max(CertificateBalance.certificate_id))).one()
    steps = range((low or 1) - 1, high or 0, batch)
    if progress:
        progress.set_total(len(steps) + 1)
    mismatches = []
    for after_id in steps:  # the certificates part by part: a job shows how far it got
        mismatches += [f"Сертификат {m.certificate_id}: {m.field} = {m.cached}, по проводкам {m.from_entries}"
                       for m in check_invariant(after_id=after_id, up_to_id=after_id + batch)]
        if progress:
            progress.advance()
    count, *sums = db.session.execute(select(func.count(CertificateBalance.certificate_id), *_balance_sums())).one()
    totals = {"certificates": count, **{field: int(value) for field, value in zip(BALANCE_FIELDS, sums)}}
    municipalities = [MunicipalityLine(name, count, *(int(v) for v in values)) for name, count, *values in
                      db.session.execute(select(Municipality.name, func.count(CertificateBalance.certificate_id),
                                                *_balance_sums())
                                         .join(Municipality, Municipality.id == CertificateBalance.municipality_id)
                                         .group_by(Municipality.id, Municipality.name).order_by(Municipality.name))]

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
    lines_sum = func.coalesce(func.sum(PaymentRegisterLine.amount), 0)
    for number, total, lines in db.session.execute(
            select(PaymentRegister.number, PaymentRegister.total, lines_sum)
            .outerjoin(PaymentRegisterLine, PaymentRegisterLine.register_id == PaymentRegister.id)
            .where(PaymentRegister.status.in_(("approved", "paid")))
            .group_by(PaymentRegister.id, PaymentRegister.number, PaymentRegister.total)
            .having(PaymentRegister.total != lines_sum)):
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
    if progress:
        progress.advance()
    return Reconciliation(totals, sorted(providers.values(), key=lambda p: p.name), municipalities, mismatches)


#: the mismatches a stored run keeps (there must be none; thousands mean one cause, not a list to read)
STORED_MISMATCHES = 1000


def store_reconciliation(actor: User | None, progress=None) -> ReconciliationRun:
    """Reconcile now (in the current scope: a municipality, or the whole region) and keep the result as
    the one the page and the API answer until the next run."""
    started = time.perf_counter()
    result = reconcile(progress)
    run = ReconciliationRun(
        municipality_id=current_scope(), created_by_id=actor.id if actor else None,
        duration_ms=int((time.perf_counter() - started) * 1000),
        result={"totals": result.totals, "municipalities": [asdict(m) for m in result.municipalities],
                "providers": [asdict(p) for p in result.providers], "mismatch_count": len(result.mismatches),
                "mismatches": result.mismatches[:STORED_MISMATCHES]})
    db.session.add(run)
    db.session.flush()
    record_event("reconciliation.run", run, actor=actor,
                 details={"certificates": result.totals["certificates"], "mismatches": len(result.mismatches),
                          "duration_ms": run.duration_ms})
    return run


@dataclass
class StoredReconciliation:
    """A stored run as the page, the API and the exports read it (the shape of Reconciliation)."""

    run: ReconciliationRun
    totals: dict
    providers: list
    municipalities: list
    mismatches: list
    mismatch_count: int

    live = False

    @property
    def ok(self) -> bool:
        return not self.mismatch_count

    @property
    def computed_at(self):
        return self.run.computed_at

    @property
    def duration_ms(self) -> int:
        return self.run.duration_ms


def latest_reconciliation() -> StoredReconciliation | None:
    """The newest stored run of the current scope (one municipality's, or the region's), or None."""
    scope = current_scope()
    run = db.session.execute(select(ReconciliationRun).where(
        ReconciliationRun.municipality_id.is_(None) if scope is None else ReconciliationRun.municipality_id == scope)
        .order_by(ReconciliationRun.computed_at.desc(), ReconciliationRun.id.desc()).limit(1)
        .execution_options(all_municipalities=True)).scalar_one_or_none()
    if run is None:
        return None
    data = run.result
    return StoredReconciliation(run, data["totals"], [ProviderLine(**p) for p in data["providers"]],
                                [MunicipalityLine(**m) for m in data["municipalities"]], data["mismatches"],
                                data["mismatch_count"])


def reconciliation_summary() -> Reconciliation | StoredReconciliation:
    """What the page and the API answer at once: the reconciliation computed now while the scope holds
    few enough certificates (LIVE_REPORT_LIMIT; a district's take well under a second), else the
    newest stored run. Raises NotFoundError when there is none yet."""
    if ledger.few_certificates():
        return reconcile()
    stored = latest_reconciliation()
    if stored is None:
        raise NotFoundError("Сверка ещё не выполнялась: запустите её, она займёт несколько минут.")
    return stored


def start_reconciliation(actor: User):
    """Reconcile the official's municipality (the regional operator's: the region) as a job with progress."""
    from certapp.bookkeeping.jobs import reconcile_job
    from certapp.jobs.services import start

    require_role(actor, "bookkeeping", "department")
    return start(reconcile_job, "reconciliation.run", "Сверка средств сертификатов", actor, actor.id, current_scope())


def _certificate_lines_query():
    return (select(Certificate.number, CertificateBalance.nominal, CertificateBalance.available,
                   CertificateBalance.reserved, CertificateBalance.spent, CertificateBalance.expired)
            .join(CertificateBalance, CertificateBalance.certificate_id == Certificate.id).order_by(Certificate.number))


def certificate_lines(after: str | None = None, limit: int = 100, cap: int = 1000) -> list:
    """One page of the per-certificate lines, by number after `after` (keyset: as fast on the last page
    as on the first)."""
    stmt = _certificate_lines_query().limit(max(1, min(limit, cap)))
    if after:
        stmt = stmt.where(Certificate.number > after)
    return db.session.execute(stmt).all()


def count_certificate_lines() -> int:
    return db.session.execute(select(func.count()).select_from(CertificateBalance)).scalar_one()


def start_certificate_export(actor: User, fmt: str):
    """Every certificate's line into a CSV or XLSX file, as a job with progress (bookkeeping.jobs)."""
    from certapp.bookkeeping.jobs import export_certificate_lines
    from certapp.jobs.services import FILE_TYPES, start

    require_role(actor, "bookkeeping", "department")
    if fmt not in FILE_TYPES:
        raise ValidationError("Формат выгрузки: csv или xlsx.", field="format")
    return start(export_certificate_lines, "reconciliation.export", f"Выгрузка сверки по сертификатам ({fmt.upper()})",
                 actor, actor.id, current_scope(), fmt)


def stream_certificate_lines(batch: int = 2000):
    """Every per-certificate line, read page by page by number (keyset, as certificate_lines): memory
    holds one page, and a job may commit its progress between pages (a server-side cursor would not
    survive the commit)."""
    after = None
    while page := certificate_lines(after, batch, cap=batch):
        yield from page
        after = page[-1].number
        if len(page) < batch:
            return
