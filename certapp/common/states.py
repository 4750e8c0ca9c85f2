"""The one check of a document's state machine. Each document keeps its statuses and allowed
transitions as one mapping in its models.py; every transition is announced (certapp.common.events:
`state_changed`, which audit records, then the document's own event when one is declared)."""
from certapp.common import events
from certapp.common.errors import TransitionError


def transition(obj, to_status: str, transitions: dict[str, set[str]], actor, *, event: str, refusal: str,
               details: dict | None = None) -> str:
    """Move `obj` to `to_status` if `transitions` allows it from its current status; returns the old status.

    Raises TransitionError with `refusal`, in which {status} stands for the current status's name.
    The audit event, and the domain event announced to other features, is "<event>.<to_status>"."""
    if to_status not in transitions[obj.status]:
        raise TransitionError(refusal.format(status=obj.status_name))
    from_status, obj.status = obj.status, to_status
    name = f"{event}.{to_status}"
    events.state_changed.send(obj, event=name, from_status=from_status, to_status=to_status, actor=actor,
                              details=details)
    if (declared := events.declared(name)) is not None:
        declared.send(obj, actor=actor, from_status=from_status, details=details or {})
    return from_status
