import html
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select

from certapp.common.errors import ConflictError, ValidationError
from certapp.common.money import format_rub
from certapp.common.months import add_months, months_between
from certapp.contracts import contracts, expiry, service_reports
from certapp.contracts.models import Contract, Enrollment, ServiceReport
from certapp.db import db
from certapp.ledger.models import LedgerEntry
from certapp.ledger.services import balance_of, check_invariant
from tests.factories import (
    current_period,
    make_certificate,
    make_contract,
    make_program,
    make_user,
    money_unchanged,
    this_month,
)


@pytest.fixture(autouse=True)
def invariant_holds_after_every_test(app):
    yield
    db.session.rollback()
    assert check_invariant() == []


def set_clock(app, day) -> None:
    """Move the app's clock (clock.today()) to a day within the test: a month is reported after its end."""
    app.config["CLOCK_NOW"] = day.isoformat()


def _months_left() -> int:
    return len(months_between(this_month(), current_period().ends_on))


def test_parent_provider_and_department_do_their_part_in_the_browser(app, login, setup):
    parent, provider = login(setup["parent"]), login(setup["provider"])
    program, certificate = setup["program"], setup["certificate"]
    assert parent.get(f"/enroll/{program.id}").status_code == 200
    response = parent.post(f"/enroll/{program.id}", data={
        "certificate_id": certificate.id, "group_id": setup["group"].id, "start_month": f"{this_month():%Y-%m}"})
    assert response.status_code == 302, response.get_data(as_text=True)
    enrollment = db.session.execute(select(Enrollment)).scalar_one()
    assert "Принять" in provider.get("/enrollments").get_data(as_text=True)
    assert provider.post(f"/enrollments/{enrollment.id}/accept").status_code == 302
    contract = db.session.execute(select(Contract)).scalar_one()
    months = _months_left()
    assert contract.total == 1250_00 * months and contract.certificate_part == min(contract.total, 15_000_00)
    page = parent.get(f"/contracts/{contract.id}").get_data(as_text=True)
    assert "Оплачивает сертификат" in page and "Подписать договор" in page
    assert parent.post(f"/contracts/{contract.id}/sign", data={"sign-agree": "y"}).status_code == 302
    db.session.refresh(contract)
    assert contract.status == "active" and contract.signed_ip == "127.0.0.1" and contract.signature
    balance = balance_of(certificate.id)
    assert (balance.available, balance.reserved) == (15_000_00 - contract.certificate_part, contract.certificate_part)
    cert_page = parent.get(f"/certificates/{certificate.id}").get_data(as_text=True)
    assert contract.number in cert_page and "Резерв по договору" in cert_page

    month = this_month()
    set_clock(app, add_months(month, 1))  # the month is over: now it is reported
    assert provider.post(f"/contracts/{contract.id}/report", data={
        "report-month": f"{month:%Y-%m}", "report-lessons_planned": "8", "report-lessons_held": "8",
        "report-attendance": "8"}).status_code == 302
    first = contract.months[0].certificate_amount
    db.session.expire_all()
    assert balance_of(certificate.id).spent == first
    again = provider.post(f"/contracts/{contract.id}/report", data={
        "report-month": f"{month:%Y-%m}", "report-lessons_planned": "8", "report-lessons_held": "8"},
        follow_redirects=True)
    assert "отчёт уже подан" in again.get_data(as_text=True)  # the month is no longer offered
    department = login(setup["department"])
    assert contract.number in department.get("/contracts").get_data(as_text=True)


