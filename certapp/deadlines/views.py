from datetime import date

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_login import current_user
from markupsafe import Markup, escape

from certapp.accounts.access import roles
from certapp.common import clock
from certapp.common.errors import DomainError
from certapp.common.months import year_arg
from certapp.common.templating import plural
from certapp.common.web import run_and_flash
from certapp.db import db
from certapp.deadlines import services
from certapp.deadlines.models import DEADLINE_KINDS, HOLIDAY_KINDS
from certapp.uow import refuse

bp = Blueprint("deadlines", __name__, url_prefix="/deadlines")


def working_days(n: int) -> str:
    """«1 рабочий день», «2 рабочих дня», «5 рабочих дней»: the number with its noun."""
    return f"{n} {plural(n, 'рабочий день', 'рабочих дня', 'рабочих дней')}"


def due_text(due_on: date, left: int) -> str:
    """What a person reads beside a document: «до 18.12.2026, осталось 5 рабочих дней», «до 18.12.2026,
    остался 1 рабочий день», «срок 18.12.2026 — сегодня последний день», «срок 18.12.2026, просрочено на
    2 рабочих дня»."""
    day = f"{due_on:%d.%m.%Y}"
    if left < 0:
        return f"срок {day}, просрочено на {working_days(-left)}"
    if left == 0:
        return f"срок {day} — сегодня последний день"
    verb = "остался" if plural(left, "one", "few", "many") == "one" else "осталось"
    return f"до {day}, {verb} {working_days(left)}"


@bp.app_template_filter("due")
def due_label(due_on: date | None) -> Markup:
    """The due date and the working days left (or overdue), for a page: see due_text."""
    if not due_on:
        return Markup("")
    left = services.working_days_left(due_on)
    css = "due overdue" if left < 0 else "due today" if left == 0 else "due"
    return Markup(f'<span class="{css}">{escape(due_text(due_on, left))}</span>')


@bp.app_template_global("month_deadline")
def month_deadline(kind: str, month: date) -> date:
    return services.month_deadline(kind, month)


@bp.route("/", methods=["GET", "POST"])
@roles("department")
def index():
    """The deadlines' lengths (one form) and the production calendar's exceptions."""
    errors = {}
    if request.method == "POST":
        try:
            services.set_rules({kind: request.form.get(kind) for kind in DEADLINE_KINDS}, current_user)
        except DomainError as error:
            refuse(error)
            errors = error.fields or {"": error.message}
            flash(error.message, "error")
        else:
            flash("Сроки сохранены. Для уже поданных документов сроки не меняются.", "success")
            return redirect(url_for("deadlines.index"))
    year = year_arg(request.args, clock.today().year)
    return render_template("deadlines/index.html", rules=services.rules(), errors=errors, entered=request.form,
                           holidays=db.session.execute(services.holidays(year)).scalars().all(), year=year,
                           kinds=HOLIDAY_KINDS), 422 if errors else 200


@bp.route("/holidays", methods=["POST"])
@roles("department")
def add_holiday():
    typed = request.form.get("day")
    try:
        day = date.fromisoformat(typed) if typed else None
    except ValueError:
        day = None
    run_and_flash(lambda: services.add_holiday(day, request.form.get("kind", ""), request.form.get("name", ""), current_user),
                  "День добавлен в календарь.")
    return redirect(url_for("deadlines.index", year=day.year if day else None))


@bp.route("/holidays/<int:holiday_id>/remove", methods=["POST"])
@roles("department")
def remove_holiday(holiday_id: int):
    run_and_flash(lambda: services.remove_holiday(holiday_id, current_user), "День убран из календаря.")
    return redirect(url_for("deadlines.index", year=request.args.get("year")))
