from flask import Blueprint, Response, flash, redirect, render_template, request, url_for
from flask_login import current_user

from certapp.accounts.access import public, roles
from certapp.certificates import render, services
from certapp.certificates.forms import ApplyForm, ChildForm, DecisionForm, OnBehalfForm, StatusForm
from certapp.certificates.models import APPLICATION_STATUSES, CERTIFICATE_STATUSES
from certapp.common.errors import DomainError
from certapp.common.exports import Money, csv_response, xlsx_response
from certapp.common.forms import choices
from certapp.common.pagination import paginate
from certapp.common.web import flash_bulk
from certapp.contracts import services as contract_services
from certapp.contracts.services import upcoming_payments
from certapp.db import db, transaction
from certapp.jobs.bulk import bulk_from_page
from certapp.ledger import services as ledger
from certapp.reference.services import list_periods

bp = Blueprint("certificates", __name__)


def _fields(form, *skip) -> dict:
    return {name: f.data for name, f in form._fields.items() if name not in ("csrf_token", "submit", *skip)}


@bp.route("/children", methods=["GET", "POST"])
@roles("parent")
def children():
    form = ChildForm()
    if form.validate_on_submit():
        try:
            with transaction():
                services.add_child(current_user, _fields(form))
        except DomainError as error:
            form.add_domain_error(error)
        else:
            flash("Ребёнок добавлен. Теперь можно подать заявление на сертификат.", "success")
            return redirect(url_for("certificates.children"))
    return render_template("certificates/children.html", children=services.children_of(current_user), form=form,
                           certificates=services.certificates_of(current_user)), 422 if form.errors else 200


@bp.route("/certificates/apply", methods=["GET", "POST"])
@roles("parent")
def apply():
    form = ApplyForm()
    form.child_id.choices = choices((c.id, f"{c.full_name}, {c.birth_date:%d.%m.%Y}")
                                    for c in services.children_of(current_user))
    form.period_id.choices = choices((p.id, p.title) for p in list_periods())
    if form.validate_on_submit():
        try:
            with transaction():
                services.apply(current_user, form.child_id.data, form.period_id.data, form.consent.data)
        except DomainError as error:
            form.add_domain_error(error)
        else:
            flash("Заявление подано. Управление образования проверит документы и выдаст сертификат.", "success")
            return redirect(url_for("certificates.my_applications"))
    return render_template("certificates/apply.html", form=form), 422 if form.errors else 200


@bp.route("/certificates/applications")
@roles("parent")
def my_applications():
    return render_template("certificates/my_applications.html",
                           applications=services.applications_of(current_user))


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
                           entries=ledger.entries_of(cert.id), status_form=StatusForm(), contracts=contracts)


@bp.route("/certificates/<int:certificate_id>/qr.<any(png, svg):fmt>")
@roles("parent", "department", "bookkeeping")
def qr_image(certificate_id: int, fmt: str):
    cert = services.get_certificate(certificate_id, current_user)
    if fmt == "png":
        return Response(render.qr_png(cert.qr_payload), mimetype="image/png")
    return Response(render.qr_svg(cert.qr_payload), mimetype="image/svg+xml")


@bp.route("/certificates/<int:certificate_id>/print")
@roles("parent", "department", "bookkeeping")
def print_page(certificate_id: int):
    cert = services.get_certificate(certificate_id, current_user)
    return render_template("certificates/print.html", certificate=cert, balance=ledger.balance_of(cert.id))


@bp.route("/certificates/<int:certificate_id>/certificate.pdf")
@roles("parent", "department", "bookkeeping")
def pdf(certificate_id: int):
    cert = services.get_certificate(certificate_id, current_user)
    body = render.certificate_pdf(cert, ledger.balance_of(cert.id), cert.period.municipality.name)
    return Response(body, mimetype="application/pdf",
                    headers={"Content-Disposition": f"inline; filename=certificate-{cert.number}.pdf"})


@bp.route("/certificates/<int:certificate_id>/status", methods=["POST"])
@roles("department")
def change_status(certificate_id: int):
    form = StatusForm()
    if form.validate_on_submit():
        try:
            with transaction():
                services.change_status(certificate_id, form.status.data, current_user, form.reason.data)
        except DomainError as error:
            flash(error.message, "error")
        else:
            flash("Состояние сертификата изменено.", "success")
    else:
        flash("Укажите основание.", "error")
    return redirect(url_for("certificates.certificate", certificate_id=certificate_id))


