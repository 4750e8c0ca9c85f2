"""Personal data (152-ФЗ): what the system holds about a person, and anonymisation of a child's
record after the retention period.

Anonymisation removes what identifies the child (names, СНИЛС, birth certificate, address; the
birth date is kept only as 1 January of its year, for age statistics) and keeps every money
record: certificates, contracts, ledger entries and registers stay, and so do the signed
documents' pseudonymous child tag (an HMAC that cannot be reversed without the СНИЛС), so that
their signatures still verify.
"""
import hashlib
import secrets
from datetime import date
from typing import Any

from flask import current_app
from sqlalchemy import and_, exists, func, or_, select

from certapp.accounts.models import User
from certapp.audit.models import AuditEvent
from certapp.audit.services import record_event
from certapp.certificates.health import statuses_of
from certapp.certificates.models import HEALTH_STATUSES, Certificate, CertificateApplication, Child, ChildCorrection
from certapp.common import clock
from certapp.common.errors import ConflictError, NotFoundError
from certapp.common.months import add_years
from certapp.common.roles import require_role
from certapp.common.templating import format_date
from certapp.contracts.models import Contract
from certapp.db import db, utcnow

#: contracts in these states still need the child's data
OPEN_CONTRACT = ("offered", "active")
#: how many of a person's own audit events the report lists (newest first)
REPORT_EVENTS = 100
ANONYMISED = "Обезличено"


def retention_years() -> int:
    return current_app.config["PD_RETENTION_YEARS"]


def _last_used_before(day: date):
    """Per child: its last use — the end of its last certificate, or the local day it was added when it has
    none — is before `day`. The day added is the officials' (clock.day_start), not the UTC date of the
    stored moment, which is a day early between 00:00 and 07:00 in Krasnoyarsk."""
    last_cert = (select(func.max(Certificate.valid_to)).where(Certificate.child_id == Child.id)
                 .correlate(Child).scalar_subquery())
    return or_(last_cert < day, and_(last_cert.is_(None), Child.created_at < clock.day_start(day)))


def retention_ends_on(child: Child) -> date:
    """The last day the child's data is kept: retention_years() after its last use (see _last_used_before)."""
    last = db.session.execute(select(func.max(Certificate.valid_to)).where(Certificate.child_id == child.id)).scalar()
    return add_years(last or clock.day_of(child.created_at), retention_years())


def due_for_anonymisation(today: date | None = None):
    """A select() of the children whose retention period is over and who have no open contract."""
    today = today or clock.today()
    cutoff = add_years(today, -retention_years())
    open_contract = exists().where(and_(Contract.child_id == Child.id, Contract.status.in_(OPEN_CONTRACT)))
    return (select(Child).where(Child.anonymised_at.is_(None), _last_used_before(cutoff), ~open_contract)
            .order_by(Child.id))


