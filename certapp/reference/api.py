from flask_login import current_user
from flask_smorest import Blueprint

from certapp.accounts.access import public, roles
from certapp.common.errors import NotFoundError
from certapp.common.pagination import LIST_PAGE, SelectPage
from certapp.reference import service_scope, services
from certapp.reference.schemas import (
    DirectionSchema,
    MunicipalitySchema,
    MunicipalityUpdateSchema,
    PeriodSchema,
    PeriodUpdateSchema,
    ServiceCodeSchema,
    ServiceCodesUpdateSchema,
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


@blp.route("/service-codes", methods=["GET"])
@blp.response(200, ServiceCodeSchema(many=True))
@blp.paginate(SelectPage, **LIST_PAGE)
@blp.doc(security=[])  # anyone: no token needed
@public
def service_codes():
    """The registry numbers of the service in the federal list: the six «за исключением обучающихся с ОВЗ и
    детей-инвалидов» of Приложение 1 к 458-п and the adapted programs' ones."""
    return service_scope.list_service_codes()


@blp.route("/municipalities/<int:municipality_id>/service-codes", methods=["GET"])
@blp.response(200, ServiceCodeSchema(many=True))
@blp.paginate(SelectPage, **LIST_PAGE)
@blp.doc(security=[])  # anyone: an order's Приложение 1 is public
@public
def financed_service_codes(municipality_id: int):
    """The registry numbers the municipality's order finances."""
    if services.find_municipality(municipality_id) is None:
        raise NotFoundError("Муниципальное образование не найдено.")
    return service_scope.financed_codes(municipality_id)


@blp.route("/municipalities/<int:municipality_id>/service-codes", methods=["PUT"])
@blp.arguments(ServiceCodesUpdateSchema)
@blp.response(200, ServiceCodeSchema(many=True))
@roles("department")
def set_financed_service_codes(data, municipality_id: int):
    """The department sets the registry numbers its own municipality's order finances (audited)."""
    return service_scope.set_financed_codes(municipality_id, data["codes"], current_user)


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
