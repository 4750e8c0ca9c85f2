from marshmallow import Schema, fields, validate

from certapp.bookkeeping.models import AGREEMENT_STATUSES, REGISTER_STATUSES


class AgreementSchema(Schema):
    id = fields.Integer()
    municipality = fields.String(attribute="municipality.oktmo", metadata={"description": "ОКТМО of the municipality it belongs to"})
    number = fields.String(allow_none=True)
    provider_id = fields.Integer()
    provider_name = fields.String(attribute="provider.short_name")
    status = fields.String()
    status_name = fields.String()
    version = fields.Integer()
    concluded_on = fields.Date(allow_none=True)
    valid_from = fields.Date(allow_none=True)
    valid_to = fields.Date(allow_none=True)
    bik = fields.String(allow_none=True)
    settlement_account = fields.String(allow_none=True)
    ended_on = fields.Date(allow_none=True)
    end_reason = fields.String(allow_none=True)
    signature = fields.String(allow_none=True)


class AgreementQuerySchema(Schema):
    status = fields.String(validate=validate.OneOf(list(AGREEMENT_STATUSES)))


class TermSchema(Schema):
    valid_from = fields.Date(required=True)
    valid_to = fields.Date(load_default=None, allow_none=True)


class EndSchema(Schema):
    ended_on = fields.Date(required=True)
    reason = fields.String(required=True)


class PaymentRegisterLineSchema(Schema):
    ledger_entry_id = fields.Integer()
    contract_id = fields.Integer()
    certificate_number = fields.String()
    child_initials = fields.String()
    program_title = fields.String()
    month = fields.Date()
    amount = fields.Integer()


class PaymentRegisterSchema(Schema):
    id = fields.Integer()
    municipality = fields.String(attribute="municipality.oktmo", metadata={"description": "ОКТМО of the municipality it belongs to"})
    number = fields.String()
    provider_id = fields.Integer()
    provider_name = fields.String(attribute="provider.short_name")
    agreement_id = fields.Integer()
    month = fields.Date()
    status = fields.String()
    status_name = fields.String()
    total = fields.Integer()
    approved_at = fields.DateTime(allow_none=True)
    payment_order_number = fields.String(allow_none=True)
    payment_order_date = fields.Date(allow_none=True)
    rejection_reason = fields.String(allow_none=True)
    lines = fields.List(fields.Nested(PaymentRegisterLineSchema))


class PaymentRegisterQuerySchema(Schema):
    month = fields.String(metadata={"description": "ГГГГ-ММ"})
    status = fields.String(validate=validate.OneOf(list(REGISTER_STATUSES)))
    provider_id = fields.Integer()


class BuildSchema(Schema):
    provider_id = fields.Integer(required=True)
    month = fields.String(required=True, metadata={"description": "ГГГГ-ММ"})


class BuildAllSchema(Schema):
    month = fields.String(required=True, metadata={"description": "ГГГГ-ММ"})


class RegisterRejectSchema(Schema):
    reason = fields.String(required=True)


class PaySchema(Schema):
    payment_order_number = fields.String(required=True)
    payment_order_date = fields.Date(required=True)


class ProviderReconciliationSchema(Schema):
    provider_id = fields.Integer()
    name = fields.String()
    spent = fields.Integer()
    paid = fields.Integer()
    approved = fields.Integer()
    payable = fields.Integer()
    mismatch = fields.Integer()


class CertificateReconciliationSchema(Schema):
    number = fields.String()
    nominal = fields.Integer()
    available = fields.Integer()
    reserved = fields.Integer()
    spent = fields.Integer()
    expired = fields.Integer()


class ReconciliationSchema(Schema):
    ok = fields.Boolean()
    totals = fields.Dict(keys=fields.String(), values=fields.Integer())
    providers = fields.List(fields.Nested(ProviderReconciliationSchema))
    certificates = fields.List(fields.Nested(CertificateReconciliationSchema))
    mismatches = fields.List(fields.String())
