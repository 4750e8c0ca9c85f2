from marshmallow import Schema, fields, validate

from certapp.bookkeeping.agreements import payment_terms
from certapp.bookkeeping.models import (
    AGREEMENT_REPORT_STATUSES,
    AGREEMENT_STATUSES,
    INVOICE_KINDS,
    INVOICE_STATUSES,
    REGISTER_STATUSES,
    PaymentRegister,
)
from certapp.certificates.models import Certificate
from certapp.common.money import format_rub
from certapp.common.schemas import (
    BODY_ID,
    NO_SUCH_PROVIDER,
    NO_SUCH_STATE,
    Choice,
    ColumnString,
    FilterId,
    FilterSchema,
    Month,
    MunicipalityOktmo,
    SearchText,
    Year,
)
from certapp.db import column_length
from certapp.registry.services import is_filter_provider


class AgreementSchema(Schema):
    id = fields.Integer()
    municipality = MunicipalityOktmo()
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
    signature = fields.String(allow_none=True, metadata={"description": "the authorised body's signature"})
    state_name = fields.String(metadata={"description": "the status as both parties see it (waiting for the "
                                                        "provider's signature, in force …)"})
    authority = fields.Function(lambda a: a.municipality.authority or a.municipality.name,
                                metadata={"description": "the party: the municipality's authorised body"})
    volume_children = fields.Integer(allow_none=True, metadata={"description": "certificates (children); null: "
                                                                              "not limited"})
    amount_limit = fields.Integer(allow_none=True, metadata={"description": "kopecks; null: not limited"})
    advance_percent = fields.Integer(allow_none=True, metadata={"description": "the advance's share of a month"})
    payment_day = fields.Integer(allow_none=True, metadata={"description": "paid by this day of the next month"})
    awaits_provider = fields.Boolean(metadata={"description": "the current version waits for the provider's "
                                                              "signature"})
    provider_signed_version = fields.Integer(allow_none=True, metadata={"description": "the last version the "
                                                                                      "provider signed"})
    in_force_from = fields.Date(allow_none=True, metadata={"description": "the term both parties signed"})
    in_force_to = fields.Date(allow_none=True)


class AgreementVersionSchema(Schema):
    version = fields.Integer()
    content = fields.Dict(metadata={"description": "the canonical content as signed: parties, subject, volume, "
                                                   "payment terms, term, bank details"})
    signature = fields.String(metadata={"description": "the authorised body's signature (made by bookkeeping)"})
    signed_at = fields.DateTime()
    signed_by = fields.String(attribute="signed_by.full_name", allow_none=True)
    provider_signature = fields.String(allow_none=True)
    provider_signed_at = fields.DateTime(allow_none=True)
    provider_signed_by = fields.String(attribute="provider_signed_by.full_name", allow_none=True)


class AgreementDetailSchema(AgreementSchema):
    """One agreement with its versions as signed (the conclusion, then each supplementary agreement)."""

    payment_terms = fields.Function(lambda a: payment_terms(a))
    versions = fields.List(fields.Nested(AgreementVersionSchema))


class AgreementQuerySchema(FilterSchema):
    status = Choice(AGREEMENT_STATUSES, NO_SUCH_STATE)


class TermSchema(Schema):
    valid_from = fields.Date(required=True)
    valid_to = fields.Date(load_default=None, allow_none=True)
    volume_children = fields.Integer(allow_none=True, metadata={
        "description": "the volume: certificates (children); null: not limited; left out when amending: unchanged"})
    amount_limit = fields.Integer(allow_none=True, metadata={
        "description": "the volume: the amount limit, kopecks; null: not limited; left out when amending: unchanged"})


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
    municipality = MunicipalityOktmo()
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


class PaymentRegisterSummarySchema(PaymentRegisterSchema):
    """A register in a list: without its lines (a provider's month may hold hundreds);
    GET /payment-registers/{id} has them."""

    class Meta:
        exclude = ("lines",)


class PaymentRegisterQuerySchema(FilterSchema):
    """The registers list's filters, for the page and the API alike (common.schemas.page_filters)."""

    month = Month()
    status = Choice(REGISTER_STATUSES, NO_SUCH_STATE)
    provider_id = FilterId(NO_SUCH_PROVIDER, exists=is_filter_provider)


#: a provider named in a request's body: an id no id column holds is refused beside the field, as the lists'
#: filter refuses it (on PostgreSQL it had reached the database: «Значение вне допустимого диапазона», no field)
PROVIDER_ID = validate.Range(min=BODY_ID.min, max=BODY_ID.max, error=NO_SUCH_PROVIDER)


class BuildSchema(Schema):
    provider_id = fields.Integer(required=True, validate=PROVIDER_ID)
    month = fields.String(required=True, metadata={"description": "ГГГГ-ММ"})


class BuildAllSchema(Schema):
    month = fields.String(required=True, metadata={"description": "ГГГГ-ММ"})


class RegisterRejectSchema(Schema):
    reason = fields.String(required=True)


class PaySchema(Schema):
    payment_order_number = ColumnString(PaymentRegister.payment_order_number, required=True)
    payment_order_date = fields.Date(required=True)


class ProviderReconciliationSchema(Schema):
    provider_id = fields.Integer()
    name = fields.String()
    spent = fields.Integer()
    paid = fields.Integer()
    approved = fields.Integer()
    payable = fields.Integer()
    mismatch = fields.Integer()


class _BalancesSchema(Schema):
    """A certificate's balances, or a municipality's sums of them (kopecks), as the reconciliation compares."""

    nominal = fields.Integer()
    available = fields.Integer()
    reserved = fields.Integer()
    spent = fields.Integer()
    expired = fields.Integer()


