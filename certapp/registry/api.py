from flask_login import current_user
from flask_smorest import Blueprint

from certapp.accounts.access import public, roles
from certapp.common.errors import KeptRefusal
from certapp.common.pagination import LIST_PAGE, Rows, SelectPage
from certapp.common.printing import PDF_RESPONSES, pdf_response
from certapp.errors import kept_refusal_answer
from certapp.pagecache.pages import cached_public
from certapp.registry import services
from certapp.registry.printing import registry_application_document
from certapp.registry.schemas import (
    AdmissionDecisionSchema,
    AdmissionQuerySchema,
    AdmissionRequestSchema,
    AdmissionSchema,
    ApplicationInputSchema,
    ApplicationQuerySchema,
    ApplicationSchema,
    DecisionSchema,
    EntryStatusSchema,
    RegistryEntrySchema,
    RegistryQuerySchema,
    StaffDecisionSchema,
    StaffRequestInputSchema,
    StaffRequestSchema,
    registry_search,
)

blp = Blueprint("registry_api", __name__, url_prefix="/registry", description="Реестр исполнителей услуг")


@blp.route("/entries", methods=["GET"])
@cached_public("registry")
@blp.arguments(RegistryQuerySchema, location="query")
@blp.response(200, RegistryEntrySchema(many=True))
@blp.paginate(SelectPage, **LIST_PAGE)
@blp.doc(security=[])  # anyone: no token needed
@public
def entries(args):
    """The public registry of executors, a page at a time (X-Pagination)."""
    return services.registry_entries(registry_search(args))


@blp.route("/applications", methods=["GET"])
@blp.arguments(ApplicationQuerySchema, location="query")
@blp.response(200, ApplicationSchema(many=True))
@blp.paginate(SelectPage, **LIST_PAGE)
@roles("provider", "department")
def list_applications(args):
    """A provider's own applications; for the department, the review queue (flagged first, oldest
    first), a page at a time (X-Pagination)."""
    return services.applications_visible_to(current_user, args.get("status"))


@blp.route("/applications", methods=["POST"])
@blp.arguments(ApplicationInputSchema)
@blp.response(201, ApplicationSchema)
@roles("provider")
def create_application(data):
    """Save a draft application."""
    return services.save_application(current_user, data)


@blp.route("/applications/<int:application_id>", methods=["GET"])
@blp.response(200, ApplicationSchema)
@roles("provider", "department")
def get_application(application_id: int):
    return services.get_application(application_id, current_user)


@blp.route("/applications/<int:application_id>/pdf", methods=["GET"])
@blp.doc(responses=PDF_RESPONSES)
@roles("provider", "department")
def application_pdf(application_id: int):
    """The registry application as a PDF (its applicant or the department; another's is 404)."""
    return pdf_response(registry_application_document(services.get_application(application_id, current_user)))


@blp.route("/applications/<int:application_id>", methods=["PUT"])
@blp.arguments(ApplicationInputSchema)
@blp.response(200, ApplicationSchema)
@roles("provider")
def update_application(data, application_id: int):
    return services.save_application(current_user, data, application_id)


@blp.route("/applications/<int:application_id>/submit", methods=["POST"])
@blp.response(200, ApplicationSchema)
@roles("provider")
def submit_application(application_id: int):
    """Submit for review; an art school is refused under п. 4 of 458-п (422 excluded_provider), and
    the application stays rejected."""
    result = services.submit_application_keeping_refusal(application_id, current_user)
    return kept_refusal_answer(result) if isinstance(result, KeptRefusal) else result


@blp.route("/applications/<int:application_id>/decision", methods=["POST"])
@blp.arguments(DecisionSchema)
@blp.response(200, ApplicationSchema)
@roles("department")
def decide_application(data, application_id: int):
    return services.decide_application(application_id, data["decision"], current_user, data["reason"])


@blp.route("/entries/<int:entry_id>/status", methods=["POST"])
@blp.arguments(EntryStatusSchema)
@blp.response(200, RegistryEntrySchema)
@roles("department")
def change_entry_status(data, entry_id: int):
    """Suspend, restore or exclude a registry entry, with a reason."""
    return services.change_entry_status(entry_id, data["status"], current_user, data["reason"])


@blp.route("/staff-requests", methods=["GET"])
@blp.response(200, StaffRequestSchema(many=True))
@blp.paginate(SelectPage, **LIST_PAGE)
@roles("provider", "department")
def list_staff_requests():
    """Requests to act for an organisation: own, to one's organisation, or (department) all; a page at a
    time (X-Pagination)."""
    return Rows(services.staff_requests_for(current_user), lambda rows: services.mark_decidable(rows, current_user))


@blp.route("/staff-requests", methods=["POST"])
@blp.arguments(StaffRequestInputSchema)
@blp.response(201, StaffRequestSchema)
@roles("provider")
def request_staff_access(data):
    """Ask to act for an organisation in the registry (by its ИНН)."""
    return services.request_staff_access(current_user, data["inn"])


@blp.route("/staff-requests/<int:request_id>/decision", methods=["POST"])
@blp.arguments(StaffDecisionSchema)
@blp.response(200, StaffRequestSchema)
@roles("provider", "department")
def decide_staff_request(data, request_id: int):
    """The organisation's staff or the department confirm or decline."""
    return services.decide_staff_request(request_id, current_user, data["approve"])


@blp.route("/admissions", methods=["GET"])
@blp.arguments(AdmissionQuerySchema, location="query")
@blp.response(200, AdmissionSchema(many=True))
@blp.paginate(SelectPage, **LIST_PAGE)
@roles("provider", "department")
def list_admissions(args):
    """A provider's admissions in every municipality; the department's: those in its municipality,
    a page at a time (X-Pagination)."""
    return services.admissions_visible_to(current_user, args.get("status"))


@blp.route("/admissions", methods=["POST"])
@blp.arguments(AdmissionRequestSchema)
@blp.response(201, AdmissionSchema)
@roles("provider")
def request_admission(data):
    """Ask to work in one more municipality; its department decides."""
    return services.request_admission(current_user, data["municipality_id"])


@blp.route("/admissions/<int:admission_id>/decision", methods=["POST"])
@blp.arguments(AdmissionDecisionSchema)
@blp.response(200, AdmissionSchema)
@roles("department")
def decide_admission(data, admission_id: int):
    """Admit, refuse, suspend, restore or end a provider's admission in the department's municipality."""
    return services.decide_admission(admission_id, data["status"], current_user, data.get("reason"))
