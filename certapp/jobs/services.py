"""Enqueueing after the commit, long work with a progress record (Job), and jobs whose worker died."""
import logging
import os
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

from flask import current_app
from sqlalchemy import and_, event, or_, select, update
from sqlalchemy.orm import Session

from certapp.audit.services import record_event
from certapp.common import events
from certapp.common.errors import DomainError, NotFoundError
from certapp.common.exports import XLSX_MIME
from certapp.common.rows import get_existing
from certapp.db import db, rowcount, utcnow
from certapp.jobs import RESUMABLE, TASKS, JobTaken, huey
from certapp.jobs.models import Job
from certapp.uow import separate_unit, unit_of_work

if TYPE_CHECKING:  # names only: accounts builds on the queue (its letters go through mail's jobs)
    from certapp.accounts.models import User

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


def start(task, kind: str, title: str, actor: "User | None", *args, **kwargs) -> Job:
    """Record a job and enqueue task(job_id, *args, **kwargs) after the commit. The task and its
    arguments (JSON values) are kept on the row, so that the job can be handed out again."""
    record = Job(kind=kind, title=title, created_by_id=actor.id if actor else None,
                 municipality_id=getattr(actor, "municipality_id", None), heartbeat_at=utcnow(),
                 task=task.name, arguments={"args": list(args), "kwargs": kwargs})
    db.session.add(record)
    db.session.flush()
    after_commit(task, record.id, *args, **kwargs)
    return record


def _hand_out(record: Job) -> None:
    """Enqueue the job's task again, after the commit (its run claims the row, see Progress)."""
    arguments = record.arguments or {}
    after_commit(TASKS[record.task], record.id, *arguments.get("args", ()), **arguments.get("kwargs", {}))


def get_job(job_id: int, actor: "User") -> Job:
    """A job its starter may see (and the department any)."""
    record = db.session.get(Job, job_id)
    if record is None or (record.created_by_id != actor.id and not actor.reads_as("department")):
        raise NotFoundError("Задание не найдено.")
    return record


def _set(job_id: int, attempt: int | None = None, **values) -> None:
    """Update the job's row in a short transaction of its own, so that pages see progress at once
    (only while the row is still the given run's: a run handed out again after a dead worker owns it).

    Between steps, the job's session holds no transaction: the update is a unit of its own there.
    Within a step (a reconciliation reporting progress while it reads), the step's work must not be
    committed by a progress bar: PostgreSQL writes the row on a connection of its own (the step holds
    no lock on the job's row: Progress.save writes it only as a step's last statement); SQLite cannot
    (the step already holds the database's write lock), so the update joins the step and is seen
    when the step commits."""
    stmt = update(Job).where(Job.id == job_id)
    if attempt is not None:
        stmt = stmt.where(Job.attempt == attempt)
    # region-wide on purpose: the job writes its own row, chosen by id, whatever scope its work runs
    # in (a job started by a command or the regional operator belongs to no municipality)
    stmt = stmt.values(**values).execution_options(all_municipalities=True)
    if not db.session().in_transaction():
        with unit_of_work():
            db.session.execute(stmt)
    elif db.engine.dialect.name == "postgresql":
        with separate_unit() as session:
            session.execute(stmt)
    else:
        db.session.execute(stmt)


#: the jobs this process runs now: id -> run (Job.attempt); the heartbeat marks them alive
_RUNNING: dict[int, int] = {}
_RUNNING_LOCK = threading.Lock()


def _claim(job_id: int, total: int | None) -> tuple[int, dict | None, int]:
    """Take a queued job's row for this run (queued -> running, one statement: of two runs of one job,
    only one gets it). Returns the run's (attempt, checkpoint, done). Raises JobTaken when the row is
    not queued (another run has it, or it ended)."""
    now = utcnow()
    with unit_of_work():
        record = db.session.get(Job, job_id)
        claimed = record is not None and rowcount(db.session.execute(
            update(Job).where(Job.id == job_id, Job.state == "queued", Job.attempt == record.attempt)
            .values(state="running", started_at=record.started_at or now, heartbeat_at=now, total=total)
            .execution_options(all_municipalities=True)  # the job's own row, by id (see _set)
        )) == 1
        # what the run needs from the row, read before the commit expires it
        claim = (record.attempt, record.checkpoint, record.done) if claimed and record is not None else None
    if claim is None:
        logging.getLogger("certapp.jobs").info("job %s is not queued: this run leaves it", job_id)
        raise JobTaken(job_id)
    return claim