def test_the_api_does_the_same(app, api, setup):
    parent, provider = api(setup["parent"]), api(setup["provider"])
    enrollment = parent.post("/api/v1/enrollments", json={
        "certificate_id": setup["certificate"].id, "group_id": setup["group"].id, "start_month": f"{this_month():%Y-%m}"})
    assert enrollment.status_code == 201, enrollment.json
    contract = provider.post(f"/api/v1/enrollments/{enrollment.json['id']}/accept")
    assert contract.status_code == 201 and contract.json["status"] == "offered"
    assert len(contract.json["months"]) == _months_left()
    assert sum(m["certificate_amount"] for m in contract.json["months"]) == contract.json["certificate_part"]
    signed = parent.post(f"/api/v1/contracts/{contract.json['id']}/sign")
    assert signed.status_code == 200 and signed.json["status"] == "active"
    month = this_month()
    set_clock(app, add_months(month, 1))  # the month is over: now it is reported
    report = provider.post(f"/api/v1/contracts/{contract.json['id']}/reports",
                           json={"month": f"{month:%Y-%m}", "delivered": True, "attendance": 7})
    assert report.status_code == 201 and report.json["amount"] == contract.json["months"][0]["certificate_amount"]
    ledger = parent.get(f"/api/v1/certificates/{setup['certificate'].id}/ledger").json
    assert [e["kind"] for e in ledger] == ["issue", "reserve", "spend"]
    assert api(setup["department"]).get("/api/v1/ledger/invariant").json == {"ok": True, "mismatches": []}


def test_the_same_signing_request_twice_reserves_once(api, setup):
    contract = make_contract(setup["certificate"], setup["provider"], setup["program"], sign=False)
    db.session.commit()
    parent = api(setup["parent"])
    assert parent.post(f"/api/v1/contracts/{contract.id}/sign").status_code == 200
    assert parent.post(f"/api/v1/contracts/{contract.id}/sign").status_code == 200
    reserves = db.session.execute(select(func.count()).select_from(LedgerEntry).where(
        LedgerEntry.kind == "reserve")).scalar_one()
    assert reserves == 1


def test_signing_is_refused_when_the_balance_changed_after_acceptance_then_signed_as_seen(api, users, setup):
    certificate, provider = setup["certificate"], setup["provider"]
    expensive = make_program(provider, users["department"], title="Дорогая", price_per_month="15 000")
    first = make_contract(certificate, provider, expensive, sign=False)
    second = make_contract(certificate, provider, setup["program"], sign=False)
    db.session.commit()
    assert second.certificate_part > 0 and first.certificate_part == 15_000_00
    parent = api(setup["parent"])
    assert parent.post(f"/api/v1/contracts/{first.id}/sign").status_code == 200
    with money_unchanged():
        refused = parent.post(f"/api/v1/contracts/{second.id}/sign")
    # the offer is re-split (nothing left: the parent pays all) and signed only once the parent has seen it
    assert refused.status_code == 409 and refused.json["status"] == "split_changed"
    assert (refused.json["split"]["certificate_part"], refused.json["split"]["parent_part"]) == (0, second.total)
    db.session.expire_all()
    assert db.session.get(Contract, second.id).status == "offered"
    assert balance_of(certificate.id).available == 0
    signed = parent.post(f"/api/v1/contracts/{second.id}/sign", json={"expected_certificate_amount": 0})
    assert signed.status_code == 200 and signed.json["parent_part"] == second.total


def test_parent_pays_what_the_certificate_cannot(api, users, setup):
    certificate, provider = setup["certificate"], setup["provider"]
    program = make_program(provider, users["department"], title="Шахматы", price_per_month="10 000")
    make_contract(certificate, provider, program)
    db.session.commit()
    remaining = balance_of(certificate.id).available
    contract = make_contract(certificate, provider, setup["program"], sign=False)
    db.session.commit()
    assert contract.certificate_part == min(remaining, contract.total)
    assert contract.parent_part == contract.total - contract.certificate_part
    assert all(m.certificate_amount + m.parent_amount == contract.price_per_month for m in contract.months)


