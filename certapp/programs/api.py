from flask_login import current_user
from flask_smorest import Blueprint

from certapp.accounts.access import public, roles
from certapp.common.pagination import paginate
from certapp.db import db, transaction
from certapp.programs import services
from certapp.programs.schemas import (
    CatalogPageSchema,
    CatalogQuerySchema,
    GroupInputSchema,
    GroupSchema,
    ProgramDecisionSchema,
    ProgramInputSchema,
    ProgramQuerySchema,
    ProgramSchema,
)

blp = Blueprint("programs_api", __name__, url_prefix="/programs", description="Программы, группы и каталог")


def _with_seats(program):
    seats = services.seats_left(program.groups)
    for group in program.groups:
        group.seats_left = seats[group.id]
    return program


def _with_ratings(programs: list) -> list:
    """The parents' average rating and the number of ratings on each program, in one query for all."""
    ratings = services.program_ratings([p.id for p in programs])
    for program in programs:
        rating = ratings.get(program.id)
        program.rating_average, program.rating_count = (rating.average, rating.count) if rating else (None, 0)
    return programs


def _program_data(data: dict) -> dict:
    data = dict(data)
    data["price_per_month"] = data.pop("price_per_month_rub")
    return data


@blp.route("/catalog", methods=["GET"])
@blp.arguments(CatalogQuerySchema, location="query")
@blp.response(200, CatalogPageSchema)
@blp.doc(security=[])  # anyone: no token needed
@public
def catalog(args):
    """Published programs of providers in the registry, filtered by direction, child's age, provider, text."""
    page, per_page = args.pop("page"), args.pop("per_page")
    filters = {"direction": args.get("direction"), "age": args.get("age"), "provider_id": args.get("provider"),
               "text": args.get("q"), "with_seats": args.get("seats", False),
               "municipality_id": services.municipality_filter(args.get("municipality")),
               "first_municipality_id": services.home_municipality_of(current_user)}
    result = paginate(services.catalog_query(**filters), page, per_page)
    _with_ratings(result.items)
    return result


@blp.route("/<int:program_id>", methods=["GET"])
@blp.response(200, ProgramSchema)
@blp.doc(security=[])  # anyone: no token needed
@public
def get_program(program_id: int):
    """A published program with its groups and seats left (its provider and the department see any status)."""
    return _with_ratings([_with_seats(services.get_program_for(program_id, current_user))])[0]


@blp.route("", methods=["GET"])
@blp.arguments(ProgramQuerySchema, location="query")
@blp.response(200, ProgramSchema(many=True))
@roles("provider", "department")
def list_programs(args):
    """The provider's own programs; for the department, programs by status (default: awaiting approval)."""
    if current_user.role == "provider":
        return _with_ratings([_with_seats(p) for p in services.provider_programs(current_user)])
    return _with_ratings([_with_seats(p) for p in
                          db.session.execute(services.programs_for_review(args.get("status", "submitted"))).scalars()])


@blp.route("", methods=["POST"])
@blp.arguments(ProgramInputSchema)
@blp.response(201, ProgramSchema)
@roles("provider")
def create_program(data):
    with transaction():
        return _with_seats(services.save_program(current_user, _program_data(data)))


@blp.route("/<int:program_id>", methods=["PUT"])
@blp.arguments(ProgramInputSchema)
@blp.response(200, ProgramSchema)
@roles("provider")
def update_program(data, program_id: int):
    with transaction():
        return _with_seats(services.save_program(current_user, _program_data(data), program_id))


@blp.route("/<int:program_id>/submit", methods=["POST"])
@blp.response(200, ProgramSchema)
@roles("provider")
def submit_program(program_id: int):
    with transaction():
        return _with_seats(services.submit_program(program_id, current_user))


@blp.route("/<int:program_id>/decision", methods=["POST"])
@blp.arguments(ProgramDecisionSchema)
@blp.response(200, ProgramSchema)
@roles("department")
def decide_program(data, program_id: int):
    with transaction():
        return _with_seats(services.decide_program(program_id, data["decision"], current_user, data["reason"]))


@blp.route("/<int:program_id>/groups", methods=["POST"])
@blp.arguments(GroupInputSchema)
@blp.response(201, GroupSchema)
@roles("provider")
def create_group(data, program_id: int):
    with transaction():
        group = services.save_group(current_user, program_id, data)
    group.seats_left = services.seats_left([group])[group.id]  # type: ignore[attr-defined]  # for the answer
    return group


@blp.route("/<int:program_id>/groups/<int:group_id>", methods=["PUT"])
@blp.arguments(GroupInputSchema)
@blp.response(200, GroupSchema)
@roles("provider")
def update_group(data, program_id: int, group_id: int):
    with transaction():
        group = services.save_group(current_user, program_id, data, group_id)
    group.seats_left = services.seats_left([group])[group.id]  # type: ignore[attr-defined]  # for the answer
    return group
