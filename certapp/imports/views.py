"""The department's page of loads from another system: templates, upload (check or load), the batches."""
from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_login import current_user

from certapp.accounts.access import roles
from certapp.common.errors import DomainError, NotFoundError
from certapp.common.exports import csv_response, xlsx_response
from certapp.db import db
from certapp.imports import services
from certapp.imports.models import IMPORT_KINDS
from certapp.jobs.models import Job
from certapp.uow import refuse

bp = Blueprint("imports", __name__, url_prefix="/imports")

#: the download names of the templates
TEMPLATE_NAMES = {"providers": "шаблон-исполнители", "certificates": "шаблон-сертификаты", "contracts": "шаблон-договоры"}


@bp.route("", methods=["GET", "POST"])
@roles("department")
def index():
    """Templates, the upload form (every wrong field beside it) and the municipality's uploads."""
    errors: dict[str, str] = {}
    kind = request.form.get("kind", "")
    if request.method == "POST":
        upload = request.files.get("file")
        try:
            if kind not in IMPORT_KINDS:
                errors["kind"] = "Выберите, что загружается."
            if upload is None or not upload.filename:
                errors["file"] = "Выберите файл CSV или XLSX."
            if errors or upload is None:
                raise services.ImportRefused("Исправьте поля формы.", fields=errors)
            content = upload.read(services.MAX_FILE_BYTES + 1)
            batch = services.upload(current_user, kind, upload.filename or "", content,
                                    dry_run=bool(request.form.get("dry_run")))
        except DomainError as error:
            refuse(error)
            errors = dict(error.fields or {error.field or "file": error.message})
            flash(error.message, "error")
        else:
            return redirect(url_for("imports.batch", batch_id=batch.id))
    batches = db.session.execute(services.batches_query().limit(50)).scalars().all()
    return render_template("imports/index.html", kinds=IMPORT_KINDS, batches=batches, errors=errors,
                           chosen=kind, dry_run=request.method == "GET" or bool(request.form.get("dry_run")),
                           limits=services.limits_text()), 422 if errors else 200


@bp.route("/<int:batch_id>")
@roles("department")
def batch(batch_id: int):
    """One upload: its state, the load's progress, every problem by row and column."""
    record = services.get_batch(batch_id, current_user)
    job = db.session.get(Job, record.job_id) if record.job_id else None
    return render_template("imports/batch.html", batch=record, job=job)


@bp.route("/templates/<kind>.<fmt>")
@roles("department")
def template(kind: str, fmt: str):
    """The template of a kind with its Russian headers and an example row: CSV (`;`, BOM) or XLSX."""
    if kind not in IMPORT_KINDS:
        raise NotFoundError("Такого шаблона нет.")
    headers, rows = services.template_rows(kind)
    if fmt == "csv":
        return csv_response(headers, rows, f"{TEMPLATE_NAMES[kind]}.csv")
    if fmt == "xlsx":
        return xlsx_response(f"{TEMPLATE_NAMES[kind]}.xlsx", [(IMPORT_KINDS[kind][:31], headers, rows, ())])
    raise NotFoundError("Шаблон есть в форматах CSV и XLSX.")
