from typing import Any

from flask_login import current_user
from flask_smorest import Blueprint

from certapp.accounts.access import public, roles
from certapp.certificates import health, services
from certapp.certificates.models import Certificate
from certapp.certificates.printing import application_document
from certapp.certificates.schemas import (
    BulkDecisionResultSchema,
    BulkDecisionSchema,
    CategoryCreateSchema,
    CategoryInputSchema,
    CategoryQuerySchema,
    CategorySchema,
    CertificateApplicationInputSchema,
    CertificateApplicationQuerySchema,
    CertificateApplicationSchema,
    CertificateDecisionSchema,
    CertificateQuerySchema,
    CertificateSchema,
    ChildCorrectionInputSchema,
    ChildCorrectionQuerySchema,
    ChildCorrectionSchema,
    ChildInputSchema,
    ChildSchema,
    ChildUpdateSchema,
    HealthInputSchema,
    HealthSchema,
    OnBehalfSchema,
    StatusSchema,
    VerificationSchema,
    VerifyInputSchema,
)
from certapp.common.errors import KeptRefusal, NotFoundError
from certapp.common.pagination import LIST_PAGE, Rows, SelectPage
from certapp.common.printing import PDF_RESPONSES, pdf_response
from certapp.errors import kept_refusal_answer
from certapp.reference import services as reference

blp = Blueprint("certificates_api", __name__, url_prefix="/certificates",
                description="Дети, заявления и социальные сертификаты")


@blp.route("/children", methods=["GET"])
@blp.response(200, ChildSchema(many=True))
@blp.paginate(SelectPage, **LIST_PAGE)
@roles("parent")
def list_children():
    return services.children_of(current_user)


@blp.route("/children", methods=["POST"])
@blp.arguments(ChildInputSchema)
@blp.response(201, ChildSchema)
@roles("parent")
def add_child(data):
    """Add a child; СНИЛС is stored encrypted and shown masked."""
    return services.add_child(current_user, data)


@blp.route("/children/<int:child_id>", methods=["GET"])
@blp.response(200, ChildSchema)
@roles("parent", "department")
def get_child(child_id: int):
    return services.get_child(child_id, current_user)


@blp.route("/children/<int:child_id>", methods=["PUT"])
@blp.arguments(ChildUpdateSchema)
@blp.response(200, ChildSchema)
@roles("parent")
def update_child(data, child_id: int):
    """Correct the child's record (the whole record; an omitted СНИЛС stays) while no certificate is issued
    for it; afterwards 409 `correction_required`: ask for a correction (POST …/corrections)."""
    return services.update_child(child_id, current_user, data)


def _health_of(child_id: int) -> dict[str, Any]:
    child = services.get_child(child_id, current_user)
    shown = health.health_for(child, current_user)
    if shown is None:  # not the parent's child, nor the department's of the child's municipality
        raise NotFoundError("Ребёнок не найден.")
    return {"child_id": child.id, **shown}


@blp.route("/children/<int:child_id>/health", methods=["GET"])
@blp.response(200, HealthSchema)
@roles("parent", "department")
def get_health(child_id: int):
    """The child's health statuses: the parent's own child, or the department of the child's
    municipality; 404 to anyone else."""
    return _health_of(child_id)


@blp.route("/children/<int:child_id>/health", methods=["PUT"])
@blp.arguments(HealthInputSchema)
@blp.response(200, HealthSchema)
@roles("parent")
def set_health(data, child_id: int):
    """State the child's health statuses with the separate consent (`consent: true`, 422 without it)."""
    health.set_health(child_id, current_user, data["statuses"], data["consent"])
    return _health_of(child_id)


@blp.route("/children/<int:child_id>/health", methods=["DELETE"])
@blp.response(200, HealthSchema)
@roles("parent")
def withdraw_health(child_id: int):
    """Withdraw the consent: the statuses are erased."""
    health.withdraw_health(child_id, current_user)
    return _health_of(child_id)


