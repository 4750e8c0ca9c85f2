from dataclasses import replace
from datetime import date
from typing import Any

from flask import Blueprint, flash, g, redirect, render_template, request, url_for
from flask_login import current_user

from certapp.accounts.access import roles
from certapp.common import clock
from certapp.common.errors import DomainError, NotFoundError
from certapp.common.exports import xlsx_response
from certapp.common.money import kopecks_to_rub_str, parse_rub
from certapp.common.months import year_arg
from certapp.common.pagination import page_number, paginate
from certapp.common.printing import pdf_response, print_page
from certapp.common.replica import reads_from_replica
from certapp.common.schemas import page_filters
from certapp.common.templating import plural
from certapp.common.web import run_and_flash
from certapp.db import db
from certapp.reference.services import get_municipality_of, list_municipalities
from certapp.reporting import render, services
from certapp.reporting.schemas import PeriodQuerySchema
from certapp.reporting.service_codes import execution_by_service_code, indicators_by_service_code
from certapp.uow import refuse

bp = Blueprint("reporting", __name__, url_prefix="/reports")




@bp.route("/social-orders", methods=["GET", "POST"])
@roles("department", "bookkeeping")
def social_orders():
    if request.method == "POST":  # the service refuses any role but the department
        order = run_and_flash(lambda: services.create_order(request.form.get("year", type=int), current_user),
                              "Проект социального заказа создан.")
        if order is not None:
            return redirect(url_for("reporting.social_order", order_id=order.id))
    orders = db.session.execute(services.orders_query()).scalars().all()
    return render_template("reporting/social_orders.html", orders=orders, this_year=clock.today().year)


@bp.route("/social-orders/<int:order_id>", methods=["GET", "POST"])
@roles("department", "bookkeeping")
def social_order(order_id: int):
    order = services.get_order(order_id)
    if request.method == "POST":  # the service refuses any role but the department
        try:
            lines = {line.direction.code: {
                "planned_children": int(request.form.get(f"{line.direction.code}-children", "0") or 0),
                "planned_child_hours": int(request.form.get(f"{line.direction.code}-hours", "0") or 0),
                "planned_money": parse_rub(request.form.get(f"{line.direction.code}-money", "0") or "0", "money",
                                           f"{line.direction.name}: средства, ₽"),
            } for line in order.lines}
        except ValueError:
            flash("Плановые значения — целые числа, средства — в рублях.", "error")
        except DomainError as error:
            refuse(error)
            flash(error.message, "error")
        else:
            run_and_flash(lambda: services.update_order_lines(order_id, current_user, lines), "План сохранён.")
        return redirect(url_for("reporting.social_order", order_id=order_id))
    return render_template("reporting/social_order.html", order=order, rub=kopecks_to_rub_str,
                           number=services.order_number(order),
                           categories=services.certificates_by_category(order.year))


@bp.route("/social-orders/<int:order_id>/approve", methods=["POST"])
@roles("department")
def approve(order_id: int):
    run_and_flash(lambda: services.approve_order(order_id, current_user), "Социальный заказ утверждён.")
    return redirect(url_for("reporting.social_order", order_id=order_id))


def _period_args() -> tuple[int, int | None, dict[str, str]]:
    """The report's year (this year when none is given or it is refused) and quarter, by the API's own schema
    (api.execution), and the message of each refused one."""
    args, errors = page_filters(PeriodQuerySchema(partial=("year",)), request.args)
    return args.get("year") or clock.today().year, args.get("quarter"), errors


@bp.route("/execution")
@bp.route("/execution.<any(xlsx, pdf):fmt>")
@bp.route("/execution/print", defaults={"fmt": "print"})
@roles("department", "bookkeeping")
@reads_from_replica
def execution(fmt: str | None = None):
    year, quarter, errors = _period_args()
    try:
        report = services.execution_report(year, quarter)
    except DomainError as error:
        flash(error.message, "error")
        return redirect(url_for("reporting.execution"))
    name = f"execution-{year}{'-q' + str(quarter) if quarter else ''}"
    if errors:  # a refused year or quarter is told on the page, never exported as another period's report
        fmt = None
    if fmt == "xlsx":
        return xlsx_response(f"{name}.xlsx", [(f"Исполнение {report.title}"[:31], render.EXECUTION_HEADERS,
                                               render.execution_rows(report), (2, 3, 5, 6, 8, 9))])
    if fmt in ("pdf", "print"):
        document = replace(render.execution_document(services.execution_figures(report),
                                                      get_municipality_of(current_user)), filename=name)
        if fmt == "pdf":
            return pdf_response(document)
        return print_page(document, url_for("reporting.execution", fmt="pdf", year=year, quarter=quarter),
                          url_for("reporting.execution", year=year, quarter=quarter))
    formed = db.session.execute(services.formed_reports(year, quarter or 0)).scalars().all()
    return render_template("reporting/execution.html", report=report, year=year, quarter=quarter, formed=formed,
                           by_code=execution_by_service_code(year, quarter), errors=errors), 422 if errors else 200


