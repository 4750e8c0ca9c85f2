"""The one check of a document's state machine. Each document keeps its statuses and allowed
transitions as one mapping in its models.py; every transition writes an audit event."""
from certapp.audit.services import record_event
from certapp.common.errors import TransitionError
from certapp.common.events import announce


def transition(obj, to_status: str, transitions: dict[str, set[str]], actor, *, event: str, refusal: str,
               details: dict | None = None) -> str:
    """Move `obj` to `to_status` if `transitions` allows it from its current status; returns the old status.

    Raises TransitionError with `refusal`, in which {status} stands for the current status's name.
    The audit event, and the domain event announced to other features, is "<event>.<to_status>"."""
    if to_status not in transitions[obj.status]:
        raise TransitionError(refusal.format(status=obj.status_name))
    from_status, obj.status = obj.status, to_status
    record_event(f"{event}.{to_status}", obj, from_state=from_status, to_state=to_status, actor=actor,
                 details=details)
    announce(f"{event}.{to_status}", obj, actor=actor, from_status=from_status, details=details or {})
    return from_status
