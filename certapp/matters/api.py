from flask_login import current_user
from flask_smorest import Blueprint
from marshmallow import Schema, fields

from certapp.accounts.access import roles
from certapp.common.pagination import LIST_PAGE, SelectPage
from certapp.matters import services
from certapp.matters.schemas import MatterQuerySchema

blp = Blueprint("matters_api", __name__, url_prefix="/matters",
                description="Что ждёт решения: документы на рассмотрении, отчёты и оплаты, их сроки и просрочки")


class MatterSchema(Schema):
    kind = fields.String(metadata={"enum": list(services.MATTER_KINDS)})
    kind_name = fields.String()
    title = fields.String(metadata={"description": "what waits"})
    whose = fields.String(metadata={"description": "the child, the applicant or the provider"})
    since = fields.Date(allow_none=True)
    due_on = fields.Date(allow_none=True, metadata={"description": "null: no deadline for this kind"})
    days_left = fields.Integer(allow_none=True, metadata={
        "description": "working days left: 0 the last day, negative overdue by that many; null without a due date"})
    overdue = fields.Boolean()
    days_overdue = fields.Integer(metadata={"description": "working days past the due date (0: not overdue)"})
    due_text = fields.String()
    url = fields.String(metadata={"description": "the page to act on, a path in the app"})
    municipality = fields.String(allow_none=True)
    provider_id = fields.Integer(allow_none=True)
    provider_name = fields.String(allow_none=True)


@blp.route("", methods=["GET"])
@blp.arguments(MatterQuerySchema, location="query")
@blp.response(200, MatterSchema(many=True))
@blp.paginate(SelectPage, **LIST_PAGE)
@roles("department", "bookkeeping", "provider")
def list_matters(args):
    """What waits on the caller's side and what is overdue, the most overdue first (due dates from the
    deadlines' rules), a page at a time (X-Pagination). The regional operator reads a municipality's
    (?municipality=ОКТМО); a provider its own."""
    return services.matters_for(current_user, args.get("kind"), args["overdue"], args.get("provider"))
