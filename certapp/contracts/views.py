from datetime import date
from typing import Any

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_login import current_user

from certapp.accounts.access import authenticated, roles
from certapp.common import clock, events
from certapp.common.bulk import BulkResult
from certapp.common.errors import DomainError, PermissionDeniedError
from certapp.common.forms import UNSHOWN_FIELDS, choices
from certapp.common.money import format_rub, parse_rub
from certapp.common.months import month_label, month_label_from, parse_month
from certapp.common.pagination import page_number, paginate
from certapp.common.printing import pdf_response, print_page
from certapp.common.schemas import page_filters
from certapp.common.web import flash_bulk, run_and_flash
from certapp.contracts import contracts as contract_services
from certapp.contracts import enrollments as enrollments_services
from certapp.contracts import service_reports
from certapp.contracts.contracts import DOCUMENT_LOAD
from certapp.contracts.forms import CorrectionForm, DeclineForm, EnrollForm, ReportForm, SignForm, TerminateForm
from certapp.contracts.models import CONTRACT_STATUSES, ENROLLMENT_STATUSES, GROUNDS_BY_ROLE, TERMINATION_GROUNDS
from certapp.contracts.printing import contract_document
from certapp.contracts.schemas import ContractQuerySchema, EnrollmentQuerySchema
from certapp.jobs.bulk import bulk_from_page
from certapp.ledger.services import entries_of
from certapp.programs.services import get_program_for
from certapp.uow import refuse

bp = Blueprint("contracts", __name__)

@bp.app_template_filter("month")
def month_filter(month: date) -> str:
    return month_label(month) if month else ""


@bp.app_template_filter("month_from")
def month_from_filter(month: date) -> str:
    """«с {{ m|month_from }}» -> «с января 2026»."""
    return month_label_from(month) if month else ""




@bp.route("/enroll/<int:program_id>", methods=["GET", "POST"])
@roles("parent")
def enroll(program_id: int):
    """The enrollment form: a group and a start month, then only the certificates that can pay for them,
    each with its split (the certificate's part and the parent's) at its balance now. «Показать расчёт»
    recomputes the page for another group or month; «Записать ребёнка» sends the request."""
    program = get_program_for(program_id, current_user)
    form = EnrollForm()
    today = clock.today()
    groups = [g for g in program.groups if enrollments_services.start_months(g, today)]
    # each group with its school year, dates and free seats: two groups of one name are told apart
    labels = enrollments_services.group_labels(program, groups)
    form.group_id.choices = choices((g.id, labels[g.id]) for g in groups)
    submitted, preview = form.is_submitted(), bool(request.form.get("preview"))
    wanted = form.group_id.data if submitted else request.args.get("group", type=int)
    # a group not of this program is refused by the form's check, never replaced by another
    chosen = next((g for g in groups if g.id == wanted), None if submitted else (groups[0] if groups else None))
    options, start = [], None
    if chosen is not None:
        months = enrollments_services.start_months(chosen, today)
        form.start_month.choices = choices((f"{m:%Y-%m}", month_label(m)) for m in months)
        wanted = form.start_month.data if submitted else request.args.get("start")
        start = next((m for m in months if f"{m:%Y-%m}" == wanted), None)
        if start is None and (preview or not submitted):  # another group's month: its first one instead
            start = months[0]
            form.start_month.data = f"{start:%Y-%m}"
        form.group_id.data = chosen.id
        if start is not None:
            options = enrollments_services.enrollment_options(current_user, chosen, start)
    usable = [o for o in options if o.split is not None]
    form.certificate_id.choices = choices((o.certificate.id, f"{o.certificate.child.full_name} — № {o.certificate.number}, " + (
        f"доступно {format_rub(o.certificate.balance.available)}" if o.certificate.balance
        else "сертификат учёта: оплачивает родитель")) for o in usable)
    if submitted and not preview and form.validate_on_submit():
        enrollment = run_and_flash(lambda: enrollments_services.request_enrollment(current_user, form.certificate_id.data,
                                                                                   form.group_id.data, form.start_month.data),
                                   "Заявка на обучение отправлена исполнителю.")
        if enrollment is not None:
            return redirect(url_for("contracts.enrollments"))
    return render_template("contracts/enroll.html", form=form, program=program, group=chosen, start=start,
                           usable=usable, refused=[o for o in options if o.split is None])


