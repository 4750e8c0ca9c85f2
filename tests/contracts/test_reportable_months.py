"""A month is reported once it is over, and never for more lessons than the group's schedule had in it:
one rule (reportable_months, scheduled_lessons) for the contract's page, the group's lessons page, the
API and the service."""
from datetime import date, timedelta

import pytest
from sqlalchemy import func, select

from certapp.common.errors import ValidationError
from certapp.common.money import share
from certapp.contracts import contracts, enrollments, service_reports
from certapp.contracts.models import ServiceReport
from certapp.db import db
from certapp.ledger.models import LedgerEntry
from certapp.ledger.services import balance_of, check_invariant
from certapp.programs import services as programs
from tests.factories import current_period, make_certificate


@pytest.fixture(autouse=True)
def invariant_holds_after_every_test(app):
    yield
    db.session.rollback()
    assert check_invariant() == []


def _december(setup):
    """The issue's case: a group of «пн, ср» that starts on 7 December of the period, a contract from
    December signed on the 4th."""
    year = current_period().starts_on.year
    group = programs.save_group(setup["provider"], setup["program"].id, {
        "name": "Зимняя группа", "teacher": "Петрова А. А.", "schedule": "пн, ср 15:00–16:30",
        "starts_on": date(year, 12, 7), "ends_on": current_period().ends_on, "capacity": 10})
    db.session.flush()
    parent = setup["parent"]
    # issued when the period began, whatever the suite's day: a certificate issued later could not start in December
    certificate = make_certificate(parent, setup["department"], today=current_period().starts_on)
    enrollment = enrollments.request_enrollment(parent, certificate.id, group.id, f"{year}-12",
                                                today=date(year, 12, 4))
    contract = contracts.sign_contract(enrollments.accept_enrollment(enrollment.id, setup["provider"]).id, parent, None)
    db.session.commit()
    assert contract.group_id == group.id and contract.start_month == date(year, 12, 1)
    # the schedule's lessons in December from the 7th, counted here day by day
    lessons = sum(1 for d in range(7, 32) if date(year, 12, d).weekday() in (0, 2))
    return contract, date(year, 12, 1), lessons


def _nothing_reported(contract):
    db.session.expire_all()
    assert db.session.execute(select(func.count()).select_from(ServiceReport)).scalar_one() == 0
    assert db.session.execute(select(func.count()).select_from(LedgerEntry).where(
        LedgerEntry.contract_id == contract.id, LedgerEntry.kind != "reserve")).scalar_one() == 0
    assert {m.status for m in contract.months} == {"planned"}
    balance = balance_of(contract.certificate_id)
    assert (balance.spent, balance.reserved) == (0, contract.certificate_part)


def test_the_schedule_names_its_weekdays_and_counts_the_lessons_of_a_month():
    assert service_reports.schedule_weekdays("пн, ср 15:00–16:30") == {0, 2}
    assert service_reports.schedule_weekdays("Вторник и четверг, 16:00") == {1, 3}
    assert service_reports.schedule_weekdays("пн–пт 9:00") == {0, 1, 2, 3, 4}
    assert service_reports.schedule_weekdays("сб 11:00–12:30") == {5}
    assert service_reports.schedule_weekdays("по согласованию с родителями") == set()

    class Group:
        schedule, starts_on, ends_on = "пн, ср", date(2026, 12, 7), date(2027, 5, 31)
    assert service_reports.scheduled_lessons(Group, date(2026, 12, 1)) == 8      # 7, 9, 14, 16, 21, 23, 28, 30
    assert service_reports.scheduled_lessons(Group, date(2027, 2, 1)) == 8
    Group.schedule = "по согласованию"
    assert service_reports.scheduled_lessons(Group, date(2026, 12, 1)) is None


