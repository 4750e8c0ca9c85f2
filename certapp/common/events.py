"""Domain events: a feature announces what happened; other features react without the announcer
importing them (imports keep pointing down: the registry announces «registry_entry.created»,
bookkeeping, which builds on the registry, reacts by preparing the agreement).

Reactions run at once, inside the announcer's transaction: what they change commits or rolls back
with the change they react to (a refused row of a bulk action, rolled back to its savepoint, takes
its reactions with it). Work that must leave the process — a letter — is written by a reaction as
an outbox row and sent by the job queue after the commit (certapp.mail).

Every state transition announces "<document>.<new status>" (certapp.common.states.transition);
other facts are announced by name where they happen («certificate.issued», «contract.month_reported»).
Reactions register with @subscribe in their feature's `reactions.py`, imported by create_app.
"""
from collections import defaultdict
from collections.abc import Callable
from typing import Any

#: a reaction: called with (subject, **data)
Subscriber = Callable[..., Any]
_subscribers: dict[str, list[Subscriber]] = defaultdict(list)


def subscribe(*names: str) -> Callable[[Subscriber], Subscriber]:
    """@subscribe("registry_entry.created"): call the function with (subject, **data) on each."""
    def decorate(fn: Subscriber) -> Subscriber:
        for name in names:
            if fn not in _subscribers[name]:
                _subscribers[name].append(fn)
        return fn
    return decorate


def announce(name: str, subject, **data) -> None:
    """Tell the subscribers of `name` that it happened to `subject` (a model instance)."""
    for fn in list(_subscribers.get(name, ())):
        fn(subject, **data)
