from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_login import current_user

from certapp.accounts.access import public, roles
from certapp.common.errors import DomainError, KeptRefusal
from certapp.common.exports import csv_response
from certapp.common.pagination import page_number, paginate
from certapp.common.printing import pdf_response, print_page
from certapp.common.replica import reads_from_replica
from certapp.common.schemas import page_filters
from certapp.common.web import run_and_flash
from certapp.db import db
from certapp.pagecache.pages import cached_public
from certapp.reference.services import list_municipalities
from certapp.registry import services
from certapp.registry.forms import ApplicationForm, DecisionForm, EntryStatusForm
from certapp.registry.models import (
    ADMISSION_HOLDING_STATUSES,
    ADMISSION_STATUSES,
    ADMISSION_TRANSITIONS,
    APPLICATION_STATUSES,
    RegistryEntry,
)
from certapp.registry.printing import registry_application_document
from certapp.registry.schemas import AdmissionQuerySchema, ApplicationQuerySchema, RegistryQuerySchema, registry_search
from certapp.uow import refuse

bp = Blueprint("registry", __name__, url_prefix="/registry")


def _registry_page(search: str | None, errors: dict[str, str]):
    """The public registry's page: the entries found, a refused search told beside its field (422)."""
    page = paginate(services.registry_entries(search), page_number(request.args), 50)
    return render_template("registry/index.html", page=page, search=search or "", errors=errors), 422 if errors else 200


@bp.route("/")
@cached_public("registry")
@public
@reads_from_replica
def index():
    args, errors = page_filters(RegistryQuerySchema(), request.args)  # the API's own (api.entries)
    return _registry_page(registry_search(args), errors)


@bp.route("/export.csv")
@public
@reads_from_replica
def export_csv():
    """The public registry as CSV for Excel in the Russian locale (read in batches); a refused search is
    told on the page instead, never left out of the export."""
    args, errors = page_filters(RegistryQuerySchema(), request.args)
    if errors:
        return _registry_page(None, errors)
    return csv_response(["Номер записи", "Дата включения", "Состояние", "Полное наименование",
                         "Сокращённое наименование", "ИНН", "ОГРН/ОГРНИП", "Форма собственности", "Лицензия №",
                         "Дата лицензии", "Кем выдана"], services.registry_rows(registry_search(args)), "registry.csv")


@bp.route("/applications")
@roles("provider")
def my_applications():
    return render_template("registry/my_applications.html", applications=services.my_applications(current_user),
                           provider=services.provider_of(current_user))


def _form_data(form: ApplicationForm) -> dict:
    return {name: field.data for name, field in form._fields.items() if name not in ("csrf_token", "submit")}


def _load_form(form: ApplicationForm, application) -> None:
    form.process(obj=application)
    if application.license:
        form.license_number.data = application.license.number
        form.license_issued_on.data = application.license.issued_on
        form.license_authority.data = application.license.authority
        form.license_additional_education.data = application.license.additional_education


@bp.route("/applications/new", methods=["GET", "POST"])
@bp.route("/applications/<int:application_id>/edit", methods=["GET", "POST"])
@roles("provider")
def edit_application(application_id: int | None = None):
    form = ApplicationForm()
    form.municipality_id.choices = [(m.id, m.name) for m in list_municipalities()]
    application = services.get_application(application_id, current_user) if application_id else None
    if application and not form.is_submitted():
        _load_form(form, application)
    if form.validate_on_submit():
        try:
            saved = services.save_application(current_user, _form_data(form), application_id)
        except DomainError as error:
            refuse(error)
            form.add_domain_error(error)
        else:
            flash("Заявка сохранена. Проверьте данные и подайте её на рассмотрение.", "success")
            return redirect(url_for("registry.application", application_id=saved.id))
    elif form.is_submitted():
        form.add_service_checks(services.clean_application, _form_data(form))
    return render_template("registry/application_form.html", form=form, application=application), \
        422 if form.errors else 200


@bp.route("/applications/<int:application_id>")
@roles("provider", "department")
def application(application_id: int):
    app_ = services.get_application(application_id, current_user)
    return render_template("registry/application.html", application=app_, decision_form=DecisionForm(),
                           check=services.exclusion_check(app_))


@bp.route("/applications/<int:application_id>/print")
@bp.route("/applications/<int:application_id>/application.pdf", endpoint="application_pdf")
@roles("provider", "department")
def application_print(application_id: int):
    """The application printed: a print-friendly page or the PDF (its applicant or the department)."""
    document = registry_application_document(services.get_application(application_id, current_user))
    if request.path.endswith(".pdf"):
        return pdf_response(document)
    return print_page(document, url_for("registry.application_pdf", application_id=application_id),
                      url_for("registry.application", application_id=application_id))


