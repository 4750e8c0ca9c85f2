from marshmallow import Schema, fields


class MyDataSchema(Schema):
    account = fields.Dict(metadata={"description": "the account: email, name, phone, role, dates, tokens"})
    children = fields.List(fields.Dict(), metadata={"description": "each child with applications, certificates, contracts"})
    events = fields.List(fields.Dict(), metadata={"description": "the person's latest actions in the audit log"})


class DueChildSchema(Schema):
    id = fields.Integer()
    full_name = fields.String()
    birth_date = fields.Date()
    parent_id = fields.Integer()


class AnonymisedSchema(Schema):
    id = fields.Integer()
    anonymised_at = fields.DateTime()
