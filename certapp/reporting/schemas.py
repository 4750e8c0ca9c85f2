from marshmallow import Schema, fields, validate

from certapp.common.schemas import BODY_ID, DecimalString, FilterId, FilterSchema, Year
from certapp.reporting.service_codes import execution_by_service_code
from certapp.reporting.services import INDICATORS, order_number


class OrderCreateSchema(Schema):
    year = Year(required=True)


class OrderLineSchema(Schema):
    direction = fields.String(attribute="direction.code")
    service_code = fields.String(attribute="direction.service_code")
    planned_children = fields.Integer()
    planned_child_hours = fields.Integer()
    #: kopecks
    planned_money = fields.Integer()


class OrderSchema(Schema):
    id = fields.Integer()
    number = fields.Function(order_number, metadata={
        "description": "the order's number, e.g. СЗ-24-2026-1 (municipality code, year, version): the one the "
                       "page shows and /documents/verify checks"})
    year = fields.Integer()
    version = fields.Integer()
    status = fields.String()
    status_name = fields.String()
    approved_at = fields.DateTime(allow_none=True)
    signature = fields.String(allow_none=True)
    lines = fields.List(fields.Nested(OrderLineSchema))


class OrderLineInputSchema(Schema):
    planned_children = fields.Integer(required=True, validate=validate.Range(min=0))
    planned_child_hours = fields.Integer(required=True, validate=validate.Range(min=0))
    planned_money = fields.Integer(required=True, validate=validate.Range(min=0),
                                   metadata={"description": "копейки"})


class OrderLinesInputSchema(Schema):
    lines = fields.Dict(keys=fields.String(), values=fields.Nested(OrderLineInputSchema), required=True,
                        metadata={"description": "код направленности -> план"})


QUARTER_MESSAGE = "Квартал — от 1 до 4."


class PeriodQuerySchema(FilterSchema):
    """The execution report's year and quarter, for the page and the API alike (common.schemas.page_filters;
    the page takes this year when none is given)."""

    year = Year(required=True)
    quarter = FilterId(QUARTER_MESSAGE, low=1, high=4, metadata={"description": "left out: the whole year"})


class ExecutionLineSchema(Schema):
    direction = fields.String(attribute="direction.code")
    service_code = fields.String(attribute="direction.service_code")
    planned_children = fields.Integer()
    children = fields.Integer()
    children_percent = DecimalString(allow_none=True)
    planned_child_hours = fields.Integer()
    child_hours = fields.Integer()
    child_hours_percent = DecimalString(allow_none=True)
    planned_money = fields.Integer()
    money = fields.Integer()
    money_percent = DecimalString(allow_none=True)


class ServiceCodeCountSchema(Schema):
    registry_number = fields.String()
    direction = fields.String()
    adapted = fields.Boolean(metadata={"description": "адаптированная программа (ОВЗ, дети-инвалиды)"})
    financed = fields.Boolean(metadata={"description": "the municipality's order finances this number"})
    children = fields.Integer(metadata={"description": "children served (a contract month delivered)"})
    money = fields.Integer(metadata={"description": "kopecks spent from certificates"})


class ExecutionSchema(Schema):
    year = fields.Integer()
    quarter = fields.Integer(allow_none=True)
    title = fields.String()
    order_id = fields.Integer(attribute="order.id", allow_none=True)
    lines = fields.List(fields.Nested(ExecutionLineSchema))
    by_service_code = fields.Function(
        lambda report: ServiceCodeCountSchema(many=True).dump(execution_by_service_code(report.year, report.quarter)),
        metadata={"description": "children and money by registry number of the service (adapted ones apart)"})


class FormExecutionSchema(Schema):
    year = Year(required=True)
    quarter = fields.Integer(load_default=None, allow_none=True, validate=validate.Range(min=1, max=4),
                             metadata={"description": "1–4; omitted: the whole year"})


class FormedExecutionSchema(Schema):
    id = fields.Integer()
    number = fields.String()
    year = fields.Integer()
    quarter = fields.Integer(metadata={"description": "1–4, 0 for the year"})
    version = fields.Integer()
    figures = fields.Dict(metadata={"description": "the frozen figures: lines, totals, the order"})
    formed_at = fields.DateTime()
    signature = fields.String()


class FormedQuerySchema(Schema):
    year = Year(required=True)


class IndicatorQuerySchema(Schema):
    year = Year()


