from collections.abc import Sequence
from typing import Any

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_login import current_user
from sqlalchemy import select

from certapp.accounts.access import roles
from certapp.bookkeeping import agreement_reports as agreement_reports_services
from certapp.bookkeeping import agreements as agreements_services
from certapp.bookkeeping import exports
from certapp.bookkeeping import invoices as invoices_services
from certapp.bookkeeping import reconciliation as reconciliation_services
from certapp.bookkeeping import registers as registers_services
from certapp.bookkeeping.forms import EndForm, InvoiceForm, MonthForm, PayForm, RejectForm, TermForm
from certapp.bookkeeping.models import (
    AGREEMENT_REPORT_STATUSES,
    AGREEMENT_STATUSES,
    INVOICE_KINDS,
    INVOICE_STATUSES,
    REGISTER_STATUSES,
    Agreement,
)
from certapp.bookkeeping.printing import agreement_document
from certapp.bookkeeping.schemas import (
    AgreementQuerySchema,
    AgreementReportQuerySchema,
    CertificateLinesQuerySchema,
    InvoiceQuerySchema,
    PaymentRegisterQuerySchema,
)
from certapp.common import clock
from certapp.common.errors import DomainError, NotFoundError
from certapp.common.exports import csv_response, xlsx_response
from certapp.common.forms import choices
from certapp.common.money import kopecks_to_rub_str, parse_rub
from certapp.common.months import add_months, first_of_month, last_finished_quarter, parse_month
from certapp.common.pagination import page_number, paginate
from certapp.common.printing import pdf_response, print_page
from certapp.common.replica import reads_from_replica
from certapp.common.schemas import page_filters
from certapp.common.web import run_and_flash
from certapp.db import db
from certapp.registry.models import Provider
from certapp.registry.services import registry_providers
from certapp.uow import refuse

bp = Blueprint("bookkeeping", __name__, url_prefix="/bookkeeping")




@bp.route("/agreements")
@roles("bookkeeping", "department", "provider")
def agreements():
    args, errors = page_filters(AgreementQuerySchema(), request.args)  # the API's own (api.list_agreements)
    status = args.get("status")
    page = paginate(agreements_services.agreements_query(status, current_user), page_number(request.args), 50)
    return render_template("bookkeeping/agreements.html", page=page, status=status, statuses=AGREEMENT_STATUSES,
                           errors=errors), 422 if errors else 200


@bp.route("/agreements/<int:agreement_id>")
@roles("bookkeeping", "department", "provider")
def agreement(agreement_id: int):
    return _agreement_page(agreements_services.get_agreement(agreement_id, current_user))


@bp.route("/agreements/<int:agreement_id>/print")
@bp.route("/agreements/<int:agreement_id>/agreement.pdf", endpoint="agreement_pdf")
@roles("bookkeeping", "department", "provider")
def agreement_print(agreement_id: int) -> ResponseReturnValue:
    """The agreement printed (its current version, both signatures): a print-friendly page or the PDF."""
    document = agreement_document(agreements_services.get_agreement(agreement_id, current_user))
    if request.path.endswith(".pdf"):
        return pdf_response(document)
    return print_page(document, url_for("bookkeeping.agreement_pdf", agreement_id=agreement_id),
                      url_for("bookkeeping.agreement", agreement_id=agreement_id))


def _agreement_page(agreement_: Agreement, term: TermForm | None = None, status: int = 200) -> ResponseReturnValue:
    """The agreement's page; `term`: the conclude/amend form as sent, its errors beside its fields."""
    if term is None:
        term = TermForm(prefix="term", obj=agreement_)
        if agreement_.amount_limit is not None:
            term.amount_limit.data = kopecks_to_rub_str(agreement_.amount_limit)
    if agreement_.status == "concluded":
        term.submit.label.text = "Изменить (дополнительное соглашение)"
    return render_template("bookkeeping/agreement.html", agreement=agreement_, term_form=term,
                           end_form=EndForm(prefix="end"), payment_terms=agreements_services.payment_terms(agreement_),
                           content=agreements_services.signed_content(agreement_) if agreement_.number else None
                           ), status


@bp.route("/agreements/<int:agreement_id>/accept", methods=["POST"])
@roles("provider")
def accept_agreement(agreement_id: int):
    """The provider signs the agreement's current version (the service refuses another's: 404)."""
    run_and_flash(lambda: agreements_services.accept_agreement(agreement_id, current_user),
                  "Соглашение подписано: с подписями обеих сторон оно действует.")
    return redirect(url_for("bookkeeping.agreement", agreement_id=agreement_id))


