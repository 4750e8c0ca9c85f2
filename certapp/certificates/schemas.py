from marshmallow import Schema, fields, validate

from certapp.certificates.models import APPLICATION_STATUSES, CERTIFICATE_STATUSES
from certapp.common.money import format_rub
from certapp.common.schemas import BulkIdsField, PageSchema, PaginationQuerySchema


class ChildInputSchema(Schema):
    last_name = fields.String(required=True)
    first_name = fields.String(required=True)
    patronymic = fields.String(load_default=None, allow_none=True)
    birth_date = fields.Date(required=True)
    snils = fields.String(required=True, load_only=True)
    birth_certificate = fields.String(required=True)
    address = fields.String(required=True)
    lives_in_district = fields.Boolean(required=True)


class ChildSchema(Schema):
    id = fields.Integer()
    last_name = fields.String()
    first_name = fields.String()
    patronymic = fields.String(allow_none=True)
    birth_date = fields.Date()
    snils_masked = fields.String()
    birth_certificate = fields.String()
    address = fields.String()
    lives_in_district = fields.Boolean()


class ChildBriefSchema(Schema):
    id = fields.Integer()
    last_name = fields.String()
    first_name = fields.String()
    patronymic = fields.String(allow_none=True)
    birth_date = fields.Date()


class CertificateApplicationInputSchema(Schema):
    child_id = fields.Integer(required=True)
    period_id = fields.Integer(required=True)
    consent = fields.Boolean(required=True, metadata={"description": "согласие на обработку персональных данных"})


class CertificateApplicationSchema(Schema):
    id = fields.Integer()
    municipality = fields.String(attribute="municipality.oktmo", metadata={"description": "ОКТМО of the municipality it belongs to"})
    number = fields.String()
    child_id = fields.Integer()
    period_id = fields.Integer()
    status = fields.String()
    status_name = fields.String()
    decision_reason = fields.String(allow_none=True)
    created_at = fields.DateTime()
    decided_at = fields.DateTime(allow_none=True)
    certificate_id = fields.Integer(attribute="certificate.id", allow_none=True)


class CertificateApplicationQuerySchema(Schema):
    status = fields.String(validate=validate.OneOf(list(APPLICATION_STATUSES)))


class CertificateDecisionSchema(Schema):
    decision = fields.String(required=True, validate=validate.OneOf(["confirmed", "refused"]))
    reason = fields.String(load_default=None, allow_none=True)


class BulkDecisionSchema(CertificateDecisionSchema):
    ids = BulkIdsField(metadata={"description": "the applications' ids"})


class OnBehalfSchema(ChildInputSchema):
    parent_email = fields.String(required=True)
    period_id = fields.Integer(required=True)
    consent = fields.Boolean(required=True)


class BalanceSchema(Schema):
    nominal = fields.Integer()
    available = fields.Integer()
    reserved = fields.Integer()
    spent = fields.Integer()
    expired = fields.Integer()


class CertificateSchema(Schema):
    id = fields.Integer()
    municipality = fields.String(attribute="municipality.oktmo", metadata={"description": "ОКТМО of the municipality it belongs to"})
    number = fields.String()
    child = fields.Nested(ChildBriefSchema)
    period = fields.String(attribute="period.code")
    nominal = fields.Integer()
    nominal_display = fields.Function(lambda c: format_rub(c.nominal))
    balance = fields.Nested(BalanceSchema)
    valid_from = fields.Date()
    valid_to = fields.Date()
    status = fields.String()
    status_name = fields.String()
    status_reason = fields.String(allow_none=True)
    issued_at = fields.DateTime()
    qr_payload = fields.String()
    signature = fields.String()


class CertificateQuerySchema(PaginationQuerySchema):
    q = fields.String()
    period = fields.Integer()
    status = fields.String(validate=validate.OneOf(list(CERTIFICATE_STATUSES)))


class CertificatePageSchema(PageSchema):
    items = fields.List(fields.Nested(CertificateSchema))


class StatusSchema(Schema):
    status = fields.String(required=True, validate=validate.OneOf(["active", "suspended", "revoked"]))
    reason = fields.String(required=True)


class VerifyInputSchema(Schema):
    code = fields.String(required=True, validate=validate.Length(max=2000),
                         metadata={"description": "текст QR-кода (CQ1:…)"})


class VerificationSchema(Schema):
    signature_valid = fields.Boolean()
    in_force = fields.Boolean()
    reason = fields.String()
    number = fields.String(allow_none=True)
    status = fields.String(allow_none=True)
    status_name = fields.String(allow_none=True)
    valid_from = fields.Date(allow_none=True)
    valid_to = fields.Date(allow_none=True)
    can_pay = fields.Boolean(allow_none=True)
