"""A region's reconciliation: stored runs computed by a job (nightly or on request, with progress), the
page and the API answering the newest at once, and the full per-certificate export as a job's file."""
import re
import time
from io import BytesIO

import pytest
from openpyxl import load_workbook
from sqlalchemy import select

from certapp.bookkeeping.models import ReconciliationRun
from certapp.db import db
from certapp.jobs.models import Job
from certapp.jobs.services import FILE_DAYS, remove_old_files
from certapp.ledger.models import CertificateBalance
from tests.factories import make_certificate

#: every scope counts as large: the summary comes from stored runs
large = pytest.mark.app_config(LIVE_REPORT_LIMIT=0)


@large
def test_before_the_first_run_the_page_says_so_and_the_api_answers_404(users, login, api):
    make_certificate(department=users["department"])
    db.session.commit()
    page = login(users["bookkeeping"]).get("/bookkeeping/reconciliation").get_data(as_text=True)
    assert "ещё не выполнялась" in page and "Сверить сейчас" in page
    response = api(users["bookkeeping"]).get("/api/v1/bookkeeping/reconciliation")
    assert response.status_code == 404 and "ещё не выполнялась" in response.json["message"]
    refused = login(users["bookkeeping"]).get("/bookkeeping/reconciliation.xlsx", follow_redirects=True)
    assert "ещё не выполнялась" in refused.get_data(as_text=True)


@large
def test_a_run_started_on_the_page_is_stored_and_shown_with_its_time(users, login):
    for _ in range(3):
        make_certificate(department=users["department"])
    db.session.commit()
    client = login(users["bookkeeping"])
    page = client.post("/bookkeeping/reconciliation/run", follow_redirects=True).get_data(as_text=True)
    assert "Сверка запущена." in page and "расхождений нет" in page and 'value="100"' in page
    run = db.session.execute(select(ReconciliationRun)).scalar_one()
    assert run.municipality_id == users["bookkeeping"].municipality_id and run.created_by_id == users["bookkeeping"].id
    assert run.result["totals"]["certificates"] == 3 and run.result["mismatch_count"] == 0
    page = client.get("/bookkeeping/reconciliation").get_data(as_text=True)
    assert "Сверка на " in page and "Расхождений нет" in page
    # a certificate issued after the run is not in the stored summary until the next run
    make_certificate(department=users["department"])
    db.session.commit()
    assert ">3<" in client.get("/bookkeeping/reconciliation").get_data(as_text=True)


@large
def test_the_api_starts_a_run_and_answers_the_stored_summary_with_a_mismatch(users, api):
    certificate = make_certificate(department=users["department"])
    db.session.commit()
    client = api(users["bookkeeping"])
    db.session.execute(CertificateBalance.__table__.update().where(
        CertificateBalance.certificate_id == certificate.id).values(available=1, expired=15_000_00 - 1))
    db.session.commit()
    started = client.post("/api/v1/bookkeeping/reconciliation")
    assert started.status_code == 202 and started.json["kind"] == "reconciliation.run"
    job = client.get(f"/api/v1/jobs/{started.json['id']}").json
    assert job["state"] == "done" and "расхождений: 2" in job["message"] and job["total"] == job["done"] == 2
    summary = client.get("/api/v1/bookkeeping/reconciliation").json
    assert summary["live"] is False and summary["computed_at"] and summary["mismatch_count"] == 2
    assert not summary["ok"] and any("available = 1" in m for m in summary["mismatches"])


def test_a_small_scope_is_reconciled_live_and_people_without_the_role_are_refused(users, api):
    make_certificate(department=users["department"])
    db.session.commit()
    summary = api(users["bookkeeping"]).get("/api/v1/bookkeeping/reconciliation").json
    assert summary["live"] is True and summary["computed_at"] is None and summary["totals"]["certificates"] == 1
    for role in ("parent", "provider"):
        assert api(users[role]).post("/api/v1/bookkeeping/reconciliation").status_code == 403
        assert api(users[role]).post("/api/v1/bookkeeping/reconciliation/certificates/export",
                                     json={"format": "xlsx"}).status_code == 403
    assert api(users["region"]).post("/api/v1/bookkeeping/reconciliation").status_code == 403
    bad = api(users["bookkeeping"]).post("/api/v1/bookkeeping/reconciliation/certificates/export",
                                         json={"format": "pdf"})
    assert bad.status_code == 422 and "format" in bad.json["errors"]["json"]
    assert db.session.execute(select(ReconciliationRun)).first() is None