@bp.route("/enrollments")
@roles("parent", "provider", "department")
def enrollments():
    args, errors = page_filters(EnrollmentQuerySchema(), request.args)  # the API's own (api.list_enrollments)
    status = args.get("status")
    page = paginate(enrollments_services.enrollments_for(current_user, status), page_number(request.args), 50)
    return render_template("contracts/enrollments.html", page=page, status=status, statuses=ENROLLMENT_STATUSES,
                           decline_form=DeclineForm(), errors=errors), 422 if errors else 200


@bp.route("/enrollments/<int:enrollment_id>/accept", methods=["POST"])
@roles("provider")
def accept(enrollment_id: int):
    contract = run_and_flash(lambda: enrollments_services.accept_enrollment(enrollment_id, current_user),
                             "Заявка принята: договор направлен родителю на подписание.")
    if contract is not None:
        return redirect(url_for("contracts.contract", contract_id=contract.id))
    return redirect(url_for("contracts.enrollments"))


@bp.route("/enrollments/<int:enrollment_id>/decline", methods=["POST"])
@roles("provider")
def decline(enrollment_id: int):
    form = DeclineForm()
    run_and_flash(lambda: enrollments_services.decline_enrollment(enrollment_id, current_user, form.reason.data),
                  "Заявка отклонена.")
    return redirect(url_for("contracts.enrollments"))


@bp.route("/enrollments/bulk", methods=["POST"])
@roles("provider")
def bulk():
    """Accept or decline the requests marked on the list, with one reason for all refusals."""
    action, reason, ids = request.form.get("action", ""), request.form.get("reason"), request.form.getlist("ids", type=int)
    return bulk_from_page(
        ids, lambda: enrollments_services.start_deciding_enrollments(ids, action, current_user, reason),
        lambda: enrollments_services.decide_enrollments(ids, action, current_user, reason),
        lambda result: flash_bulk(result, "Принято" if action == "accept" else "Отклонено", ("заявка", "заявки", "заявок")),
        url_for("contracts.enrollments", status=request.args.get("status")), "Заявки обрабатываются.")


@bp.route("/enrollments/<int:enrollment_id>/cancel", methods=["POST"])
@roles("parent")
def cancel(enrollment_id: int):
    run_and_flash(lambda: enrollments_services.cancel_enrollment(enrollment_id, current_user), "Заявка отозвана.")
    return redirect(url_for("contracts.enrollments"))


@bp.route("/contracts")
@roles("parent", "provider", "department", "bookkeeping")
def contracts():
    args, errors = page_filters(ContractQuerySchema(), request.args)  # the API's own filters (api.list_contracts)
    filters = {"status": args.get("status"), "certificate_id": args.get("certificate_id"),
               "provider_id": args.get("provider"), "text": args.get("q"), "month": args.get("month")}
    page = paginate(contract_services.contracts_for(current_user, **filters), page_number(request.args), 50)
    splits = {c.id: contract_services.current_split(c) for c in page.items}  # offers: as they would be signed now
    return render_template("contracts/contracts.html", page=page, status=filters["status"], statuses=CONTRACT_STATUSES,
                           splits=splits, filters=filters, errors=errors,
                           providers=contract_services.contract_providers(current_user)), 422 if errors else 200


def _forms(contract) -> dict[str, Any]:
    """The contract page's forms, and which of them the page shows to the current user (`shown`)."""
    report = ReportForm(prefix="report")
    report.month.choices = choices((f"{m.month:%Y-%m}", month_label(m.month))
                                   for m in service_reports.reportable_months(contract, clock.today()))
    terminate = TerminateForm(prefix="terminate")
    terminate.grounds.choices = choices((g, TERMINATION_GROUNDS[g]) for g in GROUNDS_BY_ROLE.get(current_user.role, ()))
    correction = CorrectionForm(prefix="correction")
    correction.month.choices = choices((f"{m.month:%Y-%m}", month_label(m.month)) for m in contract.months
                                       if m.status in ("delivered", "not_delivered"))
    role = current_user.role
    shown = {"sign": role == "parent" and contract.status == "offered",
             "report": role == "provider" and bool(report.month.choices),
             "terminate": (role in ("parent", "provider", "department") and contract.status == "active"
                           and not contract.terminated_from),
             "correct": role == "department" and bool(correction.month.choices)}
    return {"sign_form": SignForm(prefix="sign"), "report_form": report, "terminate_form": terminate,
            "correction_form": correction, "shown": shown}


