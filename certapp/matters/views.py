"""«Что ждёт решения»: the page of what waits on the user's side and what is overdue."""
from flask import Blueprint, g, render_template, request
from flask_login import current_user

from certapp.accounts.access import roles
from certapp.common.normalise import id_filter, identifier, is_ascii_digits
from certapp.matters import services
from certapp.reference.services import find_municipality, list_municipalities

bp = Blueprint("matters", __name__)

PER_PAGE = 30


def _filters(args) -> tuple[dict, dict[str, str]]:
    """The page's filters from the address, and a Russian message for each value that is not valid (that
    filter is then left out: the page still lists what waits)."""
    errors = {}
    kinds = services.kinds_for(current_user)
    kind = args.get("kind") or None
    if kind and kind not in kinds:
        errors["kind"], kind = "Такого вида дел нет: выберите из списка.", None
    provider_id = id_filter(args, "provider", errors, "Такого исполнителя нет: выберите из списка.")
    if current_user.role == "region" and args.get("municipality") and find_municipality(args["municipality"]) is None:
        errors["municipality"] = f"Муниципалитета нет: показан «{g.region_view.name}»."
    page_text = identifier(args.get("page", "")) or "1"
    page = int(page_text) if is_ascii_digits(page_text) and len(page_text) <= 6 and int(page_text) >= 1 else 1
    return {"kind": kind, "overdue_only": args.get("overdue") == "1", "provider_id": provider_id, "page": page}, errors


@bp.route("/matters")
@roles("department", "bookkeeping", "provider")
def index():
    filters, errors = _filters(request.args)
    page_number = filters.pop("page")
    everything = services.matters_for(current_user, filters["kind"], filters["overdue_only"])
    providers = services.providers_of(everything)
    matters = services.of_provider(everything, filters["provider_id"])
    return render_template("matters/index.html", page=services.page_of(matters, page_number, PER_PAGE),
                           filters=filters, errors=errors, kinds=services.kinds_for(current_user),
                           providers=providers, overdue=sum(m.overdue for m in matters),
                           municipalities=list_municipalities() if current_user.role == "region" else []
                           ), 422 if errors else 200
