from flask_login import current_user
from flask_smorest import Blueprint

from certapp.accounts.access import roles
from certapp.bookkeeping import agreement_reports, agreements, invoices, registers
from certapp.bookkeeping import reconciliation as reconciliation_services
from certapp.bookkeeping.printing import agreement_document
from certapp.bookkeeping.schemas import (
    AgreementDetailSchema,
    AgreementQuerySchema,
    AgreementReportDecisionSchema,
    AgreementReportInputSchema,
    AgreementReportQuerySchema,
    AgreementReportSchema,
    AgreementSchema,
    BuildAllSchema,
    BuildSchema,
    CertificateLinesQuerySchema,
    CertificateLinesSchema,
    EndSchema,
    ExportSchema,
    InvoiceFormAllSchema,
    InvoiceFormSchema,
    InvoiceQuerySchema,
    InvoiceSchema,
    InvoiceSummarySchema,
    PaymentRegisterQuerySchema,
    PaymentRegisterSchema,
    PaymentRegisterSummarySchema,
    PaySchema,
    ReconciliationSchema,
    RegisterRejectSchema,
    TermSchema,
)
from certapp.common.months import parse_month
from certapp.common.pagination import LIST_PAGE, SelectPage
from certapp.common.printing import PDF_RESPONSES, pdf_response
from certapp.db import db
from certapp.jobs.api import JobSchema

blp = Blueprint("bookkeeping_api", __name__, url_prefix="/bookkeeping",
                description="Соглашения, реестры на оплату, сверка")


@blp.route("/agreements", methods=["GET"])
@blp.arguments(AgreementQuerySchema, location="query")
@blp.response(200, AgreementSchema(many=True))
@blp.paginate(SelectPage, **LIST_PAGE)
@roles("bookkeeping", "department", "provider")
def list_agreements(args):
    """Agreements, a page at a time (X-Pagination): an official's municipality's, a provider's own."""
    return agreements.agreements_query(args.get("status"), current_user)


@blp.route("/agreements/<int:agreement_id>", methods=["GET"])
@blp.response(200, AgreementDetailSchema)
@roles("bookkeeping", "department", "provider")
def get_agreement(agreement_id: int):
    """One agreement with its content and its versions as signed by each party (a provider: its own; another's
    is 404)."""
    return agreements.get_agreement(agreement_id, current_user)


@blp.route("/agreements/<int:agreement_id>/pdf", methods=["GET"])
@blp.doc(responses=PDF_RESPONSES)
@roles("bookkeeping", "department", "provider")
def agreement_pdf(agreement_id: int):
    """The agreement as a PDF: its current version, the parties, the terms and both signatures (a provider:
    its own; another's is 404)."""
    return pdf_response(agreement_document(agreements.get_agreement(agreement_id, current_user)))


@blp.route("/agreements/<int:agreement_id>/conclude", methods=["POST"])
@blp.arguments(TermSchema)
@blp.response(200, AgreementSchema)
@roles("bookkeeping")
def conclude(data, agreement_id: int):
    """Conclude and sign for the authorised body; in force once the provider signs it too (POST …/accept)."""
    return agreements.conclude_agreement(agreement_id, current_user, data["valid_from"], data["valid_to"],
                                         volume_children=data.get("volume_children"),
                                         amount_limit=data.get("amount_limit"))


@blp.route("/agreements/<int:agreement_id>/amend", methods=["POST"])
@blp.arguments(TermSchema)
@blp.response(200, AgreementSchema)
@roles("bookkeeping")
def amend(data, agreement_id: int):
    """A supplementary agreement (a new version): in force once the provider signs it; until then the last
    version both signed stays in force."""
    volume = {key: data[key] for key in ("volume_children", "amount_limit") if key in data}
    return agreements.amend_agreement(agreement_id, current_user, data["valid_from"], data["valid_to"], **volume)


@blp.route("/agreements/<int:agreement_id>/accept", methods=["POST"])
@blp.response(200, AgreementDetailSchema)
@roles("provider")
def accept(agreement_id: int):
    """The provider signs (accepts) the current version of its agreement, signed by the authorised body:
    with both signatures it is in force. 409 for a draft or an ended agreement; a repeat signs nothing twice."""
    return agreements.accept_agreement(agreement_id, current_user)


