from flask import Response
from flask_login import current_user
from flask_smorest import Blueprint

from certapp.accounts.access import roles
from certapp.common.errors import NotFoundError
from certapp.common.exports import csv_response, xlsx_response
from certapp.common.pagination import LIST_PAGE, SelectPage
from certapp.imports import services
from certapp.imports.models import IMPORT_KINDS, ImportBatch
from certapp.imports.schemas import ImportBatchSchema, ImportSummarySchema, UploadFileSchema, UploadFormSchema
from certapp.imports.views import TEMPLATE_NAMES

blp = Blueprint("imports_api", __name__, url_prefix="/imports",
                description="Загрузка данных района из прежней системы (исполнители, сертификаты, договоры)")


def _with_job(batch: ImportBatch) -> dict:
    job = batch.job
    fields = ("id", "kind", "kind_name", "status", "status_name", "dry_run", "filename", "sha256", "rows", "created",
              "skipped", "problem_count", "problems", "message", "job_id", "created_at", "finished_at")
    return {**{name: getattr(batch, name) for name in fields},
            "state": job.state if job else None, "done": job.done if job else None,
            "total": job.total if job else None, "percent": job.percent if job else None,
            "progress": services.progress_text(batch, job)}


@blp.route("", methods=["GET"])
@blp.response(200, ImportSummarySchema(many=True))
@blp.paginate(SelectPage, **LIST_PAGE)
@roles("department")
def list_imports():
    """The municipality's uploads, newest first, a page at a time (X-Pagination)."""
    return services.batches_query()


@blp.route("", methods=["POST"])
@blp.arguments(UploadFormSchema, location="form")
@blp.arguments(UploadFileSchema, location="files")
@blp.response(202, ImportBatchSchema)
@blp.alt_response(422, description="the upload is refused, nothing written: `errors` names every wrong field "
                                   "(`kind`; `file`: none, larger than 2 MB, empty, not CSV/XLSX, unreadable, "
                                   "without the template's columns), in Russian")
@roles("department")
def upload(form, files):
    """Upload a file into the official's own municipality. Answers at once, before its rows are checked:
    202 with the batch, `status` «checking», and its `job_id`. The job checks every row and field, then —
    with `dry_run` it writes nothing but the batch (status `checked`); otherwise, with no problem, it goes on
    into the load (status `queued`, then `imported` or `unchanged`: all rows or none, the same file again
    changes nothing), with a problem the batch is `failed`. Follow it at GET /imports/{id}: `progress`,
    `done`/`total`/`percent`, then `problems` by row and column."""
    file = files.get("file")
    content = file.read(services.MAX_FILE_BYTES + 1) if file is not None else None
    batch = services.upload(current_user, form["kind"], (file.filename or "") if file is not None else "", content,
                            form["dry_run"])
    return _with_job(batch)


@blp.route("/<int:batch_id>", methods=["GET"])
@blp.response(200, ImportBatchSchema)
@roles("department")
def get_import(batch_id: int):
    """An upload: its status (checking, checked, queued, imported, unchanged, failed), its job's progress while
    it checks («Проверяется… N из M строк») and loads, then every problem by row and column (`problems`, the
    first 2 000; `problem_count` all) or none."""
    return _with_job(services.get_batch(batch_id, current_user))


@blp.route("/templates/<name>", methods=["GET"])
@blp.doc(responses={"200": {"description": "the template: providers|certificates|contracts, .csv or .xlsx"}})
@roles("department")
def template(name: str) -> Response:
    """The template with the Russian headers and an example row (`providers.csv`, `certificates.xlsx` …)."""
    kind, _, fmt = name.rpartition(".")
    if kind not in IMPORT_KINDS or fmt not in ("csv", "xlsx"):
        raise NotFoundError("Такого шаблона нет: providers, certificates или contracts, .csv или .xlsx.")
    headers, rows = services.template_rows(kind)
    if fmt == "csv":
        return csv_response(headers, rows, f"{TEMPLATE_NAMES[kind]}.csv")
    return xlsx_response(f"{TEMPLATE_NAMES[kind]}.xlsx", [(IMPORT_KINDS[kind][:31], headers, rows, ())])
