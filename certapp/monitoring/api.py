from flask_login import current_user
from flask_smorest import Blueprint

from certapp.accounts.access import roles
from certapp.common import clock
from certapp.common.errors import ValidationError
from certapp.common.pagination import LIST_PAGE, SelectPage
from certapp.monitoring import services
from certapp.monitoring.schemas import (
    ChecklistItemSchema,
    ChecklistQuerySchema,
    MunicipalityFiguresSchema,
    VisitInputSchema,
    VisitQuerySchema,
    VisitSchema,
    VisitSummarySchema,
    YearQuerySchema,
)

blp = Blueprint("monitoring_api", __name__, url_prefix="/monitoring",
                description="Мониторинг качества услуг муниципальным опорным центром")


@blp.route("/checklist-items", methods=["GET"])
@blp.arguments(ChecklistQuerySchema, location="query")
@blp.response(200, ChecklistItemSchema(many=True))
@blp.paginate(SelectPage, **LIST_PAGE)
@roles("moc", "department")
def list_items(args):
    """The municipality's checklist (`include_retired`: with the items no longer asked)."""
    return services.checklist(include_retired=args["include_retired"])


@blp.route("/checklist-items", methods=["POST"])
@blp.arguments(ChecklistItemSchema)
@blp.response(201, ChecklistItemSchema)
@roles("moc")
def add_item(data):
    return services.add_item(data["title"], data["weight"], current_user)


@blp.route("/checklist-items/<int:item_id>/retire", methods=["POST"])
@blp.response(200, ChecklistItemSchema)
@roles("moc")
def retire_item(item_id: int):
    """Stop asking the item on new visits (the visits that asked it keep its result)."""
    return services.retire_item(item_id, current_user)


@blp.route("/visits", methods=["GET"])
@blp.arguments(VisitQuerySchema, location="query")
@blp.response(200, VisitSummarySchema(many=True))
@blp.paginate(SelectPage, **LIST_PAGE)
@roles("moc", "department", "provider")
def list_visits(args):
    """Visits, newest first: the municipality's (support centre, department), a provider's own."""
    return services.visits_for(current_user, provider_id=args.get("provider"), year=args.get("year"))


@blp.route("/visits", methods=["POST"])
@blp.arguments(VisitInputSchema)
@blp.response(201, VisitSchema)
@roles("moc")
def create_visit(data):
    """Record a visit: every item of the current checklist once, with its result."""
    results: dict = {}
    for row in data["results"]:
        if row["item_id"] in results:
            raise ValidationError("Каждый пункт указывается один раз.", field=f"results.{row['item_id']}")
        results[row["item_id"]] = (row["result"], row["comment"])
    visit = services.record_visit(current_user, provider_id=data["provider_id"], visited_on=data["visited_on"],
                                  results=results, comment=data["comment"])
    return services.get_visit(visit.id, current_user)


@blp.route("/visits/<int:visit_id>", methods=["GET"])
@blp.response(200, VisitSchema)
@roles("moc", "department", "provider")
def get_visit(visit_id: int):
    return services.get_visit(visit_id, current_user)


@blp.route("/region", methods=["GET"])
@blp.arguments(YearQuerySchema, location="query")
@blp.response(200, MunicipalityFiguresSchema(many=True))
@blp.paginate(SelectPage, **LIST_PAGE)
@roles("region")
def region(args):
    """Rows 4.4 and 4.5 of Приложение 3 for each municipality, then the region (`municipality` null)."""
    return services.region_comparison(args.get("year") or clock.today().year)
