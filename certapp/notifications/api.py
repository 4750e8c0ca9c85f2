from flask_login import current_user
from flask_smorest import Blueprint
from marshmallow import Schema, fields

from certapp.accounts.access import authenticated
from certapp.common.pagination import LIST_PAGE, SelectPage
from certapp.notifications import services
from certapp.notifications.models import NOTIFICATION_KINDS
from certapp.notifications.schemas import NotificationQuerySchema

blp = Blueprint("notifications_api", __name__, url_prefix="/notifications", description="Уведомления")


class NotificationSchema(Schema):
    id = fields.Integer()
    kind = fields.String(metadata={"enum": list(NOTIFICATION_KINDS)})
    title = fields.String()
    body = fields.String()
    url = fields.String(allow_none=True, metadata={"description": "the object's page, a path in the app"})
    created_at = fields.DateTime()
    read_at = fields.DateTime(allow_none=True)
    settled_at = fields.DateTime(allow_none=True, metadata={
        "description": "when the matter it asked to act on was decided: it no longer waits"})
    settled_text = fields.String(allow_none=True, metadata={"description": "«решено: …»"})


@blp.route("", methods=["GET"])
@blp.arguments(NotificationQuerySchema, location="query")
@blp.response(200, NotificationSchema(many=True))
@blp.paginate(SelectPage, **LIST_PAGE)
@authenticated
def list_notifications(args):
    """The caller's notifications, newest first (provider staff: their organisation's too), a page at a time
    (X-Pagination)."""
    return services.notifications_for(current_user, bool(args.get("unread")))


@blp.route("/<int:notification_id>/read", methods=["POST"])
@blp.response(200, NotificationSchema)
@authenticated
def read(notification_id: int):
    return services.mark_read(notification_id, current_user)
