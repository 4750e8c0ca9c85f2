"""A bulk decision of 100 applications whose worker is killed (SIGKILL) part-way: once a worker runs again
the job goes on from where it stopped and ends with every application decided once (real `flask jobs
worker` processes, on SQLite and PostgreSQL)."""
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

from sqlalchemy import func, select, text

from certapp.certificates import services as certificates
from certapp.certificates.models import Certificate, CertificateApplication
from certapp.db import db
from certapp.jobs import make_huey
from certapp.jobs.models import Job
from certapp.jobs.services import _AFTER_COMMIT
from tests.conftest import MACHINE_ZONE
from tests.factories import child_data, current_period, make_user

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
COUNT = 100


def _job(job_id: int) -> tuple[str, int]:
    row = db.session.execute(select(Job.state, Job.done).where(Job.id == job_id)).one()
    db.session.commit()   # end the read (on SQLite every transaction holds the write lock)
    return tuple(row)


def _wait(job_id: int, until, timeout: float) -> tuple[str, int]:
    deadline = time.monotonic() + timeout
    while not until(state := _job(job_id)) and time.monotonic() < deadline:
        time.sleep(0.05)
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
           "CERTAPP_LOG_LEVEL": "WARNING", "CERTAPP_TIME_ZONE": MACHINE_ZONE,
           "CERTAPP_JOB_STALE_SECONDS": "3", "CERTAPP_JOB_HEARTBEAT_SECONDS": "1"}
    subprocess.run([str(BIN / "flask"), "keys", "rotate", "--if-missing"], cwd=ROOT, env=env, check=True,
                   stdout=subprocess.DEVNULL)
    log = tmp_path / "worker.log"
    worker = _worker(env, log)
    try:
        assert _wait(job_id, lambda s: s[1] >= 30, 180)[1] >= 30, log.read_text()
        # hold the worker at its next row (it waits for the lock), then kill it there
        if database_url.startswith("sqlite"):
            lock = sqlite3.connect(database_url.removeprefix("sqlite:///"), isolation_level=None)
            lock.execute("BEGIN IMMEDIATE")
        else:
            lock = db.engine.raw_connection()
            lock.cursor().execute("SELECT id FROM job WHERE id = %s FOR UPDATE", (job_id,))
        worker.send_signal(signal.SIGKILL)
        worker.wait(timeout=20)
        lock.rollback()
        lock.close()
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
