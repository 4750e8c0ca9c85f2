"""What audit records when other features announce a change (certapp.common.events)."""
from certapp.audit.services import record_event, record_refusal
from certapp.common import events


@events.state_changed.connect
def transition_recorded(document, event, from_status, to_status, actor=None, details=None, **_):
    """Every state transition of every document, in the transaction of the change."""
    record_event(event, document, from_state=from_status, to_state=to_status, actor=actor, details=details)


@events.request_refused.connect
def refusal_recorded(_subject, reason, **_):
    record_refusal(reason)