@blp.route("/children/<int:child_id>/corrections", methods=["POST"])
@blp.arguments(ChildCorrectionInputSchema)
@blp.response(201, ChildCorrectionSchema)
@roles("parent")
def request_correction(data, child_id: int):
    """Ask the department of the certificate's municipality to correct the record of a child with a
    certificate (the whole record as it should be; an omitted СНИЛС stays)."""
    note = data.pop("note")
    return services.request_correction(child_id, current_user, data, note)


@blp.route("/child-corrections", methods=["GET"])
@blp.arguments(ChildCorrectionQuerySchema, location="query")
@blp.response(200, ChildCorrectionSchema(many=True))
@blp.paginate(SelectPage, **LIST_PAGE)
@roles("parent", "department")
def list_corrections(args):
    """A parent's own correction requests; for the department, its municipality's (default: awaiting
    decision); a page at a time (X-Pagination)."""
    return services.corrections_visible_to(current_user, args["status"])


@blp.route("/child-corrections/<int:correction_id>/decision", methods=["POST"])
@blp.arguments(CertificateDecisionSchema)
@blp.response(200, ChildCorrectionSchema)
@roles("department")
def decide_correction(data, correction_id: int):
    """Confirm (the child's record changes, its certificate documents are signed anew, the number
    stays) or refuse with a reason."""
    return services.decide_correction(correction_id, data["decision"], current_user, data["reason"])


@blp.route("/applications", methods=["GET"])
@blp.arguments(CertificateApplicationQuerySchema, location="query")
@blp.response(200, CertificateApplicationSchema(many=True))
@blp.paginate(SelectPage, **LIST_PAGE)
@roles("parent", "department")
def list_applications(args):
    """A parent's own applications; for the department, the queue (default: awaiting decision); a
    page at a time (X-Pagination)."""
    return Rows(services.applications_visible_to(current_user, args["status"]), _with_queue_positions)


def _with_queue_positions(applications: list[Any]) -> list[Any]:
    """The page's applications, their certificates' places in the queues read at once."""
    _certificates_with_queue_positions([a.certificate for a in applications if a.certificate])
    return applications


def _certificates_with_queue_positions(certificates: list[Any]) -> list[Any]:
    """The page's certificates, each with its `known_queue_position` (what the schemas show), in one
    query for all."""
    positions = services.queue_positions(certificates)
    for certificate in certificates:
        certificate.known_queue_position = positions.get(certificate.id)
    return certificates


@blp.route("/applications", methods=["POST"])
@blp.arguments(CertificateApplicationInputSchema)
@blp.response(201, CertificateApplicationSchema)
@roles("parent")
def apply(data):
    """File the application for a certificate (age 5–17, the district, one certificate per child and period)."""
    result = services.apply_keeping_refusal(current_user, data["child_id"], data["period_id"], data["consent"],
                                            category_id=data["category_id"], group_id=data["group_id"])
    return kept_refusal_answer(result) if isinstance(result, KeptRefusal) else result


@blp.route("/applications/<int:application_id>/decision", methods=["POST"])
@blp.arguments(CertificateDecisionSchema)
@blp.response(200, CertificateApplicationSchema)
@roles("department")
def decide(data, application_id: int):
    """Confirm (the certificate is issued at once) or refuse with a reason."""
    result = services.decide(application_id, data["decision"], current_user, data["reason"])
    return result.application if isinstance(result, Certificate) else result


@blp.route("/applications/<int:application_id>/pdf", methods=["GET"])
@blp.doc(responses=PDF_RESPONSES)
@roles("parent", "department")
def application_pdf(application_id: int):
    """The parent's certificate application as a PDF (the parent's own; the department of its municipality;
    another's is 404)."""
    return pdf_response(application_document(services.get_application(application_id, current_user)))


@blp.route("/applications/bulk-decision", methods=["POST"])
@blp.arguments(BulkDecisionSchema)
@blp.response(200, BulkDecisionResultSchema)
@roles("department")
def decide_bulk(data):
    """One decision for many applications (one reason for all refusals). Each application stands
    alone: those that cannot be decided are listed in `refused` with the reason, the rest are done;
    `queued` lists those whose certificate went to the waiting queue (no funded place left)."""
    return services.decide_many(data["ids"], data["decision"], current_user, data["reason"])


