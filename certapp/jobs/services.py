"""Enqueueing after the commit, and long work with a progress record (Job)."""
import logging

from sqlalchemy import event, update
from sqlalchemy.orm import Session

from certapp.accounts.models import User
from certapp.common.errors import NotFoundError
from certapp.db import db, transaction, utcnow
from certapp.jobs.models import Job

_AFTER_COMMIT = "certapp.jobs.after_commit"


def after_commit(task, *args, **kwargs) -> None:
    """Enqueue task(*args, **kwargs) once the current transaction commits (never for a rollback).
    The job must tolerate a row that a savepoint rolled back: it finds nothing to do."""
    db.session.info.setdefault(_AFTER_COMMIT, []).append((task, args, kwargs))


@event.listens_for(Session, "after_commit")
def _enqueue(session: Session) -> None:
    if session.in_nested_transaction():  # a savepoint's release is not the commit (SQLAlchemy fires both)
        return
    for task, args, kwargs in session.info.pop(_AFTER_COMMIT, ()):
        try:
            task(*args, **kwargs)
        except Exception:  # the change is committed: a queue that is down must not turn it into an error
            # letters are handed out again by the outbox sweep; a job's row stays «queued» and says so
            logging.getLogger("certapp.jobs").exception("could not enqueue %s", getattr(task, "name", task))


@event.listens_for(Session, "after_soft_rollback")
def _forget(session: Session, previous_transaction) -> None:
    # the whole transaction is gone (a savepoint's rollback keeps the list: its jobs find nothing)
    if previous_transaction.parent is None:
        session.info.pop(_AFTER_COMMIT, None)


def start(task, kind: str, title: str, actor: User | None, *args, **kwargs) -> Job:
    """Record a job and enqueue task(job_id, *args, **kwargs) after the commit."""
    record = Job(kind=kind, title=title, created_by_id=actor.id if actor else None,
                 municipality_id=getattr(actor, "municipality_id", None))
    db.session.add(record)
    db.session.flush()
    after_commit(task, record.id, *args, **kwargs)
    return record


def get_job(job_id: int, actor: User) -> Job:
    """A job its starter may see (and the department any)."""
    record = db.session.get(Job, job_id)
    if record is None or (record.created_by_id != actor.id and not actor.reads_as("department")):
        raise NotFoundError("Задание не найдено.")
    return record


def _set(job_id: int, **values) -> None:
    """Update the job's row in a short transaction of its own, so that pages see progress at once."""
    with transaction():
        db.session.execute(update(Job).where(Job.id == job_id).values(**values))


class Progress:
    """What a running job reports: ``with Progress(job_id, total) as p: … p.advance()``. Marks the job
    done (with a message and result link) or failed (with the error in Russian), and commits
    progress every `every` steps."""

    def __init__(self, job_id: int | None, total: int | None, every: int = 10, on_advance=None):
        self.job_id, self.total, self.every, self.done = job_id, total, every, 0
        self.message = self.result_url = None
        #: also told of each step (a terminal's progress bar)
        self.on_advance = on_advance

    def __enter__(self):
        if self.job_id:
            _set(self.job_id, state="running", started_at=utcnow(), total=self.total, done=0)
        return self

    def advance(self, steps: int = 1) -> None:
        self.done += steps
        if self.on_advance:
            self.on_advance(steps)
        if self.job_id and (self.done % self.every == 0 or self.done == self.total):
            _set(self.job_id, done=self.done)

    def finish(self, message: str, result_url: str | None = None) -> None:
        self.message, self.result_url = message, result_url

    def __exit__(self, exc_type, exc, tb):
        if not self.job_id:
            return False
        db.session.rollback()
        if exc is None:
            _set(self.job_id, state="done", done=self.done, finished_at=utcnow(), message=self.message,
                 result_url=self.result_url)
        else:
            from certapp.common.errors import DomainError

            text = exc.message if isinstance(exc, DomainError) else "Внутренняя ошибка; задание можно повторить."
            _set(self.job_id, state="failed", finished_at=utcnow(), error=text)
        return False