def test_a_month_is_not_reported_before_its_end_by_the_service(setup):
    contract, december, lessons = _december(setup)
    assert service_reports.reportable_months(contract, december.replace(day=4)) == []
    assert service_reports.reportable_months(contract, date(december.year, 12, 31)) == []
    with pytest.raises(ValidationError) as refused:
        service_reports.report_month(contract.id, setup["provider"], december, lessons_planned=lessons, lessons_held=7,
                                     today=december.replace(day=4))
    assert refused.value.code == "month_not_over" and "после окончания месяца" in refused.value.message
    db.session.rollback()
    _nothing_reported(contract)


def test_the_api_refuses_the_current_month_with_a_code_and_lists_what_can_be_reported(app, api, setup):
    contract, december, lessons = _december(setup)
    provider = api(setup["provider"])
    app.config["CLOCK_NOW"] = f"{december.year}-12-04"
    assert provider.get(f"/api/v1/contracts/{contract.id}").json["reportable_months"] == []
    response = provider.post(f"/api/v1/contracts/{contract.id}/reports",
                             json={"month": f"{december:%Y-%m}", "lessons_planned": lessons, "lessons_held": 7})
    assert response.status_code == 422 and response.json["status"] == "month_not_over"
    assert "после окончания месяца" in response.json["message"]
    bulk = provider.post(f"/api/v1/groups/{contract.group_id}/lessons", json={"month": f"{december:%Y-%m}", "rows": [
        {"contract_id": contract.id, "lessons_planned": lessons, "lessons_held": 7}]})
    assert bulk.status_code == 422 and bulk.json["status"] == "month_not_over"
    _nothing_reported(contract)

    app.config["CLOCK_NOW"] = f"{december.year + 1}-01-03"       # the month is over
    assert provider.get(f"/api/v1/contracts/{contract.id}").json["reportable_months"] == [december.isoformat()]
    too_many = provider.post(f"/api/v1/contracts/{contract.id}/reports",
                             json={"month": f"{december:%Y-%m}", "lessons_planned": lessons + 1, "lessons_held": 7})
    assert too_many.status_code == 422 and too_many.json["status"] == "more_than_scheduled"
    assert f"{lessons} занятий" in too_many.json["message"]
    _nothing_reported(contract)
    report = provider.post(f"/api/v1/contracts/{contract.id}/reports",
                           json={"month": f"{december:%Y-%m}", "lessons_planned": lessons, "lessons_held": 7})
    assert report.status_code == 201, report.json
    assert report.json["amount"] == share(contract.months[0].certificate_amount, 7, lessons)
    assert provider.get(f"/api/v1/contracts/{contract.id}").json["reportable_months"] == []


def test_a_late_report_is_still_accepted(setup):
    contract, december, lessons = _december(setup)
    late = date(december.year + 1, 2, 20)                          # well after the 5th of January
    assert [m.month for m in service_reports.reportable_months(contract, late)] == [december, date(december.year + 1, 1, 1)]
    report = service_reports.report_month(contract.id, setup["provider"], december, lessons_planned=lessons,
                                          lessons_held=lessons, today=late)
    assert report.amount == contract.months[0].certificate_amount


def test_the_contract_page_offers_only_months_that_are_over_and_refuses_in_russian(app, login, setup):
    contract, december, lessons = _december(setup)
    provider = login(setup["provider"])
    app.config["CLOCK_NOW"] = f"{december.year}-12-04"
    page = provider.get(f"/contracts/{contract.id}").get_data(as_text=True)
    assert 'name="report-month"' not in page and "месяц отчитывают после его окончания" in page
    refused = provider.post(f"/contracts/{contract.id}/report", data={
        "report-month": f"{december:%Y-%m}", "report-lessons_planned": str(lessons), "report-lessons_held": "7"},
        follow_redirects=True).get_data(as_text=True)
    assert "можно отчитаться только после окончания месяца" in refused
    _nothing_reported(contract)

    app.config["CLOCK_NOW"] = f"{december.year + 1}-01-04"
    page = provider.get(f"/contracts/{contract.id}").get_data(as_text=True)
    assert f'value="{december:%Y-%m}"' in page and f'value="{december.year + 1}-01"' not in page


