from collections.abc import Iterable
from typing import Any

from flask import Blueprint, Response, flash, redirect, render_template, request, url_for
from flask_login import current_user

from certapp.accounts.access import public, roles
from certapp.certificates import health, render, services
from certapp.certificates.forms import (
    ApplyForm,
    CategoryForm,
    ChildEditForm,
    ChildForm,
    CorrectionDecisionForm,
    CorrectionForm,
    DecisionForm,
    HealthForm,
    HealthWithdrawForm,
    OnBehalfForm,
    StatusForm,
)
from certapp.certificates.models import APPLICATION_STATUSES, CERTIFICATE_STATUSES, CORRECTION_STATUSES
from certapp.certificates.printing import application_document
from certapp.certificates.schemas import (
    CertificateApplicationQuerySchema,
    CertificateQuerySchema,
    ChildCorrectionQuerySchema,
)
from certapp.common.errors import DomainError, KeptRefusal, NotFoundError
from certapp.common.exports import Money, csv_response, xlsx_stream_response
from certapp.common.forms import choices
from certapp.common.money import format_rub, kopecks_to_rub_str, parse_rub
from certapp.common.normalise import identifier, is_ascii_digits
from certapp.common.pagination import page_number, paginate
from certapp.common.printing import pdf_response
from certapp.common.printing import print_page as printing_page
from certapp.common.schemas import page_filters
from certapp.common.web import flash_bulk
from certapp.contracts import contracts as contract_services
from certapp.contracts.contracts import upcoming_payments
from certapp.contracts.printing import printed_certificate
from certapp.db import db
from certapp.jobs.bulk import bulk_from_page
from certapp.ledger import services as ledger
from certapp.programs.models import StudyGroup
from certapp.reference.models import Period
from certapp.reference.services import (
    create_category,
    current_period,
    get_category,
    list_periods,
    own_municipality_id,
    update_category,
)
from certapp.uow import keep, refuse

bp = Blueprint("certificates", __name__)


def _fields(form: Any, *skip: str) -> dict[str, Any]:
    return {name: f.data for name, f in form._fields.items() if name not in ("csrf_token", "submit", *skip)}


def _submit_child_form(form, action) -> bool:
    """Check the child form and run `action` (the service) in the request's unit; True when it is done.
    When the form itself finds errors, the service's checks still run, so that every field's error
    shows at once."""
    if not form.is_submitted():
        return False
    valid = form.validate()
    if "csrf_token" in form.errors:
        return False
    try:
        if not valid:
            services.clean_child_data(_fields(form), snils_required=False)
            return False
        action()
    except DomainError as error:
        refuse(error)
        form.add_domain_error(error, skip_flagged=not valid)
        return False
    return True


@bp.route("/children", methods=["GET", "POST"])
@roles("parent")
def children():
    form = ChildForm()
    if _submit_child_form(form, lambda: services.add_child(current_user, _fields(form))):
        flash("Ребёнок добавлен. Теперь можно подать заявление на сертификат.", "success")
        return redirect(url_for("certificates.children"))
    kids = services.children_of(current_user)
    return render_template("certificates/children.html", children=kids, form=form,
                           certificates=services.certificates_of(current_user),
                           issued={c.id for c in kids if services.issued_certificate(c)},
                           corrections=services.corrections_of(current_user)), 422 if form.errors else 200


@bp.route("/children/<int:child_id>/edit", methods=["GET", "POST"])
@roles("parent")
def edit_child(child_id: int):
    """Correct a child's record: directly until a certificate is issued for it, then as a request
    that the department confirms."""
    child = services.get_child(child_id, current_user)
    issued = services.issued_certificate(child)
    form_class = CorrectionForm if issued else ChildEditForm
    form = form_class(obj=child) if request.method == "GET" else form_class()
    if request.method == "GET":
        form.snils.data = ""
    pending = services.pending_correction(child) if issued else None
    if issued:
        done = _submit_child_form(form, lambda: services.request_correction(child.id, current_user, _fields(form, "note"),
                                                                            form.note.data))
        message = "Запрос на исправление отправлен в управление образования."
    else:
        done = _submit_child_form(form, lambda: services.update_child(child.id, current_user, _fields(form)))
        message = "Сведения о ребёнке исправлены."
    if done:
        flash(message, "success")
        return redirect(url_for("certificates.children"))
    return render_template("certificates/child_edit.html", form=form, child=child, issued=issued,
                           pending=pending), 422 if form.errors else 200