def anonymise_child(child_id: int, actor: User, today: date | None = None) -> Child:
    """Remove what identifies the child; money records stay. Raises PermissionDeniedError,
    NotFoundError, ConflictError (already anonymised, retention not over, an open contract)."""
    require_role(actor, "department")
    child = db.session.get(Child, child_id)
    if child is None:
        raise NotFoundError("Ребёнок не найден.")
    if child.anonymised_at is not None:
        raise ConflictError("Данные этого ребёнка уже обезличены.", code="already_anonymised")
    today = today or clock.today()
    ends = retention_ends_on(child)
    if today <= ends:
        raise ConflictError(f"Срок хранения данных ещё не истёк: до {format_date(ends)} включительно "
                            f"({retention_years()} г. после окончания последнего сертификата).",
                            code="retention_not_over")
    if db.session.execute(select(Contract.id).where(Contract.child_id == child.id,
                                                    Contract.status.in_(OPEN_CONTRACT)).limit(1)).first():
        raise ConflictError("У ребёнка есть действующий или предложенный договор.", code="open_contract")
    child.last_name, child.first_name, child.patronymic = ANONYMISED, f"№ {child.id}", None
    child.birth_date = child.birth_date.replace(month=1, day=1)
    child.snils_encrypted, child.snils_last2 = "", "**"
    child.health_encrypted, child.health_consent_at = None, None  # health data (152-ФЗ art. 10) goes too
    # a fresh, meaningless lookup key: the same СНИЛС added again later is a new record
    child.snils_key = hashlib.sha256(b"anonymised:" + secrets.token_bytes(16)).hexdigest()
    child.birth_certificate, child.address = "—", "—"
    child.anonymised_at = utcnow()
    # the corrections asked for it hold the same kind of data
    for correction in db.session.execute(select(ChildCorrection).where(ChildCorrection.child_id == child.id)
                                         .execution_options(all_municipalities=True)).scalars():
        correction.last_name, correction.first_name, correction.patronymic = ANONYMISED, f"№ {child.id}", None
        correction.birth_date = child.birth_date
        correction.snils_encrypted = correction.snils_key = correction.snils_last2 = None
        correction.birth_certificate, correction.address, correction.note = "—", "—", None
    record_event("child.anonymise", child, actor=actor, to_state="anonymised",
                 details={"retention_ended_on": ends})
    return child


def personal_data_report(user: User) -> dict:
    """Everything the system holds about the user and, for a parent, their children, as plain data."""
    report: dict[str, Any] = {
        "account": {"email": user.email, "full_name": user.full_name, "phone": user.phone, "role": user.role_name,
                    "created_at": user.created_at, "last_login_at": user.last_login_at,
                    "api_tokens": [{"name": t.name, "created_at": t.created_at, "revoked_at": t.revoked_at}
                                   for t in user.tokens]},
        "children": [],
        "events": [{"at": e.created_at, "action": e.action, "object": f"{e.object_type} {e.object_id or ''}".strip(),
                    "ip": e.ip}
                   for e in db.session.execute(select(AuditEvent).where(AuditEvent.actor_id == user.id)
                                               .order_by(AuditEvent.id.desc()).limit(REPORT_EVENTS)).scalars()],
    }
    for child in db.session.execute(select(Child).where(Child.parent_id == user.id).order_by(Child.id)).scalars():
        applications = db.session.execute(select(CertificateApplication).where(
            CertificateApplication.child_id == child.id).order_by(CertificateApplication.id)).scalars()
        certificates = db.session.execute(select(Certificate).where(Certificate.child_id == child.id)
                                          .order_by(Certificate.id)).scalars().all()
        contracts = db.session.execute(select(Contract).where(Contract.child_id == child.id)
                                       .order_by(Contract.id)).scalars()
        report["children"].append({
            "full_name": child.full_name, "birth_date": child.birth_date,
            "snils": child.snils_masked + " (хранится в зашифрованном виде)",
            "birth_certificate": child.birth_certificate, "address": child.address,
            "lives_in_district": child.lives_in_district, "added_at": child.created_at,
            "anonymised_at": child.anonymised_at,
            # the parent's own statement, with its own consent (shown to the parent only)
            "health": {"statuses": [HEALTH_STATUSES[s] for s in statuses_of(child)],
                       "consent_at": child.health_consent_at},
            "applications": [{"number": a.number, "status": a.status, "created_at": a.created_at,
                              "decision_reason": a.decision_reason} for a in applications],
            "certificates": [{"number": c.number, "status": c.status, "nominal_kopecks": c.nominal,
                              "valid_from": c.valid_from, "valid_to": c.valid_to} for c in certificates],
            "contracts": [{"number": c.number, "status": c.status, "start_month": c.start_month,
                           "end_month": c.end_month, "total_kopecks": c.total,
                           "certificate_part_kopecks": c.certificate_part, "parent_part_kopecks": c.parent_part}
                          for c in contracts],
        })
    return report