def test_the_group_page_offers_only_months_that_are_over(app, login, setup):
    contract, december, lessons = _december(setup)
    provider = login(setup["provider"])
    url = f"/contracts/groups/{contract.group_id}/lessons"
    app.config["CLOCK_NOW"] = f"{december.year}-12-04"
    page = provider.get(url).get_data(as_text=True)
    assert "Отчитываться пока не за что" in page and 'name="month"' not in page
    page = provider.get(f"{url}?month={december:%Y-%m}").get_data(as_text=True)
    assert "месяц ещё не закончился" in page and f'name="held-{contract.id}"' not in page
    refused = provider.post(url, data={"month": f"{december:%Y-%m}", f"planned-{contract.id}": str(lessons),
                                       f"held-{contract.id}": "7"}, follow_redirects=True).get_data(as_text=True)
    assert "можно отчитаться только после окончания месяца" in refused
    _nothing_reported(contract)

    app.config["CLOCK_NOW"] = f"{december.year + 1}-01-04"
    page = provider.get(url).get_data(as_text=True)
    assert f'<option value="{december:%Y-%m}" selected>' in page and f'value="{december.year + 1}-01"' not in page
    assert f'name="planned-{contract.id}" inputmode="numeric" size="3" value="{lessons}"' in page  # the schedule's
    done = provider.post(url, data={"month": f"{december:%Y-%m}", f"planned-{contract.id}": str(lessons),
                                    f"held-{contract.id}": "7"}, follow_redirects=True).get_data(as_text=True)
    assert "Отчёт принят: 1 договор" in done
    db.session.expire_all()
    assert balance_of(contract.certificate_id).spent == share(contract.months[0].certificate_amount, 7, lessons)


def test_a_terminated_contract_reports_its_months_before_the_termination_once_they_are_over(setup):
    contract, december, lessons = _december(setup)
    contracts.terminate(contract.id, setup["parent"], "Переезд", today=december + timedelta(days=14))
    january = date(december.year + 1, 1, 1)
    contracts.end_noticed(today=january)
    db.session.commit()
    assert contract.status == "terminated"
    assert [m.month for m in service_reports.reportable_months(contract, date(december.year + 1, 3, 1))] == [december]


def test_the_group_page_shows_a_refused_row_as_typed_with_its_reason_beside_it(app, login, setup):
    contract, december, lessons = _december(setup)
    provider = login(setup["provider"])
    url = f"/contracts/groups/{contract.group_id}/lessons"
    app.config["CLOCK_NOW"] = f"{december.year + 1}-01-04"
    refused = provider.post(url, data={"month": f"{december:%Y-%m}", f"planned-{contract.id}": str(lessons + 1),
                                       f"held-{contract.id}": "7", f"reason-{contract.id}": "карантин"})
    assert refused.status_code == 422
    page = refused.get_data(as_text=True)
    assert f'name="planned-{contract.id}" inputmode="numeric" size="3" value="{lessons + 1}"' in page
    assert f'name="held-{contract.id}" inputmode="numeric" size="3" value="7"' in page and 'value="карантин"' in page
    beside = page.split(f'name="held-{contract.id}"', 1)[1].split("</td>", 1)[0]
    assert f'id="error-{contract.id}"' in beside and f"{lessons} занятий" in beside
    assert f"№ {contract.id}:" not in page      # not the row's database id in a flash above the table
    _nothing_reported(contract)
    done = provider.post(url, data={"month": f"{december:%Y-%m}", f"planned-{contract.id}": str(lessons),
                                    f"held-{contract.id}": "7"}, follow_redirects=True).get_data(as_text=True)
    assert "Отчёт принят: 1 договор" in done