@blp.route("/on-behalf", methods=["POST"])
@blp.arguments(OnBehalfSchema)
@blp.response(201, CertificateSchema)
@roles("department")
def on_behalf(data):
    """File and confirm for a parent who came in person."""
    email, period_id, consent = data.pop("parent_email"), data.pop("period_id"), data.pop("consent")
    category_id = data.pop("category_id")
    return services.file_on_behalf(current_user, email, data, period_id, consent, category_id)


@blp.route("", methods=["GET"])
@blp.arguments(CertificateQuerySchema, location="query")
@blp.response(200, CertificateSchema(many=True))
@blp.paginate(SelectPage, **LIST_PAGE)
@roles("parent", "department", "bookkeeping")
def list_certificates(args):
    """A parent's own certificates; for the department and bookkeeping, the register of holders; a page
    at a time (X-Pagination)."""
    return Rows(services.certificates_visible_to(current_user, search=args.get("q"), period_id=args.get("period"),
                                                 status=args.get("status")), _certificates_with_queue_positions)


@blp.route("/<int:certificate_id>", methods=["GET"])
@blp.response(200, CertificateSchema)
@roles("parent", "department", "bookkeeping")
def get_certificate(certificate_id: int):
    return services.get_certificate(certificate_id, current_user)


@blp.route("/<int:certificate_id>/status", methods=["POST"])
@blp.arguments(StatusSchema)
@blp.response(200, CertificateSchema)
@roles("department")
def change_status(data, certificate_id: int):
    return services.change_status(certificate_id, data["status"], current_user, data["reason"])


@blp.route("/verify", methods=["POST"])
@blp.arguments(VerifyInputSchema)
@blp.response(200, VerificationSchema)
@blp.doc(security=[])  # anyone: no token needed
@public
def verify(data):
    """Check a scanned QR code (its text CQ1:… or the address https://HOST/V/CQ1:… the image holds) or a
    certificate number. Invalid codes are answered with signature_valid=false and a reason; a number with
    signature_valid=null (nothing signed is checked) and only the certificate's validity and status."""
    return services.verify(data["code"], current_user)


categories_blp = Blueprint("certificate_categories_api", __name__, url_prefix="/reference/certificate-categories",
                           description="Категории сертификатов: номинал, финансируемые места, очередь")


def _category_row(category_id: int):
    category = reference.get_category(category_id)
    return next(row for row in services.category_rows(category.period) if row.category.id == category.id)


def _category_values(data: dict[str, Any]) -> dict[str, Any]:
    return {**{k: data[k] for k in ("name", "age_from", "age_to", "needs_document", "funded_limit")},
            "nominal": data["nominal_rub"]}


@categories_blp.route("", methods=["GET"])
@categories_blp.arguments(CategoryQuerySchema, location="query")
@categories_blp.response(200, CategorySchema(many=True))
@categories_blp.paginate(SelectPage, **LIST_PAGE)
@categories_blp.doc(security=[])  # anyone: no token needed
@public
def list_categories(args):
    """The categories of a period (the municipality's current one by default): who is eligible, the
    nominal, the funded places, how many are taken and free, and how long the waiting queue is."""
    if args.get("period_id"):
        period = reference.get_period(args["period_id"])
    else:
        municipality = reference.municipality_by_oktmo(args["municipality"]) if args.get("municipality") \
            else reference.get_district()
        current = reference.current_period(municipality_id=municipality.id)
        if current is None:
            return []
        period = current
    return services.category_rows(period)


@categories_blp.route("", methods=["POST"])
@categories_blp.arguments(CategoryCreateSchema)
@categories_blp.response(201, CategorySchema)
@roles("department")
def create_category(data):
    """Add a category to one of the department's periods."""
    category = reference.create_category(data["period_id"], _category_values(data), current_user)
    return _category_row(category.id)


@categories_blp.route("/<int:category_id>", methods=["PUT"])
@categories_blp.arguments(CategoryInputSchema)
@categories_blp.response(200, CategorySchema)
@roles("department")
def update_category(data, category_id: int):
    """Change a category. A raised limit funds the first in the waiting queue at once."""
    reference.update_category(category_id, _category_values(data), current_user)
    return _category_row(category_id)