class IndicatorRowSchema(Schema):
    number = fields.String(metadata={"description": "the row's number in Приложение № 3: 1.1 … 5.3"})
    code = fields.String()
    goal = fields.String(attribute="indicator.goal", metadata={"description": "the goal (column 2)"})
    type = fields.String(attribute="indicator.type", metadata={
        "description": "Процесс, Промежуточный результат or Итоговый результат (column 3)"})
    name = fields.String()
    unit = fields.String(metadata={"description": "ед., чел., % or empty for a yes/no row"})
    kind = fields.String(metadata={"description": "computed: the system counts it; entered: a number the "
                                                  "department enters; yes_no: нет/есть the department enters"})
    kind_name = fields.String()
    base = DecimalString(allow_none=True, metadata={"description": "the base year's value (yes_no: 0 нет, 1 есть)"})
    target = DecimalString(allow_none=True, metadata={"description": "the target year's value (yes_no: 0 нет, 1 есть)"})
    current = DecimalString(allow_none=True, metadata={
        "description": "the year's fact (yes_no: 0 нет, 1 есть); null: no data — a share with nothing to count it "
                       "of, a value not entered, quality monitoring not carried out (missing_reason)"})
    base_text = fields.String(metadata={"description": "the base as the page shows it («есть», «12», «87,5», «—»)"})
    target_text = fields.String()
    current_text = fields.String(metadata={"description": "the fact as the page shows it, or why there is none"})
    state = fields.String(metadata={"description": "computed, entered or missing"})
    state_name = fields.String(metadata={"description": "вычислено, внесено or нет данных"})
    missing_reason = fields.String(allow_none=True)
    source = fields.String(allow_none=True, metadata={"description": "an entered fact's source"})
    source_date = fields.Date(allow_none=True, metadata={"description": "the date of the source document"})
    entered_by = fields.String(allow_none=True, metadata={"description": "who entered the fact (full name)"})
    entered_at = fields.DateTime(allow_none=True)
    refused_under_p4 = fields.Integer(allow_none=True, metadata={
        "description": "providers_applied only: applicants refused under п. 4 of 458-п (art schools) in the year, "
                       "outside the service's scope and not counted in it"})


class CategoryCountSchema(Schema):
    period = fields.String()
    category = fields.String()
    nominal = fields.Integer(metadata={"description": "kopecks"})
    funded_limit = fields.Integer(allow_none=True)
    financing = fields.Integer(metadata={"description": "certificates of financing (not revoked)"})
    accounting = fields.Integer(metadata={"description": "certificates of accounting (not revoked)"})
    queued = fields.Integer(metadata={"description": "waiting in the category's queue"})
    money = fields.Integer(metadata={"description": "kopecks: the nominal of the certificates of financing"})


class IndicatorTableSchema(Schema):
    year = fields.Integer()
    rows = fields.List(fields.Nested(IndicatorRowSchema))
    categories = fields.List(fields.Nested(CategoryCountSchema),
                             metadata={"description": "certificates by category of the periods running in the year"})
    by_service_code = fields.List(fields.Nested(ServiceCodeCountSchema), metadata={
        "description": "children served and money in the year by registry number of the service"})


class IndicatorValueInputSchema(Schema):
    code = fields.String(required=True, validate=validate.OneOf(list(INDICATORS)))
    year = Year(required=True)
    value = fields.String(required=True, allow_none=True,
                          metadata={"description": "a number (\"12.5\" or \"12,5\"); null or \"\" removes the value"})


class IndicatorFactInputSchema(Schema):
    code = fields.String(required=True, metadata={"description": "an entered or yes_no row's code"})
    year = Year(required=True, metadata={"description": "the year of the fact: this year or an earlier one"})
    value = fields.Raw(required=True, allow_none=True, metadata={
        "description": "entered: a whole number as a string (\"12\"); yes_no: \"есть\"/\"нет\" (or true/false); "
                       "null or \"\" removes the fact"})
    source = fields.String(load_default=None, allow_none=True, metadata={
        "description": "where the value comes from (a document, report or letter), up to 500 characters; required "
                       "with a value"})
    source_date = fields.String(load_default=None, allow_none=True, metadata={
        "description": "the source document's date, ГГГГ-ММ-ДД; required for yes_no rows"})


class IndicatorValuesInputSchema(Schema):
    values = fields.List(fields.Nested(IndicatorValueInputSchema), required=True, validate=validate.Length(min=1, max=100))


class FeedbackInputSchema(Schema):
    contract_id = fields.Integer(required=True, validate=BODY_ID)
    month = fields.String(required=True, metadata={"description": "ГГГГ-ММ"})
    rating = fields.Integer(required=True)
    comment = fields.String(load_default=None, allow_none=True)


class FeedbackSchema(Schema):
    id = fields.Integer()
    contract_id = fields.Integer()
    program_title = fields.String(attribute="contract.program.title")
    provider_name = fields.String(attribute="contract.provider.short_name")
    month = fields.Date()
    rating = fields.Integer()
    comment = fields.String(allow_none=True)
    created_at = fields.DateTime()
    answer = fields.String(allow_none=True)
    answered_at = fields.DateTime(allow_none=True)


class AnswerSchema(Schema):
    answer = fields.String(required=True)


class MunicipalitySummarySchema(Schema):
    name = fields.String()
    oktmo = fields.String(allow_none=True, metadata={"description": "null for the region's total"})
    indicators = fields.Dict(keys=fields.String(), values=DecimalString(allow_none=True), metadata={
        "description": "null: a share with nothing to count it of (no ratings, no providers)"})
    certificates = fields.Integer()
    issued = fields.Integer(metadata={"description": "kopecks: the nominal of every certificate issued"})
    spent = fields.Integer(metadata={"description": "kopecks: paid out of certificates for delivered months"})
    paid = fields.Integer(metadata={"description": "kopecks: paid to providers under paid registers"})


class RegionReportSchema(Schema):
    year = fields.Integer()
    live = fields.Boolean(metadata={"description": "true: computed for this answer; false: the stored report"})
    computed_at = fields.DateTime(allow_none=True, metadata={"description": "when the stored report was computed"})
    duration_ms = fields.Integer(allow_none=True, metadata={"description": "how long computing it took"})
    municipalities = fields.List(fields.Nested(MunicipalitySummarySchema),
                                 metadata={"description": "each municipality, then the region's total"})
