from flask import request
from flask_login import current_user
from flask_smorest import Blueprint

from certapp.accounts.access import roles
from certapp.certificates.services import get_certificate
from certapp.common.pagination import LIST_PAGE, SelectPage
from certapp.common.printing import PDF_RESPONSES, pdf_response
from certapp.common.schemas import BulkResultSchema
from certapp.contracts import contracts, enrollments, service_reports
from certapp.contracts.printing import contract_document, printed_certificate
from certapp.contracts.schemas import (
    BulkEnrollmentSchema,
    CertificateDocumentSchema,
    ContractQuerySchema,
    ContractSchema,
    CorrectionSchema,
    EnrollmentInputSchema,
    EnrollmentOptionsQuerySchema,
    EnrollmentOptionsSchema,
    EnrollmentQuerySchema,
    EnrollmentSchema,
    GroupLessonsInputSchema,
    InvariantSchema,
    LedgerEntrySchema,
    ReasonSchema,
    ReportInputSchema,
    ServiceReportSchema,
    SignSchema,
    TerminateSchema,
)
from certapp.ledger import services as ledger

blp = Blueprint("contracts_api", __name__, url_prefix="", description="Заявки на обучение, договоры, отчёты, проводки")


@blp.route("/enrollments", methods=["GET"])
@blp.arguments(EnrollmentQuerySchema, location="query")
@blp.response(200, EnrollmentSchema(many=True))
@blp.paginate(SelectPage, **LIST_PAGE)
@roles("parent", "provider", "department")
def list_enrollments(args):
    """Enrollments, newest first, a page at a time (X-Pagination)."""
    return enrollments.enrollments_for(current_user, args.get("status"))


@blp.route("/enrollments", methods=["POST"])
@blp.arguments(EnrollmentInputSchema)
@blp.response(201, EnrollmentSchema)
@roles("parent")
def request_enrollment(data):
    """Ask to enroll the certificate's child in a study group from a month to the group's end."""
    return enrollments.request_enrollment(current_user, data["certificate_id"], data["group_id"], data["start_month"])


@blp.route("/groups/<int:group_id>/enrollment-options", methods=["GET"])
@blp.arguments(EnrollmentOptionsQuerySchema, location="query")
@blp.response(200, EnrollmentOptionsSchema)
@roles("parent")
def enrollment_options(args, group_id: int):
    """The parent's certificates for a group from a month: those that can be used, each with the split
    (the certificate's part and the parent's, month by month, at its balance now), and the others with
    the reason — what the enrollment form shows."""
    group, start, options = enrollments.group_enrollment_options(current_user, group_id, args["start_month"])
    return {"group": group, "start_month": start, "options": options}


@blp.route("/enrollments/<int:enrollment_id>/accept", methods=["POST"])
@blp.response(201, ContractSchema)
@roles("provider")
def accept(enrollment_id: int):
    """Accept: the contract is offered to the parent, with the certificate's and the parent's parts."""
    return enrollments.accept_enrollment(enrollment_id, current_user)


@blp.route("/enrollments/<int:enrollment_id>/decline", methods=["POST"])
@blp.arguments(ReasonSchema)
@blp.response(200, EnrollmentSchema)
@roles("provider")
def decline(data, enrollment_id: int):
    return enrollments.decline_enrollment(enrollment_id, current_user, data["reason"])


@blp.route("/enrollments/bulk", methods=["POST"])
@blp.arguments(BulkEnrollmentSchema)
@blp.response(200, BulkResultSchema)
@roles("provider")
def bulk(data):
    """Accept or decline many requests at once (one reason for all refusals). Each request stands
    alone: those that cannot be answered are listed in `refused` with the reason, the rest are done."""
    return enrollments.decide_enrollments(data["ids"], data["action"], current_user, data["reason"])


@blp.route("/enrollments/<int:enrollment_id>/cancel", methods=["POST"])
@blp.response(200, EnrollmentSchema)
@roles("parent")
def cancel(enrollment_id: int):
    return enrollments.cancel_enrollment(enrollment_id, current_user)


@blp.route("/contracts", methods=["GET"])
@blp.arguments(ContractQuerySchema, location="query")
@blp.response(200, ContractSchema(many=True))
@blp.paginate(SelectPage, **LIST_PAGE)
@roles("parent", "provider", "department", "bookkeeping")
def list_contracts(args):
    """The caller's contracts, newest first, a page at a time (X-Pagination), filtered by state, certificate,
    provider, the child's name or a number (`q`) and the month they are in force in (`month`, ГГГГ-ММ)."""
    return contracts.contracts_for(current_user, args.get("status"), args.get("certificate_id"), args.get("provider"),
                                   args.get("q"), args.get("month"))


@blp.route("/contracts/<int:contract_id>", methods=["GET"])
@blp.response(200, ContractSchema)
@roles("parent", "provider", "department", "bookkeeping")
def get_contract(contract_id: int):
    return contracts.get_contract(contract_id, current_user)


