"""The upload's request checks only what is cheap and certain and answers at once; a job checks every row
with progress, keeps the problems on the batch and (not a dry run, no problem) loads in the same job; a
refused upload changes nothing; a job whose worker died is resumed, or failed with its batch."""
import io
from datetime import timedelta

import pytest
from sqlalchemy import func, select, text

from certapp.db import db, utcnow
from certapp.imports import services
from certapp.imports.models import ImportBatch
from certapp.jobs import services as jobs
from certapp.jobs.models import Job
from tests.imports.test_imports_load import certificate_row, counts, csv_bytes, outcome, period, post

__all__ = ["period"]  # the fixture, shared with the load's tests


@pytest.fixture
def queue_held(monkeypatch):
    """The job is recorded but its message not run: as on a server, whose worker takes it later."""
    def start_without_running(*args, **kwargs):
        record = jobs.start(*args, **kwargs)
        db.session.info.pop(jobs._AFTER_COMMIT, None)
        return record

    monkeypatch.setattr(services, "start", start_without_running)


def _run(job_id: int) -> None:
    """The worker takes the job's message: its task run as the queue would run it."""
    record = db.session.get(Job, job_id)
    services.check_job.call_local(job_id, *record.arguments["args"])
    db.session.expire_all()


def _rows() -> tuple[int, int]:
    db.session.expire_all()
    return tuple(db.session.execute(select(func.count()).select_from(model).execution_options(all_municipalities=True))
                 .scalar_one() for model in (ImportBatch, Job))


def test_the_upload_answers_before_any_row_is_checked_and_the_job_finds_the_problems(users, api, period, queue_held):
    client = api(users["department"])
    before = counts()
    rows = [certificate_row(201), certificate_row(202, **{"Остаток, ₽": "20 000,00"})]
    answer = post(client, "certificates", csv_bytes(rows))
    assert answer.status_code == 202
    assert (answer.json["status"], answer.json["status_name"], answer.json["state"]) == ("checking", "Проверяется", "queued")
    assert answer.json["progress"] == "Ожидает проверки…"
    assert (answer.json["rows"], answer.json["problem_count"], answer.json["problems"]) == (0, 0, None)
    batch = db.session.get(ImportBatch, answer.json["id"])
    assert batch.content == csv_bytes(rows)  # kept for the worker of any server
    _run(answer.json["job_id"])
    after = outcome(client, answer)
    assert (after["status"], after["state"], after["rows"], after["problem_count"]) == ("failed", "done", 2, 1)
    assert (after["problems"][0]["row"], after["problems"][0]["field"]) == (3, "Остаток, ₽")
    assert db.session.get(ImportBatch, answer.json["id"]).content is None
    assert counts() == before


def test_a_dry_runs_file_is_dropped_after_its_check_and_the_page_says_no_problems(users, api, login, period, queue_held):
    client = api(users["department"])
    answer = post(client, "certificates", csv_bytes([certificate_row(211)]), dry_run=True)
    page = login(users["department"]).get(f"/imports/{answer.json['id']}").get_data(as_text=True)
    assert "Ожидает проверки…" in page and "data-job-url" in page
    _run(answer.json["job_id"])
    batch = db.session.get(ImportBatch, answer.json["id"])
    assert (batch.status, batch.content, batch.problem_count) == ("checked", None, 0)
    page = login(users["department"]).get(f"/imports/{answer.json['id']}").get_data(as_text=True)
    assert "Проблем нет. Будет загружено строк: 1." in page and "data-job-url" not in page


def test_while_the_check_runs_the_page_tells_its_state_only_in_the_box_the_script_updates(
        users, api, login, period, queue_held):
    """The script updates the progress box alone: a state printed above it stayed «Проверяется» beside
    «Загружен» until the page was opened again."""
    client = api(users["department"])
    answer = post(client, "certificates", csv_bytes([certificate_row(221)]), dry_run=True)
    page = login(users["department"]).get(f"/imports/{answer.json['id']}").get_data(as_text=True)
    assert "data-job-url" in page and "Проверяется</strong>" not in page
    _run(answer.json["job_id"])
    page = login(users["department"]).get(f"/imports/{answer.json['id']}").get_data(as_text=True)
    assert "Состояние: <strong>Проверен</strong>" in page


def test_a_load_without_problems_goes_on_into_the_load_in_the_same_job(users, api, period, queue_held):
    client = api(users["department"])
    before = counts()
    answer = post(client, "certificates", csv_bytes([certificate_row(221), certificate_row(222)]))
    _run(answer.json["job_id"])
    after = outcome(client, answer)
    assert (after["status"], after["created"], after["state"], after["percent"]) == ("imported", 2, "done", 100)
    assert db.session.execute(select(func.count()).select_from(Job)).scalar_one() == 1  # one job: check and load
    assert counts()[0] == before[0] + 2 and db.session.get(ImportBatch, answer.json["id"]).content is None


