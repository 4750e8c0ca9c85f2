"""Jobs whose worker died (no sign of life for JOB_STALE_SECONDS): a bulk decision is resumed and skips the
rows already done; a job whose message was lost is handed out again; any other is marked failed with a
Russian message and its owner is notified. (tests/jobs/test_dead_worker.py kills a real worker.)"""
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from certapp.audit.models import AuditEvent
from certapp.certificates import services as certificates
from certapp.certificates.models import Certificate, CertificateApplication
from certapp.db import db, utcnow
from certapp.jobs.bulk import run_bulk
from certapp.jobs.models import Job
from certapp.jobs.services import recover_stale_jobs
from certapp.notifications.models import Notification
from tests.factories import child_data, current_period, make_user

LONG_AGO = timedelta(minutes=10)


def _applications(count: int) -> list[int]:
    parent = make_user("parent")
    ids = []
    for n in range(count):
        child = certificates.add_child(parent, child_data(first_name=("Анна", "Борис", "Вера")[n % 3]))
        ids.append(certificates.apply(parent, child.id, current_period().id, True).id)
    db.session.commit()
    return ids


def _bulk_job(department, ids, **values) -> Job:
    """A bulk decision's row, as `start_deciding` writes it, in the state a dead worker left it."""
    record = Job(kind="bulk.certificates.decide", title="Решение по заявлениям на сертификат",
                 created_by_id=department.id, municipality_id=department.municipality_id,
                 task=run_bulk.name, arguments={"args": ["certificates.decide", ids, department.id,
                                                         {"decision": "confirmed", "reason": None}], "kwargs": {}},
                 **values)
    db.session.add(record)
    db.session.commit()
    return record


def _statuses(ids):
    db.session.expire_all()
    return [db.session.get(CertificateApplication, i).status for i in ids]


def test_a_bulk_decision_whose_worker_died_goes_on_with_the_rows_not_done(app):
    department = make_user("department")
    ids = _applications(5)
    # the dead run decided the first two (each with its checkpoint) and then went silent
    for application_id in ids[:2]:
        certificates.confirm(application_id, department)
    record = _bulk_job(department, ids, state="running", done=2, total=5, started_at=utcnow() - LONG_AGO,
                       heartbeat_at=utcnow() - LONG_AGO, checkpoint={"done": 2, "refused": 0, "reasons": []})
    assert recover_stale_jobs() == {"resumed": 1, "handed_out": 0, "failed": 0}   # the queue runs it at once
    db.session.expire_all()
    record = db.session.get(Job, record.id)
    assert (record.state, record.done, record.attempt, record.error) == ("done", 5, 1, None)
    assert record.message == "Обработано: 5 заявлений."    # no row refused as «already decided»
    assert _statuses(ids) == ["confirmed"] * 5
    assert db.session.scalar(select(func.count(Certificate.id))) == 5
    assert db.session.scalar(select(func.count(AuditEvent.id)).where(AuditEvent.action == "job.resume")) == 1


def test_a_job_whose_worker_lives_is_left_alone(app):
    department = make_user("department")
    ids = _applications(2)
    record = _bulk_job(department, ids, state="running", done=1, total=2, heartbeat_at=utcnow() - timedelta(seconds=20))
    assert recover_stale_jobs() == {"resumed": 0, "handed_out": 0, "failed": 0}
    db.session.expire_all()
    assert (db.session.get(Job, record.id).state, _statuses(ids)) == ("running", ["submitted", "submitted"])


def test_a_queued_job_whose_message_was_lost_is_handed_out_again(app):
    department = make_user("department")
    ids = _applications(3)
    # a worker took the message and died before starting it: the row is queued, the queue is empty
    record = _bulk_job(department, ids, state="queued", heartbeat_at=utcnow() - LONG_AGO)
    assert recover_stale_jobs() == {"resumed": 0, "handed_out": 1, "failed": 0}
    db.session.expire_all()
    assert (db.session.get(Job, record.id).state, _statuses(ids)) == ("done", ["confirmed"] * 3)


