from typing import Any

from marshmallow import Schema, fields, pre_dump, validate

from certapp.certificates.schemas import CertificateSchema
from certapp.common.money import format_rub
from certapp.common.schemas import (
    BODY_ID,
    NO_SUCH_PROVIDER,
    NO_SUCH_STATE,
    BulkIdsField,
    Choice,
    FilterId,
    FilterSchema,
    Month,
    MunicipalityOktmo,
    Rubles,
    SearchText,
)
from certapp.contracts.contracts import current_split
from certapp.contracts.models import CONTRACT_STATUSES, ENROLLMENT_STATUSES, TERMINATION_GROUNDS, Contract
from certapp.contracts.service_reports import reportable_months
from certapp.registry.services import is_filter_provider


class EnrollmentInputSchema(Schema):
    certificate_id = fields.Integer(required=True, validate=BODY_ID)
    group_id = fields.Integer(required=True, validate=BODY_ID)
    start_month = fields.String(required=True, metadata={"description": "ГГГГ-ММ"})


class EnrollmentSchema(Schema):
    id = fields.Integer()
    municipality = MunicipalityOktmo()
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


class EnrollmentQuerySchema(FilterSchema):
    status = Choice(ENROLLMENT_STATUSES, NO_SUCH_STATE)


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


class EnrollmentOptionsQuerySchema(Schema):
    start_month = fields.String(load_default=None, metadata={"description": "ГГГГ-ММ; by default the first open"})


class PriceSplitSchema(Schema):
    total = fields.Integer()
    certificate_part = fields.Integer()
    parent_part = fields.Integer()
    certificate_part_display = fields.Function(lambda s: format_rub(s.certificate_part))
    parent_part_display = fields.Function(lambda s: format_rub(s.parent_part))
    months = fields.Function(lambda s: [{"month": m.month.isoformat(), "price": m.price,
                                         "certificate_amount": m.certificate_amount,
                                         "parent_amount": m.parent_amount} for m in s.shares])


class EnrollmentOptionSchema(Schema):
    certificate_id = fields.Integer(attribute="certificate.id")
    certificate_number = fields.String(attribute="certificate.number")
    child_id = fields.Integer(attribute="certificate.child_id")
    child_name = fields.String(attribute="certificate.child.full_name")
    usable = fields.Function(lambda o: o.split is not None)
    refusal = fields.String(allow_none=True, metadata={"description": "why the certificate cannot be used"})
    split = fields.Nested(PriceSplitSchema, allow_none=True, metadata={
        "description": "what the certificate and the parent would pay, at the certificate's balance now"})


class EnrollmentOptionsSchema(Schema):
    group_id = fields.Integer(attribute="group.id")
    start_month = fields.Date()
    options = fields.List(fields.Nested(EnrollmentOptionSchema))


class SignSchema(Schema):
    expected_certificate_amount = fields.Integer(
        load_default=None, allow_none=True, strict=True, validate=validate.Range(min=0), metadata={
            "description": "kopecks: the certificate's part the parent saw (`split.expected_certificate_amount` of "
                           "the contract); without it, the offer as made. A split that is no longer current is "
                           "refused (409 split_changed) with the current one in `split`"})


class SplitMonthSchema(Schema):
    month = fields.Date()
    price = fields.Integer()
    certificate_amount = fields.Integer()
    parent_amount = fields.Integer()


class SplitSchema(Schema):
    """The split as the parent would sign it now (an offer: recomputed from the certificate's balance)."""

    certificate_part = fields.Integer()
    parent_part = fields.Integer()
    total = fields.Integer()
    certificate_part_display = fields.Function(lambda s: format_rub(s.certificate_part))
    parent_part_display = fields.Function(lambda s: format_rub(s.parent_part))
    offered_certificate_part = fields.Integer(metadata={"description": "the certificate's part as offered"})
    available = fields.Integer(allow_none=True, metadata={"description": "the certificate's available balance now"})
    changed = fields.String(allow_none=True, metadata={
        "description": "down: the balance no longer covers the offer; up: it covers more; null: as offered"})
    message = fields.String(allow_none=True)
    expected_certificate_amount = fields.Function(lambda s: s.certificate_part, metadata={
        "description": "send this to /sign to sign this split"})
    months = fields.List(fields.Nested(SplitMonthSchema), attribute="shares")


class ContractSchema(Schema):
    id = fields.Integer()
    municipality = MunicipalityOktmo()
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
    #: an offer's parts and months are the current split (recomputed from the certificate's balance when
    #: read); the offer as made is `split.offered_certificate_part`
    certificate_part = fields.Integer(attribute="split.certificate_part")
    parent_part = fields.Integer(attribute="split.parent_part")
    total_display = fields.Function(lambda c: format_rub(c.total))
    certificate_part_display = fields.Function(lambda c: format_rub(c.split.certificate_part))
    parent_part_display = fields.Function(lambda c: format_rub(c.split.parent_part))
    months = fields.Method("_months")
    split = fields.Nested(SplitSchema)
    reportable_months = fields.Function(
        lambda c: [m.month.isoformat() for m in reportable_months(c)], metadata={
            "description": "the months the provider can report now: over (a month is reported after its end, by "
                           "the 5th of the next by practice) and not reported yet"})
    signed_at = fields.DateTime(allow_none=True)
    signature = fields.String(allow_none=True)
    prolonged_from_id = fields.Integer(allow_none=True, metadata={
        "description": "the previous period's contract this one continues (an offer made by prolongation)"})
    ends_on = fields.Date(metadata={"description": "the contract's last day (the end of the notice month once notice "
                                                   "is given)"})
    notice_given_on = fields.Date(allow_none=True)
    termination_grounds = fields.String(allow_none=True)
    termination_grounds_name = fields.String(attribute="grounds_name", allow_none=True)
    terminated_from = fields.Date(allow_none=True, metadata={"description": "the first month no longer paid"})
    termination_reason = fields.String(allow_none=True)


    @pre_dump
    def _current_split(self, contract: Contract, **kwargs: Any) -> Contract:
        contract.split = current_split(contract)  # type: ignore[attr-defined]  # the dump's own attribute
        return contract

    def _months(self, contract: Contract) -> list[dict[str, Any]]:
        amounts = {s.month: s for s in contract.split.shares}  # type: ignore[attr-defined]  # set by _current_split
        return [{**ContractMonthSchema().dump(m), "certificate_amount": amounts[m.month].certificate_amount,
                 "parent_amount": amounts[m.month].parent_amount} for m in contract.months]