@pytest.mark.parametrize("case", ["no_seats", "age", "not_active", "period", "twice"])
def test_enrollment_refusals(api, users, setup, case):
    certificate, group = setup["certificate"], setup["group"]
    body = {"certificate_id": certificate.id, "group_id": group.id, "start_month": f"{this_month():%Y-%m}"}
    if case == "no_seats":
        small = make_program(setup["provider"], users["department"], title="Малая", capacity=1)
        make_contract(make_certificate(department=users["department"]), setup["provider"], small)
        body["group_id"] = small.groups[0].id
    elif case == "age":
        older = make_program(setup["provider"], users["department"], title="Для старших", age_from=15, age_to=17)
        body["group_id"] = older.groups[0].id
    elif case == "not_active":
        api(users["department"]).post(f"/api/v1/certificates/{certificate.id}/status",
                                      json={"status": "suspended", "reason": "Проверка"})
    elif case == "period":
        body["start_month"] = f"{current_period().ends_on + timedelta(days=40):%Y-%m}"
    db.session.commit()
    client = api(setup["parent"])
    if case == "twice":
        assert client.post("/api/v1/enrollments", json=body).status_code == 201
    response = client.post("/api/v1/enrollments", json=body)
    assert response.status_code in (409, 422), response.json
    expected = {"no_seats": "нет свободных мест", "age": "Программа для детей 15–17 лет", "not_active": "не действует",
                "period": "Месяц начала", "twice": "уже записан"}[case]
    assert expected in response.json["message"]


def test_group_outside_the_certificate_period_is_refused(api, users, setup):
    from certapp.programs import services as programs
    period = current_period()
    program = make_program(setup["provider"], users["department"], title="Долгая", groups=0)
    programs.save_group(setup["provider"], program.id, {
        "name": "Г", "teacher": "И", "schedule": "пн", "starts_on": period.starts_on,
        "ends_on": period.ends_on + timedelta(days=60), "capacity": 5})
    db.session.commit()
    response = api(setup["parent"]).post("/api/v1/enrollments", json={
        "certificate_id": setup["certificate"].id, "group_id": program.groups[0].id,
        "start_month": f"{this_month():%Y-%m}"})
    assert response.status_code == 422 and "за период сертификата" in response.json["message"]


def test_a_month_is_reported_once_and_not_delivered_needs_a_reason(app, api, setup):
    contract = make_contract(setup["certificate"], setup["provider"], setup["program"])
    db.session.commit()
    first = this_month()
    set_clock(app, add_months(first, 1))  # the month is over
    provider = api(setup["provider"])
    url = f"/api/v1/contracts/{contract.id}/reports"
    month = f"{first:%Y-%m}"
    with money_unchanged():
        assert provider.post(url, json={"month": month, "delivered": False}).status_code == 422
    released = provider.post(url, json={"month": month, "delivered": False, "reason": "Педагог на больничном"})
    assert released.status_code == 201 and released.json["amount"] == 0
    with money_unchanged():
        assert provider.post(url, json={"month": month, "delivered": True}).status_code == 409
    with money_unchanged():  # a month not over, or not the contract's: refused either way
        future = provider.post(url, json={"month": f"{add_months(first, 1):%Y-%m}", "delivered": True})
    if len(contract.months) > 1:  # the next month is going on: not reported before its end
        assert future.status_code == 422 and future.json["status"] == "month_not_over"
    db.session.expire_all()
    balance = balance_of(setup["certificate"].id)
    assert balance.spent == 0 and balance.reserved == contract.certificate_part - contract.months[0].certificate_amount


def test_month_by_month_drawdown_until_completion(app, setup):
    contract = make_contract(setup["certificate"], setup["provider"], setup["program"])
    for row in list(contract.months):
        service_reports.report_month(contract.id, setup["provider"], row.month, True, today=add_months(row.month, 1))
    db.session.commit()
    balance = balance_of(setup["certificate"].id)
    assert balance.spent == contract.certificate_part and balance.reserved == 0
    assert contract.status == "completed"