@blp.route("/agreements/<int:agreement_id>/end", methods=["POST"])
@blp.arguments(EndSchema)
@blp.response(200, AgreementSchema)
@roles("bookkeeping")
def end(data, agreement_id: int):
    return agreements.end_agreement(agreement_id, current_user, data["ended_on"], data["reason"])


@blp.route("/payment-registers", methods=["GET"])
@blp.arguments(PaymentRegisterQuerySchema, location="query")
@blp.response(200, PaymentRegisterSummarySchema(many=True))
@blp.paginate(SelectPage, **LIST_PAGE)
@roles("bookkeeping", "department", "provider")
def list_registers(args):
    """Payment registers, newest month first, a page at a time (X-Pagination), without their lines (a
    provider's month may hold hundreds): GET /payment-registers/{id} has them. A provider reads the ones
    that pay it."""
    return registers.registers_query(args.get("month"), args.get("status"), args.get("provider_id"), current_user)


@blp.route("/payment-registers", methods=["POST"])
@blp.arguments(BuildSchema)
@blp.response(201, PaymentRegisterSchema)
@roles("bookkeeping")
def build(data):
    """Build a provider's register for a month (409 agreement_required without a concluded agreement)."""
    return registers.build_register(data["provider_id"], parse_month(data["month"]), current_user)


@blp.route("/payment-registers/build-all", methods=["POST"])
@blp.arguments(BuildAllSchema)
@blp.response(202, JobSchema)
@roles("bookkeeping")
def build_all(data):
    """Start building every provider's register for a month: a job (follow it at GET /api/v1/jobs/{id};
    its message says which were built and which skipped and why)."""
    record = registers.start_building(parse_month(data["month"]), current_user)
    return db.session.get(type(record), record.id)


@blp.route("/payment-registers/<int:register_id>", methods=["GET"])
@blp.response(200, PaymentRegisterSchema)
@roles("bookkeeping", "department", "provider")
def get_register(register_id: int):
    return registers.get_register(register_id, current_user)


@blp.route("/payment-registers/<int:register_id>/approve", methods=["POST"])
@blp.response(200, PaymentRegisterSchema)
@roles("bookkeeping")
def approve(register_id: int):
    return registers.approve_register(register_id, current_user)


@blp.route("/payment-registers/<int:register_id>/refresh", methods=["POST"])
@blp.response(200, PaymentRegisterSchema)
@roles("bookkeeping")
def refresh(register_id: int):
    """Re-collect a draft's lines; an approved register is frozen (409 register_frozen)."""
    return registers.refresh_register(register_id, current_user)


@blp.route("/payment-registers/<int:register_id>/reject", methods=["POST"])
@blp.arguments(RegisterRejectSchema)
@blp.response(200, PaymentRegisterSchema)
@roles("bookkeeping")
def reject(data, register_id: int):
    return registers.reject_register(register_id, current_user, data["reason"])


@blp.route("/payment-registers/<int:register_id>/pay", methods=["POST"])
@blp.arguments(PaySchema)
@blp.response(200, PaymentRegisterSchema)
@roles("bookkeeping")
def pay(data, register_id: int):
    return registers.mark_paid(register_id, current_user, data["payment_order_number"], data["payment_order_date"])


@blp.route("/reconciliation", methods=["GET"])
@blp.response(200, ReconciliationSchema)
@roles("bookkeeping", "department")
def reconciliation():
    """The summary at once: totals, per municipality, per provider, and the mismatches (there must be
    none) — computed now in a small scope, else the newest stored run (`computed_at`; 404 before the
    first: start one with POST). The per-certificate lines: /reconciliation/certificates."""
    return reconciliation_services.reconciliation_summary()


@blp.route("/reconciliation", methods=["POST"])
@blp.response(202, JobSchema)
@roles("bookkeeping", "department")
def run_reconciliation():
    """Reconcile now as a job (GET /api/v1/jobs/{id} shows its progress); the summary then answers it."""
    return reconciliation_services.start_reconciliation(current_user)


@blp.route("/reconciliation/certificates/export", methods=["POST"])
@blp.arguments(ExportSchema)
@blp.response(202, JobSchema)
@roles("bookkeeping", "department")
def export_reconciliation(data):
    """Every certificate's line into a CSV or XLSX file, as a job; the file: GET /api/v1/jobs/{id}/file."""
    return reconciliation_services.start_certificate_export(current_user, data["format"])


