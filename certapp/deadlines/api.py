from flask_login import current_user
from flask_smorest import Blueprint
from marshmallow import Schema, fields, validate

from certapp.accounts.access import roles
from certapp.common.pagination import LIST_PAGE, SelectPage
from certapp.common.schemas import Year
from certapp.deadlines import services
from certapp.deadlines.models import DEADLINE_KINDS, HOLIDAY_KINDS

blp = Blueprint("deadlines_api", __name__, url_prefix="/deadlines", description="Сроки и производственный календарь")


class RuleSchema(Schema):
    kind = fields.String(metadata={"enum": list(DEADLINE_KINDS)})
    name = fields.String()
    unit = fields.String(metadata={"description": "working_days: after the filing; day_of_month: of the next month"})
    default = fields.Integer()
    days = fields.Integer()


class RulesInputSchema(Schema):
    days = fields.Dict(keys=fields.String(validate=validate.OneOf(list(DEADLINE_KINDS))), values=fields.Integer(),
                       required=True, metadata={"description": "{kind: days}"})


class HolidaySchema(Schema):
    id = fields.Integer(dump_only=True)
    day = fields.Date(required=True)
    kind = fields.String(required=True, validate=validate.OneOf(list(HOLIDAY_KINDS)))
    name = fields.String(required=True)


class YearQuerySchema(Schema):
    year = Year()


@blp.route("/rules", methods=["GET"])
@blp.response(200, RuleSchema(many=True))
@blp.paginate(SelectPage, **LIST_PAGE)
@roles("department")
def get_rules():
    return services.rules()


@blp.route("/rules", methods=["PUT"])
@blp.arguments(RulesInputSchema)
@blp.response(200, RuleSchema(many=True))
@roles("department")
def set_rules(data):
    """Change deadlines; documents already filed keep their due dates."""
    services.set_rules(data["days"], current_user)
    return services.rules()


@blp.route("/holidays", methods=["GET"])
@blp.arguments(YearQuerySchema, location="query")
@blp.response(200, HolidaySchema(many=True))
@blp.paginate(SelectPage, **LIST_PAGE)
@roles("department", "bookkeeping")
def list_holidays(args):
    return services.holidays(args.get("year"))


@blp.route("/holidays", methods=["POST"])
@blp.arguments(HolidaySchema)
@blp.response(201, HolidaySchema)
@roles("department")
def add_holiday(data):
    return services.add_holiday(data["day"], data["kind"], data["name"], current_user)


@blp.route("/holidays/<int:holiday_id>", methods=["DELETE"])
@blp.response(204)
@roles("department")
def remove_holiday(holiday_id: int):
    services.remove_holiday(holiday_id, current_user)