@pytest.mark.commits
def test_the_checks_progress_is_seen_by_others_while_it_runs(app, api, period, monkeypatch):
    """Every PROGRESS_EVERY rows the check commits its progress alone: another connection, and the batch's
    answer in a session of its own, see «Проверяется… N из M строк» while the job is still checking."""
    from tests import factories

    department = factories.make_user("department")
    db.session.commit()
    monkeypatch.setattr(services, "PROGRESS_EVERY", 2)
    seen: list = []
    client = api(department)
    report = services._CheckSteps.row

    def report_and_look(steps):
        report(steps)
        if steps.progress.done == 4 and not steps.pending and not seen:  # just reported: 4 rows of 7
            with db.engine.connect() as conn:  # committed work only
                seen.append(tuple(conn.execute(text("SELECT state, done, total FROM job")).one()))
                batch_id = conn.execute(text("SELECT id FROM import_batch")).scalar_one()
            with app.app_context():  # a request of its own, in a session of its own
                seen.append(client.get(f"/api/v1/imports/{batch_id}").json["progress"])

    monkeypatch.setattr(services._CheckSteps, "row", report_and_look)
    answer = post(client, "certificates", csv_bytes([certificate_row(231 + n) for n in range(7)]), dry_run=True)
    assert answer.status_code == 202
    assert seen == [("running", 4, 7), "Проверяется… 4 из 7 строк"]
    assert outcome(client, answer)["status"] == "checked"


REFUSALS = [
    ({"kind": "certificates"}, {"file"}, "Выберите файл CSV или XLSX."),
    ({"kind": "children", "file": "ok"}, {"kind"}, "Выберите, что загружается"),
    ({"kind": "", "file": "pdf"}, {"kind", "file"}, "Загрузите файл CSV или XLSX"),
    ({"kind": "certificates", "file": "big"}, {"file"}, "Файл больше 100 КБ"),
    ({"kind": "certificates", "file": "columns"}, {"file"}, "Нет столбцов «СНИЛС ребёнка»"),
    ({"kind": "certificates", "file": "empty"}, {"file"}, "Файл пуст."),
]


def _form(case: dict) -> dict:
    files = {"ok": (csv_bytes([certificate_row(241)]), "c.csv"), "pdf": (b"%PDF-1.7 ...", "c.pdf"),
             "big": (b"x" * (100 * 1024 + 1), "big.csv"), "columns": ("Имя;Фамилия\nПётр;Иванов\n".encode(), "c.csv"),
             "empty": (b"", "c.csv")}
    data: dict = {"kind": case["kind"]}
    if case.get("file"):
        content, name = files[case["file"]]
        data["file"] = (io.BytesIO(content), name)
    return data


@pytest.mark.parametrize("case, fields, message", REFUSALS)
def test_a_refused_upload_names_every_wrong_field_and_changes_nothing(users, api, login, period, monkeypatch,
                                                                      case, fields, message):
    # under the request's own limit (2 MB), and under what the test client keeps in memory (500 KB)
    monkeypatch.setattr(services, "MAX_FILE_BYTES", 100 * 1024)
    before, rows = counts(), _rows()
    answer = api(users["department"]).post("/api/v1/imports", data=_form(case), content_type="multipart/form-data")
    assert answer.status_code == 422, answer.json
    assert set(answer.json["errors"]["json"]) == fields and message in str(answer.json["errors"]), answer.json
    page = login(users["department"]).post("/imports", data=_form(case), content_type="multipart/form-data")
    text_ = page.get_data(as_text=True)
    assert page.status_code == 422 and message in text_
    assert all(f'id="err-{name}"' in text_ for name in fields)
    assert counts() == before and _rows() == rows


def test_a_check_whose_worker_died_is_handed_out_again_and_ends(users, api, period, queue_held):
    client = api(users["department"])
    answer = post(client, "certificates", csv_bytes([certificate_row(251)]), dry_run=True)
    job = db.session.get(Job, answer.json["job_id"])
    job.state, job.done, job.total, job.heartbeat_at = "running", 0, 1, utcnow() - timedelta(hours=1)  # its worker died
    db.session.commit()
    assert jobs.recover_stale_jobs() == {"resumed": 1, "handed_out": 0, "failed": 0}
    assert outcome(client, answer)["status"] == "checked" and db.session.get(Job, job.id).state == "done"


def test_a_check_whose_worker_died_too_often_fails_with_its_batch(app, users, api, period, queue_held):
    client = api(users["department"])
    answer = post(client, "certificates", csv_bytes([certificate_row(261)]))
    job = db.session.get(Job, answer.json["job_id"])
    job.state, job.heartbeat_at = "running", utcnow() - timedelta(hours=1)
    job.attempt = app.config["JOB_MAX_ATTEMPTS"] - 1
    db.session.commit()
    before = counts()
    assert jobs.recover_stale_jobs()["failed"] == 1
    after = outcome(client, answer)
    assert after["status"] == "failed" and "Загрузите его ещё раз" in after["message"] and after["state"] == "failed"
    assert db.session.get(ImportBatch, answer.json["id"]).content is None and counts() == before
