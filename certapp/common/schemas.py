"""Shared marshmallow pieces: paging of list endpoints and money at the API edge."""
from marshmallow import Schema, ValidationError, fields, validate

from certapp.common.errors import DomainError
from certapp.common.money import parse_rub


class PaginationQuerySchema(Schema):
    """?page=&per_page= of a list endpoint; subclasses add their filters."""

    page = fields.Integer(load_default=1, validate=validate.Range(min=1))
    per_page = fields.Integer(load_default=50, validate=validate.Range(min=1, max=200))


class PageSchema(Schema):
    """The envelope of a paginated answer (common.pagination.Page); subclasses add `items`."""

    page = fields.Integer()
    per_page = fields.Integer()
    total = fields.Integer()


class Rubles(fields.Field):
    """Money at the API edge: a string or number of rubles in, kopecks out to the service."""

    def _deserialize(self, value, attr, data, **kwargs):
        try:
            return parse_rub(value)
        except DomainError as error:
            raise ValidationError(error.message)
