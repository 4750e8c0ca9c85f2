from flask_smorest import Blueprint
from marshmallow import Schema, fields

from certapp.accounts.access import roles
from certapp.audit.schemas import AuditQuerySchema
from certapp.audit.services import query_events
from certapp.common.pagination import LIST_PAGE, SelectPage

blp = Blueprint("audit_api", __name__, url_prefix="/audit-events", description="Журнал действий")


class AuditEventSchema(Schema):
    id = fields.Integer()
    created_at = fields.DateTime()
    actor_id = fields.Integer(allow_none=True)
    actor_label = fields.String()
    ip = fields.String(allow_none=True)
    action = fields.String()
    object_type = fields.String()
    object_id = fields.String(allow_none=True)
    from_state = fields.String(allow_none=True)
    to_state = fields.String(allow_none=True)
    details = fields.Dict(allow_none=True)


@blp.route("", methods=["GET"])
@blp.arguments(AuditQuerySchema, location="query")
@blp.response(200, AuditEventSchema(many=True))
@blp.paginate(SelectPage, **LIST_PAGE)
@roles("department")
def list_events(args):
    """The audit log, newest first, a page at a time (X-Pagination)."""
    return query_events(**args)
