from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_login import current_user

from certapp.accounts.access import public, roles
from certapp.certificates.services import certificate_municipalities_of, home_municipality_of
from certapp.common.errors import DomainError
from certapp.common.forms import choices
from certapp.common.money import kopecks_to_rub_str
from certapp.common.pagination import page_number, paginate
from certapp.common.replica import reads_from_replica
from certapp.common.schemas import page_filters
from certapp.contracts.enrollments import catalog_offers
from certapp.contracts.seats import seats_left
from certapp.pagecache.pages import cached_public
from certapp.programs import services
from certapp.programs.forms import GroupForm, ProgramDecisionForm, ProgramForm
from certapp.programs.models import PROGRAM_STATUSES
from certapp.programs.schemas import CatalogQuerySchema, ProgramQuerySchema
from certapp.reference.services import list_directions, list_municipalities
from certapp.registry.services import admissions_of, provider_of
from certapp.reporting.services import program_ratings
from certapp.uow import refuse

bp = Blueprint("programs", __name__)


def _catalog_filters(args) -> tuple[dict, dict[str, str]]:
    """The catalog's filters from the address by the API's own schema (api.catalog), and a Russian message for
    each value that is not valid (that filter is then left out: the page still lists programs)."""
    values, errors = page_filters(CatalogQuerySchema(), args)
    try:
        oktmo = (args.get("municipality") or "").strip()
        # nothing asked: a parent's own municipality first
        municipality_id = services.municipality_filter(oktmo, None if oktmo else home_municipality_of(current_user))
    except DomainError as error:
        errors["municipality"], municipality_id = error.message, None
    return {"direction": values.get("direction"), "age": values.get("age"), "provider_id": values.get("provider"),
            "text": values.get("q"), "with_seats": values["seats"], "municipality_id": municipality_id,
            "first_municipality_id": home_municipality_of(current_user)}, errors


@bp.route("/catalog")
@cached_public("catalog")
@public
@reads_from_replica
def catalog():
    directions = list_directions()
    filters, errors = _catalog_filters(request.args)
    page = paginate(services.catalog_query(**filters), page_number(request.args), 20)
    offers = {}
    if current_user.is_authenticated and current_user.role == "parent":
        offers = catalog_offers(current_user, page.items)
    return render_template("programs/catalog.html", page=page, filters=filters, errors=errors, directions=directions,
                           municipalities=list_municipalities(),
                           providers=services.catalog_providers(filters["municipality_id"] or filters["first_municipality_id"]),
                           cards=services.catalog_cards(
                               page.items, municipality_ids=certificate_municipalities_of(current_user),
                               ratings=program_ratings([p.id for p in page.items])),
                           offers=offers), 422 if errors else 200


@bp.route("/catalog/<int:program_id>")
@cached_public("catalog")
@public
@reads_from_replica
def program(program_id: int):
    program_ = services.get_program_for(program_id, current_user)
    # made for the department only: its CSRF token is written to the session, and a visitor's page that set
    # a session cookie would never be kept by the page cache (nor would any page the visitor opened after it)
    decision_form = ProgramDecisionForm() if getattr(current_user, "role", None) == "department" else None
    return render_template("programs/program.html", program=program_, seats=seats_left(program_.groups),
                           decision_form=decision_form, in_catalog=services.is_in_catalog(program_),
                           rating=program_ratings([program_.id]).get(program_.id),
                           offered_here=services.offered_in_any(
                               program_, certificate_municipalities_of(current_user)))


@bp.route("/provider/programs")
@roles("provider")
def my_programs():
    provider = provider_of(current_user)
    programs = services.provider_programs(current_user) if provider and provider.in_registry else []
    return render_template("programs/my_programs.html", programs=programs, provider=provider)


def _program_form() -> ProgramForm:
    form = ProgramForm()
    form.direction.choices = choices((d.code, f"{d.name} ({d.service_code})") for d in list_directions())
    provider = provider_of(current_user)
    form.municipalities.choices = [(a.municipality_id, a.municipality.name) for a in admissions_of(provider.id)
                                   if a.status == "active"] if provider else []
    return form


