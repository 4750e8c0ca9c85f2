"""«Что ждёт решения»: the page of what waits on the user's side and what is overdue."""
from flask import Blueprint, render_template, request
from flask_login import current_user

from certapp.accounts.access import roles
from certapp.common.pagination import page_number
from certapp.common.schemas import page_filters
from certapp.matters import services
from certapp.matters.schemas import MatterQuerySchema
from certapp.reference.services import UNKNOWN_MUNICIPALITY, find_municipality, list_municipalities

bp = Blueprint("matters", __name__)

PER_PAGE = 30


@bp.route("/matters")
@roles("department", "bookkeeping", "provider")
def index():
    args, errors = page_filters(MatterQuerySchema(), request.args)  # the API's own filters (api.list_matters)
    if current_user.role == "region" and args.get("municipality") and find_municipality(args["municipality"]) is None:
        errors["municipality"] = UNKNOWN_MUNICIPALITY  # the API refuses it in accounts.access; a page shows the chosen one
    filters = {"kind": args.get("kind"), "overdue_only": args["overdue"], "provider_id": args.get("provider")}
    everything = services.matters_for(current_user, filters["kind"], filters["overdue_only"])
    providers = services.providers_of(everything)
    matters = services.of_provider(everything, filters["provider_id"])
    return render_template("matters/index.html", page=services.page_of(matters, page_number(request.args), PER_PAGE),
                           filters=filters, errors=errors, kinds=services.kinds_for(current_user),
                           providers=providers, overdue=sum(m.overdue for m in matters),
                           municipalities=list_municipalities() if current_user.role == "region" else []
                           ), 422 if errors else 200
