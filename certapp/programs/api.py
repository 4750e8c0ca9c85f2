from flask_login import current_user
from flask_smorest import Blueprint

from certapp.accounts.access import public, roles
from certapp.certificates.services import home_municipality_of
from certapp.common.pagination import LIST_PAGE, Rows, SelectPage
from certapp.common.replica import reads_from_replica
from certapp.contracts.seats import seats_left
from certapp.pagecache.pages import cached_public
from certapp.programs import services
from certapp.programs.schemas import (
    CatalogItemSchema,
    CatalogQuerySchema,
    GroupInputSchema,
    GroupSchema,
    ProgramDecisionSchema,
    ProgramInputSchema,
    ProgramQuerySchema,
    ProgramSchema,
)
from certapp.reporting.services import program_ratings

blp = Blueprint("programs_api", __name__, url_prefix="/programs", description="Программы, группы и каталог")

#: the catalog's pages: 20 cards by default, as on the catalog page
CATALOG_PAGE = {**LIST_PAGE, "page_size": 20}


def _with_seats(programs: list) -> list:
    """Seats left in each group of the programs, in one query for all."""
    seats = seats_left([group for program in programs for group in program.groups])
    for program in programs:
        for group in program.groups:
            group.seats_left = seats[group.id]
    return programs


def _card(program):
    """One program with its groups' seats and its rating."""
    return _with_ratings(_with_seats([program]))[0]


def _with_ratings(programs: list) -> list:
    """The parents' average rating and the number of ratings on each program, in one query for all."""
    ratings = program_ratings([p.id for p in programs])
    for program in programs:
        rating = ratings.get(program.id)
        program.rating_average, program.rating_count = (rating.average, rating.count) if rating else (None, 0)
    return programs


def _program_data(data: dict) -> dict:
    data = dict(data)
    data["price_per_month"] = data.pop("price_per_month_rub")
    return data


@blp.route("/catalog", methods=["GET"])
@cached_public("catalog")
@reads_from_replica
@blp.arguments(CatalogQuerySchema, location="query")
@blp.response(200, CatalogItemSchema(many=True))
@blp.paginate(SelectPage, **CATALOG_PAGE)
@blp.doc(security=[])  # anyone: no token needed
@public
def catalog(args):
    """Published programs of providers in the registry, filtered by direction, child's age, provider,
    text; a page at a time (X-Pagination)."""
    filters = {"direction": args.get("direction"), "age": args.get("age"), "provider_id": args.get("provider"),
               "text": args.get("q"), "with_seats": args.get("seats", False),
               "municipality_id": services.municipality_filter(args.get("municipality")),
               "first_municipality_id": home_municipality_of(current_user)}
    return Rows(services.catalog_query(**filters), _with_ratings)


@blp.route("/<int:program_id>", methods=["GET"])
@cached_public("catalog")
@blp.response(200, ProgramSchema)
@blp.doc(security=[])  # anyone: no token needed
@public
def get_program(program_id: int):
    """A published program with its groups and seats left (its provider and the department see any status)."""
    return _card(services.get_program_for(program_id, current_user))


@blp.route("", methods=["GET"])
@blp.arguments(ProgramQuerySchema, location="query")
@blp.response(200, ProgramSchema(many=True))
@blp.paginate(SelectPage, **LIST_PAGE)
@roles("provider", "department")
def list_programs(args):
    """The provider's own programs; for the department, programs by status (default: awaiting
    approval); a page at a time (X-Pagination)."""
    return Rows(services.programs_visible_to(current_user, args["status"]),
                lambda programs: _with_ratings(_with_seats(programs)))


@blp.route("", methods=["POST"])
@blp.arguments(ProgramInputSchema)
@blp.response(201, ProgramSchema)
@roles("provider")
def create_program(data):
    program = services.save_program(current_user, _program_data(data))
    return _card(program)


@blp.route("/<int:program_id>", methods=["PUT"])
@blp.arguments(ProgramInputSchema)
@blp.response(200, ProgramSchema)
@roles("provider")
def update_program(data, program_id: int):
    program = services.save_program(current_user, _program_data(data), program_id)
    return _card(program)


@blp.route("/<int:program_id>/submit", methods=["POST"])
@blp.response(200, ProgramSchema)
@roles("provider")
def submit_program(program_id: int):
    program = services.submit_program(program_id, current_user)
    return _card(program)


@blp.route("/<int:program_id>/decision", methods=["POST"])
@blp.arguments(ProgramDecisionSchema)
@blp.response(200, ProgramSchema)
@roles("department")
def decide_program(data, program_id: int):
    program = services.decide_program(program_id, data["decision"], current_user, data["reason"])
    return _card(program)


@blp.route("/<int:program_id>/groups", methods=["POST"])
@blp.arguments(GroupInputSchema)
@blp.response(201, GroupSchema)
@roles("provider")
def create_group(data, program_id: int):
    group = services.save_group(current_user, program_id, data)
    group.seats_left = seats_left([group])[group.id]  # type: ignore[attr-defined]  # for the answer
    return group


@blp.route("/<int:program_id>/groups/<int:group_id>", methods=["PUT"])
@blp.arguments(GroupInputSchema)
@blp.response(200, GroupSchema)
@roles("provider")
def update_group(data, program_id: int, group_id: int):
    group = services.save_group(current_user, program_id, data, group_id)
    group.seats_left = seats_left([group])[group.id]  # type: ignore[attr-defined]  # for the answer
    return group
