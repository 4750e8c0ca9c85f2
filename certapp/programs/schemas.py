from marshmallow import Schema, fields, validate

from certapp.common.money import format_rub
from certapp.common.schemas import NO_SUCH_PROVIDER, NO_SUCH_STATE, Choice, FilterId, FilterSchema, Flag, Rubles, SearchText
from certapp.programs.models import PROGRAM_KINDS, PROGRAM_STATUSES
from certapp.reference.models import MAX_AGE, MIN_AGE
from certapp.reference.service_scope import registry_number_of
from certapp.reference.services import list_directions
from certapp.registry.services import is_filter_provider


class ProgramInputSchema(Schema):
    title = fields.String(required=True)
    description = fields.String(required=True)
    direction = fields.String(required=True, metadata={"description": "код направленности, например technical"})
    kind = fields.String(load_default="general_developmental", validate=validate.OneOf(list(PROGRAM_KINDS)))
    adapted = fields.Boolean(load_default=False, metadata={
        "description": "адаптированная программа для обучающихся с ОВЗ и детей-инвалидов"})
    age_from = fields.Integer(required=True)
    age_to = fields.Integer(required=True)
    duration_months = fields.Integer(required=True)
    hours_per_month = fields.Integer(required=True)
    price_per_month_rub = Rubles(required=True, data_key="price_per_month_rub")
    venue_address = fields.String(required=True)
    max_group_size = fields.Integer(required=True)
    municipalities = fields.List(fields.Integer(), load_default=None, metadata={
        "description": "ids of the municipalities it is offered in (where the provider is admitted); "
                       "left out — all of those"})


class GroupInputSchema(Schema):
    name = fields.String(required=True)
    teacher = fields.String(required=True)
    schedule = fields.String(required=True)
    starts_on = fields.Date(required=True)
    ends_on = fields.Date(required=True)
    capacity = fields.Integer(required=True)


class GroupSchema(Schema):
    id = fields.Integer()
    name = fields.String()
    teacher = fields.String()
    schedule = fields.String()
    starts_on = fields.Date()
    ends_on = fields.Date()
    capacity = fields.Integer()
    seats_left = fields.Integer()


class ProgramSchema(Schema):
    id = fields.Integer()
    title = fields.String()
    description = fields.String()
    direction = fields.String(attribute="direction.code")
    direction_name = fields.String(attribute="direction.name")
    service_code = fields.Function(lambda p: registry_number_of(p.direction_id, p.adapted), metadata={
        "description": "реестровый номер услуги: the direction's, or its adapted one for an adapted program"})
    adapted = fields.Boolean()
    kind = fields.String()
    age_from = fields.Integer()
    age_to = fields.Integer()
    duration_months = fields.Integer()
    hours_per_month = fields.Integer()
    #: kopecks
    price_per_month = fields.Integer()
    price_per_month_display = fields.Function(lambda p: format_rub(p.price_per_month))
    venue_address = fields.String()
    max_group_size = fields.Integer()
    status = fields.String()
    status_name = fields.String()
    remarks = fields.String(allow_none=True)
    provider_id = fields.Integer()
    provider_name = fields.String(attribute="provider.short_name")
    municipalities = fields.Function(lambda p: [{"oktmo": m.oktmo, "name": m.name} for m in p.municipalities],
                                     metadata={"description": "where it is offered: a certificate of one of these pays"})
    groups = fields.List(fields.Nested(GroupSchema))
    rating_average = fields.Float(allow_none=True, metadata={
        "description": "parents' average rating (1–5, one decimal) of the program's months; null: none yet"})
    rating_count = fields.Integer(metadata={"description": "how many ratings"})


class CatalogQuerySchema(FilterSchema):
    """The catalog's filters, for the page and the API alike (common.schemas.page_filters)."""

    direction = Choice(lambda: {d.code for d in list_directions()}, "Такой направленности нет: выберите из списка.",
                       metadata={"description": "a direction's code"})
    age = FilterId(f"Возраст — целое число от {MIN_AGE} до {MAX_AGE}.", low=MIN_AGE, high=MAX_AGE)
    provider = FilterId(NO_SUCH_PROVIDER, exists=is_filter_provider, metadata={"description": "a provider's id"})
    q = SearchText("Поиск", 200, metadata={"description": "words of the program's title or description"})
    seats = Flag(metadata={"description": "only the programs with free seats"})
    municipality = fields.String(metadata={"description": "ОКТМО: only the programs offered in this municipality "
                                                          "(an unknown one is refused); left out or «all»: every "
                                                          "municipality, a parent's own first"})


class CatalogItemSchema(ProgramSchema):
    class Meta:
        exclude = ("groups",)


class ProgramQuerySchema(FilterSchema):
    status = Choice(PROGRAM_STATUSES, NO_SUCH_STATE, load_default="submitted",
                    metadata={"description": "the department: by default the programs that wait; empty: all"})


class ProgramDecisionSchema(Schema):
    decision = fields.String(required=True, validate=validate.OneOf(["published", "returned", "unpublished"]))
    reason = fields.String(load_default=None, allow_none=True)
