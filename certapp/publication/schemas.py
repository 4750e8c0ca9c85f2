from marshmallow import Schema, fields, validate

from certapp.common.schemas import BODY_ID, Year
from certapp.publication.models import PUBLICATION_KINDS


class PublishSchema(Schema):
    kind = fields.String(required=True, validate=validate.OneOf(list(PUBLICATION_KINDS)), metadata={
        "description": "social_order, execution_report, indicators, registry or catalog"})
    source_id = fields.Integer(load_default=None, validate=BODY_ID, metadata={
        "description": "social_order: the approved order's id; execution_report: the formed report's id"})
    year = Year(load_default=None, metadata={"description": "indicators: the year (this year by default)"})


class PublicationSchema(Schema):
    id = fields.Integer()
    kind = fields.String()
    kind_name = fields.String()
    dataset = fields.String(metadata={"description": "the set's name in its public address /open/{oktmo}/{dataset}"})
    version = fields.Integer()
    title = fields.String()
    published_on = fields.Date()
    published_at = fields.DateTime()
    published_by = fields.String(attribute="published_by.full_name")
    oktmo = fields.String(attribute="municipality.oktmo")


class OpenSetSchema(Schema):
    dataset = fields.String()
    title = fields.String()
    version = fields.Integer(metadata={"description": "the current version"})
    published_on = fields.Date()


class OpenVersionSchema(Schema):
    version = fields.Integer(attribute="publication.version")
    published_on = fields.Date(attribute="publication.published_on")
    replaced_on = fields.Function(lambda v: v.replaced_by.published_on.isoformat() if v.replaced_by else None,
                                  metadata={"description": "the date of the version that replaced it (null: current)"})


class OpenDatasetSchema(Schema):
    dataset = fields.String()
    title = fields.String()
    versions = fields.List(fields.Nested(OpenVersionSchema))


class OpenDataSchema(Schema):
    dataset = fields.String()
    title = fields.String()
    version = fields.Integer()
    published_on = fields.String(metadata={"description": "ГГГГ-ММ-ДД"})
    licence = fields.String()
    document = fields.Dict(allow_none=True)
    fields_ = fields.List(fields.Dict(), data_key="fields", attribute="fields")
    rows = fields.List(fields.Dict())
