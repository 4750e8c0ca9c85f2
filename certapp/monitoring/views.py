import re
from datetime import date

from flask import Blueprint, flash, g, redirect, render_template, request, url_for
from flask_login import current_user

from certapp.accounts.access import roles
from certapp.common import clock
from certapp.common.errors import DomainError, PermissionDeniedError, ValidationError
from certapp.common.months import year_arg
from certapp.common.normalise import ascii_text, id_number, whole_number
from certapp.common.pagination import page_number, paginate
from certapp.common.schemas import NO_SUCH_PROVIDER, page_filters
from certapp.common.templating import format_number, plural
from certapp.db import db
from certapp.monitoring import services
from certapp.monitoring.forms import ChecklistItemForm, MocAccountForm, VisitForm
from certapp.monitoring.models import COMPLIANCE_THRESHOLD, RESULTS
from certapp.monitoring.schemas import VisitQuerySchema
from certapp.reference.services import get_municipality_of
from certapp.uow import refuse

bp = Blueprint("monitoring", __name__, url_prefix="/monitoring")

_RU_DAY = re.compile(r"^(\d{1,2})\.(\d{1,2})\.(\d{4})$")


def parse_day(text) -> date | None:
    """A day as typed: ДД.ММ.ГГГГ or the date field's ГГГГ-ММ-ДД, in any script's digits; None if it is not one."""
    raw = ascii_text(text).strip()
    try:
        matched = _RU_DAY.match(raw)
        return date(int(matched[3]), int(matched[2]), int(matched[1])) if matched else date.fromisoformat(raw)
    except ValueError:
        return None


@bp.route("/")
@roles("moc", "department", "provider")
def visits():
    """Visits: the support centre's and the department's in their municipality, a provider's its own."""
    args, errors = page_filters(VisitQuerySchema(), request.args)  # the API's own filters (api.list_visits)
    provider_id, year = args.get("provider"), args.get("year")
    stmt = services.visits_for(current_user, provider_id=provider_id, year=year)
    page = paginate(stmt, page_number(request.args))
    providers = (services.providers_to_monitor(current_user.municipality_id or g.region_view.id)
                 if current_user.role != "provider" else [])
    return render_template("monitoring/visits.html", page=page, providers=providers, provider_id=provider_id,
                           year=year, errors=errors, threshold=COMPLIANCE_THRESHOLD), 422 if errors else 200


@bp.route("/visits/<int:visit_id>")
@roles("moc", "department", "provider")
def visit(visit_id: int):
    return render_template("monitoring/visit.html", visit=services.get_visit(visit_id, current_user),
                           threshold=COMPLIANCE_THRESHOLD)


def _entered_results(items) -> dict[int, tuple[str | None, str | None]]:
    return {item.id: (request.form.get(f"result-{item.id}"), request.form.get(f"comment-{item.id}"))
            for item in items}


@bp.route("/visits/new", methods=["GET", "POST"])
@roles("moc")
def new_visit():
    """Record a visit: the provider, the day, every item's result and comment, in one form."""
    items = services.active_items(current_user.municipality_id)
    providers = services.providers_to_monitor(current_user.municipality_id)
    form = VisitForm()
    form.provider_id.choices = [("", "— выберите —")] + [(str(p.id), p.short_name) for p in providers]
    refused = False
    if request.method == "GET":
        form.visited_on.data = f"{clock.today():%d.%m.%Y}"
        # the provider a link chose (?provider=, the visits list's own filter field): a wrong one told beside it
        args, errors = page_filters(VisitQuerySchema(only=("provider",)), request.args)
        chosen = args.get("provider")
        if errors or (chosen is not None and chosen not in {p.id for p in providers}):
            form.provider_id.errors, chosen, refused = [errors.get("provider", NO_SUCH_PROVIDER)], None, True
        form.provider_id.data = str(chosen) if chosen else ""
    item_errors: dict[int, str] = {}
    if form.validate_on_submit():
        try:
            visit_ = services.record_visit(current_user, provider_id=id_number(form.provider_id.data),
                                           visited_on=parse_day(form.visited_on.data),
                                           results=_entered_results(items), comment=form.comment.data)
        except DomainError as error:
            refuse(error)
            item_errors = {int(key.partition(".")[2]): message for key, message in error.fields.items()
                           if key.startswith("results.")}
            form.add_domain_error(ValidationError(error.message, fields={
                key: message for key, message in error.fields.items() if not key.startswith("results.")}))
        else:
            flash(f"Посещение записано: оценка {format_number(visit_.score, 1)} %.", "success")
            return redirect(url_for("monitoring.visit", visit_id=visit_.id))
    failed = request.method == "POST"
    return render_template("monitoring/visit_form.html", form=form, items=items, results=RESULTS,
                           entered=request.form if failed else {}, item_errors=item_errors,
                           ), 422 if failed or refused else 200


@bp.route("/checklist", methods=["GET", "POST"])
@roles("moc", "department")
def checklist():
    """The checklist of the service standard: the items asked now and those retired; the support centre adds."""
    form = ChecklistItemForm()
    if request.method == "POST":
        if current_user.role != "moc":  # the department reads the checklist; the support centre keeps it
            raise PermissionDeniedError("Чек-лист ведёт муниципальный опорный центр.")
        if form.validate_on_submit():
            try:
                services.add_item(form.title.data, whole_number(form.weight.data), current_user)
            except DomainError as error:
                refuse(error)
                form.add_domain_error(error)
            else:
                flash("Пункт добавлен в чек-лист.", "success")
                return redirect(url_for("monitoring.checklist"))
    items = list(db.session.execute(services.checklist(include_retired=True)).scalars())
    total = sum(item.weight for item in items if not item.retired)
    return render_template("monitoring/checklist.html", form=form, items=items, total_weight=total,
                           threshold=COMPLIANCE_THRESHOLD), 422 if form.errors else 200


@bp.route("/checklist/<int:item_id>/retire", methods=["POST"])
@roles("moc")
def retire_item(item_id: int):
    try:
        item = services.retire_item(item_id, current_user)
    except DomainError as error:
        refuse(error)
        flash(error.message, "error")
    else:
        flash(f"Пункт «{item.short_title}» больше не проверяется; прежние посещения его сохраняют.", "success")
    return redirect(url_for("monitoring.checklist"))


@bp.route("/region")
@roles("region")
def region():
    """The regional operator compares the municipalities on rows 4.4 and 4.5."""
    year = year_arg(request.args, clock.today().year)
    return render_template("monitoring/region.html", year=year, rows=services.region_comparison(year),
                           threshold=COMPLIANCE_THRESHOLD)


@bp.route("/staff", methods=["GET", "POST"])
@roles("department", "region")
def staff():
    """The support centre's accounts of the municipality (the department's own, the one the regional
    operator views), and a new one."""
    municipality = get_municipality_of(current_user)
    form = MocAccountForm()
    if form.validate_on_submit():
        try:
            user = services.create_moc_account(current_user, municipality.id, email=form.email.data,
                                               full_name=form.full_name.data, phone=form.phone.data,
                                               password=form.password.data)
        except DomainError as error:
            refuse(error)
            form.add_domain_error(error)
        else:
            flash(f"Учётная запись опорного центра создана: {user.email}.", "success")
            return redirect(url_for("monitoring.staff"))
    accounts = services.moc_accounts(municipality.id)
    return render_template("monitoring/staff.html", form=form, accounts=accounts, municipality=municipality,
                           count=f"{len(accounts)} {plural(len(accounts), 'сотрудник', 'сотрудника', 'сотрудников')}",
                           ), 422 if form.errors else 200
