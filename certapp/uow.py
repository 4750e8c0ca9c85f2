"""The unit of work: the one place that commits (as indico's request handler or pyramid_tm).

- A request: the view's work commits once, after the answer is made, when the view returned normally
  with a status below 400 and nothing doomed the unit; otherwise it rolls back (installed on every
  view by `CertApp.dispatch_request`). A commit that fails raises, so the answer is an error.
- A handler that catches a DomainError to show the refusal (a form again, a flash) calls
  `refuse(error)`: the work is rolled back at once and the unit is doomed, so a 200 or a 303 changes
  nothing.
- A command, a job, a job's step: ``with unit_of_work(): …``.
- A unit opened inside another would commit the outer one's work: handlers never open one (a test
  greps views and APIs); the only nested one is a refused request's audit record, after a rollback.

Side effects wait for the commit: letters and jobs are enqueued by `certapp.jobs.services.after_commit`
(the session's after_commit event), the audit chain is sealed just before it (certapp.audit.chain).
"""
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

from flask import Flask
from flask.typing import ResponseReturnValue
from sqlalchemy.orm import Session

from certapp.db import db

if TYPE_CHECKING:  # a type only: common imports uow (common.web's refusals), never the other way
    from certapp.common.errors import DomainError

#: the units open on a session, innermost last (session.info)
_UNITS = "certapp.uow.units"


class Unit:
    """One unit's state: `doomed` — it rolls back whatever happens next; `kept` — a request's unit
    commits although its answer is an error (the answer tells a refusal that is itself recorded)."""

    def __init__(self) -> None:
        self.doomed = False
        self.kept = False


@contextmanager
def unit_of_work() -> Iterator[Unit]:
    """Commit on a normal end unless doomed; roll back on an exception (and re-raise it).

    A unit opened inside another (the refused request's audit record, see
    certapp.audit.services.record_refusal) commits what the session holds at its end: its caller
    rolls the outer work back first."""
    session = db.session()
    unit = Unit()
    units = session.info.setdefault(_UNITS, [])
    units.append(unit)
    try:
        yield unit
    except BaseException:
        session.rollback()
        raise
    else:
        if unit.doomed:
            session.rollback()
        else:
            try:
                session.commit()
            except BaseException:
                session.rollback()
                raise
    finally:
        units.remove(unit)


#: unit_of_work() under its former name, for scripts and tests written before it (a handler never opens
#: one: its request is already a unit)
transaction = unit_of_work


@contextmanager
def separate_unit() -> Iterator[Session]:
    """A unit on a connection of its own, beside the session's open transaction (a job's progress
    shown while its step still works, see certapp.jobs.services._set): commits on a normal end."""
    with Session(db.engine) as session, session.begin():
        yield session


def doom() -> None:
    """Roll the current unit's work back now; the unit commits nothing more (a refusal shown)."""
    unit = _current()
    if unit is not None:
        unit.doomed = True
    db.session.rollback()


def _current() -> Unit | None:
    units = db.session().info.get(_UNITS)
    return units[-1] if units else None


def keep() -> None:
    """The request's answer is an error (a failed login, a refusal the service recorded and returned,
    see certapp.common.errors.KeptRefusal) whose record must stay: the unit commits all the same."""
    unit = _current()
    if unit is not None:
        unit.kept = True


def refuse(error: "DomainError") -> "DomainError":
    """A DomainError a handler shows (beside a field, flashed) instead of raising: nothing of the
    request is kept. Returns the error."""
    doom()
    return error


class CertApp(Flask):
    """Flask with one unit of work per request, around the view (the hooks before it only read,
    or record a refusal in a unit of their own)."""

    def dispatch_request(self) -> ResponseReturnValue:
        with unit_of_work() as unit:
            response = self.make_response(super().dispatch_request())
            if response.status_code >= 400 and not unit.kept:
                unit.doomed = True
        return response
