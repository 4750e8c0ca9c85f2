"""The department's page of loads from another system: templates, upload (check or load), the batches."""
from flask import Blueprint, flash, jsonify, redirect, render_template, request, url_for
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
    """Templates, the upload form (every wrong field beside it) and the municipality's uploads. An upload
    is answered at once: its batch's page follows the job that checks (and loads) it."""
    errors: dict[str, str] = {}
    kind = request.form.get("kind", "")
    if request.method == "POST":
        upload = request.files.get("file")
        filename = (upload.filename or "") if upload is not None else ""
        content = upload.read(services.MAX_FILE_BYTES + 1) if upload is not None and filename else None
        try:
            batch = services.upload(current_user, kind, filename, content, dry_run=bool(request.form.get("dry_run")))
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
    """One upload: its state, the check's and the load's progress, every problem by row and column."""
    record = services.get_batch(batch_id, current_user)
    job = db.session.get(Job, record.job_id) if record.job_id else None
    return render_template("imports/batch.html", batch=record, job=job, progress=services.progress_text(record, job))


@bp.route("/<int:batch_id>.json")
@roles("department")
def batch_state(batch_id: int):
    """The batch's progress for its page's script (the shape of a job's: certapp/static/js/app.js polls it
    until the job ends, then offers the page again with the outcome)."""
    record = services.get_batch(batch_id, current_user)
    job = db.session.get(Job, record.job_id) if record.job_id else None
    state = job.state if job else "done"
    return jsonify({"state": state, "state_name": services.progress_text(record, job),
                    "done": job.done if job else 0, "total": job.total if job else None,
                    "percent": job.percent if job else 100, "message": record.message,
                    "error": job.error if job else None,
                    "result_url": url_for("imports.batch", batch_id=record.id) if state in ("done", "failed") else None})


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
