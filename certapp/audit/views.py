from typing import Any

from flask import Blueprint, render_template, request
from sqlalchemy import select

from certapp import labels
from certapp.accounts.access import roles
from certapp.audit.schemas import AuditQuerySchema
from certapp.audit.services import query_events
from certapp.bookkeeping.models import Agreement, AgreementReport, Invoice, PaymentRegister
from certapp.certificates.models import Certificate, CertificateApplication
from certapp.common.pagination import page_number, paginate
from certapp.common.schemas import page_filters
from certapp.contracts.models import Contract
from certapp.db import db
from certapp.registry.models import RegistryApplication

bp = Blueprint("audit", __name__, url_prefix="/audit")
# the journal's words for people (also on a parent's own data page): certapp/labels.py
bp.add_app_template_filter(labels.action_name, "action_name")
bp.add_app_template_filter(labels.details_text, "details_text")
bp.add_app_template_global(labels.object_name, "object_name")
bp.add_app_template_global(labels.state_name, "state_name")


#: the audited documents people know by a number (their `number` column), by the log's object type
NUMBERED: dict[str, Any] = {model.__name__: model for model in (
    Agreement, AgreementReport, Invoice, PaymentRegister, Certificate, CertificateApplication, Contract,
    RegistryApplication)}


def document_numbers(events: list) -> dict[tuple[str, str], str]:
    """The numbers of the documents a page of events names (as its object or in its details), one query
    per type: {(type, id): number}."""
    wanted: dict[str, set[int]] = {}
    for event in events:
        for object_type, object_id in [(event.object_type, event.object_id)] + [
                (labels.DETAIL_DOCUMENTS[key], value) for key, value in (event.details or {}).items()
                if isinstance(event.details, dict) and key in labels.DETAIL_DOCUMENTS]:
            if object_type in NUMBERED and str(object_id or "").isdigit() and len(str(object_id)) <= 18:
                wanted.setdefault(object_type, set()).add(int(object_id))
    numbers = {}
    for object_type, ids in wanted.items():
        model = NUMBERED[object_type]
        for row_id, number in db.session.execute(select(model.id, model.number).where(model.id.in_(ids))):
            if number:
                numbers[(object_type, str(row_id))] = number
    return numbers


@bp.route("/")
@roles("department")
def index():
    filters, errors = page_filters(AuditQuerySchema(), request.args)  # the API's own filters (api.list_events)
    page = paginate(query_events(**filters), page_number(request.args), 50)
    return render_template("audit/index.html", page=page, filters=filters, errors=errors,
                           numbers=document_numbers(page.items)), 422 if errors else 200