@bp.route("/children/<int:child_id>/health", methods=["GET", "POST"])
@roles("parent", "department")
def child_health(child_id: int):
    """A child's health statuses (ОВЗ, disability): the parent states them with their own consent or
    withdraws it; the department of the child's municipality reads them; anyone else gets a 404."""
    child = services.get_child(child_id, current_user)
    shown = health.health_for(child, current_user)
    if shown is None:
        raise NotFoundError("Ребёнок не найден.")
    form = HealthForm(statuses=shown["statuses"]) if current_user.role == "parent" else None
    if form is not None and form.validate_on_submit():
        try:
            health.set_health(child.id, current_user, form.statuses.data, bool(form.health_consent.data))
        except DomainError as error:
            refuse(error)
            form.add_domain_error(error)
        else:
            flash("Сведения о здоровье ребёнка сохранены.", "success")
            return redirect(url_for("certificates.child_health", child_id=child.id))
    return render_template("certificates/child_health.html", child=child, shown=shown, form=form,
                           withdraw=HealthWithdrawForm() if form is not None else None), \
        422 if form is not None and form.errors else 200


@bp.route("/children/<int:child_id>/health/withdraw", methods=["POST"])
@roles("parent")
def withdraw_child_health(child_id: int):
    form = HealthWithdrawForm()
    if form.validate_on_submit():
        health.withdraw_health(child_id, current_user)
        flash("Согласие отозвано, сведения о здоровье ребёнка удалены.", "success")
    return redirect(url_for("certificates.child_health", child_id=child_id))


@bp.route("/children/corrections")
@roles("department")
def corrections():
    """The requests to correct children's records, for the department of the certificate's municipality."""
    args, errors = page_filters(ChildCorrectionQuerySchema(), request.args)  # the API's own (api.list_corrections)
    status = args.get("status")
    page = paginate(services.corrections_visible_to(current_user, status), page_number(request.args), 50)
    return render_template("certificates/corrections.html", page=page, status=status, statuses=CORRECTION_STATUSES,
                           changes={c.id: services.correction_changes(c) for c in page.items},
                           form=CorrectionDecisionForm(formdata=None), errors=errors), 422 if errors else 200


@bp.route("/children/corrections/<int:correction_id>/decide", methods=["POST"])
@roles("department")
def decide_correction(correction_id: int):
    form = CorrectionDecisionForm()
    if form.validate_on_submit():
        try:
            services.decide_correction(correction_id, form.decision.data, current_user, form.reason.data)
        except DomainError as error:
            refuse(error)
            flash(error.message, "error")
        else:
            flash("Сведения о ребёнке исправлены, документы подписаны заново." if form.decision.data == "confirmed"
                  else "В исправлении отказано.", "success")
    else:
        flash("Выберите решение.", "error")
    return redirect(url_for("certificates.corrections"))


def _category_choices(periods: Iterable[Period]) -> list[tuple[int, str]]:
    """«by the child's age» first, then every category of the periods offered, named with its period."""
    return [(0, "Определить по возрасту ребёнка")] + [
        (c.id, f"{p.name}: {c.name}, {c.ages}, {format_rub(c.certificate_nominal)}"
               + (", подтверждается документом" if c.needs_document else ""))
        for p in periods for c in p.categories]


def _category_label(c) -> str:
    return (f"{c.name}, {c.ages}, {format_rub(c.certificate_nominal)}"
            + (", подтверждается документом" if c.needs_document else ""))


