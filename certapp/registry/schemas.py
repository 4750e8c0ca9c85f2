from flask_login import current_user
from marshmallow import Schema, fields, validate

from certapp.common.schemas import BODY_ID, NO_SUCH_STATE, Choice, FilterSchema, SearchText
from certapp.registry.models import (
    ADMISSION_STATUSES,
    APPLICATION_STATUSES,
    ENTRY_STATUSES,
    OWNERSHIP_TYPES,
    PROVIDER_KINDS,
)
from certapp.registry.services import can_decide


class ApplicationInputSchema(Schema):
    kind = fields.String(required=True, validate=validate.OneOf(list(PROVIDER_KINDS)))
    full_name = fields.String(required=True)
    short_name = fields.String(required=True)
    inn = fields.String(required=True)
    ogrn = fields.String(required=True)
    kpp = fields.String(load_default=None, allow_none=True)
    legal_address = fields.String(required=True)
    actual_address = fields.String(required=True)
    head_name = fields.String(required=True)
    head_position = fields.String(required=True)
    phone = fields.String(required=True)
    email = fields.String(required=True)
    ownership = fields.String(required=True, validate=validate.OneOf(list(OWNERSHIP_TYPES)))
    bik = fields.String(required=True)
    settlement_account = fields.String(required=True)
    license_number = fields.String(load_default=None, allow_none=True)
    license_issued_on = fields.Date(load_default=None, allow_none=True)
    license_authority = fields.String(load_default=None, allow_none=True)
    license_additional_education = fields.Boolean(load_default=False)
    municipality_id = fields.Integer(load_default=None, allow_none=True, validate=BODY_ID, metadata={
        "description": "the municipality whose department reviews it, where the provider works first "
                       "(GET /reference/municipalities); the default one when left out"})


class LicenseSchema(Schema):
    number = fields.String()
    issued_on = fields.Date()
    authority = fields.String()
    additional_education = fields.Boolean()


class ApplicationSchema(Schema):
    id = fields.Integer()
    number = fields.String(allow_none=True)
    status = fields.String()
    status_name = fields.String()
    kind = fields.String()
    full_name = fields.String()
    short_name = fields.String()
    inn = fields.String()
    ogrn = fields.String()
    kpp = fields.String(allow_none=True)
    legal_address = fields.String()
    actual_address = fields.String()
    head_name = fields.String()
    head_position = fields.String()
    phone = fields.String()
    email = fields.String()
    ownership = fields.String()
    bik = fields.String()
    settlement_account = fields.String()
    license = fields.Nested(LicenseSchema, allow_none=True)
    flagged = fields.Boolean()
    flag_reason = fields.String(allow_none=True)
    decision_reason = fields.String(allow_none=True)
    submitted_at = fields.DateTime(allow_none=True)
    decided_at = fields.DateTime(allow_none=True)
    signature = fields.String(allow_none=True)
    municipality_id = fields.Integer()


class ApplicationQuerySchema(FilterSchema):
    status = Choice(APPLICATION_STATUSES, NO_SUCH_STATE)


class DecisionSchema(Schema):
    decision = fields.String(required=True, validate=validate.OneOf(["approved", "returned", "rejected"]))
    reason = fields.String(load_default=None, allow_none=True)


class EntryStatusSchema(Schema):
    status = fields.String(required=True, validate=validate.OneOf(list(ENTRY_STATUSES)))
    reason = fields.String(required=True)


class RegistryEntrySchema(Schema):
    id = fields.Integer()
    number = fields.String()
    entered_on = fields.Date()
    status = fields.String()
    status_name = fields.String()
    status_reason = fields.String(allow_none=True)
    provider_id = fields.Integer(attribute="provider.id")
    full_name = fields.String(attribute="provider.full_name")
    short_name = fields.String(attribute="provider.short_name")
    inn = fields.String(attribute="provider.inn")
    ogrn = fields.String(attribute="provider.ogrn")
    ownership = fields.String(attribute="provider.ownership")
    license = fields.Nested(LicenseSchema, attribute="provider.license")


class RegistryQuerySchema(FilterSchema):
    """The public registry's search, for its page, its CSV and the API alike (common.schemas.page_filters)."""

    q = SearchText("Поиск", metadata={"description": "words of the provider's name, its ИНН or the entry's number"})
    search = SearchText("Поиск", metadata={"description": "the API's former name of q, still read (q wins)"})


def registry_search(args: dict) -> str | None:
    """The words a RegistryQuerySchema's answer asks for: q, else the API's former `search`."""
    return args.get("q") or args.get("search")


class StaffRequestInputSchema(Schema):
    inn = fields.String(required=True, metadata={"description": "ИНН исполнителя из реестра"})


class StaffRequestSchema(Schema):
    id = fields.Integer()
    user_id = fields.Integer()
    user_name = fields.String(attribute="user.full_name")
    provider_id = fields.Integer()
    provider_name = fields.String(attribute="provider.short_name")
    status = fields.String()
    status_name = fields.String()
    created_at = fields.DateTime()
    decided_at = fields.DateTime(allow_none=True)
    can_decide = fields.Method("_can_decide", metadata={
        "description": "the caller may confirm or decline this request now (it waits, and the caller is the "
                       "organisation's staff or the department of a municipality where it is admitted)"})

    def _can_decide(self, request):
        if request.status != "requested":
            return False
        marked = getattr(request, "decidable_for", {})  # a list's page, read at once (services.mark_decidable)
        return marked[current_user.id] if current_user.id in marked else can_decide(request, current_user)


class StaffDecisionSchema(Schema):
    approve = fields.Boolean(required=True)


class AdmissionSchema(Schema):
    id = fields.Integer()
    provider_id = fields.Integer()
    provider_name = fields.String(attribute="provider.short_name")
    municipality_id = fields.Integer()
    municipality_name = fields.String(attribute="municipality.name")
    municipality_oktmo = fields.String(attribute="municipality.oktmo")
    status = fields.String()
    status_name = fields.String()
    reason = fields.String(allow_none=True)
    created_at = fields.DateTime()
    decided_at = fields.DateTime(allow_none=True)


class AdmissionQuerySchema(FilterSchema):
    status = Choice(ADMISSION_STATUSES, NO_SUCH_STATE)


class AdmissionRequestSchema(Schema):
    municipality_id = fields.Integer(required=True, validate=BODY_ID)


class AdmissionDecisionSchema(Schema):
    status = fields.String(required=True, validate=validate.OneOf(["active", "refused", "suspended", "ended"]),
                           metadata={"description": "active admits (or restores); the others need a reason"})
    reason = fields.String(load_default=None, allow_none=True)
