from flask import Blueprint, jsonify, render_template, send_file
from flask_login import current_user

from certapp.accounts.access import authenticated
from certapp.common.exports import content_disposition
from certapp.jobs import services

bp = Blueprint("jobs", __name__, url_prefix="/jobs")


def job_json(record) -> dict:
    return {"id": record.id, "kind": record.kind, "title": record.title, "state": record.state,
            "state_name": record.state_name, "done": record.done, "total": record.total,
            "percent": record.percent, "result_url": record.result_url, "message": record.message,
            "error": record.error}


@bp.route("/<int:job_id>")
@authenticated
def job(job_id: int):
    """The job's progress bar; the page's script polls the JSON below until the job ends."""
    return render_template("jobs/job.html", job=services.get_job(job_id, current_user))


@bp.route("/<int:job_id>.json")
@authenticated
def job_state(job_id: int):
    return jsonify(job_json(services.get_job(job_id, current_user)))


@bp.route("/<int:job_id>/file")
@authenticated
def file(job_id: int):
    """The file the job wrote (an export), for its starter."""
    path, name, mimetype = services.written_file(job_id, current_user)
    response = send_file(path, mimetype=mimetype, as_attachment=True, download_name=name)
    response.headers["Content-Disposition"] = content_disposition(name)  # the one spelling of every download
    return response
