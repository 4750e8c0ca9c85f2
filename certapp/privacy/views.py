import json

from flask import Blueprint, Response, redirect, render_template, request, url_for
from flask_login import current_user

from certapp.accounts.access import authenticated, roles
from certapp.common.exports import content_disposition
from certapp.common.jsonable import jsonable
from certapp.common.pagination import page_number, paginate
from certapp.common.web import run_and_flash
from certapp.privacy import services

bp = Blueprint("privacy", __name__)


@bp.route("/account/my-data")
@authenticated
def my_data():
    return render_template("privacy/my_data.html", report=services.personal_data_report(current_user))


@bp.route("/account/my-data.json")
@authenticated
def my_data_download():
    body = json.dumps(jsonable(services.personal_data_report(current_user)), ensure_ascii=False, indent=2)
    return Response(body, mimetype="application/json",
                    headers={"Content-Disposition": content_disposition("my-data.json")})


@bp.route("/privacy/retention")
@roles("department")
def retention():
    page = paginate(services.due_for_anonymisation(), page_number(request.args))
    return render_template("privacy/retention.html", page=page, years=services.retention_years())


@bp.route("/privacy/children/<int:child_id>/anonymise", methods=["POST"])
@roles("department")
def anonymise(child_id: int):
    run_and_flash(lambda: services.anonymise_child(child_id, current_user), "Данные ребёнка обезличены.")
    return redirect(url_for("privacy.retention"))