@blp.route("/reconciliation/certificates", methods=["GET"])
@blp.arguments(CertificateLinesQuerySchema, location="query")
@blp.response(200, CertificateLinesSchema)
@roles("bookkeeping", "department")
def reconciliation_certificates(args):
    """Per-certificate lines by number, a page at a time (keyset: pass `next_after` as `after`)."""
    limit = args.get("limit") or 100  # an empty ?limit= asks for the default
    items = reconciliation_services.certificate_lines(args.get("after"), limit)
    return {"items": items, "next_after": items[-1].number if len(items) == limit else None}


@blp.route("/invoices", methods=["GET"])
@blp.arguments(InvoiceQuerySchema, location="query")
@blp.response(200, InvoiceSummarySchema(many=True))
@blp.paginate(SelectPage, **LIST_PAGE)
@roles("bookkeeping", "department", "provider")
def list_invoices(args):
    """Advance and final invoices, newest month first, by month, kind, status and provider (a provider
    reads its own), a page at a time (X-Pagination)."""
    return invoices.invoices_query(args.get("month"), args.get("kind"), args.get("status"), args.get("provider_id"), current_user)


@blp.route("/invoices", methods=["POST"])
@blp.arguments(InvoiceFormSchema)
@blp.response(201, InvoiceSchema)
@roles("bookkeeping")
def form_invoice(data):
    """Form a provider's advance invoice for a month (from its 1st) or its final invoice (after the
    month). 409 when formed already or without an agreement in force; 422 too early or nothing to invoice."""
    return invoices.form_invoice(data["kind"], data["provider_id"], parse_month(data["month"]), current_user)


@blp.route("/invoices/form-all", methods=["POST"])
@blp.arguments(InvoiceFormAllSchema)
@blp.response(202, JobSchema)
@roles("bookkeeping")
def form_all_invoices(data):
    """Start forming every provider's invoices of a kind for a month: a job (follow it at
    GET /api/v1/jobs/{id}; its message says which were formed and which skipped and why)."""
    record = invoices.start_forming_invoices(data["kind"], parse_month(data["month"]), current_user)
    return db.session.get(type(record), record.id)


@blp.route("/invoices/<int:invoice_id>", methods=["GET"])
@blp.response(200, InvoiceSchema)
@roles("bookkeeping", "department", "provider")
def get_invoice(invoice_id: int):
    return invoices.get_invoice(invoice_id, current_user)


@blp.route("/invoices/<int:invoice_id>/approve", methods=["POST"])
@blp.response(200, InvoiceSchema)
@roles("bookkeeping")
def approve_invoice(invoice_id: int):
    """Approve: an advance is paid from the certificates' reserve at once (reserved → spent)."""
    return invoices.approve_invoice(invoice_id, current_user)


@blp.route("/invoices/<int:invoice_id>/reject", methods=["POST"])
@blp.arguments(RegisterRejectSchema)
@blp.response(200, InvoiceSchema)
@roles("bookkeeping")
def reject_invoice(data, invoice_id: int):
    return invoices.reject_invoice(invoice_id, current_user, data["reason"])


@blp.route("/agreement-reports", methods=["GET"])
@blp.arguments(AgreementReportQuerySchema, location="query")
@blp.response(200, AgreementReportSchema(many=True))
@blp.paginate(SelectPage, **LIST_PAGE)
@roles("provider", "bookkeeping", "department")
def list_agreement_reports(args):
    """Providers' quarterly reports on their agreements (a provider sees its own), a page at a time
    (X-Pagination)."""
    return agreement_reports.agreement_reports_query(current_user, args.get("status"))


@blp.route("/agreement-reports", methods=["POST"])
@blp.arguments(AgreementReportInputSchema)
@blp.response(201, AgreementReportSchema)
@roles("provider")
def form_agreement_report(data):
    """The provider forms its report for a quarter that is over, from the data; it is signed at once."""
    return agreement_reports.form_agreement_report(current_user, data["agreement_id"], data["year"], data["quarter"])


@blp.route("/agreement-reports/<int:report_id>/decision", methods=["POST"])
@blp.arguments(AgreementReportDecisionSchema)
@blp.response(200, AgreementReportSchema)
@roles("bookkeeping")
def decide_agreement_report(data, report_id: int):
    """Accept the report, or return it with what to correct."""
    return agreement_reports.decide_agreement_report(report_id, data["decision"], current_user, data["reason"])