@bp.route("/execution/form", methods=["POST"])
@roles("department")
def form_execution():
    """Form the execution report as a document: numbered, frozen, signed (a new version each time)."""
    year = request.form.get("year", type=int) or clock.today().year
    quarter = request.form.get("quarter", type=int) or None
    formed = run_and_flash(lambda: services.form_execution_report(year, quarter, current_user), None)
    if formed is None:
        return redirect(url_for("reporting.execution", year=year, quarter=quarter))
    flash(f"Отчёт сформирован и подписан: № {formed.number}, редакция {formed.version}.", "success")
    return redirect(url_for("reporting.formed_execution", formed_id=formed.id))


@bp.route("/execution/formed/<int:formed_id>")
@roles("department", "bookkeeping")
@reads_from_replica
def formed_execution(formed_id: int):
    """A formed report: its frozen figures beside the live ones computed now."""
    formed = services.get_formed_report(formed_id)
    live = services.execution_figures(services.execution_report(formed.year, formed.quarter or None))
    return render_template("reporting/formed_execution.html", formed=formed, live=live,
                           fields=services.EXECUTION_FIELDS)


@bp.route("/execution/formed/<int:formed_id>/print")
@bp.route("/execution/formed/<int:formed_id>/report.pdf", endpoint="formed_execution_pdf")
@roles("department", "bookkeeping")
def formed_execution_print(formed_id: int):
    """A formed report printed with its frozen figures, number, version and signature: a page or the PDF."""
    formed = services.get_formed_report(formed_id)
    document = render.execution_document(formed.figures, formed.municipality, formed)
    if request.path.endswith(".pdf"):
        return pdf_response(document)
    return print_page(document, url_for("reporting.formed_execution_pdf", formed_id=formed_id),
                      url_for("reporting.formed_execution", formed_id=formed_id))


@bp.route("/social-orders/<int:order_id>/print")
@bp.route("/social-orders/<int:order_id>/order.pdf", endpoint="social_order_pdf")
@roles("department", "bookkeeping")
def social_order_print(order_id: int):
    """A version of the social order printed with its lines and approval: a page or the PDF."""
    document = render.order_document(services.get_order(order_id))
    if request.path.endswith(".pdf"):
        return pdf_response(document)
    return print_page(document, url_for("reporting.social_order_pdf", order_id=order_id),
                      url_for("reporting.social_order", order_id=order_id))


@bp.route("/region")
@roles("region")
@reads_from_replica
def region():
    """Every municipality side by side: indicators, certificates and money, with comparison charts
    (computed now in a small region, else the newest stored report; recomputing it is a job)."""
    year = year_arg(request.args, clock.today().year)
    try:
        report = services.region_summary(year)
    except NotFoundError as error:
        return render_template("reporting/region.html", year=year, report=None, missing=error.message,
                               municipalities=list_municipalities(), viewing=g.region_view)
    places = report.municipalities[:-1]
    charts: list[tuple[str, str, list[tuple[str, Any]], int]] = [
        ("Списано за занятия", "₽", [(c.name, c.spent / 100) for c in places], 2)]
    charts += [(f"{row.number}. {row.name}", row.unit, [(c.name, c.indicators.get(row.code)) for c in places],
                1 if row.unit == "%" else 0) for row in services.ROWS if not row.yes_no]
    return render_template("reporting/region.html", year=year, report=report, columns=report.municipalities,
                           indicators=services.ROWS, text=services.indicator_text, charts=charts, municipalities=list_municipalities(),
                           viewing=g.region_view)


