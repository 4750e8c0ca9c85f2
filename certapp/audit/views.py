from datetime import date
from typing import Any

from flask import Blueprint, render_template, request

from certapp import labels
from certapp.accounts.access import roles
from certapp.audit.services import query_events
from certapp.common.pagination import paginate

bp = Blueprint("audit", __name__, url_prefix="/audit")
# the journal's words for people (also on a parent's own data page): certapp/labels.py
bp.add_app_template_filter(labels.action_name, "action_name")
bp.add_app_template_filter(labels.details_text, "details_text")
bp.add_app_template_global(labels.object_name, "object_name")
bp.add_app_template_global(labels.state_name, "state_name")


def _date_arg(name: str) -> date | None:
    try:
        return date.fromisoformat(request.args.get(name, ""))
    except ValueError:
        return None


@bp.route("/")
@roles("department")
def index():
    filters: dict[str, Any] = {key: (request.args.get(key) or "").strip() or None
               for key in ("action", "object_type", "object_id", "actor")}
    filters["date_from"], filters["date_to"] = _date_arg("date_from"), _date_arg("date_to")
    page = paginate(query_events(**filters), request.args.get("page", 1, type=int), 50)
    return render_template("audit/index.html", page=page, filters=filters)