@bp.route("/applications/<int:application_id>/submit", methods=["POST"])
@roles("provider")
def submit(application_id: int):
    try:
        result = services.submit_application_keeping_refusal(application_id, current_user)
    except DomainError as error:
        refuse(error)
        flash(error.message, "error")
    else:
        if isinstance(result, KeptRefusal):  # the rejection is kept: the redirect's unit commits it
            flash(result.error.message, "error")
        else:
            flash("Заявка подана на рассмотрение в управление образования.", "success")
    return redirect(url_for("registry.application", application_id=application_id))


@bp.route("/review")
@roles("department")
def review():
    args, errors = page_filters(ApplicationQuerySchema(), request.args)  # the API's own filters
    status = args.get("status")
    page = paginate(services.applications_visible_to(current_user, status), page_number(request.args), 50)
    return render_template("registry/review.html", page=page, status=status, statuses=APPLICATION_STATUSES,
                           errors=errors), 422 if errors else 200


@bp.route("/applications/<int:application_id>/decide", methods=["POST"])
@roles("department")
def decide(application_id: int):
    form = DecisionForm()
    if form.validate_on_submit():
        try:
            services.decide_application(application_id, form.decision.data, current_user, form.reason.data)
        except DomainError as error:
            refuse(error)
            form.add_domain_error(error)
        else:
            flash("Решение принято.", "success")
            return redirect(url_for("registry.review"))
    app_ = services.get_application(application_id, current_user)
    return render_template("registry/application.html", application=app_, decision_form=form,
                           check=services.exclusion_check(app_)), 422


@bp.route("/entries/<int:entry_id>", methods=["GET", "POST"])
@roles("department")
def entry(entry_id: int):
    entry_ = db.get_or_404(RegistryEntry, entry_id)
    form = EntryStatusForm()
    if form.validate_on_submit():
        try:
            services.change_entry_status(entry_id, form.status.data, current_user, form.reason.data)
        except DomainError as error:
            refuse(error)
            form.add_domain_error(error)
        else:
            flash("Состояние записи реестра изменено.", "success")
            return redirect(url_for("registry.entry", entry_id=entry_id))
    return render_template("registry/entry.html", entry=entry_, form=form), 422 if form.errors else 200


@bp.route("/staff", methods=["GET", "POST"])
@roles("provider", "department")
def staff():
    """Requests to act for an organisation: filed here by a provider account, confirmed by its staff."""
    if request.method == "POST":
        run_and_flash(lambda: services.request_staff_access(current_user, request.form.get("inn", "")),
                      "Запрос отправлен: его подтвердит сотрудник организации или управление образования.")
        return redirect(url_for("registry.staff"))
    provider = services.provider_of(current_user)
    return render_template("registry/staff.html", provider=provider,
                           colleagues=services.staff_of(provider.id) if provider else [],
                           requests=db.session.execute(services.staff_requests_for(current_user)).scalars().all())


@bp.app_template_global("can_decide_staff")
def can_decide_staff(staff_request, user) -> bool:
    return services.can_decide(staff_request, user)


@bp.route("/staff-requests/<int:request_id>/<any(approve, decline):decision>", methods=["POST"])
@roles("provider", "department")
def decide_staff(request_id: int, decision: str):
    run_and_flash(lambda: services.decide_staff_request(request_id, current_user, decision == "approve"),
                  "Запрос подтверждён." if decision == "approve" else "Запрос отклонён.")
    return redirect(url_for("registry.staff"))


@bp.route("/admissions", methods=["GET", "POST"])
@roles("provider", "department")
def admissions():
    """Admission to municipalities: a provider sees its own and asks for one more; a department
    decides on those in its municipality."""
    if request.method == "POST":
        run_and_flash(lambda: services.request_admission(current_user, request.form.get("municipality_id", type=int)),
                      "Запрос на допуск отправлен в управление образования муниципалитета.")
        return redirect(url_for("registry.admissions"))
    if current_user.role == "provider":
        provider = services.provider_of(current_user)
        rows = services.admissions_of(provider.id) if provider and provider.in_registry else []
        held = {a.municipality_id for a in rows if a.status in ADMISSION_HOLDING_STATUSES}
        return render_template("registry/admissions.html", rows=rows, provider=provider,
                               free=[m for m in list_municipalities() if m.id not in held])
    args, errors = page_filters(AdmissionQuerySchema(), request.args)  # the API's own filters
    status = args.get("status")
    page = paginate(services.admissions_visible_to(current_user, status), page_number(request.args), 50)
    return render_template("registry/admissions.html", page=page, status=status, statuses=ADMISSION_STATUSES,
                           transitions=ADMISSION_TRANSITIONS, errors=errors), 422 if errors else 200


@bp.route("/admissions/<int:admission_id>/decide", methods=["POST"])
@roles("department")
def decide_admission(admission_id: int):
    to_status = request.form.get("status", "")
    run_and_flash(lambda: services.decide_admission(admission_id, to_status, current_user, request.form.get("reason")),
                  "Решение о допуске принято.")
    return redirect(url_for("registry.admissions"))