def test_notice_ends_the_contract_at_the_end_of_the_month_and_then_releases_the_reserve(api, setup):
    contract = make_contract(setup["certificate"], setup["provider"], setup["program"])
    service_reports.report_month(contract.id, setup["provider"], contract.months[0].month, True,
                                 today=add_months(contract.months[0].month, 1))
    db.session.commit()
    parent = api(setup["parent"])
    with money_unchanged():
        wrong = parent.post(f"/api/v1/contracts/{contract.id}/terminate", json={"reason": "Переезд",
                                                                                 "grounds": "provider_grounds"})
    assert wrong.status_code == 422 and wrong.json["errors"]["json"]["grounds"]
    response = parent.post(f"/api/v1/contracts/{contract.id}/terminate", json={"reason": "Переезд"})
    if len(contract.months) == 1:
        assert response.status_code == 422  # nothing left to terminate in the period's last month
        return
    next_month = add_months(this_month(), 1)
    body = response.json
    assert response.status_code == 200 and body["status"] == "active", body
    assert (body["ends_on"], body["terminated_from"], body["termination_grounds"]) == (
        (next_month - timedelta(days=1)).isoformat(), next_month.isoformat(), "parent_will")
    db.session.expire_all()
    balance = balance_of(setup["certificate"].id)
    assert balance.reserved == contract.certificate_part - contract.months[0].certificate_amount  # not yet
    with money_unchanged():
        again = parent.post(f"/api/v1/contracts/{contract.id}/terminate", json={"reason": "ещё раз"})
    assert again.status_code == 409 and "уже подано" in again.json["message"]

    assert contracts.end_noticed(today=this_month()) == 0  # the notice month is not over
    assert contracts.end_noticed(today=next_month) == 1
    db.session.commit()
    db.session.expire_all()
    contract = db.session.get(Contract, contract.id)
    assert contract.status == "terminated"
    assert {m.status for m in contract.months if m.month >= next_month} == {"cancelled"}
    balance = balance_of(setup["certificate"].id)
    assert balance.reserved == 0 and balance.spent == contract.months[0].certificate_amount
    assert balance.available == 15_000_00 - balance.spent
    assert check_invariant() == []


def test_the_department_terminates_by_instruction_and_only_so(api, setup):
    contract = make_contract(setup["certificate"], setup["provider"], setup["program"])
    db.session.commit()
    department = api(setup["department"])
    with money_unchanged():
        refused = department.post(f"/api/v1/contracts/{contract.id}/terminate",
                                  json={"reason": "x", "grounds": "agreement"})
    assert refused.status_code == 422
    response = department.post(f"/api/v1/contracts/{contract.id}/terminate", json={"reason": "Предписание № 5"})
    assert response.status_code == (422 if len(contract.months) == 1 else 200)
    if response.status_code == 200:
        assert response.json["termination_grounds_name"] == "Предписание уполномоченного органа"


def test_department_corrects_a_month_with_a_correcting_entry(api, users, setup):
    contract = make_contract(setup["certificate"], setup["provider"], setup["program"])
    service_reports.report_month(contract.id, setup["provider"], this_month(), True, today=add_months(this_month(), 1))
    db.session.commit()
    body = {"month": f"{this_month():%Y-%m}", "direction": "refund", "amount_rub": "100", "reason": "Занятие отменено"}
    with money_unchanged():
        assert api(setup["provider"]).post(f"/api/v1/contracts/{contract.id}/corrections", json=body).status_code == 403
    response = api(users["department"]).post(f"/api/v1/contracts/{contract.id}/corrections", json=body)
    assert response.status_code == 201 and response.json["kind"] == "correction"
    db.session.expire_all()
    assert balance_of(setup["certificate"].id).spent == contract.months[0].certificate_amount - 100_00
    too_much = {**body, "amount_rub": "99999"}
    with money_unchanged():
        assert api(users["department"]).post(f"/api/v1/contracts/{contract.id}/corrections",
                                             json=too_much).json["status"] == "validation_error"


