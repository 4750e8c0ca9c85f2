"""The regional report at region scale: stored reports computed by a job (nightly or on request, with
progress), the page and the API answering the newest of the year at once, live in a small region."""

import pytest
from sqlalchemy import select

from certapp.audit.models import AuditEvent
from certapp.common import clock
from certapp.db import db
from certapp.reporting.models import RegionReport
from tests.factories import make_certificate

#: every region counts as large: the report comes from stored ones
large = pytest.mark.app_config(LIVE_REPORT_LIMIT=0)


def _total(report: dict) -> dict:
    return report["municipalities"][-1]


@large
def test_before_the_first_report_the_page_says_so_and_the_api_answers_404(users, login, api):
    make_certificate(department=users["department"])
    db.session.commit()
    page = login(users["region"]).get("/reports/region").get_data(as_text=True)
    assert f"за {clock.today().year} год ещё не рассчитан" in page and "Пересчитать за" in page
    assert "Регион, всего" not in page
    response = api(users["region"]).get("/api/v1/reports/region")
    assert response.status_code == 404 and "ещё не рассчитан" in response.json["message"]


@large
def test_a_report_computed_from_the_page_is_stored_and_shown_with_its_time(users, login, api):
    make_certificate(department=users["department"])
    db.session.commit()
    client = login(users["region"])
    year = clock.today().year
    page = client.post("/reports/region/compute", data={"year": year}, follow_redirects=True).get_data(as_text=True)
    assert "Расчёт отчёта запущен." in page and f"за {year} год рассчитан" in page and 'value="100"' in page
    stored = db.session.execute(select(RegionReport)).scalar_one()
    assert stored.year == year and stored.created_by_id == users["region"].id
    assert _total(stored.result)["certificates"] == 1
    assert db.session.execute(select(AuditEvent).where(AuditEvent.action == "region_report.run")).scalar_one()
    page = client.get("/reports/region").get_data(as_text=True)
    assert "Отчёт рассчитан " in page and "Регион, всего" in page and "Общее число детей, получивших услугу" in page
    # a certificate issued after the report is not in it until the next one
    make_certificate(department=users["department"])
    db.session.commit()
    api_report = api(users["region"]).get("/api/v1/reports/region").json
    assert _total(api_report)["certificates"] == 1 and api_report["live"] is False


@large
def test_the_api_computes_a_year_and_answers_it_with_its_figures(users, api):
    make_certificate(department=users["department"])
    db.session.commit()
    client = api(users["region"])
    started = client.post("/api/v1/reports/region", json={"year": 2025})
    assert started.status_code == 202 and started.json["kind"] == "region_report.run"
    job = client.get(f"/api/v1/jobs/{started.json['id']}").json
    # the region's aggregates, then each municipality (one in the test's reference data)
    assert job["state"] == "done" and "за 2025 год рассчитан" in job["message"] and job["total"] == job["done"] == 2
    report = client.get("/api/v1/reports/region?year=2025").json
    assert report["year"] == 2025 and report["live"] is False and report["computed_at"] and report["duration_ms"] >= 0
    assert [m["oktmo"] is None for m in report["municipalities"]] == [False, True]
    assert _total(report)["indicators"]["children_total"] == "0" and _total(report)["issued"] == 15_000_00
    # another year has no report yet
    assert client.get(f"/api/v1/reports/region?year={clock.today().year}").status_code == 404


def test_a_small_region_is_reported_live_and_nobody_else_may_compute_it(users, api, login):
    make_certificate(department=users["department"])
    db.session.commit()
    report = api(users["region"]).get("/api/v1/reports/region").json
    assert report["live"] is True and report["computed_at"] is None and _total(report)["certificates"] == 1
    assert "Пересчитать за" not in login(users["region"]).get("/reports/region").get_data(as_text=True)
    for role in ("parent", "provider", "department", "bookkeeping"):
        assert api(users[role]).post("/api/v1/reports/region", json={}).status_code == 403
        assert login(users[role]).post("/reports/region/compute", data={"year": 2026}).status_code == 403
    bad = api(users["region"]).post("/api/v1/reports/region", json={"year": 1900})
    assert bad.status_code == 422 and bad.json["errors"]["json"]["year"] == ["Укажите год от 2020 до 2100."]
    page = login(users["region"]).post("/reports/region/compute", data={"year": 1900}, follow_redirects=True)
    assert "Укажите год от 2020 до 2100." in page.get_data(as_text=True)
    assert db.session.execute(select(RegionReport)).first() is None


def test_the_nightly_job_stores_this_years_report(app, users):
    from certapp.reporting.jobs import region_report_nightly

    make_certificate(department=users["department"])
    db.session.commit()
    report_id = region_report_nightly.call_local()
    stored = db.session.get(RegionReport, report_id)
    assert stored.year == clock.today().year and stored.created_by_id is None
    assert _total(stored.result)["certificates"] == 1


@pytest.mark.app_config(LIVE_REPORT_LIMIT=1)
def test_up_to_the_limit_the_report_is_live_and_past_it_stored(users, api):
    make_certificate(department=users["department"])
    db.session.commit()
    assert api(users["region"]).get("/api/v1/reports/region").json["live"] is True
    make_certificate(department=users["department"])
    db.session.commit()
    assert api(users["region"]).get("/api/v1/reports/region").status_code == 404


def test_a_share_with_nothing_to_count_it_of_says_no_data_not_zero_per_cent(users, api, login):
    make_certificate(department=users["department"])
    db.session.commit()
    # no ratings and no provider in the registry: both shares have no base (null in the API)
    indicators = _total(api(users["region"]).get("/api/v1/reports/region").json)["indicators"]
    assert indicators["satisfaction"] is None and indicators["non_state_share"] is None
    assert indicators["children_total"] == "0"
    page = login(users["region"]).get("/reports/region").get_data(as_text=True)
    row = page.split("Доля потребителей, удовлетворённых качеством услуги (оценки 4–5), %", 1)[1].split("</tr>", 1)[0]
    assert "нет данных" in row and "0,0" not in row
    rows = {r["code"]: r for r in api(users["department"]).get("/api/v1/reports/indicators").json["rows"]}
    assert rows["satisfaction"]["current"] is None
    own = login(users["department"]).get("/reports/indicators").get_data(as_text=True)
    assert "нет данных" in own.split("Доля потребителей, удовлетворённых качеством", 1)[1].split("</tr>", 1)[0]


@large
def test_a_stored_report_keeps_no_data_apart_from_zero(users, api):
    make_certificate(department=users["department"])
    db.session.commit()
    client = api(users["region"])
    assert client.post("/api/v1/reports/region", json={"year": 2025}).status_code == 202
    indicators = _total(client.get("/api/v1/reports/region?year=2025").json)["indicators"]
    assert indicators["satisfaction"] is None and indicators["children_total"] == "0"
