"""Shared marshmallow pieces."""
from marshmallow import Schema, fields


class ErrorSchema(Schema):
    code = fields.Integer()
    status = fields.String()
    message = fields.String()
    errors = fields.Dict()


class PaginationQuerySchema(Schema):
    page = fields.Integer(load_default=1, validate=lambda n: n >= 1)
    per_page = fields.Integer(load_default=50, validate=lambda n: 1 <= n <= 200)