@bp.route("/certificates/queue")
@roles("department")
def queue():
    status = request.args.get("status", "submitted")
    status = status if status in APPLICATION_STATUSES else None
    page = paginate(services.application_queue(status), request.args.get("page", 1, type=int), 50)
    return render_template("certificates/queue.html", page=page, status=status, statuses=APPLICATION_STATUSES,
                           form=DecisionForm())


@bp.route("/certificates/applications/<int:application_id>/decide", methods=["POST"])
@roles("department")
def decide(application_id: int):
    form = DecisionForm()
    if form.validate_on_submit():
        try:
            with transaction():
                result = services.decide(application_id, form.decision.data, current_user, form.reason.data)
        except DomainError as error:
            flash(error.message, "error")
        else:
            flash(f"Сертификат № {result.number} выдан." if form.decision.data == "confirmed"
                  else "В выдаче сертификата отказано.", "success")
    return redirect(url_for("certificates.queue"))


@bp.route("/certificates/applications/bulk", methods=["POST"])
@roles("department")
def decide_bulk():
    """One decision for the applications marked on the queue (one reason for all refusals)."""
    decision, reason, ids = request.form.get("decision"), request.form.get("reason"), request.form.getlist("ids", type=int)

    def report(result):
        if decision == "confirmed":
            flash_bulk(result, "Выдано", ("сертификат", "сертификата", "сертификатов"))
        else:
            flash_bulk(result, "Отказано", ("заявление", "заявления", "заявлений"))

    return bulk_from_page(ids, lambda: services.start_deciding(ids, decision, current_user, reason),
                          lambda: services.decide_many(ids, decision, current_user, reason), report,
                          url_for("certificates.queue", status=request.args.get("status")), "Решения принимаются.")


@bp.route("/certificates/on-behalf", methods=["GET", "POST"])
@roles("department")
def on_behalf():
    form = OnBehalfForm()
    form.period_id.choices = choices((p.id, p.title) for p in list_periods())
    if form.validate_on_submit():
        try:
            with transaction():
                cert = services.file_on_behalf(current_user, form.parent_email.data,
                                               _fields(form, "parent_email", "period_id", "consent"),
                                               form.period_id.data, form.consent.data)
        except DomainError as error:
            form.add_domain_error(error)
        else:
            flash(f"Сертификат № {cert.number} выдан.", "success")
            return redirect(url_for("certificates.certificate", certificate_id=cert.id))
    return render_template("certificates/on_behalf.html", form=form), 422 if form.errors else 200


HOLDER_HEADERS = ["Номер сертификата", "Ребёнок", "Дата рождения", "Период", "Номинал, ₽", "Доступно, ₽",
                  "Зарезервировано, ₽", "Списано, ₽", "Состояние", "Действует с", "Действует по"]


def _holder_filters() -> dict:
    period_id = request.args.get("period", type=int)
    status = request.args.get("status")
    return {"search": (request.args.get("q") or "").strip() or None, "period_id": period_id,
            "status": status if status in CERTIFICATE_STATUSES else None}


@bp.route("/certificates/holders")
@bp.route("/certificates/holders.<any(csv, xlsx):fmt>")
@roles("department", "bookkeeping")
def holders(fmt: str | None = None):
    """Реестр получателей сертификатов, with search, filters and exports."""
    filters = _holder_filters()
    stmt = services.holders_query(**filters)
    if fmt:
        rows = []
        for cert in db.session.execute(stmt).scalars():
            b = cert.balance
            rows.append([cert.number, cert.child.full_name, cert.child.birth_date, cert.period.name, Money(cert.nominal),
                         Money(b.available), Money(b.reserved), Money(b.spent), cert.status_name, cert.valid_from,
                         cert.valid_to])
        if fmt == "csv":
            return csv_response(HOLDER_HEADERS, rows, "certificate-holders.csv")
        return xlsx_response("certificate-holders.xlsx",
                             [("Получатели сертификатов", HOLDER_HEADERS, rows, (4, 5, 6, 7))])
    page = paginate(stmt, request.args.get("page", 1, type=int), 50)
    return render_template("certificates/holders.html", page=page, filters=filters, periods=list_periods(),
                           statuses=CERTIFICATE_STATUSES)


@bp.route("/verify")
@public
def verify():
    """Public check of a scanned QR code; no personal data in the answer."""
    code = (request.args.get("code") or "").strip()
    result = services.verify(code, current_user) if code else None
    return render_template("certificates/verify.html", code=code, result=result)