@bp.route("/provider/programs/new", methods=["GET", "POST"])
@bp.route("/provider/programs/<int:program_id>/edit", methods=["GET", "POST"])
@roles("provider")
def edit_program(program_id: int | None = None):
    form = _program_form()
    program_ = services.get_program_for(program_id, current_user) if program_id else None
    if program_ and not form.is_submitted():
        form.process(obj=program_)
        form.direction.data = program_.direction.code
        form.price_per_month.data = kopecks_to_rub_str(program_.price_per_month).replace(".", ",")
        form.municipalities.data = [m.id for m in program_.municipalities]
    if form.validate_on_submit():
        data = {name: f.data for name, f in form._fields.items() if name not in ("csrf_token", "submit")}
        try:
            saved = services.save_program(current_user, data, program_id)
        except DomainError as error:
            refuse(error)
            form.add_domain_error(error)
        else:
            flash("Программа сохранена.", "success")
            return redirect(url_for("programs.program", program_id=saved.id))
    elif form.is_submitted():
        form.add_service_checks(services.clean_program_data, {name: f.data for name, f in form._fields.items()
                                                               if name not in ("csrf_token", "submit")})
    return render_template("programs/program_form.html", form=form, program=program_), 422 if form.errors else 200


@bp.route("/provider/programs/<int:program_id>/submit", methods=["POST"])
@roles("provider")
def submit_program(program_id: int):
    try:
        services.submit_program(program_id, current_user)
    except DomainError as error:
        refuse(error)
        flash(error.message, "error")
    else:
        flash("Программа отправлена на согласование.", "success")
    return redirect(url_for("programs.program", program_id=program_id))


@bp.route("/provider/programs/<int:program_id>/groups/new", methods=["GET", "POST"])
@bp.route("/provider/programs/<int:program_id>/groups/<int:group_id>", methods=["GET", "POST"])
@roles("provider")
def edit_group(program_id: int, group_id: int | None = None):
    program_ = services.get_program_for(program_id, current_user)
    form = GroupForm()
    group = next((g for g in program_.groups if g.id == group_id), None) if group_id else None
    if group_id and group is None:
        flash("Группа не найдена.", "error")
        return redirect(url_for("programs.program", program_id=program_id))
    if group and not form.is_submitted():
        form.process(obj=group)
    if form.validate_on_submit():
        data = {name: f.data for name, f in form._fields.items() if name not in ("csrf_token", "submit")}
        try:
            services.save_group(current_user, program_id, data, group_id)
        except DomainError as error:
            refuse(error)
            form.add_domain_error(error)
        else:
            flash("Группа сохранена.", "success")
            return redirect(url_for("programs.program", program_id=program_id))
    return render_template("programs/group_form.html", form=form, program=program_, group=group), \
        422 if form.errors else 200


@bp.route("/programs/review")
@roles("department")
def review():
    args, errors = page_filters(ProgramQuerySchema(), request.args)  # the API's own filters (api.list_programs)
    status = args.get("status")
    page = paginate(services.programs_for_review(status), page_number(request.args), 50)
    return render_template("programs/review.html", page=page, status=status, statuses=PROGRAM_STATUSES,
                           errors=errors), 422 if errors else 200


@bp.route("/programs/<int:program_id>/decide", methods=["POST"])
@roles("department")
def decide(program_id: int):
    form = ProgramDecisionForm()
    if form.validate_on_submit():
        try:
            services.decide_program(program_id, form.decision.data, current_user, form.reason.data)
        except DomainError as error:
            refuse(error)
            form.add_domain_error(error)
        else:
            flash("Решение по программе принято.", "success")
            return redirect(url_for("programs.review"))
    program_ = services.get_program_for(program_id, current_user)
    return render_template("programs/program.html", program=program_, seats=seats_left(program_.groups),
                           decision_form=form, in_catalog=services.is_in_catalog(program_)), 422
