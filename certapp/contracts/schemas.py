from marshmallow import Schema, fields, validate

from certapp.common.money import format_rub
from certapp.common.schemas import BulkIdsField, PageSchema, PaginationQuerySchema, Rubles
from certapp.contracts.models import CONTRACT_STATUSES, ENROLLMENT_STATUSES


class EnrollmentInputSchema(Schema):
    certificate_id = fields.Integer(required=True)
    group_id = fields.Integer(required=True)
    start_month = fields.String(required=True, metadata={"description": "ГГГГ-ММ"})


class EnrollmentSchema(Schema):
    id = fields.Integer()
    municipality = fields.String(attribute="municipality.oktmo", metadata={"description": "ОКТМО of the municipality it belongs to"})
    status = fields.String()
    status_name = fields.String()
    certificate_id = fields.Integer()
    child_id = fields.Integer()
    group_id = fields.Integer()
    provider_id = fields.Integer()
    start_month = fields.Date()
    decline_reason = fields.String(allow_none=True)
    created_at = fields.DateTime()
    contract_id = fields.Integer(attribute="contract.id", allow_none=True)


class EnrollmentQuerySchema(Schema):
    status = fields.String(validate=validate.OneOf(list(ENROLLMENT_STATUSES)))


class ReasonSchema(Schema):
    reason = fields.String(required=True)


class BulkEnrollmentSchema(Schema):
    ids = BulkIdsField(metadata={"description": "the enrollments' ids"})
    action = fields.String(required=True, validate=validate.OneOf(["accept", "decline"]))
    reason = fields.String(load_default=None, allow_none=True)


class ContractMonthSchema(Schema):
    month = fields.Date()
    certificate_amount = fields.Integer()
    parent_amount = fields.Integer()
    status = fields.String()


class ContractSchema(Schema):
    id = fields.Integer()
    municipality = fields.String(attribute="municipality.oktmo", metadata={"description": "ОКТМО of the municipality it belongs to"})
    number = fields.String()
    status = fields.String()
    status_name = fields.String()
    certificate_id = fields.Integer()
    certificate_number = fields.String(attribute="certificate.number")
    child_id = fields.Integer()
    provider_id = fields.Integer()
    provider_name = fields.String(attribute="provider.short_name")
    program_id = fields.Integer()
    program_title = fields.String(attribute="program.title")
    group_id = fields.Integer()
    start_month = fields.Date()
    end_month = fields.Date()
    price_per_month = fields.Integer()
    total = fields.Integer()
    certificate_part = fields.Integer()
    parent_part = fields.Integer()
    total_display = fields.Function(lambda c: format_rub(c.total))
    certificate_part_display = fields.Function(lambda c: format_rub(c.certificate_part))
    parent_part_display = fields.Function(lambda c: format_rub(c.parent_part))
    months = fields.List(fields.Nested(ContractMonthSchema))
    signed_at = fields.DateTime(allow_none=True)
    signature = fields.String(allow_none=True)
    terminated_from = fields.Date(allow_none=True)
    termination_reason = fields.String(allow_none=True)


class ContractQuerySchema(PaginationQuerySchema):
    status = fields.String(validate=validate.OneOf(list(CONTRACT_STATUSES)))
    certificate_id = fields.Integer()


class ContractPageSchema(PageSchema):
    items = fields.List(fields.Nested(ContractSchema))


class ReportInputSchema(Schema):
    month = fields.String(required=True, metadata={"description": "ГГГГ-ММ"})
    delivered = fields.Boolean(required=True)
    reason = fields.String(load_default=None, allow_none=True)
    attendance = fields.Integer(load_default=None, allow_none=True)


class ServiceReportSchema(Schema):
    id = fields.Integer()
    contract_id = fields.Integer()
    month = fields.Date()
    delivered = fields.Boolean()
    reason = fields.String(allow_none=True)
    attendance = fields.Integer(allow_none=True)
    amount = fields.Integer()
    reported_at = fields.DateTime()


class TerminateSchema(Schema):
    from_month = fields.String(required=True, metadata={"description": "ГГГГ-ММ"})
    reason = fields.String(required=True)


class CorrectionSchema(Schema):
    month = fields.String(required=True)
    direction = fields.String(required=True, validate=validate.OneOf(["refund", "charge"]))
    amount_rub = Rubles(required=True, data_key="amount_rub")
    reason = fields.String(required=True)


class LedgerEntrySchema(Schema):
    id = fields.Integer()
    certificate_id = fields.Integer()
    contract_id = fields.Integer(allow_none=True)
    kind = fields.String()
    amount = fields.Integer()
    d_available = fields.Integer()
    d_reserved = fields.Integer()
    d_spent = fields.Integer()
    d_expired = fields.Integer()
    month = fields.Date(allow_none=True)
    reason = fields.String(allow_none=True)
    created_at = fields.DateTime()


class MismatchSchema(Schema):
    certificate_id = fields.Integer()
    field = fields.String()
    cached = fields.Integer()
    from_entries = fields.Integer()


class InvariantSchema(Schema):
    ok = fields.Boolean()
    mismatches = fields.List(fields.Nested(MismatchSchema))
