"""The provider's advance and final invoices: formed per month, approved (an approved advance pays from the
certificates' reserves) or rejected. Money moves only through certapp.ledger.services (here: an approved
advance)."""
from datetime import date
from typing import Any

from sqlalchemy import Select, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import joinedload

from certapp.accounts.models import User
from certapp.audit.services import record_event
from certapp.bookkeeping.agreements import AgreementRequiredError, advance_percent, agreement_in_force, signed_content
from certapp.bookkeeping.models import (
    INVOICE_KINDS,
    INVOICE_TRANSITIONS,
    Agreement,
    Invoice,
    InvoiceLine,
)
from certapp.bookkeeping.registers import BuildResult, _own
from certapp.common import clock
from certapp.common.errors import ConflictError, NotFoundError, ValidationError
from certapp.common.money import share
from certapp.common.months import add_months
from certapp.common.roles import require_role
from certapp.common.rows import get_existing
from certapp.common.states import transition
from certapp.common.validators import free_text
from certapp.contracts.models import Contract, ContractMonth, ServiceReport
from certapp.contracts.months import month_key
from certapp.db import db, utcnow
from certapp.documents.services import (
    SignedDocument,
    next_number,
    sign_document,
    signed_document_finder,
)
from certapp.jobs.models import Job
from certapp.jobs.services import start
from certapp.ledger import services as ledger
from certapp.reference.services import own_municipality_id
from certapp.registry.models import Provider


def _advance_rows(provider_id: int, municipality_id: int, month: date) -> Select[Contract, ContractMonth]:
    """Contract months paid in full this month (the contract in force on its 1st) that have neither
    an advance nor a report yet."""
    return (select(Contract, ContractMonth).join(ContractMonth, ContractMonth.contract_id == Contract.id)
            .where(Contract.provider_id == provider_id, Contract.municipality_id == municipality_id,
                   Contract.status == "active", Contract.start_month <= month,
                   or_(Contract.terminated_from.is_(None), Contract.terminated_from > month),
                   ContractMonth.month == month, ContractMonth.status == "planned",
                   ContractMonth.certificate_amount > 0)
            .order_by(Contract.id))


def _final_rows(provider_id: int, municipality_id: int, month: date
                ) -> Select[Contract, ServiceReport, ContractMonth]:
    return (select(Contract, ServiceReport, ContractMonth)
            .join(ServiceReport, ServiceReport.contract_id == Contract.id)
            .join(ContractMonth, (ContractMonth.contract_id == Contract.id) & (ContractMonth.month == month))
            .where(Contract.provider_id == provider_id, Contract.municipality_id == municipality_id,
                   ServiceReport.month == month)
            .order_by(Contract.id))


def _line(contract: Contract, month_amount: int, amount: int, **figures: int | None) -> InvoiceLine:
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
    if municipality_id is None:
        raise ValidationError("Не указано муниципальное образование счёта.", field="municipality_id")
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
    if invoice.share_percent is not None:  # an advance
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
        with db.session.begin_nested():  # the unique index decides a race or a repeat; the savepoint keeps the unit to refuse by name
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
    return sorted((provider_id, municipality_id) for provider_id, municipality_id in db.session.execute(pairs))


def invoices_to_form(month: date, actor: User | None) -> list[tuple[int, int]]:
    """The (provider, municipality) pairs invoiced for the month in one action, once the actor may.
    `actor` None: the system's job of the 1st."""
    municipality_id = None
    if actor is not None:
        require_role(actor, "bookkeeping")
        municipality_id = own_municipality_id(actor)
    return providers_to_invoice(month.replace(day=1), municipality_id)


def form_or_skip(result: BuildResult[Invoice], kind: str, provider_id: int, paying: int, month: date, actor: User | None,
                 today: date | None = None) -> None:
    """One provider's invoice of the action into `result`, or the reason it cannot be invoiced. A
    savepoint: the action records a refusal per provider and goes on, the refused provider's partial
    work undone."""
    try:
        with db.session.begin_nested():  # one row's refusal is recorded and the rest goes on: a savepoint undoes that row only
            result.built.append(form_invoice(kind, provider_id, month.replace(day=1), actor, paying, today))
    except (AgreementRequiredError, ConflictError, ValidationError) as error:
        result.skipped.append((get_existing(Provider, provider_id), error.message))


def form_invoices(kind: str, month: date, actor: User | None, today: date | None = None) -> BuildResult[Invoice]:
    """Every provider's invoice of a kind for the month, in the caller's unit (a provider that cannot be
    invoiced is skipped with the reason; the job commits each provider in a unit of its own:
    bookkeeping.jobs)."""
    result: BuildResult[Invoice] = BuildResult()
    for provider_id, paying in invoices_to_form(month, actor):
        form_or_skip(result, kind, provider_id, paying, month, actor, today)
    return result


def start_forming_invoices(kind: str, month: date, actor: User) -> Job:
    """Form every provider's invoices of a kind for the month as a job with progress (bookkeeping.jobs)."""
    from certapp.bookkeeping.jobs import form_invoices_job  # the job runs this module's functions: bookkeeping.jobs imports it

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


def invoice_content(invoice: Invoice) -> dict[str, Any]:
    return {"number": invoice.number, "kind": invoice.kind, "provider": invoice.provider.inn, "month": invoice.month,
            "agreement": invoice.agreement.number, "total": invoice.total, "approved_at": invoice.approved_at,
            "lines": [[line.contract_id, line.month_amount, line.lessons_planned, line.lessons_held, line.due,
                       line.advance, line.amount] for line in invoice.lines]}


@signed_document_finder
def _signed_agreement_or_invoice(number: str) -> SignedDocument | None:
    if number.startswith("СГ-"):
        agreement = db.session.execute(select(Agreement).where(Agreement.number == number)).scalar_one_or_none()
        return SignedDocument("agreement", "Соглашение о финансовом обеспечении затрат", number,
                              signed_content(agreement), agreement.signature, gender="n",
                              provider_id=agreement.provider_id) if agreement else None
    if number.startswith("СЧ-"):
        invoice = db.session.execute(select(Invoice).where(Invoice.number == number)).scalar_one_or_none()
        return SignedDocument("invoice", invoice.kind_name, number, invoice_content(invoice),
                              invoice.signature, provider_id=invoice.provider_id) if invoice else None
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
    reason = free_text(reason, "Укажите причину отклонения.")
    invoice = get_invoice(invoice_id)
    transition(invoice, "rejected", INVOICE_TRANSITIONS, actor, event="invoice",
               refusal="Счёт в состоянии «{status}».", details={"reason": reason})
    invoice.rejection_reason = reason
    return invoice


def invoices_query(month: date | None = None, kind: str | None = None, status: str | None = None,
                   provider_id: int | None = None, user: User | None = None) -> Select[Invoice]:
    stmt = _own(select(Invoice).options(joinedload(Invoice.provider), joinedload(Invoice.municipality))
                .order_by(Invoice.month.desc(), Invoice.kind, Invoice.id.desc()), Invoice, user)
    if month:
        stmt = stmt.where(Invoice.month == month.replace(day=1))
    for column, value in ((Invoice.kind, kind), (Invoice.status, status), (Invoice.provider_id, provider_id)):
        if value:
            stmt = stmt.where(column == value)
    return stmt
