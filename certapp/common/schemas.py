"""Shared marshmallow pieces: errors, money and years at the API edge, bulk actions."""
from typing import Any

from marshmallow import Schema, ValidationError, fields, validate

from certapp.common.bulk import MAX_ROWS
from certapp.common.errors import DomainError
from certapp.common.money import parse_rub
from certapp.common.months import MAX_YEAR, MIN_YEAR, YEAR_MESSAGE
from certapp.db import column_length


class ErrorSchema(Schema):
    """The body of every API error (certapp.errors)."""

    code = fields.Integer(metadata={"description": "HTTP status"})
    status = fields.String(metadata={"description": "machine code of the refusal, e.g. insufficient_balance"})
    message = fields.String(metadata={"description": "the reason, in Russian"})
    errors = fields.Dict(metadata={"description": "field messages: {location: {field: [message]}}"})
    request_id = fields.String(allow_none=True, metadata={"description": "the request's id, as in X-Request-ID"})
    split = fields.Dict(metadata={"description": "split_changed (signing a contract): the current split, to be "
                                                 "signed with its expected_certificate_amount"})


def ColumnString(column, **kwargs) -> fields.String:
    """A string no longer than its model's column (a 422 beside the field, not a database error)."""
    return fields.String(validate=validate.Length(max=column_length(column)), **kwargs)


def DecimalString(**kwargs) -> fields.Decimal:
    """A decimal sent as a string ("12.5"), exact, and documented as such (apispec would say number)."""
    metadata = {"type": "string", "format": "decimal", "pattern": r"^-?\d+(\.\d+)?$", **kwargs.pop("metadata", {})}
    return fields.Decimal(as_string=True, metadata=metadata, **kwargs)


def Year(**kwargs) -> fields.Integer:
    """A year in a query or a body: common.months' range, a 422 with the field beyond it (never a date() 500)."""
    return fields.Integer(validate=validate.Range(min=MIN_YEAR, max=MAX_YEAR, error=YEAR_MESSAGE), **kwargs)


class Rubles(fields.Field):
    """Money at the API edge: a string or number of rubles in, kopecks out to the service."""

    def _deserialize(self, value, attr, data, **kwargs):
        try:
            return parse_rub(value)
        except DomainError as error:
            raise ValidationError(error.message)


class BulkIdsField(fields.List):
    """The rows a bulk action is asked for: 1 to common.bulk.MAX_ROWS ids."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(fields.Integer(validate=validate.Range(min=1)), required=True,
                         validate=validate.Length(min=1, max=MAX_ROWS), **kwargs)


class BulkRefusalSchema(Schema):
    id = fields.Integer()
    status = fields.String(metadata={"description": "machine code of the refusal"})
    message = fields.String()


class BulkResultSchema(Schema):
    """What a bulk action did: the rows done and each refused row with its reason."""

    done = fields.List(fields.Integer())
    refused = fields.List(fields.Nested(BulkRefusalSchema), attribute="refusals")
