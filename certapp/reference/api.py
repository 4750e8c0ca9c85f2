from flask_login import current_user
from flask_smorest import Blueprint

from certapp.accounts.access import public, roles
from certapp.common.pagination import LIST_PAGE, SelectPage
from certapp.reference import services
from certapp.reference.schemas import (
    DirectionSchema,
    MunicipalitySchema,
    MunicipalityUpdateSchema,
    PeriodSchema,
    PeriodUpdateSchema,
)

blp = Blueprint("reference_api", __name__, url_prefix="/reference", description="Справочники")


@blp.route("/directions", methods=["GET"])
@blp.response(200, DirectionSchema(many=True))
@blp.paginate(SelectPage, **LIST_PAGE)
@blp.doc(security=[])  # anyone: no token needed
@public
def directions():
    """The six directions and their registry numbers of the service."""
    return services.list_directions()


@blp.route("/municipalities", methods=["GET"])
@blp.response(200, MunicipalitySchema(many=True))
@blp.paginate(SelectPage, **LIST_PAGE)
@blp.doc(security=[])  # anyone: no token needed
@public
def municipalities():
    """The municipalities of the installation, with their authorised bodies and orders."""
    return services.list_municipalities()


@blp.route("/municipalities/<int:municipality_id>", methods=["PUT"])
@blp.arguments(MunicipalityUpdateSchema)
@blp.response(200, MunicipalitySchema)
@roles("department")
def update_municipality(data, municipality_id: int):
    """The department's own municipality: authorised body, order, the exclusions its order adds."""
    return services.update_municipality(municipality_id, data, current_user)


@blp.route("/periods", methods=["GET"])
@blp.response(200, PeriodSchema(many=True))
@blp.paginate(SelectPage, **LIST_PAGE)
@blp.doc(security=[])  # anyone: no token needed
@public
def periods():
    return services.list_periods()


@blp.route("/periods", methods=["POST"])
@blp.arguments(PeriodSchema)
@blp.response(201, PeriodSchema)
@roles("department")
def create_period(data):
    return services.create_period(code=data["code"], name=data["name"], starts_on=data["starts_on"],
                                  ends_on=data["ends_on"], nominal=data["nominal_rub"], actor=current_user)


@blp.route("/periods/<int:period_id>", methods=["PUT"])
@blp.arguments(PeriodUpdateSchema)
@blp.response(200, PeriodSchema)
@roles("department")
def update_period(data, period_id: int):
    return services.update_period(period_id, name=data["name"], starts_on=data["starts_on"],
                                  ends_on=data["ends_on"], nominal=data["nominal_rub"], actor=current_user)
