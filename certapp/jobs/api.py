from flask import send_file
from flask_login import current_user
from flask_smorest import Blueprint
from marshmallow import Schema, fields

from certapp.accounts.access import authenticated
from certapp.common.exports import content_disposition
from certapp.jobs import services
from certapp.jobs.models import JOB_STATES

blp = Blueprint("jobs_api", __name__, url_prefix="/jobs", description="Фоновые задания и их ход")


class JobSchema(Schema):
    id = fields.Integer()
    kind = fields.String()
    title = fields.String()
    state = fields.String(metadata={"enum": list(JOB_STATES)})
    state_name = fields.String()
    done = fields.Integer()
    total = fields.Integer(allow_none=True)
    percent = fields.Integer()
    result_url = fields.String(allow_none=True, metadata={"description": "the result (a page or a file), when done"})
    message = fields.String(allow_none=True)
    error = fields.String(allow_none=True)


@blp.route("/<int:job_id>", methods=["GET"])
@blp.response(200, JobSchema)
@authenticated
def get_job(job_id: int):
    """A job the caller started (the department sees any): state, done/total, result link, error."""
    return services.get_job(job_id, current_user)


@blp.route("/<int:job_id>/file", methods=["GET"])
@blp.doc(responses={"200": {"description": "the file (CSV or XLSX) the finished job wrote"}})
@authenticated
def get_job_file(job_id: int):
    """The file a finished job wrote (an export); 404 until it is done, or once removed (after 7 days)."""
    path, name, mimetype = services.written_file(job_id, current_user)
    response = send_file(path, mimetype=mimetype, as_attachment=True, download_name=name)
    response.headers["Content-Disposition"] = content_disposition(name)  # the one spelling of every download
    return response