def test_a_months_corrections_stay_within_what_it_spent_and_its_part(api, users, setup):
    """A refund took back more than the month had spent (8 refunds of 100 ₽ and 1 000,50 ₽ against a
    month of 1 250 ₽: the certificate gained money), a charge spent more than the month's part."""
    contract = make_contract(setup["certificate"], setup["provider"], setup["program"])
    service_reports.report_month(contract.id, setup["provider"], this_month(), True, today=add_months(this_month(), 1))
    db.session.commit()
    part, url = contract.months[0].certificate_amount, f"/api/v1/contracts/{contract.id}/corrections"
    department = api(users["department"])
    body = {"month": f"{this_month():%Y-%m}", "direction": "refund", "reason": "Занятия отменены"}
    assert department.post(url, json={**body, "amount_rub": str(part // 100)}).status_code == 201  # all of it back
    with money_unchanged():
        refused = department.post(url, json={**body, "amount_rub": "1"})
    assert refused.status_code == 422 and "Вернуть можно не больше" in refused.json["errors"]["json"]["amount_rub"][0]
    charge = {**body, "direction": "charge"}
    assert department.post(url, json={**charge, "amount_rub": str(part // 100)}).status_code == 201  # spent again
    with money_unchanged():
        refused = department.post(url, json={**charge, "amount_rub": "1"})
    assert refused.status_code == 422 and "не больше его доли" in refused.json["errors"]["json"]["amount_rub"][0]
    db.session.expire_all()
    assert balance_of(setup["certificate"].id).spent == part
    assert db.session.execute(select(func.count()).select_from(LedgerEntry).where(
        LedgerEntry.kind == "correction")).scalar_one() == 2


def test_the_period_end_expires_what_is_left(app, setup):
    contract = make_contract(setup["certificate"], setup["provider"], setup["program"])
    period = current_period()
    with pytest.raises(ValidationError):
        expiry.expire_period(period.id, setup["department"])
    counts = expiry.expire_period(period.id, setup["department"], today=period.ends_on + timedelta(days=1))
    db.session.commit()
    balance = balance_of(setup["certificate"].id)
    assert counts["amount"] == 15_000_00 - contract.certificate_part == balance.expired
    assert balance.available == 0 and setup["certificate"].status == "expired"
    again = expiry.expire_period(period.id, setup["department"], today=period.ends_on + timedelta(days=1))
    assert again["certificates"] == 0


def test_the_period_expires_in_batches_each_committed(app, setup):
    others = [make_certificate(department=setup["department"]) for _ in range(2)]
    db.session.commit()
    period = current_period()
    totals = expiry.expire_period_in_batches(period.id, None, batch=1, today=period.ends_on + timedelta(days=1))
    assert totals == {"certificates": 3, "amount": 3 * 15_000_00}
    db.session.expire_all()
    assert {c.status for c in (setup["certificate"], *others)} == {"expired"}
    assert expiry.expire_period_in_batches(period.id, None, today=period.ends_on + timedelta(days=1)) == {
        "certificates": 0, "amount": 0}


def test_wrong_roles_and_strangers_are_refused(api, users, setup):
    contract = make_contract(setup["certificate"], setup["provider"], setup["program"], sign=False)
    enrollment_id = contract.enrollment_id
    stranger = make_user("parent")
    db.session.commit()
    with money_unchanged():
        assert api(setup["parent"]).post(f"/api/v1/enrollments/{enrollment_id}/accept").status_code == 403
        assert api(setup["provider"]).post(f"/api/v1/contracts/{contract.id}/sign").status_code == 403
        assert api(stranger).get(f"/api/v1/contracts/{contract.id}").status_code == 404
        assert api(stranger).post(f"/api/v1/contracts/{contract.id}/sign").status_code == 404
    assert api(users["bookkeeping"]).get(f"/api/v1/contracts/{contract.id}").status_code == 200


def test_provider_declines_with_a_reason(api, setup):
    parent = api(setup["parent"])
    enrollment = parent.post("/api/v1/enrollments", json={
        "certificate_id": setup["certificate"].id, "group_id": setup["group"].id,
        "start_month": f"{this_month():%Y-%m}"}).json
    provider = api(setup["provider"])
    assert provider.post(f"/api/v1/enrollments/{enrollment['id']}/decline", json={"reason": " "}).status_code == 422
    declined = provider.post(f"/api/v1/enrollments/{enrollment['id']}/decline", json={"reason": "Группа занята"})
    assert declined.json["status"] == "declined"
    assert parent.get("/api/v1/enrollments").json[0]["decline_reason"] == "Группа занята"


def test_seats_left_are_derived_from_contracts(api, setup):
    make_contract(setup["certificate"], setup["provider"], setup["program"])
    db.session.commit()
    program = api().get(f"/api/v1/programs/{setup['program'].id}").json
    assert program["groups"][0]["seats_left"] == 9


def test_cli_expire_and_check(app, setup):
    runner = app.test_cli_runner()
    assert "Расхождений нет." in runner.invoke(args=["ledger", "check"]).output
    result = runner.invoke(args=["ledger", "expire", "--period", current_period().code])
    assert result.exit_code != 0 and "ещё не закончился" in result.output


def test_the_notice_month_can_still_be_reported_and_the_months_after_cannot(app, setup):
    contract = make_contract(setup["certificate"], setup["provider"], setup["program"])
    if len(contract.months) < 2:
        pytest.skip("the period's last month: nothing to terminate after it")
    first, second = contract.months[0].month, contract.months[1].month
    contracts.terminate(contract.id, setup["parent"], "Переезд", today=first + timedelta(days=14))
    report = service_reports.report_month(contract.id, setup["provider"], first, True, today=second)  # after its end
    assert report.amount == contract.months[0].certificate_amount and contract.status == "active"
    with pytest.raises(ConflictError, match="отменён расторжением"):
        service_reports.report_month(contract.id, setup["provider"], second, True, today=add_months(second, 1))
    contracts.end_noticed(today=second)
    db.session.commit()
    assert contract.status == "terminated" and balance_of(setup["certificate"].id).reserved == 0


def test_a_child_can_enrol_again_after_rejecting_the_offer_but_not_twice_at_once(api, setup):
    parent = api(setup["parent"])
    body = {"certificate_id": setup["certificate"].id, "group_id": setup["group"].id,
            "start_month": f"{this_month():%Y-%m}"}
    first = parent.post("/api/v1/enrollments", json=body).json
    offer = api(setup["provider"]).post(f"/api/v1/enrollments/{first['id']}/accept").json
    assert parent.post("/api/v1/enrollments", json=body).json["status"] == "already_enrolled"
    assert parent.post(f"/api/v1/contracts/{offer['id']}/reject").json["status"] == "rejected"
    again = parent.post("/api/v1/enrollments", json=body)
    assert again.status_code == 201


def test_one_account_acts_for_one_provider(api, setup):
    from tests.factories import application_data
    from tests.registry.test_applications import _json
    response = api(setup["provider"]).post("/api/v1/registry/applications", json=_json(application_data()))
    assert response.status_code == 409 and response.json["status"] == "already_provider"


def test_the_parent_sees_each_certificate_with_its_balance_and_next_payments(setup, login):
    from certapp.db import db

    contract = make_contract(setup["certificate"], setup["provider"], setup["program"])
    db.session.commit()
    first = contract.months[0]
    for url in ("/", "/certificates/"):
        page = login(setup["parent"]).get(url).get_data(as_text=True)
        assert 'class="balance-bar" role="img"' in page
        assert "Следующие списания:" in page and format_rub(first.certificate_amount) in page


def _pdf_text(body: bytes, tmp_path) -> str:
    import shutil
    import subprocess
    if not shutil.which("pdftotext"):
        pytest.skip("pdftotext (Debian poppler-utils) is not installed")
    path = tmp_path / "certificate.pdf"
    path.write_bytes(body)
    return subprocess.run(["pdftotext", str(path), "-"], capture_output=True, text=True, check=True).stdout


def test_the_certificate_shows_its_three_parts_on_the_page_in_the_pdf_and_the_api(api, login, setup, tmp_path):
    contract = make_contract(setup["certificate"], setup["provider"], setup["program"])
    service_reports.report_month(contract.id, setup["provider"], this_month(), lessons_planned=8, lessons_held=6,
                                 reason="Карантин", today=add_months(this_month(), 1))
    db.session.commit()
    certificate_id, number = setup["certificate"].id, contract.number
    expected = round(contract.months[0].certificate_amount * 6 / 8)
    document = api(setup["parent"]).get(f"/api/v1/certificates/{certificate_id}/document")
    assert document.status_code == 200, document.json
    body = document.json
    assert body["general"]["id"] == certificate_id
    assert body["service"][0]["program"] == setup["program"].title and body["service"][0]["service_code"]
    part = body["contracts"][0]
    assert (part["number"], part["delivered"], part["spent"]) == (number, 1, expected)
    assert (part["months"][0]["lessons_held"], part["months"][0]["spent"]) == (6, expected)
    assert api(make_user("parent")).get(f"/api/v1/certificates/{certificate_id}/document").status_code == 404

    page = login(setup["parent"]).get(f"/certificates/{certificate_id}").get_data(as_text=True)
    for heading in ("Часть 1. Общие сведения", "Часть 2. Услуга и выбранный исполнитель",
                    "Часть 3. Договор и результаты оказания услуги"):
        assert heading in page
    assert f"Договор № {number}" in page and "6 из 8" in page
    text = _pdf_text(login(setup["parent"]).get(f"/certificates/{certificate_id}/certificate.pdf").data, tmp_path)
    assert "Часть 3. Договор и результаты оказания услуги" in text and number in text and "занятий 6 из 8" in text


def test_the_contract_page_says_who_pays_to_whom_it_is_shown(setup, login):
    """The parent reads «Оплачиваете вы»; the provider and the department «Оплачивает родитель»; a month's
    service in the schedule agrees with «услуга» («Запланирована»)."""
    contract = make_contract(setup["certificate"], setup["provider"], setup["program"])
    db.session.commit()
    own = login(setup["parent"]).get(f"/contracts/{contract.id}").get_data(as_text=True)
    assert "Оплачиваете вы" in own and "Оплачивает родитель" not in own
    for user in (setup["provider"], setup["department"]):
        page = login(user).get(f"/contracts/{contract.id}").get_data(as_text=True)
        assert "Оплачивает родитель" in page and "Оплачиваете вы" not in page
    assert "Запланирована" in own and "Запланирован<" not in own


def test_refusing_an_offer_and_terminating_ask_to_confirm_and_say_it_is_final(setup, login):
    """The parent's «Отказаться от договора» and the notice of termination are final: the page asks first."""
    offered = make_contract(setup["certificate"], setup["provider"], setup["program"], sign=False)
    db.session.commit()
    page = html.unescape(login(setup["parent"]).get(f"/contracts/{offered.id}").get_data(as_text=True))
    assert f'data-confirm="Отказаться от договора № {offered.number}? Отказ окончателен' in page
    contracts.reject_offer(offered.id, setup["parent"])  # one contract of a child in a group at a time
    db.session.commit()
    active = make_contract(setup["certificate"], setup["provider"], setup["program"])
    db.session.commit()
    page = html.unescape(login(setup["parent"]).get(f"/contracts/{active.id}").get_data(as_text=True))
    assert f'data-confirm="Подать уведомление о расторжении договора № {active.number}? Это окончательно' in page


def _alerts(page: str) -> str:
    """The messages at the page's top (flashed)."""
    return " ".join(part.split("</div>")[0] for part in page.split('<div class="alert alert-')[1:])


def test_a_refused_action_shows_its_reason_beside_its_field_and_changes_nothing(app, login, setup):
    contract = make_contract(setup["certificate"], setup["provider"], setup["program"], sign=False)
    db.session.commit()
    parent = login(setup["parent"])
    unticked = parent.post(f"/contracts/{contract.id}/sign", data={"sign-agree": ""})
    page = unticked.get_data(as_text=True)
    assert unticked.status_code == 422
    assert 'id="sign-agree-error">Подтвердите согласие с условиями договора.<' in page
    assert 'aria-invalid="true"' in page and "Подтвердите согласие" not in _alerts(page)
    db.session.expire_all()
    assert db.session.get(Contract, contract.id).status == "offered"
    assert balance_of(setup["certificate"].id).reserved == 0

    contracts.sign_contract(contract.id, setup["parent"], "127.0.0.1")
    db.session.commit()
    month = this_month()
    set_clock(app, add_months(month, 1))  # the month is over: it can be reported
    refused = login(setup["provider"]).post(f"/contracts/{contract.id}/report", data={
        "report-month": f"{month:%Y-%m}", "report-lessons_planned": "8", "report-lessons_held": "9"})
    page = refused.get_data(as_text=True)
    assert refused.status_code == 422  # the service's refusal, tied to the lessons held
    assert 'id="report-lessons_held-error">Проведено занятий — от 0 до 8' in page
    assert "Проведено занятий —" not in _alerts(page) and 'value="9"' in page  # the form as it was sent
    assert db.session.execute(select(func.count()).select_from(ServiceReport)).scalar_one() == 0
    # a refusal tied to no field stays at the page's top: a signed contract is no offer to reject
    rejected = parent.post(f"/contracts/{contract.id}/reject")
    assert rejected.status_code == 422 and "Договор в состоянии" in _alerts(rejected.get_data(as_text=True))
    db.session.expire_all()
    assert db.session.get(Contract, contract.id).status == "active"


def test_the_schedules_totals_card_carries_its_figures_titles_on_a_phone(app, login, setup):
    """On a phone the schedule is a column of cards, each value under its column's title (data-label, shown by
    the stylesheet): the totals row «Итого» too, its figures being a row's header cells (th) in the table's foot."""
    contract = make_contract(setup["certificate"], setup["provider"], setup["program"], sign=False)
    db.session.commit()
    page = login(setup["parent"]).get(f"/contracts/{contract.id}").get_data(as_text=True)
    totals = page.split("<tfoot>")[1].split("</tfoot>")[0]
    assert "<th>Итого</th>" in totals
    assert '<th class="num" data-label="Сертификат">' in totals and '<th class="num" data-label="Родитель">' in totals
    stylesheet = (Path(app.static_folder) / "css" / "app.css").read_text(encoding="utf-8")
    assert ".table.as-cards :is(td, th)[data-label]::before { content: attr(data-label);" in stylesheet
    assert ".table.as-cards tfoot th { display: block; }" in stylesheet.replace("\n  ", " ")


def test_hostile_report_values_are_refused_beside_their_field_and_store_nothing(app, login, setup):
    """Letters, a NUL, 5 000 digits or a negative count in a month's report: 422 with a Russian message
    beside the field it concerns (never a 500 nor only a message at the top), and no report stored."""
    contract = make_contract(setup["certificate"], setup["provider"], setup["program"], sign=False)
    contracts.sign_contract(contract.id, setup["parent"], "127.0.0.1")
    db.session.commit()
    month = this_month()
    set_clock(app, add_months(month, 1))
    provider = login(setup["provider"])
    for field, value in (("lessons_planned", "abc"), ("lessons_planned", "9" * 5000), ("lessons_planned", "\x00"),
                         ("lessons_held", "-1"), ("attendance", "abc")):
        data = {"report-month": f"{month:%Y-%m}", "report-lessons_planned": "8", "report-lessons_held": "8",
                f"report-{field}": value}
        refused = provider.post(f"/contracts/{contract.id}/report", data=data)
        page = refused.get_data(as_text=True)
        assert refused.status_code == 422, (field, value[:10])
        assert f'id="report-{field}-error">' in page, (field, value[:10], _alerts(page))
        if value != "-1":  # a value sent, but no number: not «заполните», which it was
            assert f'id="report-{field}-error">Поле «' in page and "неверное целое число" in page, (field, value[:10])
    assert db.session.execute(select(func.count()).select_from(ServiceReport)).scalar_one() == 0
    empty = provider.post(f"/contracts/{contract.id}/report", data={"report-month": f"{month:%Y-%m}",
                                                                     "report-lessons_planned": " "})
    assert 'id="report-lessons_planned-error">Заполните поле «Занятий по расписанию».<' in empty.get_data(as_text=True)