@bp.route("/agreements/<int:agreement_id>/<any(conclude, amend, end):action>", methods=["POST"])
@roles("bookkeeping")
def agreement_action(agreement_id: int, action: str):
    if action == "end":
        form = EndForm(prefix="end")
        if form.validate_on_submit():
            run_and_flash(lambda: agreements_services.end_agreement(agreement_id, current_user, form.ended_on.data, form.reason.data),
                          "Соглашение прекращено.")
        else:
            flash("Укажите дату и основание прекращения.", "error")
    else:
        form = TermForm(prefix="term")
        form.validate_on_submit()
        limit = (form.amount_limit.data or "").strip()
        amount_limit = None
        if limit:
            try:
                amount_limit = parse_rub(limit, "amount_limit")
            except DomainError as error:
                form.add_domain_error(error)
                # the volume's own rule too, so that every wrong field shows after one submit
                form.add_service_checks(agreements_services.check_volume, form.volume_children.data, None)
        if not any(field.errors for field in form) and not form.form_errors:
            call = agreements_services.conclude_agreement if action == "conclude" else agreements_services.amend_agreement
            try:
                call(agreement_id, current_user, form.valid_from.data, form.valid_to.data,
                     volume_children=form.volume_children.data, amount_limit=amount_limit)
            except DomainError as error:
                form.add_domain_error(refuse(error))
            else:
                flash("Соглашение подписано и направлено исполнителю на подпись." if action == "conclude"
                      else "Дополнительное соглашение подписано и направлено исполнителю на подпись.", "success")
                return redirect(url_for("bookkeeping.agreement", agreement_id=agreement_id))
        # every field's error beside its field, the values as sent
        return _agreement_page(agreements_services.get_agreement(agreement_id, current_user), form, 422)
    return redirect(url_for("bookkeeping.agreement", agreement_id=agreement_id))


def _month_form(form_class: type[MonthForm] = MonthForm) -> MonthForm:
    form = form_class()
    # the providers to choose from: only bookkeeping forms the month (a provider reads its own documents)
    providers = registry_providers() if current_user.role == "bookkeeping" else []
    form.provider_id.choices = choices([(0, "все исполнители")] + [(p.id, p.short_name) for p in providers])
    return form


def _filter_providers() -> list[Provider] | None:
    """The providers a list of registers or invoices is filtered by (those admitted where the official looks, as
    the filter accepts); None for a provider, who reads only its own."""
    return None if current_user.role == "provider" else registry_providers()


def _form_for_month(form, back: str, one, one_done: str, every, every_started: str):
    """A month's documents from the posted form: one provider's at once, or every provider's as a job
    with a progress bar (long work), whose page the bookkeeper is sent to."""
    if form.validate_on_submit():
        try:
            month = parse_month(form.month.data)
        except DomainError as error:
            refuse(error)
            flash(error.message, "error")
        else:
            if form.provider_id.data:
                run_and_flash(lambda: one(form.provider_id.data, month), one_done)
            else:
                record = run_and_flash(lambda: every(month), every_started)
                if record is not None:
                    return redirect(url_for("jobs.job", job_id=record.id))
    return redirect(url_for(back))


@bp.route("/registers", methods=["GET", "POST"])
@roles("bookkeeping", "department", "provider")
def registers():
    form = _month_form()
    if request.method == "POST":  # the services refuse any role but bookkeeping
        return _form_for_month(form, "bookkeeping.registers",
                               lambda provider_id, month: registers_services.build_register(provider_id, month, current_user),
                               "Реестр сформирован.",
                               lambda month: registers_services.start_building(month, current_user), "Реестры формируются.")
    args, errors = page_filters(PaymentRegisterQuerySchema(), request.args)  # the API's own (api.list_registers)
    month_value, status = args.get("month"), args.get("status")
    page = paginate(registers_services.registers_query(month_value, status, args.get("provider_id"), current_user),
                    page_number(request.args), 50)
    last_month = add_months(first_of_month(clock.today()), -1)  # a register is built once its month is over
    form.month.render_kw = {**form.month.render_kw, "max": f"{last_month:%Y-%m}"}
    if not form.month.data:
        form.month.data = f"{last_month:%Y-%m}"
    return render_template("bookkeeping/registers.html", page=page, form=form, statuses=REGISTER_STATUSES,
                           status=status, month=f"{month_value:%Y-%m}" if month_value else "", errors=errors,
                           providers=_filter_providers(), provider_id=args.get("provider_id")
                           ), 422 if errors else 200


