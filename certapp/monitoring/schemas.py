from marshmallow import Schema, fields, validate

from certapp.common.schemas import NO_SUCH_PROVIDER, DecimalString, FilterId, FilterSchema, MunicipalityOktmo, Year
from certapp.monitoring.models import MAX_WEIGHT, RESULTS
from certapp.monitoring.services import MAX_COMMENT, MAX_TITLE
from certapp.registry.services import is_filter_provider

#: a visit answers at most this many checklist items in one request
MAX_RESULTS = 200
ID = validate.Range(min=1, max=2**63 - 1)


class ChecklistItemSchema(Schema):
    id = fields.Integer(dump_only=True)
    # the limits are the service's rules (monitoring.services.add_item), documented here and checked there,
    # so that the page and the API refuse with the same message beside the field
    title = fields.String(required=True, metadata={"maxLength": MAX_TITLE})
    weight = fields.Integer(required=True, metadata={"minimum": 1, "maximum": MAX_WEIGHT})
    retired = fields.Boolean(dump_only=True)
    retired_at = fields.DateTime(dump_only=True, allow_none=True)


class ChecklistQuerySchema(Schema):
    include_retired = fields.Boolean(load_default=False)


class ResultInputSchema(Schema):
    item_id = fields.Integer(required=True, validate=ID)
    result = fields.String(required=True, validate=validate.OneOf(list(RESULTS)),
                           metadata={"description": "met | partial | not_met"})
    comment = fields.String(load_default=None, allow_none=True, metadata={"maxLength": MAX_COMMENT})  # the service's


class VisitInputSchema(Schema):
    provider_id = fields.Integer(required=True, validate=ID)
    visited_on = fields.Date(required=True)
    comment = fields.String(load_default=None, allow_none=True, metadata={"maxLength": MAX_COMMENT})  # the service's
    results = fields.List(fields.Nested(ResultInputSchema), required=True,
                          validate=validate.Length(min=1, max=MAX_RESULTS),
                          metadata={"description": "every item of the current checklist, once"})


class ResultSchema(Schema):
    item_id = fields.Integer()
    title = fields.String(attribute="item.title")
    weight = fields.Integer()
    result = fields.String(metadata={"enum": list(RESULTS)})
    result_name = fields.String()
    comment = fields.String(allow_none=True)


class VisitSummarySchema(Schema):
    id = fields.Integer()
    provider_id = fields.Integer()
    provider_name = fields.String(attribute="provider.short_name")
    municipality = MunicipalityOktmo()
    visited_on = fields.Date()
    score = DecimalString(metadata={"description": "the weighted share of the items met, per cent"})
    compliant = fields.Boolean(metadata={"description": "the score reaches the threshold"})
    comment = fields.String(allow_none=True)
    created_at = fields.DateTime()


class VisitSchema(VisitSummarySchema):
    results = fields.List(fields.Nested(ResultSchema))


class VisitQuerySchema(FilterSchema):
    """The visits list's filters, for the page and the API alike (common.schemas.page_filters)."""

    provider = FilterId(NO_SUCH_PROVIDER, exists=is_filter_provider, metadata={"description": "a provider's id"})
    year = Year()


class YearQuerySchema(Schema):
    year = Year()


class FiguresSchema(Schema):
    year = fields.Integer()
    providers_total = fields.Integer(metadata={"description": "providers in the registry in the year"})
    providers_monitored = fields.Integer(metadata={"description": "row 4.4: with a monitoring visit in the year"})
    providers_compliant = fields.Integer()
    compliant_share = DecimalString(allow_none=True, metadata={"description": "row 4.5, per cent; null without visits"})


class MunicipalityFiguresSchema(Schema):
    municipality = fields.String(attribute="oktmo", allow_none=True, metadata={"description": "ОКТМО; null: the region"})
    name = fields.String()
    figures = fields.Nested(FiguresSchema)
