"""The one way to write the audit log."""
from datetime import date, timedelta

from flask import has_request_context, request
from flask_login import current_user
from sqlalchemy import select

from certapp.audit import chain
from certapp.audit.models import AuditEvent
from certapp.common import clock
from certapp.common.jsonable import jsonable
from certapp.db import db, utcnow
from certapp.uow import unit_of_work


def record_event(action: str, obj, *, from_state: str | None = None, to_state: str | None = None,
                 details: dict | None = None, actor=None) -> AuditEvent:
    """Append an audit event for `obj` (a model instance, or a (type, id) pair).

    The actor defaults to the logged-in user of the request; the address to the request's.
    """
    if isinstance(obj, tuple):
        object_type, object_id = obj
    else:
        if obj.id is None:
            db.session.flush()  # a new object gets its id
        object_type, object_id = type(obj).__name__, obj.id
    if actor is None and has_request_context() and current_user and current_user.is_authenticated:
        actor = current_user
    event = AuditEvent(
        created_at=utcnow(),  # now, not when a later flush inserts it: the moment is part of its hash
        action=action,
        object_type=object_type,
        object_id=None if object_id is None else str(object_id),
        from_state=from_state,
        to_state=to_state,
        details=jsonable(details) if details else None,
        actor_id=getattr(actor, "id", None),
        actor_label=getattr(actor, "email", None) or "система",
        ip=request.remote_addr if has_request_context() else None,
        # whose event it is: the object's municipality, else the acting official's (else nobody's in
        # particular: seen by the region, not by a municipality's officials)
        municipality_id=getattr(obj, "municipality_id", None) or getattr(actor, "municipality_id", None),
    )
    # inserted by the next flush (at the latest the one that seals the chain before the commit), with the
    # request's other writes: no round trip of its own
    db.session.add(event)
    chain.track(db.session(), event)
    return event


def record_refusal(reason: str) -> None:
    """Audit a refused request (no right, a bad token) in a unit of its own: the request's own work,
    if any, is rolled back first (its unit, doomed by the refusal, commits nothing more)."""
    db.session.rollback()
    with unit_of_work():
        record_event("request.refused", ("Request", None), details={
            "reason": reason, "method": request.method, "path": request.path[:255],
            "endpoint": request.endpoint})


def query_events(*, action: str | None = None, object_type: str | None = None,
                 object_id: str | None = None, actor: str | None = None,
                 date_from: date | None = None, date_to: date | None = None):
    """A select() of events, newest first, narrowed by the given filters."""
    stmt = select(AuditEvent).order_by(AuditEvent.id.desc())
    if action:
        stmt = stmt.where(AuditEvent.action.startswith(action))
    if object_type:
        stmt = stmt.where(AuditEvent.object_type == object_type)
    if object_id:
        stmt = stmt.where(AuditEvent.object_id == str(object_id))
    if actor:
        stmt = stmt.where(AuditEvent.actor_label.contains(actor.lower()))
    if date_from:
        stmt = stmt.where(AuditEvent.created_at >= clock.day_start(date_from))
    if date_to:
        stmt = stmt.where(AuditEvent.created_at < clock.day_start(date_to + timedelta(days=1)))
    return stmt