class ContractQuerySchema(FilterSchema):
    """The contracts list's filters, for the page and the API alike (common.schemas.page_filters)."""

    status = Choice(CONTRACT_STATUSES, NO_SUCH_STATE)
    certificate_id = FilterId("Такого сертификата нет: проверьте номер.", metadata={"description": "a certificate's id"})
    provider = FilterId(NO_SUCH_PROVIDER, exists=is_filter_provider, metadata={
        "description": "a provider's id (one admitted in the caller's municipality)"})
    q = SearchText("Ребёнок или номер", metadata={
        "description": "words of the child's name, the contract's or the certificate's number"})
    month = Month(metadata={"description": "ГГГГ-ММ: the contracts in force in that month"})


class ReportInputSchema(Schema):
    month = fields.String(required=True, metadata={"description": "ГГГГ-ММ"})
    lessons_planned = fields.Integer(load_default=None, allow_none=True,
                                     metadata={"description": "lessons of the month by the schedule"})
    lessons_held = fields.Integer(load_default=None, allow_none=True, metadata={
        "description": "lessons held: the month costs its share × held / planned; 0 — not delivered"})
    delivered = fields.Boolean(load_default=None, allow_none=True, metadata={
        "description": "instead of the lessons: the whole month delivered (true) or not (false)"})
    reason = fields.String(load_default=None, allow_none=True)
    attendance = fields.Integer(load_default=None, allow_none=True)


class ServiceReportSchema(Schema):
    id = fields.Integer()
    contract_id = fields.Integer()
    month = fields.Date()
    delivered = fields.Boolean()
    reason = fields.String(allow_none=True)
    attendance = fields.Integer(allow_none=True)
    lessons_planned = fields.Integer(allow_none=True)
    lessons_held = fields.Integer(allow_none=True)
    amount = fields.Integer(metadata={"description": "kopecks: what the month costs the certificate"})
    advance = fields.Integer(metadata={"description": "kopecks: the advance paid for the month before the report"})
    reported_at = fields.DateTime()


class GroupLessonRowSchema(Schema):
    contract_id = fields.Integer(required=True, validate=BODY_ID)
    lessons_planned = fields.Integer(required=True)
    lessons_held = fields.Integer(required=True)
    reason = fields.String(load_default=None, allow_none=True)


class GroupLessonsInputSchema(Schema):
    month = fields.String(required=True, metadata={"description": "ГГГГ-ММ"})
    rows = fields.List(fields.Nested(GroupLessonRowSchema), required=True, validate=validate.Length(min=1, max=500))


class TerminateSchema(Schema):
    reason = fields.String(required=True)
    grounds = fields.String(load_default=None, validate=validate.OneOf(list(TERMINATION_GROUNDS)), metadata={
        "description": "parent: parent_will (default) or agreement; provider: provider_grounds (default) or "
                       "agreement; department: department_instruction"})


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


class MonthResultSchema(Schema):
    month = fields.Date()
    status = fields.String()
    status_name = fields.String()
    planned = fields.Integer(metadata={"description": "kopecks the certificate pays for the month by the contract"})
    spent = fields.Integer(allow_none=True, metadata={"description": "kopecks it cost once reported"})
    lessons_planned = fields.Integer(allow_none=True)
    lessons_held = fields.Integer(allow_none=True)


class ServicePartSchema(Schema):
    service_code = fields.String(attribute="contract.program.direction.service_code")
    direction = fields.String(attribute="contract.program.direction.name")
    program_id = fields.Integer(attribute="contract.program_id")
    program = fields.String(attribute="contract.program.title")
    provider = fields.String(attribute="contract.provider.full_name")
    provider_inn = fields.String(attribute="contract.provider.inn")
    group = fields.String(attribute="contract.group.name")


class ContractPartSchema(Schema):
    contract_id = fields.Integer(attribute="contract.id")
    number = fields.String(attribute="contract.number")
    status = fields.String(attribute="contract.status")
    status_name = fields.String(attribute="contract.status_name")
    signed_at = fields.DateTime(attribute="contract.signed_at")
    start_month = fields.Date(attribute="contract.start_month")
    ends_on = fields.Date(attribute="contract.ends_on")
    certificate_part = fields.Integer(attribute="contract.certificate_part")
    parent_part = fields.Integer(attribute="contract.parent_part")
    delivered = fields.Integer(metadata={"description": "months delivered"})
    spent = fields.Integer(metadata={"description": "kopecks paid by the certificate"})
    months = fields.List(fields.Nested(MonthResultSchema))


class CertificateDocumentSchema(Schema):
    general = fields.Nested(CertificateSchema, metadata={"description": "part 1: general information"})
    service = fields.List(fields.Nested(ServicePartSchema), metadata={
        "description": "part 2: the service and the chosen executor, one per contract concluded"})
    contracts = fields.List(fields.Nested(ContractPartSchema), metadata={
        "description": "part 3: the contracts concluded and the results of the service by month"})