@bp.route("/registers/<int:register_id>")
@bp.route("/registers/<int:register_id>.<any(csv, xlsx):fmt>")
@roles("bookkeeping", "department", "provider")
def register(register_id: int, fmt: str | None = None):
    register_ = registers_services.get_register(register_id, current_user)
    if fmt == "csv":
        return csv_response(exports.REGISTER_HEADERS, exports.register_rows(register_), f"register-{register_.id}.csv")
    if fmt == "xlsx":
        return xlsx_response(f"register-{register_.id}.xlsx", [
            (f"Реестр {register_.number}", exports.REGISTER_HEADERS, exports.register_rows(register_), (4,))])
    return render_template("bookkeeping/register.html", register=register_, reject_form=RejectForm(prefix="reject"),
                           pay_form=PayForm(prefix="pay"))


@bp.route("/registers/<int:register_id>/<any(approve, reject, pay, refresh):action>", methods=["POST"])
@roles("bookkeeping")
def register_action(register_id: int, action: str):
    if action == "approve":
        run_and_flash(lambda: registers_services.approve_register(register_id, current_user), "Реестр утверждён.")
    elif action == "refresh":
        run_and_flash(lambda: registers_services.refresh_register(register_id, current_user), "Реестр обновлён.")
    elif action == "reject":
        form = RejectForm(prefix="reject")
        run_and_flash(lambda: registers_services.reject_register(register_id, current_user, form.reason.data), "Реестр отклонён.")
    else:
        form = PayForm(prefix="pay")
        if form.validate_on_submit():
            try:
                registers_services.mark_paid(register_id, current_user, form.payment_order_number.data,
                                             form.payment_order_date.data)
            except DomainError as error:
                refuse(error)
                form.add_domain_error(error)
            else:
                flash("Оплата отмечена.", "success")
                return redirect(url_for("bookkeeping.register", register_id=register_id))
        # the refusal beside its field (the date, the number), on the register's page
        flash("Оплата не отмечена: исправьте отмеченные поля.", "error")
        return render_template("bookkeeping/register.html", register=registers_services.get_register(register_id),
                               reject_form=RejectForm(prefix="reject"), pay_form=form), 422
    return redirect(url_for("bookkeeping.register", register_id=register_id))


@bp.route("/invoices", methods=["GET", "POST"])
@roles("bookkeeping", "department", "provider")
def invoices():
    """The advance and final invoices: formed for a month (one provider or all), listed by filters."""
    form = _month_form(InvoiceForm)
    if request.method == "POST":  # the services refuse any role but bookkeeping
        return _form_for_month(
            form, "bookkeeping.invoices",
            lambda provider_id, month: invoices_services.form_invoice(form.kind.data, provider_id, month, current_user),
            "Счёт сформирован.",
            lambda month: invoices_services.start_forming_invoices(form.kind.data, month, current_user), "Счета формируются.")
    args, errors = page_filters(InvoiceQuerySchema(), request.args)  # the API's own filters (api.list_invoices)
    filters: dict[str, Any] = {"kind": args.get("kind"), "status": args.get("status")}
    month = args.get("month")
    page = paginate(invoices_services.invoices_query(month, **filters, provider_id=args.get("provider_id"),
                                                     user=current_user), page_number(request.args),
                    50)
    if not form.month.data:
        form.month.data = f"{clock.today():%Y-%m}"
    return render_template("bookkeeping/invoices.html", page=page, form=form, kinds=INVOICE_KINDS,
                           statuses=INVOICE_STATUSES, month=f"{month:%Y-%m}" if month else "", errors=errors,
                           providers=_filter_providers(), provider_id=args.get("provider_id"),
                           **filters), 422 if errors else 200


@bp.route("/invoices/<int:invoice_id>")
@roles("bookkeeping", "department", "provider")
def invoice(invoice_id: int):
    return render_template("bookkeeping/invoice.html", invoice=invoices_services.get_invoice(invoice_id, current_user),
                           reject_form=RejectForm(prefix="reject"))


@bp.route("/invoices/<int:invoice_id>/<any(approve, reject):action>", methods=["POST"])
@roles("bookkeeping")
def invoice_action(invoice_id: int, action: str):
    if action == "approve":
        run_and_flash(lambda: invoices_services.approve_invoice(invoice_id, current_user), "Счёт утверждён.")
    else:
        form = RejectForm(prefix="reject")
        run_and_flash(lambda: invoices_services.reject_invoice(invoice_id, current_user, form.reason.data), "Счёт отклонён.")
    return redirect(url_for("bookkeeping.invoice", invoice_id=invoice_id))


