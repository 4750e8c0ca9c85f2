from datetime import date

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_login import current_user

from certapp.accounts.access import roles
from certapp.bookkeeping import exports, services
from certapp.bookkeeping.forms import EndForm, MonthForm, PayForm, RejectForm, TermForm
from certapp.bookkeeping.models import AGREEMENT_STATUSES, REGISTER_STATUSES
from certapp.common.errors import DomainError
from certapp.common.exports import csv_response, xlsx_response
from certapp.common.forms import choices
from certapp.common.pagination import paginate
from certapp.common.web import run_and_flash
from certapp.contracts.services import parse_month
from certapp.registry.services import registry_providers

bp = Blueprint("bookkeeping", __name__, url_prefix="/bookkeeping")




@bp.route("/agreements")
@roles("bookkeeping", "department")
def agreements():
    status = request.args.get("status") or None
    status = status if status in AGREEMENT_STATUSES else None
    page = paginate(services.agreements_query(status), request.args.get("page", 1, type=int), 50)
    return render_template("bookkeeping/agreements.html", page=page, status=status, statuses=AGREEMENT_STATUSES)


@bp.route("/agreements/<int:agreement_id>")
@roles("bookkeeping", "department")
def agreement(agreement_id: int):
    agreement_ = services.get_agreement(agreement_id)
    term = TermForm(prefix="term", obj=agreement_)
    if agreement_.status == "concluded":
        term.submit.label.text = "Изменить (дополнительное соглашение)"
    return render_template("bookkeeping/agreement.html", agreement=agreement_, term_form=term,
                           end_form=EndForm(prefix="end"))


@bp.route("/agreements/<int:agreement_id>/<any(conclude, amend, end):action>", methods=["POST"])
@roles("bookkeeping")
def agreement_action(agreement_id: int, action: str):
    if action == "end":
        form = EndForm(prefix="end")
        if form.validate_on_submit():
            run_and_flash(lambda: services.end_agreement(agreement_id, current_user, form.ended_on.data, form.reason.data),
                          "Соглашение прекращено.")
        else:
            flash("Укажите дату и основание прекращения.", "error")
    else:
        form = TermForm(prefix="term")
        if form.validate_on_submit():
            call = services.conclude_agreement if action == "conclude" else services.amend_agreement
            run_and_flash(lambda: call(agreement_id, current_user, form.valid_from.data, form.valid_to.data),
                          "Соглашение заключено." if action == "conclude" else "Соглашение изменено.")
        else:
            flash("Укажите срок действия.", "error")
    return redirect(url_for("bookkeeping.agreement", agreement_id=agreement_id))


def _month_form() -> MonthForm:
    form = MonthForm()
    providers = registry_providers()
    form.provider_id.choices = choices([(0, "все исполнители")] + [(p.id, p.short_name) for p in providers])
    return form


@bp.route("/registers", methods=["GET", "POST"])
@roles("bookkeeping", "department")
def registers():
    form = _month_form()
    if request.method == "POST":  # the services refuse any role but bookkeeping
        if form.validate_on_submit():
            try:
                month = parse_month(form.month.data)
            except DomainError as error:
                flash(error.message, "error")
            else:
                if form.provider_id.data:
                    run_and_flash(lambda: services.build_register(form.provider_id.data, month, current_user),
                                  "Реестр сформирован.")
                else:  # every provider: long work, a job with a progress bar
                    record = run_and_flash(lambda: services.start_building(month, current_user), "Реестры формируются.")
                    if record is not None:
                        return redirect(url_for("jobs.job", job_id=record.id))
        return redirect(url_for("bookkeeping.registers"))
    month = request.args.get("month")
    try:
        month_value = parse_month(month) if month else None
    except DomainError:
        month_value = None
    status = request.args.get("status") if request.args.get("status") in REGISTER_STATUSES else None
    page = paginate(services.registers_query(month_value, status), request.args.get("page", 1, type=int), 50)
    if not form.month.data:
        form.month.data = f"{date.today():%Y-%m}"
    return render_template("bookkeeping/registers.html", page=page, form=form, statuses=REGISTER_STATUSES,
                           status=status, month=month or "")


@bp.route("/registers/<int:register_id>")
@bp.route("/registers/<int:register_id>.<any(csv, xlsx):fmt>")
@roles("bookkeeping", "department")
def register(register_id: int, fmt: str | None = None):
    register_ = services.get_register(register_id)
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
        run_and_flash(lambda: services.approve_register(register_id, current_user), "Реестр утверждён.")
    elif action == "refresh":
        run_and_flash(lambda: services.refresh_register(register_id, current_user), "Реестр обновлён.")
    elif action == "reject":
        form = RejectForm(prefix="reject")
        run_and_flash(lambda: services.reject_register(register_id, current_user, form.reason.data), "Реестр отклонён.")
    else:
        form = PayForm(prefix="pay")
        if form.validate_on_submit():
            run_and_flash(lambda: services.mark_paid(register_id, current_user, form.payment_order_number.data,
                                                     form.payment_order_date.data), "Оплата отмечена.")
        else:
            flash("Укажите номер и дату платёжного поручения.", "error")
    return redirect(url_for("bookkeeping.register", register_id=register_id))


@bp.route("/reconciliation")
@bp.route("/reconciliation.<any(csv, xlsx):fmt>")
@roles("bookkeeping", "department")
def reconciliation(fmt: str | None = None):
    result = services.reconcile()
    if fmt == "csv":
        return csv_response(exports.RECONCILIATION_PROVIDER_HEADERS, exports.provider_rows(result),
                            "reconciliation-providers.csv")
    if fmt == "xlsx":
        return xlsx_response("reconciliation.xlsx", exports.reconciliation_sheets(result))
    return render_template("bookkeeping/reconciliation.html", result=result)