class Progress:
    """What a running job reports: ``with Progress(job_id, total) as p: … p.advance()``. Marks the job
    done (with a message and result link) or failed (with the error in Russian), and commits
    progress every `every` steps. A job handed out again after its worker died goes on from what
    its last run saved (`done`, `saved`: see save())."""

    def __init__(self, job_id: int | None, total: int | None, every: int = 10,
                 on_advance: Callable[[int], object] | None = None):
        self.job_id, self.total, self.every, self.done = job_id, total, every, 0
        self.message: str | None = None
        self.result_url: str | None = None
        #: also told of each step (a terminal's progress bar)
        self.on_advance = on_advance
        #: the run that owns the row (Job.attempt), and what the previous runs saved (Job.checkpoint)
        self.attempt: int = 0
        self.saved: dict[str, Any] | None = None

    def __enter__(self) -> "Progress":
        if self.job_id:
            self.attempt, self.saved, done = _claim(self.job_id, self.total)
            self.done = done if self.saved is not None else 0
            with _RUNNING_LOCK:
                _RUNNING[self.job_id] = self.attempt
        return self

    def set_total(self, total: int) -> None:
        """The number of steps, once the work has counted them."""
        self.total = total
        if self.job_id:
            _set(self.job_id, self.attempt, total=total)

    def restart(self, total: int) -> None:
        """A new stage of the job (an upload's check, then its load): its steps counted from none of `total`."""
        self.done, self.total = 0, total
        if self.job_id:
            _set(self.job_id, self.attempt, done=0, total=total, heartbeat_at=utcnow())

    def advance(self, steps: int = 1) -> None:
        self.done += steps
        if self.on_advance:
            self.on_advance(steps)
        if self.job_id and (self.done % self.every == 0 or self.done == self.total):
            _set(self.job_id, self.attempt, done=self.done, heartbeat_at=utcnow())

    def save(self, checkpoint: dict, steps: int = 1) -> None:
        """Steps done, with what a run handed out again needs to go on from here, written in the
        caller's transaction: the step's work and the checkpoint commit together or not at all.
        Raises JobTaken (rolling the step back) when the row has passed to another run."""
        self.done += steps
        self.saved = checkpoint
        if self.on_advance:
            self.on_advance(steps)
        if self.job_id and rowcount(db.session.execute(
                update(Job).where(Job.id == self.job_id, Job.attempt == self.attempt)
                .values(done=self.done, checkpoint=dict(checkpoint), heartbeat_at=utcnow())
                .execution_options(all_municipalities=True))) != 1:  # the job's own row, by id
            raise JobTaken(self.job_id)

    def finish(self, message: str, result_url: str | None = None) -> None:
        self.message, self.result_url = message, result_url

    def __exit__(self, exc_type, exc, tb):
        if not self.job_id:
            return False
        with _RUNNING_LOCK:
            _RUNNING.pop(self.job_id, None)
        db.session.rollback()
        if isinstance(exc, JobTaken):
            return False
        if exc is None:
            _set(self.job_id, self.attempt, state="done", done=self.done, finished_at=utcnow(),
                 message=self.message, result_url=self.result_url, error=None)
        else:
            text = exc.message if isinstance(exc, DomainError) else "Внутренняя ошибка; задание можно повторить."
            _set(self.job_id, self.attempt, state="failed", finished_at=utcnow(), error=text)
        return False


# --- jobs whose worker died -----------------------------------------------------------------------

def start_heartbeat(app, interval: float | None = None, stop: threading.Event | None = None) -> threading.Thread:
    """In a worker process: every `interval` seconds (JOB_HEARTBEAT_SECONDS) mark the jobs it runs as
    alive, so that a long step (one big register) is not taken for a dead worker. Beats until `stop` is set
    (the worker: until the process ends)."""
    interval = interval or app.config["JOB_HEARTBEAT_SECONDS"]
    stop = stop or threading.Event()

    def beat():
        while not stop.wait(interval):
            with _RUNNING_LOCK:
                running = dict(_RUNNING)
            if not running:
                continue
            with app.app_context():
                try:
                    with unit_of_work():
                        db.session.execute(update(Job).where(Job.state == "running", or_(*(
                            and_(Job.id == job_id, Job.attempt == attempt) for job_id, attempt in running.items())))
                            .values(heartbeat_at=utcnow()).execution_options(all_municipalities=True))
                except Exception:  # a database that is away for a moment: the next beat tries again
                    logging.getLogger("certapp.jobs").exception("job heartbeat failed")
                finally:
                    db.session.remove()

    thread = threading.Thread(target=beat, name="certapp-job-heartbeat", daemon=True)
    thread.start()
    return thread


def _waiting_in_queue() -> set[int] | None:
    """The ids of the jobs whose message waits in the queue (or is scheduled); None when the queue
    cannot be read (then no queued job is taken for lost)."""
    try:
        tasks = huey.pending() + huey.scheduled()
    except Exception:  # a queue that is down, or a message of a task this process does not know
        logging.getLogger("certapp.jobs").exception("could not read the job queue")
        return None
    return {task.args[0] for task in tasks if task.args and isinstance(task.args[0], int)}


