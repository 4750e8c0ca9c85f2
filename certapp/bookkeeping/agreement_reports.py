"""The provider's quarterly report on the execution of its agreement."""
from datetime import date, timedelta
from typing import Any

from sqlalchemy import Select, func, select
from sqlalchemy.exc import IntegrityError

from certapp.accounts.models import User
from certapp.audit.services import record_event
from certapp.bookkeeping.models import AGREEMENT_REPORT_TRANSITIONS, Agreement, AgreementReport, PaymentRegister
from certapp.common import clock
from certapp.common.errors import ConflictError, NotFoundError, ValidationError
from certapp.common.months import add_months, check_year, quarter_months
from certapp.common.roles import require_role
from certapp.common.states import transition
from certapp.common.validators import free_text
from certapp.contracts.models import Contract, ContractMonth
from certapp.db import db, utcnow
from certapp.documents.services import SignedDocument, next_number, sign_document, signed_document_finder
from certapp.ledger.models import LedgerEntry


def _quarter(year: int, quarter: int) -> tuple[date, date]:
    """The first days of the quarter's first and last months; refuses a quarter or year out of range."""
    check_year(year)
    if quarter not in (1, 2, 3, 4):
        raise ValidationError("Квартал — от 1 до 4.", field="quarter")
    return quarter_months(year, quarter)


def agreement_report_figures(agreement: Agreement, year: int, quarter: int) -> dict[str, Any]:
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


def agreement_report_content(report: AgreementReport) -> dict[str, Any]:
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
        with db.session.begin_nested():  # the unique index decides a race or a repeat; the savepoint keeps the unit to refuse by name
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
    reason = free_text(reason, "Укажите, что исправить." if decision == "returned" else None)
    report = db.session.get(AgreementReport, report_id)
    if report is None:
        raise NotFoundError("Отчёт не найден.")
    transition(report, decision, AGREEMENT_REPORT_TRANSITIONS, actor, event="agreement_report",
               refusal="Отчёт уже в состоянии «{status}».", details={"reason": reason} if reason else None)
    report.decided_at, report.decided_by_id, report.return_reason = utcnow(), actor.id, reason
    return report


def agreement_reports_query(user: User, status: str | None = None) -> Select[AgreementReport]:
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