@blp.route("/contracts/<int:contract_id>/pdf", methods=["GET"])
@blp.doc(responses=PDF_RESPONSES)
@roles("parent", "provider", "department", "bookkeeping")
def contract_pdf(contract_id: int):
    """The contract as a PDF (the common layout: parties, terms, the schedule, the parent's signature, the
    link to check it); whoever may read the contract (another parent's is 404)."""
    return pdf_response(contract_document(contracts.get_contract(contract_id, current_user,
                                                                  load=contracts.DOCUMENT_LOAD)))


@blp.route("/contracts/<int:contract_id>/sign", methods=["POST"])
@blp.arguments(SignSchema, required=False)
@blp.response(200, ContractSchema)
@roles("parent")
def sign(data, contract_id: int):
    """Sign (accept the offer): reserves the certificate's part once, however often it is sent. When the
    certificate's balance no longer pays the offer, the certificate pays what it can month by month and
    the parent the rest (the contract's `split`); that split is signed only when sent back as
    `expected_certificate_amount`, otherwise 409 `split_changed` with the current `split`."""
    return contracts.sign_contract(contract_id, current_user, request.remote_addr,
                                   (data or {}).get("expected_certificate_amount"))


@blp.route("/contracts/<int:contract_id>/reject", methods=["POST"])
@blp.response(200, ContractSchema)
@roles("parent")
def reject(contract_id: int):
    return contracts.reject_offer(contract_id, current_user)


@blp.route("/contracts/<int:contract_id>/reports", methods=["POST"])
@blp.arguments(ReportInputSchema)
@blp.response(201, ServiceReportSchema)
@roles("provider")
def report(data, contract_id: int):
    """Report a month once, with the lessons planned and held: the month costs its share × held /
    planned (rounded half up to the kopeck); the report spends that less the advance already paid (or
    returns an excess advance to the reserve) and releases the rest to the certificate."""
    return service_reports.report_month(contract_id, current_user, data["month"], data["delivered"], data["reason"],
                                        data["attendance"], lessons_planned=data["lessons_planned"],
                                        lessons_held=data["lessons_held"])


@blp.route("/certificates/<int:certificate_id>/document", methods=["GET"])
@blp.response(200, CertificateDocumentSchema)
@roles("parent", "department", "bookkeeping")
def certificate_document(certificate_id: int):
    """The social certificate in its three parts (189-ФЗ): general information, the service and the
    chosen executor, the contracts concluded with the results of the service month by month."""
    certificate = get_certificate(certificate_id, current_user)
    parts = contracts.certificate_parts(certificate.id)
    return {"general": certificate, "service": parts, "contracts": parts}


@blp.route("/certificates/<int:certificate_id>/pdf", methods=["GET"])
@blp.doc(responses=PDF_RESPONSES)
@roles("parent", "department", "bookkeeping")
def certificate_pdf(certificate_id: int):
    """The certificate as a PDF in its three parts with its signed QR code (the common layout); the parent's
    own, or an official's of the municipality (another parent's is 404)."""
    return pdf_response(printed_certificate(get_certificate(certificate_id, current_user)))


@blp.route("/groups/<int:group_id>/lessons", methods=["POST"])
@blp.arguments(GroupLessonsInputSchema)
@blp.response(200, BulkResultSchema)
@roles("provider")
def group_lessons(data, group_id: int):
    """A whole group's month in one request: a row per contract with the lessons planned and held.
    Each row stands alone: those that cannot be reported are listed in `refused` with the reason."""
    return service_reports.report_group(current_user, group_id, data["month"], data["rows"])


@blp.route("/contracts/<int:contract_id>/terminate", methods=["POST"])
@blp.arguments(TerminateSchema)
@blp.response(200, ContractSchema)
@roles("parent", "provider", "department")
def terminate(data, contract_id: int):
    """Notice of termination: the contract stays in force to the end of this month (`ends_on`), then
    ends; the reserve for the months after is released then."""
    return contracts.terminate(contract_id, current_user, data["reason"], data["grounds"])


@blp.route("/contracts/<int:contract_id>/corrections", methods=["POST"])
@blp.arguments(CorrectionSchema)
@blp.response(201, LedgerEntrySchema)
@roles("department")
def correct(data, contract_id: int):
    return service_reports.correct_month(contract_id, current_user, data["month"], data["amount_rub"], data["direction"],
                                         data["reason"])


@blp.route("/certificates/<int:certificate_id>/ledger", methods=["GET"])
@blp.response(200, LedgerEntrySchema(many=True))
@blp.paginate(SelectPage, **LIST_PAGE)
@roles("parent", "department", "bookkeeping")
def certificate_ledger(certificate_id: int):
    """The movements of a certificate's money, oldest first, a page at a time (X-Pagination)."""
    return ledger.entries_query(get_certificate(certificate_id, current_user).id)


@blp.route("/ledger/invariant", methods=["GET"])
@blp.response(200, InvariantSchema)
@roles("department", "bookkeeping")
def invariant():
    """nominal = available + reserved + spent + expired, each equal to the sum of its entries."""
    mismatches = ledger.check_invariant()
    return {"ok": not mismatches, "mismatches": mismatches}
