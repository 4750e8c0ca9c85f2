from flask_login import current_user
from flask_smorest import Blueprint

from certapp.accounts.access import authenticated, roles
from certapp.common.jsonable import jsonable
from certapp.common.pagination import LIST_PAGE, SelectPage
from certapp.privacy import services
from certapp.privacy.schemas import AnonymisedSchema, DueChildSchema, MyDataSchema

blp = Blueprint("privacy_api", __name__, url_prefix="/privacy", description="Персональные данные (152-ФЗ)")


@blp.route("/my-data", methods=["GET"])
@blp.response(200, MyDataSchema)
@authenticated
def my_data():
    """What the system holds about the token's owner (and a parent's children)."""
    return jsonable(services.personal_data_report(current_user))


@blp.route("/due", methods=["GET"])
@blp.response(200, DueChildSchema(many=True))
@blp.paginate(SelectPage, **LIST_PAGE)
@roles("department")
def due():
    """Children whose retention period is over and who have no open contract, a page at a time
    (X-Pagination)."""
    return services.due_for_anonymisation()


@blp.route("/children/<int:child_id>/anonymise", methods=["POST"])
@blp.response(200, AnonymisedSchema)
@roles("department")
def anonymise(child_id: int):
    """Remove the child's names, СНИЛС, documents and address; money records stay."""
    return services.anonymise_child(child_id, current_user)