@bp.route("/certificates/apply", methods=["GET", "POST"])
@roles("parent")
def apply():
    """The application: each child's municipality's open periods (the current one first and
    preselected) and, per period, that period's categories (a script shows the chosen period's)."""
    form = ApplyForm()
    kids = services.children_of(current_user)
    form.child_id.choices = choices((c.id, f"{c.full_name}, {c.birth_date:%d.%m.%Y}") for c in kids)
    offered = {c.id: services.periods_for(c) for c in kids}
    periods = list({p.id: p for c in kids for p in offered[c.id]}.values())
    several = len({p.municipality_id for p in periods}) > 1
    form.period_id.choices = choices((p.id, p.title if several else p.name) for p in periods)
    form.category_id.choices = [(0, "Определить по возрасту ребёнка")] + [
        (c.id, _category_label(c)) for p in periods for c in p.categories]
    if request.method == "GET":
        first = offered[kids[0].id] if kids else []
        form.period_id.data = first[0].id if first else None
        if request.args.get("group", type=int):
            form.group_id.data = request.args.get("group", type=int)
    group_id = identifier(form.group_id.data)  # «²» or 5 000 digits passed isdigit() and were a 500 in int()
    group = db.session.get(StudyGroup, int(group_id)) if is_ascii_digits(group_id) and len(group_id) <= 18 else None
    if form.validate_on_submit():
        try:
            result = services.apply_keeping_refusal(
                current_user, form.child_id.data, form.period_id.data, form.consent.data,
                category_id=form.category_id.data or None, group_id=group.id if group else None)
        except DomainError as error:
            refuse(error)
            form.add_domain_error(error)
        else:
            if isinstance(result, KeptRefusal):  # the department's record of it stays
                keep()
                form.add_domain_error(result.error)
            else:
                flash("Заявление подано. Управление образования проверит документы и выдаст сертификат.", "success")
                return redirect(url_for("certificates.my_applications"))
    child_periods = {child_id: [p.id for p in ps] for child_id, ps in offered.items()}
    chosen_child = form.child_id.data if form.child_id.data in child_periods else (kids[0].id if kids else None)
    return render_template("certificates/apply.html", form=form, group=group, periods=periods, several=several,
                           child_periods=child_periods, shown_periods=child_periods.get(chosen_child, []) if chosen_child is not None else [],
                           category_label=_category_label), 422 if form.errors else 200


@bp.route("/certificates/applications")
@roles("parent")
def my_applications():
    applications = services.applications_of(current_user)
    return render_template("certificates/my_applications.html", applications=applications,
                           positions=services.queue_positions([a.certificate for a in applications if a.certificate]))


@bp.route("/certificates/applications/<int:application_id>/print")
@bp.route("/certificates/applications/<int:application_id>/application.pdf", endpoint="application_pdf")
@roles("parent", "department")
def application_print(application_id: int):
    """The parent's application printed: a print-friendly page or the PDF (the parent's own; the department)."""
    document = application_document(services.get_application(application_id, current_user))
    if request.path.endswith(".pdf"):
        return pdf_response(document)
    back = url_for("certificates.my_applications") if current_user.role == "parent" else url_for("certificates.queue")
    return printing_page(document, url_for("certificates.application_pdf", application_id=application_id), back)


@bp.route("/certificates/")
@roles("parent")
def my_certificates():
    own = services.certificates_of(current_user)
    return render_template("certificates/my_certificates.html", certificates=own,
                           upcoming=upcoming_payments([c.id for c in own]))


@bp.route("/certificates/<int:certificate_id>")
@roles("parent", "department", "bookkeeping")
def certificate(certificate_id: int):
    cert = services.get_certificate(certificate_id, current_user)
    contracts = db.session.execute(contract_services.contracts_for(current_user, certificate_id=cert.id)
                                   ).scalars().all()
    return render_template("certificates/certificate.html", certificate=cert, balance=ledger.balance_of(cert.id),
                           statement=ledger.statement(cert.id), status_form=StatusForm(), contracts=contracts,
                           contract_numbers={c.id: c.number for c in contracts},
                           parts=contract_services.certificate_parts(cert.id),
                           queue_position=services.queue_position(cert),
                           health_visible=cert.child is not None and health.can_see_health(cert.child, current_user))


@bp.route("/certificates/<int:certificate_id>/qr.<any(png, svg):fmt>")
@roles("parent", "department", "bookkeeping")
def qr_image(certificate_id: int, fmt: str):
    cert = services.get_certificate(certificate_id, current_user)
    if fmt == "png":
        return Response(render.qr_png(services.qr_link(cert)), mimetype="image/png")
    return Response(render.qr_svg(services.qr_link(cert)), mimetype="image/svg+xml")