def recover_stale_jobs(now=None) -> dict[str, int]:
    """Jobs whose worker died, found by their heartbeat older than JOB_STALE_SECONDS:

    - a running job of a resumable task (``@job(resumable=True)``) is queued again and goes on from its
      checkpoint; a queued one whose message was lost (taken by a worker that died before starting it,
      or never enqueued) is handed out again — each at most JOB_MAX_ATTEMPTS runs in all;
    - any other is marked failed with a Russian message, and its owner is notified.

    Each change is one conditional UPDATE (two workers' recoveries do it once) and is audited.
    Returns how many were {"resumed", "handed_out", "failed"}."""
    now = now or utcnow()
    config = current_app.config
    cutoff = now - timedelta(seconds=config["JOB_STALE_SECONDS"])
    counts = {"resumed": 0, "handed_out": 0, "failed": 0}
    with unit_of_work():
        stale = list(db.session.execute(
            select(Job).where(Job.state.in_(("queued", "running")),
                              or_(Job.heartbeat_at < cutoff, Job.heartbeat_at.is_(None) & (Job.created_at < cutoff)))
            .order_by(Job.id).execution_options(all_municipalities=True)).scalars())
        waiting = _waiting_in_queue() if any(record.state == "queued" for record in stale) else set()
        for record in stale:
            if record.state == "queued" and (waiting is None or record.id in waiting):
                continue   # still in the queue: a busy worker will take it
            known = record.task in TASKS and record.arguments is not None
            again = known and record.attempt + 1 < config["JOB_MAX_ATTEMPTS"] and (
                record.state == "queued" or record.task in RESUMABLE)
            if again:
                if _change(record, cutoff, state="queued", attempt=record.attempt + 1, heartbeat_at=now,
                           message=None):
                    _hand_out(record)
                    _audit(record, "job.resume" if record.state == "running" else "job.hand_out")
                    counts["resumed" if record.state == "running" else "handed_out"] += 1
            elif _change(record, cutoff, state="failed", finished_at=now, error=stale_error(record)):
                _audit(record, "job.fail_stale")
                events.job_failed_stale.send(record)
                counts["failed"] += 1
    return counts


def _change(record: Job, cutoff, **values) -> bool:
    """Change a stale job's row if it is still as read (same state and run, heartbeat still old)."""
    changed = rowcount(db.session.execute(
        update(Job).where(Job.id == record.id, Job.state == record.state, Job.attempt == record.attempt,
                          or_(Job.heartbeat_at < cutoff, Job.heartbeat_at.is_(None)))
        .values(**values).execution_options(synchronize_session=False, all_municipalities=True))) == 1
    return changed


def stale_error(record: Job) -> str:
    """Why a job whose worker stopped is marked failed, for its page and its owner."""
    done = f" (выполнено {record.done} из {record.total})" if record.total else ""
    again = "несколько раз " if record.attempt else ""
    return (f"Обработчик заданий {again}остановился, не закончив задание{done}. Сделанное сохранено; "
            "запустите задание ещё раз.")


def _audit(record: Job, action: str) -> None:
    record_event(action, record, from_state=record.state,
                 details={"kind": record.kind, "done": record.done, "total": record.total,
                          "attempt": record.attempt})




# --- files that jobs write for people to download -------------------------------------------------

#: format -> MIME type of the files a job may write
FILE_TYPES = {"csv": "text/csv", "xlsx": XLSX_MIME}  # werkzeug adds «; charset=utf-8» to text/ types
#: days a written file is kept (the nightly clean-up removes older ones)
FILE_DAYS = 7


def _files_dir() -> Path:
    path = Path(current_app.config["EXPORTS_DIR"])
    path.mkdir(parents=True, exist_ok=True, mode=0o700)
    return path


@contextmanager
def job_file(job_id: int, fmt: str) -> Iterator[IO[Any]]:
    """Write a job's file: yields an open file (text for CSV, binary for XLSX) that becomes the job's
    result only when the block ends without an error (written under a temporary name, then renamed)."""
    if fmt not in FILE_TYPES:
        raise ValueError(fmt)
    final = _file_path(get_existing(Job, job_id), fmt)
    partial = final.with_suffix(f".{fmt}.part")
    with (open(partial, "w", encoding="utf-8", newline="") if fmt == "csv" else open(partial, "wb")) as out:
        yield out
    os.replace(partial, final)


def _file_path(record: Job, fmt: str) -> Path:
    # the creation time too: a job id used again (a database restored from a backup) is another file
    return _files_dir() / f"job-{record.id}-{record.created_at:%Y%m%d%H%M%S%f}.{fmt}"


def written_file(job_id: int, actor: "User") -> tuple[Path, str, str]:
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