@bp.route("/agreement-reports", methods=["GET", "POST"])
@roles("provider", "bookkeeping", "department")
def agreement_reports():
    """Providers form their quarterly reports on their agreements; bookkeeping accepts or returns them."""
    if request.method == "POST":  # the service refuses any role but the provider
        report = run_and_flash(lambda: agreement_reports_services.form_agreement_report(
            current_user, request.form.get("agreement_id", type=int) or 0, request.form.get("year", type=int) or 0,
            request.form.get("quarter", type=int) or 0), None)
        if report is not None:
            flash(f"Отчёт № {report.number} сформирован, подписан и отправлен в бухгалтерию.", "success")
            return redirect(url_for("bookkeeping.agreement_report", report_id=report.id))
        return redirect(url_for("bookkeeping.agreement_reports"))
    args, errors = page_filters(AgreementReportQuerySchema(), request.args)  # the API's own filters
    status = args.get("status")
    page = paginate(agreement_reports_services.agreement_reports_query(current_user, status), page_number(request.args), 50)
    agreements: Sequence[Agreement] = []
    if current_user.role == "provider":
        agreements = db.session.execute(select(Agreement).where(
            Agreement.provider_id == (current_user.provider_id or -1), Agreement.number.is_not(None))
            .order_by(Agreement.id)).scalars().all()
    return render_template("bookkeeping/agreement_reports.html", page=page, status=status,
                           statuses=AGREEMENT_REPORT_STATUSES, agreements=agreements,
                           last_quarter=last_finished_quarter(clock.today()), errors=errors), 422 if errors else 200


@bp.route("/agreement-reports/<int:report_id>", methods=["GET", "POST"])
@roles("provider", "bookkeeping", "department")
def agreement_report(report_id: int):
    report = agreement_reports_services.get_agreement_report(report_id, current_user)
    if request.method == "POST":  # the service refuses any role but bookkeeping
        decision = request.form.get("decision", "")
        run_and_flash(lambda: agreement_reports_services.decide_agreement_report(report.id, decision, current_user,
                                                                                 request.form.get("reason")),
                      "Отчёт принят." if decision == "accepted" else "Отчёт возвращён исполнителю.")
        return redirect(url_for("bookkeeping.agreement_report", report_id=report.id))
    return render_template("bookkeeping/agreement_report.html", report=report)


@bp.route("/reconciliation")
@bp.route("/reconciliation.<any(csv, xlsx):fmt>")
@roles("bookkeeping", "department")
@reads_from_replica
def reconciliation(fmt: str | None = None):
    """The summary at once (computed now in a small scope, else the newest stored run); the
    per-certificate lines a page at a time (keyset by number); the whole computation and the full
    export as jobs with progress."""
    try:
        result = reconciliation_services.reconciliation_summary()
    except NotFoundError as error:
        if fmt:
            flash(error.message, "error")
            return redirect(url_for("bookkeeping.reconciliation"))
        result = None
    if fmt == "csv" and result is not None:
        return csv_response(exports.RECONCILIATION_PROVIDER_HEADERS, exports.provider_rows(result),
                            "reconciliation-providers.csv")
    if fmt == "xlsx" and result is not None:
        return xlsx_response("reconciliation.xlsx", exports.reconciliation_sheets(result))
    # the API's own schema (api.reconciliation_certificates); the page's lines are always 100
    args, errors = page_filters(CertificateLinesQuerySchema(only=("after",)), request.args)
    after = args.get("after")
    lines = reconciliation_services.certificate_lines(after, 100)
    return render_template("bookkeeping/reconciliation.html", result=result, lines=lines, after=after,
                           next_after=lines[-1].number if len(lines) == 100 else None, errors=errors,
                           can_start=current_user.role in ("bookkeeping", "department")), 422 if errors else 200


@bp.route("/reconciliation/run", methods=["POST"])
@roles("bookkeeping", "department")
def run_reconciliation():
    """Reconcile now, as a job: its page shows the progress and links back to the result."""
    record = reconciliation_services.start_reconciliation(current_user)
    flash("Сверка запущена.", "success")
    return redirect(url_for("jobs.job", job_id=record.id))


@bp.route("/reconciliation/export", methods=["POST"])
@roles("bookkeeping", "department")
def export_reconciliation():
    """Every certificate's line into a file (CSV or XLSX), as a job with progress and a download link."""
    try:
        record = reconciliation_services.start_certificate_export(current_user, request.form.get("format", ""))
    except DomainError as error:
        refuse(error)
        refuse(error)
        flash(error.message, "error")
        return redirect(url_for("bookkeeping.reconciliation"))
    flash("Выгрузка запущена.", "success")
    return redirect(url_for("jobs.job", job_id=record.id))