@bp.route("/certificates/<int:certificate_id>/print")
@bp.route("/certificates/<int:certificate_id>/certificate.pdf", endpoint="pdf")
@roles("parent", "department", "bookkeeping")
def print_page(certificate_id: int):
    """The certificate printed in its three parts: a print-friendly page or the PDF (the common layout)."""
    document = printed_certificate(services.get_certificate(certificate_id, current_user))
    if request.path.endswith(".pdf"):
        return pdf_response(document)
    return printing_page(document, url_for("certificates.pdf", certificate_id=certificate_id),
                         url_for("certificates.certificate", certificate_id=certificate_id))


@bp.route("/certificates/<int:certificate_id>/status", methods=["POST"])
@roles("department")
def change_status(certificate_id: int):
    form = StatusForm()
    if form.validate_on_submit():
        try:
            services.change_status(certificate_id, form.status.data, current_user, form.reason.data)
        except DomainError as error:
            refuse(error)
            flash(error.message, "error")
        else:
            flash("Состояние сертификата изменено.", "success")
    else:
        flash("Укажите основание.", "error")
    return redirect(url_for("certificates.certificate", certificate_id=certificate_id))


@bp.route("/certificates/queue")
@roles("department")
def queue():
    args, errors = page_filters(CertificateApplicationQuerySchema(), request.args)  # the API's own filters
    status = args.get("status")
    page = paginate(services.applications_visible_to(current_user, status), page_number(request.args), 50)
    return render_template("certificates/queue.html", page=page, status=status, statuses=APPLICATION_STATUSES,
                           form=DecisionForm(), errors=errors), 422 if errors else 200


@bp.route("/certificates/applications/<int:application_id>/decide", methods=["POST"])
@roles("department")
def decide(application_id: int):
    form = DecisionForm()
    if form.validate_on_submit():
        try:
            result = services.decide(application_id, form.decision.data, current_user, form.reason.data)
        except DomainError as error:
            refuse(error)
            flash(error.message, "error")
        else:
            flash(f"Сертификат № {result.number} выдан." if form.decision.data == "confirmed"
                  else "В выдаче сертификата отказано.", "success")
    return redirect(url_for("certificates.queue"))


@bp.route("/certificates/applications/bulk", methods=["POST"])
@roles("department")
def decide_bulk():
    """One decision for the applications marked on the queue (one reason for all refusals)."""
    decision, reason, ids = request.form.get("decision", ""), request.form.get("reason"), request.form.getlist("ids", type=int)

    def report(result):
        if decision == "confirmed":
            flash_bulk(result, "Выдано", ("сертификат", "сертификата", "сертификатов"),
                       {services.QUEUED_NOTE: len(result.queued)}, services.application_name)
        else:
            flash_bulk(result, "Отказано", ("заявление", "заявления", "заявлений"), row_name=services.application_name)

    return bulk_from_page(ids, lambda: services.start_deciding(ids, decision, current_user, reason),
                          lambda: services.decide_many(ids, decision, current_user, reason), report,
                          url_for("certificates.queue", status=request.args.get("status")), "Решения принимаются.")


@bp.route("/certificates/on-behalf", methods=["GET", "POST"])
@roles("department")
def on_behalf():
    form = OnBehalfForm()
    periods = list_periods()
    form.period_id.choices = choices((p.id, p.title) for p in periods)
    form.category_id.choices = _category_choices(periods)
    if form.validate_on_submit():
        try:
            cert = services.file_on_behalf(current_user, form.parent_email.data,
                                           _fields(form, "parent_email", "period_id", "consent", "category_id"),
                                           form.period_id.data, form.consent.data, form.category_id.data or None)
        except DomainError as error:
            refuse(error)
            form.add_domain_error(error)
        else:
            flash(f"Сертификат № {cert.number} выдан.", "success")
            return redirect(url_for("certificates.certificate", certificate_id=cert.id))
    return render_template("certificates/on_behalf.html", form=form), 422 if form.errors else 200


HOLDER_HEADERS = ["Номер сертификата", "Ребёнок", "Дата рождения", "Период", "Номинал, ₽", "Доступно, ₽",
                  "Зарезервировано, ₽", "Списано, ₽", "Состояние", "Действует с", "Действует по"]


def _holder_filters() -> tuple[dict[str, Any], dict[str, str]]:
    args, errors = page_filters(CertificateQuerySchema(), request.args)  # the API's own (api.list_certificates)
    return {"search": args.get("q"), "period_id": args.get("period"), "status": args.get("status")}, errors