def test_the_nightly_job_stores_each_municipality_and_the_region(app, users):
    from certapp.bookkeeping.jobs import reconcile_nightly
    from certapp.reference.services import create_municipality

    second = create_municipality(name="Курагинский район", oktmo="04630000", number_code="30")
    make_certificate(department=users["department"])
    db.session.commit()
    assert reconcile_nightly.call_local() == 0
    runs = {r.municipality_id: r.result["totals"]["certificates"]
            for r in db.session.execute(select(ReconciliationRun)).scalars()}
    assert runs == {users["department"].municipality_id: 1, second.id: 0, None: 1}


def test_the_whole_export_is_an_xlsx_file_for_its_starter_only(users, login, api):
    numbers = sorted(make_certificate(department=users["department"]).number for _ in range(2))
    db.session.commit()
    client = login(users["bookkeeping"])
    page = client.post("/bookkeeping/reconciliation/export", data={"format": "xlsx"},
                       follow_redirects=True).get_data(as_text=True)
    assert "Выгрузка запущена." in page and "Выгружено сертификатов: 2." in page
    job_id = int(re.search(r'href="/jobs/(\d+)/file"', page).group(1))
    with client.get(f"/jobs/{job_id}/file") as download:
        assert download.status_code == 200 and download.headers["Content-Disposition"].endswith(".xlsx")
        sheet = load_workbook(BytesIO(download.data)).active
    assert [r[0].value for r in sheet.iter_rows(min_row=2)][:2] == numbers
    assert sheet.cell(row=2, column=2).value == 15000 and sheet.cell(row=4, column=1).value == "Итого"
    assert api(users["parent"]).get(f"/api/v1/jobs/{job_id}/file").status_code == 404
    # a week later the nightly clean-up removes the file
    assert remove_old_files(now=time.time() + (FILE_DAYS + 1) * 86400) >= 1
    assert "файл удалён" in client.get(f"/jobs/{job_id}/file", follow_redirects=True).get_data(as_text=True)
    assert "csv или xlsx" in client.post("/bookkeeping/reconciliation/export", data={"format": "pdf"},
                                         follow_redirects=True).get_data(as_text=True)


@large
def test_a_second_request_while_a_run_is_unfinished_answers_that_run(users, api, login):
    bookkeeper = users["bookkeeping"]
    unfinished = Job(kind="reconciliation.run", title="Сверка средств сертификатов", state="running",
                     created_by_id=bookkeeper.id, municipality_id=bookkeeper.municipality_id)
    db.session.add(unfinished)
    db.session.commit()
    started = api(bookkeeper).post("/api/v1/bookkeeping/reconciliation")
    assert started.status_code == 202 and started.json["id"] == unfinished.id, started.json
    login(bookkeeper).post("/bookkeeping/reconciliation/run")
    assert db.session.execute(select(Job.id).where(Job.kind == "reconciliation.run")).scalars().all() == [unfinished.id]
    unfinished.state = "done"
    db.session.commit()
    again = api(bookkeeper).post("/api/v1/bookkeeping/reconciliation")
    assert again.status_code == 202 and again.json["id"] != unfinished.id


@pytest.mark.parametrize("value, message", [
    ("24-\x00", "Поле «После номера» содержит недопустимый символ."),
    ("9" * 33, "Поле «После номера» длиннее 32 символов."),
])
def test_a_wrong_after_of_the_certificate_lines_is_told_on_the_page_and_under_errors_query(users, login, api,
                                                                                          value, message):
    """One schema (bookkeeping.schemas.CertificateLinesQuerySchema) reads `after` on the page and in the API."""
    certificate = make_certificate(department=users["department"])
    db.session.commit()
    page = login(users["bookkeeping"]).get("/bookkeeping/reconciliation", query_string={"after": value})
    text = page.get_data(as_text=True)
    assert page.status_code == 422 and f'id="after-error">{message}' in text
    assert f"<td>{certificate.number}</td>" in text  # the lines from the first
    answer = api(users["bookkeeping"]).get("/api/v1/bookkeeping/reconciliation/certificates",
                                           query_string={"after": value})
    assert answer.status_code == 422 and answer.json["errors"]["query"] == {"after": [message]}


def test_the_certificate_lines_after_a_number_in_any_scripts_digits_are_the_same(users, login, api):
    numbers = sorted(make_certificate(department=users["department"]).number for _ in range(2))
    db.session.commit()
    client = api(users["bookkeeping"])
    for digits in ("0123456789", "０１２３４５６７８９", "٠١٢٣٤٥٦٧٨٩"):
        after = numbers[0].translate(str.maketrans("0123456789", digits))
        lines = client.get("/api/v1/bookkeeping/reconciliation/certificates", query_string={"after": after}).json
        assert [c["number"] for c in lines["items"]] == numbers[1:], digits
        page = login(users["bookkeeping"]).get("/bookkeeping/reconciliation", query_string={"after": after})
        text = page.get_data(as_text=True)
        assert page.status_code == 200 and f"<td>{numbers[1]}</td>" in text and f"<td>{numbers[0]}</td>" not in text
