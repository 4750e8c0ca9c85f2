"""Background jobs on Huey: one queue for the whole installation, chosen by CERTAPP_JOBS_URL.

- unset: a SQLite file beside the data (instance/jobs.sqlite) — the embedded default, no server;
- ``redis://host:6379/0`` — Redis, for several web servers and workers;
- ``postgresql://…`` — PostgreSQL (Huey's own tables, prefixed ``huey_``);
- ``memory://`` — in process (tests; jobs then run at once, see ``huey.immediate``).

A job is a function decorated with ``@job()`` (or ``@periodic(crontab(…))``); it runs inside an
application context of its own with a fresh database session, commits through
``certapp.uow.unit_of_work()`` itself (a unit per step), and must be idempotent: a job may run twice (a worker that crashed
after doing the work but before acknowledging it), so each checks its row's state first.

A job a person started has a row (certapp.jobs.models.Job) that its worker claims and keeps alive;
when the worker dies (a killed process loses the message it had taken), the minutely recovery
(certapp.jobs.services.recover_stale_jobs) hands a ``@job(resumable=True)`` out again — it goes on
from its checkpoint — and marks any other failed, telling its owner.
"""
import functools
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any, ParamSpec, TypeVar
from urllib.parse import urlsplit

from flask import current_app, has_app_context
from huey import MemoryHuey, PostgresHuey, RedisHuey, SqliteHuey, crontab

from certapp.db import db

P = ParamSpec("P")
R = TypeVar("R")

__all__ = ["huey", "job", "periodic", "crontab", "set_worker_app", "JobTaken", "TASKS", "RESUMABLE"]

QUEUE_NAME = os.environ.get("CERTAPP_JOBS_QUEUE", "certapp")


def make_huey(url: str | None, instance_path: str):
    """The Huey instance for a queue address (see the module's docstring). The schedule's hours
    (crontab) are the server's local time (utc=False): set the machine's time zone to the
    municipality's, so that «07:00» is seven in the morning there."""
    if not url:
        path = Path(instance_path) / "jobs.sqlite"
        path.parent.mkdir(parents=True, exist_ok=True)
        return SqliteHuey(QUEUE_NAME, filename=str(path), utc=False)
    scheme = urlsplit(url).scheme
    if scheme in ("redis", "rediss", "unix"):
        return RedisHuey(QUEUE_NAME, url=url, utc=False)
    if scheme.startswith("postgres"):
        return PostgresHuey(QUEUE_NAME, dsn=url.replace("postgresql+psycopg://", "postgresql://"), utc=False)
    if scheme == "sqlite":
        return SqliteHuey(QUEUE_NAME, filename=url.removeprefix("sqlite:///"), utc=False)
    if scheme == "memory":
        return MemoryHuey(QUEUE_NAME, utc=False)
    raise ValueError(f"CERTAPP_JOBS_URL: unknown queue address {url!r}")


def _instance_path() -> str:
    from certapp import ROOT  # the app factory's package: read when the queue is made, not imported at load

    return os.environ.get("CERTAPP_INSTANCE_PATH") or str(ROOT / "instance")


#: the installation's queue (the process reads its address once, like the database's)
huey = make_huey(os.environ.get("CERTAPP_JOBS_URL"), _instance_path())

#: the app a worker process runs jobs with (set by `flask jobs worker`)
_worker_app = None
#: every @job by its name, to hand a job out again from its row (Job.task)
TASKS: dict = {}
#: the names of the jobs that go on from their checkpoint when handed out again after a dead worker
RESUMABLE: set[str] = set()


class JobTaken(Exception):
    """The job's row is not this run's to work on: another run claimed it, or it ended (a message
    handed out twice after a worker died). The run ends quietly."""


def set_worker_app(app) -> None:
    global _worker_app
    _worker_app = app


def _in_app_context(fn: Callable[P, R]) -> Callable[P, R | None]:
    """Run fn in an application context of its own: the caller's app when there is one (a job
    run at once, in tests or from a command), else the worker's."""

    @functools.wraps(fn)
    def run(*args: P.args, **kwargs: P.kwargs) -> R | None:
        app = current_app._get_current_object() if has_app_context() else _worker_app  # type: ignore[attr-defined]  # the proxy's own method
        if app is None:
            # the worker process builds its app at its first job: the factory imports every feature,
            # which register their jobs here, so it can only be imported when a job runs
            from certapp import create_app

            app = create_app()
            set_worker_app(app)
        with app.app_context():
            try:
                return fn(*args, **kwargs)
            except JobTaken:
                return None
            finally:
                db.session.remove()

    return run


def job(resumable: bool = False, **options: Any) -> Callable[[Callable[..., Any]], Any]:
    """Declare a background job: ``@job(retries=3, retry_delay=60)``; call ``fn(…)`` to enqueue it
    (after the commit that makes its rows visible — see certapp.jobs.services.after_commit).
    `resumable`: a job with a row whose worker died is handed out again and goes on from its
    checkpoint (each step stands alone); otherwise it is marked failed and its owner told. Huey has no
    types: the job (its TaskWrapper) is Any."""
    def decorate(fn: Callable[..., Any]) -> Any:
        name = f"{fn.__module__}.{fn.__name__}"
        TASKS[name] = huey.task(name=name, **options)(_in_app_context(fn))
        if resumable:
            RESUMABLE.add(name)
        return TASKS[name]
    return decorate


def periodic(schedule: Any, **options: Any) -> Callable[[Callable[..., Any]], Any]:
    """Declare a periodic job (``crontab(minute='0', hour='3')``), run by the worker's scheduler."""
    def decorate(fn: Callable[..., Any]) -> Any:
        return huey.periodic_task(schedule, name=f"{fn.__module__}.{fn.__name__}", **options)(_in_app_context(fn))
    return decorate
