from flask_login import current_user
from flask_smorest import Blueprint

from certapp.accounts.access import authenticated, roles
from certapp.common.jsonable import jsonable
from certapp.common.pagination import paginate
from certapp.common.schemas import PaginationQuerySchema
from certapp.privacy import services
from certapp.privacy.schemas import AnonymisedSchema, DuePageSchema, MyDataSchema

blp = Blueprint("privacy_api", __name__, url_prefix="/privacy", description="Персональные данные (152-ФЗ)")


@blp.route("/my-data", methods=["GET"])
@blp.response(200, MyDataSchema)
@authenticated
def my_data():
    """What the system holds about the token's owner (and a parent's children)."""
    return jsonable(services.personal_data_report(current_user))


@blp.route("/due", methods=["GET"])
@blp.arguments(PaginationQuerySchema, location="query")
@blp.response(200, DuePageSchema)
@roles("department")
def due(args):
    """Children whose retention period is over and who have no open contract."""
    return paginate(services.due_for_anonymisation(), args["page"], args["per_page"])


@blp.route("/children/<int:child_id>/anonymise", methods=["POST"])
@blp.response(200, AnonymisedSchema)
@roles("department")
def anonymise(child_id: int):
    """Remove the child's names, СНИЛС, documents and address; money records stay."""
    return services.anonymise_child(child_id, current_user)