def test_a_job_that_cannot_go_on_is_failed_and_its_owner_is_told(app):
    bookkeeping = make_user("bookkeeping")
    record = Job(kind="registers.build", title="Формирование реестров за 11.2026", state="running", done=3, total=10,
                 created_by_id=bookkeeping.id, municipality_id=bookkeeping.municipality_id,
                 heartbeat_at=utcnow() - LONG_AGO, task="certapp.bookkeeping.jobs.build_registers",
                 arguments={"args": ["2026-11-01", bookkeeping.id], "kwargs": {}})
    db.session.add(record)
    db.session.commit()
    assert recover_stale_jobs() == {"resumed": 0, "handed_out": 0, "failed": 1}
    assert recover_stale_jobs() == {"resumed": 0, "handed_out": 0, "failed": 0}   # once
    db.session.expire_all()
    record = db.session.get(Job, record.id)
    assert record.state == "failed" and record.finished_at is not None
    assert record.error.startswith("Обработчик заданий остановился, не закончив задание (выполнено 3 из 10).")
    note = db.session.execute(select(Notification).where(Notification.kind == "system")).scalar_one()
    assert (note.user_id, note.kind, note.title) == (bookkeeping.id, "system",
                                                      "Задание не выполнено: Формирование реестров за 11.2026")
    assert note.url == f"/jobs/{record.id}" and note.body == record.error


@pytest.mark.app_config(JOB_MAX_ATTEMPTS=2)
def test_a_job_whose_workers_keep_dying_is_failed_in_the_end(app):
    department = make_user("department")
    ids = _applications(2)
    record = _bulk_job(department, ids, state="running", done=1, total=2, attempt=1, heartbeat_at=utcnow() - LONG_AGO,
                       checkpoint={"done": 1, "refused": 0, "reasons": []})
    assert recover_stale_jobs() == {"resumed": 0, "handed_out": 0, "failed": 1}
    db.session.expire_all()
    assert "несколько раз" in db.session.get(Job, record.id).error
    assert db.session.execute(select(Notification.user_id).where(Notification.kind == "system")
                              ).scalar_one() == department.id


def test_a_second_run_of_a_job_leaves_it(app):
    department = make_user("department")
    ids = _applications(2)
    record = _bulk_job(department, ids, state="done", done=2, total=2, message="Обработано: 2 заявления.")
    job_id, department_id = record.id, department.id
    db.session.commit()   # the run's session writes on its own (on SQLite each transaction takes the lock)
    assert run_bulk.call_local(job_id, "certificates.decide", ids, department_id,
                               {"decision": "confirmed", "reason": None}) is None
    db.session.expire_all()
    assert _statuses(ids) == ["submitted", "submitted"]
    assert db.session.get(Job, job_id).message == "Обработано: 2 заявления."


def test_a_queued_job_still_waiting_in_the_queue_is_left_for_a_worker(app, monkeypatch):
    from types import SimpleNamespace

    from certapp.jobs import huey

    department = make_user("department")
    ids = _applications(2)
    record = _bulk_job(department, ids, state="queued", heartbeat_at=utcnow() - LONG_AGO)
    # a busy worker has not reached it yet: its message is in the queue
    monkeypatch.setattr(huey, "pending", lambda: [SimpleNamespace(name=run_bulk.name, args=(record.id,))])
    assert recover_stale_jobs() == {"resumed": 0, "handed_out": 0, "failed": 0}
    db.session.expire_all()
    assert (db.session.get(Job, record.id).state, _statuses(ids)) == ("queued", ["submitted", "submitted"])


@pytest.mark.commits  # the heartbeat's thread has its own connection
def test_the_worker_keeps_the_jobs_it_runs_alive_between_steps(app):
    import threading
    import time

    from certapp.jobs import services

    department = make_user("department")
    ids = _applications(1)
    record = _bulk_job(department, ids, state="running", done=0, total=1, heartbeat_at=utcnow() - LONG_AGO)
    quiet = _bulk_job(department, ids, state="running", done=0, total=1, heartbeat_at=utcnow() - LONG_AGO)
    job_id, quiet_id = record.id, quiet.id
    db.session.commit()
    stop = threading.Event()
    services._RUNNING[job_id] = 0   # a long step of this process's job; the other job is another (dead) worker's
    try:
        beat = services.start_heartbeat(app, interval=0.2, stop=stop)
        time.sleep(1.5)
    finally:
        stop.set()
        services._RUNNING.pop(job_id, None)
    beat.join(timeout=35)
    assert recover_stale_jobs() == {"resumed": 1, "handed_out": 0, "failed": 0}   # only the silent one
    db.session.expire_all()
    assert db.session.get(Job, job_id).state == "running"
    assert db.session.get(Job, quiet_id).attempt == 1
