"""A bulk decision of 100 applications whose worker is killed (SIGKILL) part-way: once a worker runs again
the job goes on from where it stopped and ends with every application decided once (real `flask jobs
worker` processes, on SQLite and PostgreSQL)."""
import os
import signal
import sqlite3
import subprocess
import sys
import time
from contextlib import closing
from pathlib import Path

import pytest
from sqlalchemy import func, select, text

from certapp.certificates import services as certificates
from certapp.certificates.models import Certificate, CertificateApplication
from certapp.db import db
from certapp.jobs import make_huey
from certapp.jobs.models import Job
from certapp.jobs.services import _AFTER_COMMIT
from tests.factories import child_data, current_period, make_user

#: the workers are processes of their own
pytestmark = pytest.mark.commits


ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
COUNT = 100


def _job(job_id: int) -> tuple[str, int]:
    if db.engine.dialect.name == "sqlite":
        # a plain deferred read: the app's SQLite transactions begin IMMEDIATE (the write lock), and a read
        # waiting for that lock behind a busy worker saw the job only once it had finished
        with closing(sqlite3.connect(db.engine.url.database, timeout=30)) as reader:
            return tuple(reader.execute("SELECT state, done FROM job WHERE id = ?", (job_id,)).fetchone())
    row = db.session.execute(select(Job.state, Job.done).where(Job.id == job_id)).one()
    db.session.commit()
    return tuple(row)


def _wait(job_id: int, until, timeout: float, poll: float = 0.05) -> tuple[str, int]:
    deadline = time.monotonic() + timeout
    while not until(state := _job(job_id)) and time.monotonic() < deadline:
        time.sleep(poll)
    return state


def _worker(env: dict, log: Path) -> subprocess.Popen:
    with open(log, "ab") as errors:   # the child keeps its own copy of the file
        return subprocess.Popen([str(BIN / "flask"), "jobs", "worker", "--workers", "1", "--no-periodic"],
                                cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=errors)


def test_a_bulk_decision_whose_worker_was_killed_ends_with_every_row_decided_once(app, database_url, tmp_path):
    parent, department = make_user("parent"), make_user("department")
    ids = []
    for n in range(COUNT):
        child = certificates.add_child(parent, child_data(first_name=("Анна", "Борис", "Вера")[n % 3]))
        ids.append(certificates.apply(parent, child.id, current_period().id, True).id)
    db.session.commit()
    record = certificates.start_deciding(ids, "confirmed", department)
    db.session.info.pop(_AFTER_COMMIT)   # the test's own queue would run it here: the worker's queue gets it
    db.session.commit()
    job_id = record.id
    queue_url = f"sqlite:///{tmp_path / 'queue.sqlite'}"
    queue = make_huey(queue_url, str(tmp_path))

    def stand_in(*args, **kwargs):   # a message under the job's task name, for the worker to run
        raise AssertionError("runs in the worker")

    stand_in.__module__ = record.task.rpartition(".")[0]
    queue.task(name=record.task)(stand_in)(job_id, *record.arguments["args"])
    db.session.commit()
    env = {**os.environ, "DATABASE_URL": database_url, "CERTAPP_JOBS_URL": queue_url,
           "CERTAPP_INSTANCE_PATH": str(tmp_path), "SECRET_KEY": "dead-worker-test", "FLASK_APP": "wsgi",
           "CERTAPP_LOG_LEVEL": "WARNING",
           "CERTAPP_JOB_STALE_SECONDS": "3", "CERTAPP_JOB_HEARTBEAT_SECONDS": "1"}
    subprocess.run([str(BIN / "flask"), "keys", "rotate", "--if-missing"], cwd=ROOT, env=env, check=True,
                   stdout=subprocess.DEVNULL)
    log = tmp_path / "worker.log"
    worker = _worker(env, log)
    try:
        assert _wait(job_id, lambda s: s[1] >= 30, 180, poll=0.01)[1] >= 30, log.read_text()
        # freeze the worker where it is (perhaps inside a row's transaction), then kill it there: taking a
        # database lock to hold it instead lost the race to a fast worker (SQLite's busy wait let it finish)
        worker.send_signal(signal.SIGSTOP)
        worker.send_signal(signal.SIGKILL)
        worker.wait(timeout=20)
        state, done = _job(job_id)
        assert state == "running" and 30 <= done < COUNT
        decided = db.session.scalar(select(func.count(CertificateApplication.id))
                                    .where(CertificateApplication.status == "confirmed"))
        db.session.commit()
        assert decided == done   # each row committed with the job's checkpoint
        time.sleep(4)            # the dead worker's heartbeat goes stale (CERTAPP_JOB_STALE_SECONDS=3)
        worker = _worker(env, log)
        state, done = _wait(job_id, lambda s: s[0] in ("done", "failed"), 240)
        assert (state, done) == ("done", COUNT), log.read_text()
    finally:
        worker.kill()
        worker.wait(timeout=20)
    db.session.expire_all()
    finished = db.session.get(Job, job_id)
    assert (finished.attempt, finished.message, finished.error) == (1, f"Обработано: {COUNT} заявлений.", None)
    assert db.session.scalar(select(func.count(CertificateApplication.id))
                             .where(CertificateApplication.status == "confirmed")) == COUNT
    assert db.session.scalar(select(func.count(Certificate.id))) == COUNT
    assert db.session.execute(text("SELECT count(*) FROM audit_event WHERE action = 'job.resume'")).scalar_one() == 1