class CertificateReconciliationSchema(_BalancesSchema):
    number = fields.String()


class MunicipalityReconciliationSchema(_BalancesSchema):
    name = fields.String()
    certificates = fields.Integer()


class ReconciliationSchema(Schema):
    ok = fields.Boolean()
    live = fields.Boolean(metadata={"description": "computed for this answer (false: a stored run)"})
    computed_at = fields.DateTime(allow_none=True, metadata={"description": "when the stored run was computed"})
    duration_ms = fields.Integer(allow_none=True)
    mismatch_count = fields.Integer(metadata={"description": "all mismatches; `mismatches` lists at most 1000"})
    totals = fields.Dict(keys=fields.String(), values=fields.Integer())
    municipalities = fields.List(fields.Nested(MunicipalityReconciliationSchema))
    providers = fields.List(fields.Nested(ProviderReconciliationSchema))
    mismatches = fields.List(fields.String())


class ExportSchema(Schema):
    format = fields.String(required=True, validate=validate.OneOf(["csv", "xlsx"]),
                           metadata={"description": "csv or xlsx"})


class CertificateLinesQuerySchema(FilterSchema):
    """The reconciliation's certificate lines, for the page (its `after`) and the API alike
    (common.schemas.page_filters)."""

    after = SearchText("После номера", column_length(Certificate.number), plain=True,
                       metadata={"description": "the last number of the previous page"})
    limit = FilterId("Строк — от 1 до 1000.", low=1, high=1000, load_default=100,
                     metadata={"description": "lines in the page (100 when left out)"})


class CertificateLinesSchema(Schema):
    items = fields.List(fields.Nested(CertificateReconciliationSchema))
    next_after = fields.String(allow_none=True, metadata={"description": "pass as `after` for the next page; "
                                                                         "null on the last"})


class InvoiceLineSchema(Schema):
    contract_id = fields.Integer()
    certificate_number = fields.String()
    child_initials = fields.String()
    program_title = fields.String()
    month_amount = fields.Integer(metadata={"description": "kopecks: the certificate's share of the month"})
    lessons_planned = fields.Integer(allow_none=True)
    lessons_held = fields.Integer(allow_none=True)
    due = fields.Integer(allow_none=True, metadata={"description": "final: month_amount × held / planned, kopecks"})
    advance = fields.Integer(metadata={"description": "the advance asked for (advance) or paid (final), kopecks"})
    amount = fields.Integer(metadata={"description": "kopecks, signed: the advance, or due − advance"})


class InvoiceSchema(Schema):
    id = fields.Integer()
    municipality = MunicipalityOktmo()
    number = fields.String()
    kind = fields.String(metadata={"description": "advance or final"})
    kind_name = fields.String()
    provider_id = fields.Integer()
    provider_name = fields.String(attribute="provider.short_name")
    agreement_id = fields.Integer()
    month = fields.Date()
    status = fields.String()
    status_name = fields.String()
    share_percent = fields.Integer(allow_none=True)
    total = fields.Integer(metadata={"description": "kopecks, signed"})
    total_display = fields.Function(lambda i: format_rub(i.total))
    approved_at = fields.DateTime(allow_none=True)
    rejection_reason = fields.String(allow_none=True)
    signature = fields.String(allow_none=True)
    lines = fields.List(fields.Nested(InvoiceLineSchema))


class InvoiceQuerySchema(FilterSchema):
    """The invoices list's filters, for the page and the API alike (common.schemas.page_filters)."""

    month = Month()
    kind = Choice(INVOICE_KINDS, "Такого вида счёта нет: выберите из списка.")
    status = Choice(INVOICE_STATUSES, NO_SUCH_STATE)
    provider_id = FilterId(NO_SUCH_PROVIDER, exists=is_filter_provider)


class InvoiceSummarySchema(InvoiceSchema):
    """An invoice in a list: without its lines (a provider's month may hold hundreds); GET /invoices/{id}
    has them."""

    class Meta:
        exclude = ("lines",)


class InvoiceFormAllSchema(Schema):
    kind = fields.String(required=True, validate=validate.OneOf(list(INVOICE_KINDS)))
    month = fields.String(required=True, metadata={"description": "ГГГГ-ММ"})


class InvoiceFormSchema(InvoiceFormAllSchema):
    provider_id = fields.Integer(required=True, validate=PROVIDER_ID)


class AgreementReportSchema(Schema):
    id = fields.Integer()
    number = fields.String()
    municipality = MunicipalityOktmo()
    agreement_id = fields.Integer()
    agreement_number = fields.String(attribute="agreement.number")
    provider_id = fields.Integer()
    year = fields.Integer()
    quarter = fields.Integer()
    status = fields.String()
    status_name = fields.String()
    figures = fields.Dict(metadata={"description": "months (children, months_delivered, spent) and totals "
                                                   "(months_delivered, spent, received), kopecks"})
    formed_at = fields.DateTime()
    signature = fields.String()
    decided_at = fields.DateTime(allow_none=True)
    return_reason = fields.String(allow_none=True)


class AgreementReportQuerySchema(FilterSchema):
    status = Choice(AGREEMENT_REPORT_STATUSES, NO_SUCH_STATE)


class AgreementReportInputSchema(Schema):
    agreement_id = fields.Integer(required=True, validate=BODY_ID)
    year = Year(required=True)
    quarter = fields.Integer(required=True, validate=validate.Range(min=1, max=4))


class AgreementReportDecisionSchema(Schema):
    decision = fields.String(required=True, validate=validate.OneOf(["accepted", "returned"]))
    reason = fields.String(load_default=None, allow_none=True)