def _contract_page(contract_id: int, forms: dict[str, Any] | None = None, status: int = 200):
    """The contract page; after a refused action, with the forms as sent (each refusal beside its field)."""
    contract_ = contract_services.get_contract(contract_id, current_user)
    entries = [e for e in entries_of(contract_.certificate_id) if e.contract_id == contract_.id]
    forms = forms or _forms(contract_)
    split = contract_services.current_split(contract_)  # an offer: as the parent would sign it now
    forms["sign_form"].expected_certificate_amount.data = split.certificate_part
    return render_template("contracts/contract.html", contract=contract_, entries=entries, split=split,
                           **forms), status


@bp.route("/contracts/<int:contract_id>")
@roles("parent", "provider", "department", "bookkeeping")
def contract(contract_id: int):
    return _contract_page(contract_id)


@bp.route("/contracts/<int:contract_id>/print")
@bp.route("/contracts/<int:contract_id>/contract.pdf", endpoint="contract_pdf")
@roles("parent", "provider", "department", "bookkeeping")
def contract_print(contract_id: int):
    """The contract printed: a print-friendly page, or the PDF (the same layout as every document)."""
    document = contract_document(contract_services.get_contract(contract_id, current_user, load=DOCUMENT_LOAD))
    if request.path.endswith(".pdf"):
        return pdf_response(document)
    return print_page(document, url_for("contracts.contract_pdf", contract_id=contract_id),
                      url_for("contracts.contract", contract_id=contract_id))


#: each action's form on the contract page (reject is a button without one)
_ACTION_FORMS = {"sign": "sign_form", "report": "report_form", "terminate": "terminate_form", "correct": "correction_form"}
#: a service's field under another name on the page's form
_FORM_FIELD = {"amount_rub": "amount"}


def _show_refusal(form, shown: bool, error: DomainError | None = None) -> None:
    """A refused action's messages: each beside its field when the page shows that form and field (the
    form's own checks, then the service's), the rest — a refusal tied to no field, or to one the page does
    not show — at the page's top."""
    if error is not None:
        for name, message in (error.fields.items() if error.fields else [(None, error.message)]):
            name = _FORM_FIELD.get(name, name) if name else None
            if form is not None and name and name in form:
                form[name].errors = list(form[name].errors) + [message]
            else:
                flash(message, "error")
    for field in form if form is not None else ():
        if field.errors and (not shown or field.type in UNSHOWN_FIELDS):
            for message in field.errors:
                flash(message, "error")


def _do(action: str, form, contract_id: int) -> str:
    """Run the contract's action through its service; returns the success message (raises DomainError)."""
    if action == "sign":
        seen = (form.expected_certificate_amount.data or "").strip()
        # what the page showed; a value that is not a number of kopecks matches no split and is refused
        expected = (int(seen) if seen.isascii() and seen.isdigit() else -1) if seen else None
        contract_services.sign_contract(contract_id, current_user, request.remote_addr, expected)
        return "Договор подписан. Средства сертификата зарезервированы."
    if action == "reject":
        contract_services.reject_offer(contract_id, current_user)
        return "Вы отказались от договора."
    if action == "report":
        service_reports.report_month(contract_id, current_user, form.month.data, reason=form.reason.data,
                                     attendance=form.attendance.data, lessons_planned=form.lessons_planned.data,
                                     lessons_held=form.lessons_held.data)
        return "Отчёт за месяц принят."
    if action == "terminate":
        contract_services.terminate(contract_id, current_user, form.reason.data, form.grounds.data)
        return ("Уведомление о расторжении принято: договор действует до конца месяца, затем резерв "
                "за следующие месяцы вернётся на сертификат.")
    service_reports.correct_month(contract_id, current_user, form.month.data,
                                  parse_rub(form.amount.data, "amount", "Корректировка: сумма, ₽"), form.direction.data,
                                  form.reason.data)
    return "Корректировка проведена."


