from flask_smorest.fields import Upload
from marshmallow import Schema, fields

from certapp.imports.models import IMPORT_KINDS, IMPORT_STATUSES


class UploadFormSchema(Schema):
    # checked by the service with the file, so that a 422 names every wrong field at once
    kind = fields.String(load_default="", metadata={"enum": list(IMPORT_KINDS),
                                                    "description": "providers | certificates | contracts (required)"})
    dry_run = fields.Boolean(load_default=False, metadata={"description": "only check: nothing is written"})


class UploadFileSchema(Schema):
    file = Upload(load_default=None, metadata={"description": "CSV (`;`, UTF-8) or XLSX made from the template "
                                                              "(required)"})


class ProblemSchema(Schema):
    row = fields.Integer(allow_none=True, metadata={"description": "the file's row (the header is row 1); none: the whole file"})
    field = fields.String(metadata={"description": "the column's Russian header"})
    message = fields.String()


class ImportSummarySchema(Schema):
    """An upload in a list: without its problems (thousands at most), which GET /imports/{id} gives."""
    id = fields.Integer()
    kind = fields.String(metadata={"enum": list(IMPORT_KINDS)})
    kind_name = fields.String()
    status = fields.String(metadata={"enum": list(IMPORT_STATUSES)})
    status_name = fields.String()
    dry_run = fields.Boolean()
    filename = fields.String()
    rows = fields.Integer()
    created = fields.Integer()
    skipped = fields.Integer()
    problem_count = fields.Integer()
    message = fields.String(allow_none=True)
    job_id = fields.Integer(allow_none=True)
    created_at = fields.DateTime()
    finished_at = fields.DateTime(allow_none=True)


class ImportBatchSchema(Schema):
    id = fields.Integer()
    kind = fields.String(metadata={"enum": list(IMPORT_KINDS)})
    kind_name = fields.String()
    status = fields.String(metadata={"enum": list(IMPORT_STATUSES), "description":
                                     "checking (the job reads every row) -> checked (a dry run) | failed (problems) "
                                     "| queued (loading) -> imported | unchanged | failed"})
    status_name = fields.String()
    dry_run = fields.Boolean()
    filename = fields.String()
    sha256 = fields.String()
    rows = fields.Integer()
    created = fields.Integer(metadata={"description": "rows written by the load"})
    skipped = fields.Integer(metadata={"description": "rows loaded before with the same values, left as they were"})
    problem_count = fields.Integer()
    problems = fields.List(fields.Nested(ProblemSchema), allow_none=True)
    message = fields.String(allow_none=True)
    job_id = fields.Integer(allow_none=True, metadata={"description": "the job that checks the file and loads it"})
    state = fields.String(allow_none=True, metadata={"description": "the job's state: queued, running, done, failed"})
    done = fields.Integer(allow_none=True, metadata={
        "description": "status `checking`: rows checked so far; `queued` (loading): steps of the load (each row "
                       "checked again, then written)"})
    total = fields.Integer(allow_none=True, metadata={"description": "`checking`: the file's rows; `queued`: twice them"})
    percent = fields.Integer(allow_none=True)
    progress = fields.String(metadata={"description": "what the page says: «Проверяется… 1 200 из 5 000 строк», "
                                                      "«Загружается… 40 %», else the status's name"})
    created_at = fields.DateTime()
    finished_at = fields.DateTime(allow_none=True)