@bp.route("/region/compute", methods=["POST"])
@roles("region")
def compute_region():
    """Recompute the year's regional report as a job: its page shows the progress and links back."""
    year = request.form.get("year", type=int)
    record = run_and_flash(lambda: services.start_region_report(current_user, year), "Расчёт отчёта запущен.")
    if record is None:
        return redirect(url_for("reporting.region", year=year))
    return redirect(url_for("jobs.job", job_id=record.id))


@bp.route("/indicators", methods=["GET", "POST"])
@roles("department")
def indicators():
    """The indicators of Приложение № 3, every row, with their charts; the base and target values are
    edited in one form (every value checked, nothing saved while one is wrong)."""
    asked_year = year_arg(request.args, None)
    entered, errors = {}, {}
    if request.method == "POST":
        editable = [(code, year) for code in services.INDICATORS for year in (services.BASE_YEAR, services.TARGET_YEAR)]
        entered = {services.indicator_field(code, year): request.form.get(services.indicator_field(code, year))
                   for code, year in editable}
        values = [(code, year, entered[services.indicator_field(code, year)]) for code, year in editable
                  if entered[services.indicator_field(code, year)] is not None]
        try:
            changed = services.set_indicator_values(values, current_user)
        except DomainError as error:
            refuse(error)
            errors = error.fields or {"": error.message}
            flash(error.message, "error")
        else:
            flash(f"Сохранено: {changed} {plural(changed, 'значение', 'значения', 'значений')}." if changed
                  else "Значения не изменились.", "success")
            return redirect(url_for("reporting.indicators", year=asked_year))
    return _indicators_page(asked_year, entered=entered, errors=errors)


def _indicators_page(asked_year: int | None, *, entered: dict | None = None, errors: dict | None = None,
                     fact: dict | None = None):
    """The indicators page; `fact`: the fact form sent back with its errors ({"code", "values", "errors"})."""
    year, rows = services.indicator_table(asked_year)
    return render_template("reporting/indicators.html", rows=rows, year=year, entered=entered or {},
                           errors=errors or {}, fact=fact or {}, field_name=services.indicator_field,
                           base_year=services.BASE_YEAR, target_year=services.TARGET_YEAR,
                           categories=services.certificates_by_category(year),
                           by_code=indicators_by_service_code(year)), \
        422 if errors or fact else 200


FACT_FIELDS = ("value", "source", "source_date")


@bp.route("/indicators/facts", methods=["POST"])
@roles("department")
def indicator_fact():
    """The fact of the year of one row the system cannot count, with its source (the row's own form: its
    errors beside its fields, the rest of the page as it was)."""
    code = request.form.get("code", "")
    values = {name: request.form.get(name, "") for name in FACT_FIELDS}
    asked_year = None
    try:
        asked_year = year_arg(request.form, None)
        entry = services.enter_indicator_value(code, asked_year, values["value"], values["source"],
                                               values["source_date"], current_user)
    except DomainError as error:
        refuse(error)
        flash(error.message, "error")
        return _indicators_page(asked_year, fact={"code": code, "values": values,
                                             "errors": error.fields or {"value": error.message}})
    number = services.BY_CODE[code].number
    flash(f"Показатель {number}: значение за {asked_year} год сохранено." if entry is not None
          else f"Показатель {number}: значение за {asked_year} год удалено.", "success")
    return redirect(url_for("reporting.indicators", year=asked_year, _anchor=f"fact-{code}"))


@bp.route("/feedback", methods=["GET", "POST"])
@roles("parent", "provider", "department")
def feedback():
    if request.method == "POST":
        if current_user.role == "parent":
            contract_id, _, month = (request.form.get("contract_month") or "").partition(":")
            try:
                contract, month_value = int(contract_id), date.fromisoformat(month)
                rating = int(request.form.get("rating", ""))
            except ValueError:
                flash("Выберите месяц и оценку.", "error")
            else:
                run_and_flash(lambda: services.leave_feedback(current_user, contract, month_value, rating,
                                                              request.form.get("comment")), "Спасибо за отзыв!")
        elif current_user.role == "provider":
            run_and_flash(lambda: services.answer_feedback(current_user, request.form.get("feedback_id", type=int),
                                                           request.form.get("answer")), "Ответ опубликован.")
        return redirect(url_for("reporting.feedback"))
    page = paginate(services.feedback_for(current_user), page_number(request.args), 50)
    to_rate = services.months_to_rate(current_user) if current_user.role == "parent" else []
    return render_template("reporting/feedback.html", page=page, to_rate=to_rate)