@bp.route("/certificates/holders")
@bp.route("/certificates/holders.<any(csv, xlsx):fmt>")
@roles("department", "bookkeeping")
def holders(fmt: str | None = None):
    """Реестр получателей сертификатов, with search, filters and exports."""
    filters, errors = _holder_filters()
    stmt = services.holders_query(**filters)
    # an export streamed: columns read in batches, never the whole register in memory; a refused filter is
    # told on the page instead, never silently left out of an export
    if fmt and not errors:
        rows = ([r.number, " ".join(p for p in (r.last_name, r.first_name, r.patronymic) if p), r.birth_date, r.period,
                 Money(r.nominal), Money(r.available or 0), Money(r.reserved or 0), Money(r.spent or 0),
                 CERTIFICATE_STATUSES[r.status], r.valid_from, r.valid_to] for r in services.holder_rows(stmt))
        if fmt == "csv":
            return csv_response(HOLDER_HEADERS, rows, "certificate-holders.csv")
        return xlsx_stream_response("certificate-holders.xlsx", "Получатели сертификатов", HOLDER_HEADERS, rows,
                                    (4, 5, 6, 7))
    page = paginate(stmt, page_number(request.args), 50)
    return render_template("certificates/holders.html", page=page, filters=filters, periods=list_periods(),
                           statuses=CERTIFICATE_STATUSES, errors=errors), 422 if errors else 200


@bp.route("/verify")
@public
def verify():
    """Public check of a scanned QR code or a typed certificate number; no personal data in the answer."""
    code = (request.args.get("code") or "").strip()
    result = services.verify(code, current_user) if code else None
    return render_template("certificates/verify.html", code=code, result=result)


@bp.route("/v/<path:payload>", merge_slashes=False)
@bp.route("/V/<path:payload>", merge_slashes=False)
@public
def verify_link(payload: str):
    """The address inside the QR image (services.qr_link): a phone camera opens it and sees the check at once.
    The router has already unescaped the payload; slashes are part of it (base45), hence no merging."""
    return render_template("certificates/verify.html", code=payload, result=services.verify(payload, current_user))


# --- categories ------------------------------------------------------------------------------------

def _category_values(form: CategoryForm) -> dict[str, Any]:
    return {"name": form.name.data, "age_from": form.age_from.data, "age_to": form.age_to.data,
            "needs_document": form.needs_document.data, "funded_limit": form.funded_limit.data,
            "nominal": parse_rub(form.nominal.data, field="nominal") if (form.nominal.data or "").strip() else None}


@bp.route("/certificates/categories")
@roles("department", "bookkeeping")
def categories():
    """A period's categories: eligibility, nominal, funded places taken and free, the waiting queue."""
    periods = list_periods(own_municipality_id())
    chosen = request.args.get("period", type=int)
    period = next((p for p in periods if p.id == chosen), None) or current_period(
        municipality_id=own_municipality_id()) or (periods[0] if periods else None)
    rows = services.category_rows(period) if period else []
    queues = {row.category.id: db.session.execute(services.queue_query(row.category.id).limit(20)).scalars().all()
              for row in rows if row.queued}
    return render_template("certificates/categories.html", periods=periods, period=period, rows=rows, queues=queues,
                           form=CategoryForm(formdata=None))


@bp.route("/certificates/categories/new", methods=["POST"])
@bp.route("/certificates/categories/<int:category_id>", methods=["GET", "POST"])
@roles("department")
def edit_category(category_id: int | None = None):
    category = get_category(category_id) if category_id else None
    form = CategoryForm(obj=category) if request.method == "GET" else CategoryForm()
    if request.method == "GET" and category is not None and category.nominal is not None:
        form.nominal.data = kopecks_to_rub_str(category.nominal)
    if form.validate_on_submit():
        try:
            if category is None:
                category = create_category(request.args.get("period", type=int) or 0, _category_values(form),
                                           current_user)
            else:
                update_category(category.id, _category_values(form), current_user)
            period_id = category.period_id
        except DomainError as error:
            refuse(error)
            form.add_domain_error(error)
        else:
            flash("Категория сохранена.", "success")
            return redirect(url_for("certificates.categories", period=period_id))
    return render_template("certificates/category_form.html", form=form, category=category), \
        422 if form.errors else 200