@bp.route("/contracts/<int:contract_id>/<any(sign, reject, report, terminate, correct):action>", methods=["POST"])
@authenticated
def contract_action(contract_id: int, action: str):
    """The contract's actions; each service checks the actor's role and rights. A refusal answers the page
    again (422, or 403 for an action not the user's; nothing changed) with the form as sent and each message
    beside its field."""
    contract_ = contract_services.get_contract(contract_id, current_user)
    forms = _forms(contract_)
    form: Any = forms.get(_ACTION_FORMS.get(action, ""))
    shown = forms["shown"].get(action, False)
    offered = form.month.choices if action == "report" else None
    if action == "report":
        # the page offers only reportable_months; any month of the contract is passed on, so that the
        # service's refusal (the month not over, already reported, cancelled) is what the provider reads
        form.month.choices = choices((f"{m.month:%Y-%m}", month_label(m.month)) for m in contract_.months)
    error = None
    if form is None or form.validate_on_submit():
        try:
            done = _do(action, form, contract_id)
        except DomainError as refused:
            error = refuse(refused)
            if isinstance(refused, PermissionDeniedError):
                events.request_refused.send(None, reason="forbidden")
        else:
            flash(done, "success")
            return redirect(url_for("contracts.contract", contract_id=contract_id))
    if action == "report":
        form.month.choices = offered  # the page offers again only the months that can be reported
    _show_refusal(form, shown, error)
    return _contract_page(contract_id, forms, 403 if isinstance(error, PermissionDeniedError) else 422)


@bp.route("/contracts/groups/<int:group_id>/lessons", methods=["GET", "POST"])
@roles("provider")
def group_lessons(group_id: int):
    """The whole group's month on one screen: the children as rows, lessons planned and held, one request.
    Only the months that can be reported (over, not yet reported) are offered."""
    month = None
    if request.values.get("month"):
        try:
            month = parse_month(request.values["month"])
        except DomainError as error:
            refuse(error)
            flash(error.message, "error")
    if request.method == "POST" and month is not None:
        ids = [int(key[5:]) for key in request.form if key.startswith("held-") and key[5:].isdigit()]
        rows = [{"contract_id": contract_id, "lessons_planned": request.form.get(f"planned-{contract_id}", type=int),
                 "lessons_held": request.form.get(f"held-{contract_id}", type=int),
                 "reason": request.form.get(f"reason-{contract_id}")}
                for contract_id in ids if request.form.get(f"held-{contract_id}", "").strip()]  # empty: not now
        if not rows:
            flash("Укажите число проведённых занятий хотя бы для одного ребёнка.", "error")
        else:
            try:
                result = service_reports.report_group(current_user, group_id, month, rows)
            except DomainError as error:
                refuse(error)
                refuse(error)
                flash(error.message, "error")
            else:
                if result.refused:  # the refused rows again, as typed, each with its reason beside it
                    flash_bulk(BulkResult(done=result.done), "Отчёт принят", ("договор", "договора", "договоров"))
                    view = service_reports.group_to_report(current_user, group_id, month)
                    return render_template("contracts/group_lessons.html", view=view, group=view.group,
                                           contracts=view.contracts, month=view.month, months=view.months,
                                           entered=request.form,
                                           row_errors={row_id: message for row_id, _, message in result.refused}), 422
                flash_bulk(result, "Отчёт принят", ("договор", "договора", "договоров"))
        return redirect(url_for("contracts.group_lessons", group_id=group_id, month=f"{month:%Y-%m}"))
    view = service_reports.group_to_report(current_user, group_id, month)
    return render_template("contracts/group_lessons.html", view=view, group=view.group, contracts=view.contracts,
                           month=view.month, months=view.months, entered={}, row_errors={})
