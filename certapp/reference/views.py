from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_login import current_user

from certapp.accounts.access import public, roles
from certapp.common.errors import DomainError
from certapp.common.money import kopecks_to_rub_str, parse_rub
from certapp.reference import service_scope, services
from certapp.reference.forms import MunicipalityForm, PeriodForm, ServiceCodesForm
from certapp.uow import refuse

bp = Blueprint("reference", __name__, url_prefix="/reference")


@bp.route("/directions")
@public
def directions():
    return render_template("reference/directions.html", directions=services.list_directions(),
                           district=services.get_district())


@bp.route("/municipality", methods=["GET", "POST"])
@roles("department")
def municipality():
    """The department's own municipality: authorised body, order, the exclusions the order adds."""
    current = services.get_municipality_of(current_user)
    form = MunicipalityForm(obj=None if request.method == "POST" else current)
    if request.method == "GET":
        form.extra_exclusions.data = "\n".join(current.extra_exclusions or [])
    if form.validate_on_submit():
        try:
            services.update_municipality(current.id, {
                "authority": form.authority.data, "order_number": form.order_number.data,
                "order_date": form.order_date.data,
                "extra_exclusions": (form.extra_exclusions.data or "").splitlines()}, current_user)
        except DomainError as error:
            refuse(error)
            form.add_domain_error(error)
        else:
            flash("Сведения о муниципальном образовании сохранены.", "success")
            return redirect(url_for("reference.municipality"))
    return render_template("reference/municipality.html", form=form, municipality=current), 422 if form.errors else 200


@bp.route("/service-codes", methods=["GET", "POST"])
@roles("department")
def service_codes():
    """The registry numbers of the service that the department's municipality's order finances."""
    current = services.get_municipality_of(current_user)
    codes = service_scope.list_service_codes()
    form = ServiceCodesForm()
    form.codes.choices = [(c.registry_number, c.title) for c in codes]
    if request.method == "GET":
        form.codes.data = [c.registry_number for c in service_scope.financed_codes(current.id)]
    if form.validate_on_submit():
        try:
            service_scope.set_financed_codes(current.id, form.codes.data or [], current_user)
        except DomainError as error:
            refuse(error)
            form.add_domain_error(error)
        else:
            flash("Перечень финансируемых услуг сохранён.", "success")
            return redirect(url_for("reference.service_codes"))
    return render_template("reference/service_codes.html", form=form, municipality=current,
                           reason=service_scope.legal_reason(current)), 422 if form.errors else 200


@bp.route("/periods")
@roles("department", "bookkeeping")
def periods():
    return render_template("reference/periods.html", periods=services.list_periods())


def _save_period(form: PeriodForm, period_id: int | None):
    try:
        values = dict(name=form.name.data, starts_on=form.starts_on.data, ends_on=form.ends_on.data,
                      nominal=parse_rub(form.nominal.data, field="nominal"), actor=current_user)
        if period_id is None:
            services.create_period(code=form.code.data, **values)
        else:
            services.update_period(period_id, **values)
    except DomainError as error:
        refuse(error)
        form.add_domain_error(error)
        return False
    return True


@bp.route("/periods/new", methods=["GET", "POST"])
@roles("department")
def create_period():
    form = PeriodForm()
    if form.validate_on_submit() and _save_period(form, None):
        flash("Период создан.", "success")
        return redirect(url_for("reference.periods"))
    return render_template("reference/period_form.html", form=form, period=None), 422 if form.errors else 200


@bp.route("/periods/<int:period_id>", methods=["GET", "POST"])
@roles("department")
def edit_period(period_id: int):
    period = services.get_period(period_id)
    form = PeriodForm(obj=period)
    form.code.render_kw = {"readonly": True}
    if form.is_submitted():
        form.code.data = period.code
    else:
        form.nominal.data = kopecks_to_rub_str(period.nominal).replace(".", ",")
    if form.validate_on_submit() and _save_period(form, period_id):
        flash("Период сохранён.", "success")
        return redirect(url_for("reference.periods"))
    return render_template("reference/period_form.html", form=form, period=period), 422 if form.errors else 200
