from datetime import date
from typing import Any

from flask import Blueprint, render_template, request
from sqlalchemy import select

from certapp import labels
from certapp.accounts.access import roles
from certapp.audit.services import query_events
from certapp.bookkeeping.models import Agreement, AgreementReport, Invoice, PaymentRegister
from certapp.certificates.models import Certificate, CertificateApplication
from certapp.common.pagination import paginate
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


#: a day the filter could not read (typed into the address: the page's field is a calendar)
WRONG_DAY = "Дата указана неверно: выберите день в календаре."


def _date_arg(name: str, errors: dict[str, str]) -> date | None:
    """The filter's day; a wrong one is told beside its field (errors) and not applied."""
    text = (request.args.get(name) or "").strip()
    if not text:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        errors[name] = WRONG_DAY
        return None


@bp.route("/")
@roles("department")
def index():
    filters: dict[str, Any] = {key: (request.args.get(key) or "").strip() or None
               for key in ("action", "object_type", "object_id", "actor")}
    errors: dict[str, str] = {}
    filters["date_from"], filters["date_to"] = _date_arg("date_from", errors), _date_arg("date_to", errors)
    page = paginate(query_events(**filters), request.args.get("page", 1, type=int), 50)
    return render_template("audit/index.html", page=page, filters=filters, errors=errors,
                           numbers=document_numbers(page.items)), 422 if errors else 200
