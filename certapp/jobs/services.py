"""Enqueueing after the commit, and long work with a progress record (Job)."""
import logging
import os
import time
from contextlib import contextmanager
from pathlib import Path

from flask import current_app
from sqlalchemy import event, update
from sqlalchemy.orm import Session

from certapp.accounts.models import User
from certapp.common.errors import NotFoundError
from certapp.common.exports import XLSX_MIME
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
        # region-wide on purpose: the job writes its own row, chosen by id, whatever scope its work runs
        # in (a job started by a command or the regional operator belongs to no municipality)
        db.session.execute(update(Job).where(Job.id == job_id).values(**values)
                           .execution_options(all_municipalities=True))


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

    def set_total(self, total: int) -> None:
        """The number of steps, once the work has counted them."""
        self.total = total
        if self.job_id:
            _set(self.job_id, total=total)

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


# --- files that jobs write for people to download -------------------------------------------------

#: format -> MIME type of the files a job may write
FILE_TYPES = {"csv": "text/csv; charset=utf-8", "xlsx": XLSX_MIME}
#: days a written file is kept (the nightly clean-up removes older ones)
FILE_DAYS = 7


def _files_dir() -> Path:
    path = Path(current_app.config["EXPORTS_DIR"])
    path.mkdir(parents=True, exist_ok=True, mode=0o700)
    return path


@contextmanager
def job_file(job_id: int, fmt: str):
    """Write a job's file: yields an open file (text for CSV, binary for XLSX) that becomes the job's
    result only when the block ends without an error (written under a temporary name, then renamed)."""
    if fmt not in FILE_TYPES:
        raise ValueError(fmt)
    final = _file_path(db.session.get(Job, job_id), fmt)
    partial = final.with_suffix(f".{fmt}.part")
    with open(partial, "w" if fmt == "csv" else "wb", **({"encoding": "utf-8", "newline": ""} if fmt == "csv" else {})
              ) as out:
        yield out
    os.replace(partial, final)


def _file_path(record: Job, fmt: str) -> Path:
    # the creation time too: a job id used again (a database restored from a backup) is another file
    return _files_dir() / f"job-{record.id}-{record.created_at:%Y%m%d%H%M%S%f}.{fmt}"


def written_file(job_id: int, actor: User) -> tuple[Path, str, str]:
    """(path, download name, MIME type) of the file a finished job wrote, for its starter (and the
    department). Raises NotFoundError (no such job, not finished, no file or removed as old)."""
    record = get_job(job_id, actor)
    for fmt, mimetype in FILE_TYPES.items():
        path = _file_path(record, fmt)
        if record.state == "done" and path.exists():
            return path, f"{record.kind.replace('.', '-')}-{record.id}.{fmt}", mimetype
    raise NotFoundError("Файла нет: задание не завершено, не записывало файл или файл удалён "
                        f"(файлы хранятся {FILE_DAYS} дней).")


def remove_old_files(now: float | None = None) -> int:
    """Remove the files written more than FILE_DAYS days ago (and partial ones of failed jobs)."""
    limit = (now or time.time()) - FILE_DAYS * 86400
    removed = 0
    for path in _files_dir().glob("job-*"):
        if path.stat().st_mtime < limit:
            path.unlink(missing_ok=True)
            removed += 1
    return removed
