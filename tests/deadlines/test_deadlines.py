"""Deadlines in working days over the production calendar; due dates on documents; reminders,
overdue notices and the lapse of unsigned offers."""
from datetime import date, timedelta

import pytest
from sqlalchemy import func, select

from certapp.audit.models import AuditEvent
from certapp.certificates import services as certificates
from certapp.common import clock
from certapp.contracts import contracts
from certapp.contracts.models import Contract
from certapp.contracts.seats import seats_left
from certapp.db import db
from certapp.deadlines import services
from certapp.deadlines.calendar import add_working_days, working_days_between
from certapp.ledger.services import balance_of, check_invariant
from certapp.notifications.models import Notification
from certapp.reminders import check_deadlines, overdue
from certapp.reporting import services as reporting
from certapp.uow import transaction
from tests.factories import child_data, current_period, make_certificate, make_contract, make_program, make_provider

HOLIDAYS_2026 = {date(2026, 1, d): "holiday" for d in (1, 2, 5, 6, 7, 8, 9)} | {
    date(2026, 2, 23): "holiday", date(2026, 3, 9): "holiday", date(2026, 5, 1): "holiday",
    date(2026, 5, 11): "holiday", date(2026, 6, 12): "holiday", date(2026, 11, 4): "holiday",
    date(2026, 12, 31): "holiday"}


@pytest.mark.parametrize("start, days, due", [
    (date(2026, 11, 24), 5, date(2026, 12, 1)),     # Tue + 5: over a weekend
    (date(2026, 11, 2), 5, date(2026, 11, 10)),     # over 4 November (Wed)
    (date(2026, 12, 28), 5, date(2027, 1, 5)),      # 31 December is off (2027's days are not in this map)
    (date(2026, 4, 30), 1, date(2026, 5, 4)),       # 1 May is a Friday holiday
    (date(2026, 5, 8), 1, date(2026, 5, 12)),       # 11 May (for 9 May) is off
    (date(2026, 11, 27), 0, date(2026, 11, 27)),
])
def test_working_days_skip_weekends_and_holidays(start, days, due):
    assert add_working_days(start, days, HOLIDAYS_2026) == due


def test_a_working_saturday_counts_and_days_between_are_signed():
    saturday = date(2026, 11, 28)
    assert add_working_days(date(2026, 11, 27), 1, {saturday: "workday"}) == saturday
    assert working_days_between(date(2026, 11, 24), date(2026, 12, 1), HOLIDAYS_2026) == 5
    assert working_days_between(date(2026, 12, 1), date(2026, 11, 24), HOLIDAYS_2026) == -5


def test_the_migration_filled_the_calendar_and_the_service_reads_it(app):
    calendar = services.exceptions()
    assert calendar[date(2026, 1, 9)] == "holiday" and calendar[date(2027, 6, 14)] == "holiday"
    assert services.due_date("certificate_review", date(2026, 12, 28)).isoformat() == "2027-01-13"
    assert services.month_deadline("report", date(2026, 10, 1)) == date(2026, 11, 5)
    assert services.month_deadline("payment", date(2027, 1, 1)) == date(2027, 2, 10)


def test_documents_get_their_due_dates(users):
    parent = users["parent"]
    child = certificates.add_child(parent, child_data())
    application = certificates.apply(parent, child.id, current_period().id, True)
    assert application.due_on == services.due_date("certificate_review", clock.today())
    provider_user, _ = make_provider(users["provider"], users["department"])
    program = make_program(provider_user, users["department"], publish=False)
    from certapp.programs.services import submit_program
    submit_program(program.id, provider_user)
    assert program.review_due_on == services.due_date("program_review", clock.today())
    contract = make_contract(make_certificate(parent, users["department"], first_name="Анна"), provider_user,
                             make_program(provider_user, users["department"], title="Шахматы"), sign=False)
    assert contract.offer_expires_on == services.due_date("offer", clock.today())


def test_an_unsigned_offer_lapses_frees_its_seat_and_moves_no_money(users):
    provider_user, _ = make_provider(users["provider"], users["department"])
    program = make_program(provider_user, users["department"], capacity=1)
    certificate = make_certificate(users["parent"], users["department"])
    contract = make_contract(certificate, provider_user, program, sign=False)
    db.session.commit()
    assert seats_left(program.groups)[program.groups[0].id] == 0
    before = balance_of(certificate.id)
    with transaction():
        assert contracts.lapse_offers(contract.offer_expires_on) == 0            # the last day is still open
    with transaction():
        assert contracts.lapse_offers(contract.offer_expires_on + timedelta(days=1)) == 1
    db.session.expire_all()
    contract = db.session.get(Contract, contract.id)
    assert contract.status == "lapsed" and contract.status_name == "Не подписан в срок"
    assert seats_left(program.groups)[program.groups[0].id] == 1
    after = balance_of(certificate.id)
    assert (after.available, after.reserved) == (before.available, before.reserved)
    assert check_invariant() == []
    event = db.session.execute(select(AuditEvent).where(AuditEvent.action == "contract.lapsed")).scalar_one()
    assert "не подписан до" in event.details["reason"] and event.actor_label == "система"
    titles = set(db.session.execute(select(Notification.title)).scalars())
    assert f"Договор № {contract.number} не подписан в срок" in titles
    with transaction():
        assert contracts.lapse_offers(clock.today() + timedelta(days=400)) == 0   # nothing twice


def test_the_lapse_job_runs_every_batch(app, users):
    from certapp.contracts.jobs import lapse_unsigned_offers

    provider_user, _ = make_provider(users["provider"], users["department"])
    program = make_program(provider_user, users["department"])
    contract = make_contract(make_certificate(users["parent"], users["department"]), provider_user, program, sign=False)
    contract.offer_expires_on = clock.today() - timedelta(days=1)
    db.session.commit()
    assert lapse_unsigned_offers.call_local() == 1


def test_reminders_come_a_working_day_before_and_overdue_is_told_once(users):
    parent = users["parent"]
    child = certificates.add_child(parent, child_data())
    application = certificates.apply(parent, child.id, current_period().id, True)
    db.session.commit()
    due = application.due_on
    for year in range(due.year - 1, due.year + 2):  # the social orders are in time (their own deadline)
        order = reporting.create_order(year, users["department"])
        reporting.approve_order(order.id, users["department"])
    db.session.commit()
    day_before = due - timedelta(days=1)
    while services.tomorrow_working(day_before) != due:
        day_before -= timedelta(days=1)
    with transaction():
        assert check_deadlines(day_before) == 1
    with transaction():
        assert check_deadlines(day_before) == 0        # the job run again writes nothing twice
    reminder = db.session.execute(select(Notification).where(Notification.kind == "deadline")).scalar_one()
    assert reminder.role == "department" and "1 заявление на сертификат" in reminder.title
    late = due + timedelta(days=1)
    with transaction():
        assert check_deadlines(late) == 1
    assert [o.title for o in overdue(late)] == ["заявление на сертификат"]
    assert overdue(due) == []


def test_the_department_sees_due_dates_and_what_is_overdue(login, users):
    parent = users["parent"]
    child = certificates.add_child(parent, child_data())
    application = certificates.apply(parent, child.id, current_period().id, True)
    application.due_on = clock.today() - timedelta(days=7)
    db.session.commit()
    department = login(users["department"])
    home = department.get("/").get_data(as_text=True)
    assert "Просрочено" in home and "заявление на сертификат" in home
    queue = department.get("/certificates/queue").get_data(as_text=True)
    assert "просрочено на" in queue and 'class="due overdue"' in queue


@pytest.mark.parametrize("left, text", [
    (5, "до 18.12.2026, осталось 5 рабочих дней"),
    (1, "до 18.12.2026, остался 1 рабочий день"),
    (2, "до 18.12.2026, осталось 2 рабочих дня"),
    (21, "до 18.12.2026, остался 21 рабочий день"),
    (12, "до 18.12.2026, осталось 12 рабочих дней"),
    (0, "срок 18.12.2026 — сегодня последний день"),
    (-2, "срок 18.12.2026, просрочено на 2 рабочих дня"),
    (-11, "срок 18.12.2026, просрочено на 11 рабочих дней"),
])
def test_a_deadline_reads_with_its_number_of_working_days(left, text):
    from certapp.deadlines.views import due_text
    assert due_text(date(2026, 12, 18), left) == text


@pytest.mark.app_config(CLOCK_NOW="2026-12-11")
def test_the_queue_shows_how_many_working_days_are_left(login, users):
    parent = users["parent"]
    application = certificates.apply(parent, certificates.add_child(parent, child_data()).id, current_period().id, True)
    application.due_on = date(2026, 12, 18)     # Friday 11 → Friday 18: five working days
    db.session.commit()
    queue = login(users["department"]).get("/certificates/queue").get_data(as_text=True)
    assert '<span class="due">до 18.12.2026, осталось 5 рабочих дней</span>' in queue


@pytest.mark.app_config(CLOCK_NOW="2026-12-04")  # the page shows this year's calendar: 2026's moved days off
def test_the_department_edits_the_deadlines_and_the_calendar(login, api, users):
    department = login(users["department"])
    page = department.get("/deadlines/").get_data(as_text=True)
    assert "Рассмотрение заявления на сертификат" in page and "Перенос выходного с 3 января" in page
    form = {r["kind"]: r["days"] for r in services.rules()} | {"certificate_review": "7"}
    assert department.post("/deadlines/", data=form).status_code == 302
    assert services.rule_days("certificate_review") == 7
    wrong = department.post("/deadlines/", data=form | {"offer": "0", "report": "31"})
    assert wrong.status_code == 422 and services.rule_days("offer") == 10
    client = api(users["department"])
    assert client.put("/api/v1/deadlines/rules", json={"days": {"offer": 14}}).status_code == 200
    assert services.rule_days("offer") == 14
    assert client.put("/api/v1/deadlines/rules", json={"days": {"nonsense": 1}}).status_code == 422
    added = client.post("/api/v1/deadlines/holidays", json={"day": "2027-01-11", "kind": "holiday",
                                                            "name": "Перенос с 2 января"})
    assert added.status_code == 201
    assert services.due_date("certificate_review", date(2027, 1, 8)) == date(2027, 1, 20)   # 7 days, 11 January off
    assert client.post("/api/v1/deadlines/holidays", json={"day": "2027-01-11", "kind": "holiday",
                                                           "name": "x"}).status_code == 422
    assert api(users["parent"]).get("/api/v1/deadlines/rules").status_code == 403
    assert client.delete(f"/api/v1/deadlines/holidays/{added.json['id']}").status_code == 204
    assert db.session.scalar(select(func.count(AuditEvent.id)).where(AuditEvent.action.like("holiday.%"))) == 2


def test_the_nightly_ledger_check_tells_the_department_of_a_mismatch(users):
    from sqlalchemy import update

    from certapp.contracts.jobs import nightly_ledger_check
    from certapp.ledger.models import CertificateBalance

    certificate = make_certificate(users["parent"], users["department"])
    db.session.commit()
    assert nightly_ledger_check.call_local() == 0
    assert db.session.scalar(select(func.count(Notification.id)).where(Notification.kind == "system")) == 0
    db.session.execute(update(CertificateBalance).where(CertificateBalance.certificate_id == certificate.id)
                       .values(available=CertificateBalance.available - 1,
                               spent=CertificateBalance.spent + 1))   # a tampered balance (its sum still holds)
    db.session.commit()
    assert nightly_ledger_check.call_local() >= 1
    assert nightly_ledger_check.call_local() >= 1      # a second run the same day tells nobody twice
    note = db.session.execute(select(Notification).where(Notification.kind == "system")).scalar_one()
    assert note.role == "department" and "расхождений" in note.title
    db.session.execute(update(CertificateBalance).where(CertificateBalance.certificate_id == certificate.id)
                       .values(available=CertificateBalance.available + 1, spent=CertificateBalance.spent - 1))
    db.session.commit()


def test_the_registers_of_last_month_are_drafted_on_the_first(users):
    from certapp.bookkeeping.jobs import build_month
    from certapp.bookkeeping.models import PaymentRegister
    from certapp.common.months import add_months
    built, skipped = build_month(add_months(clock.today().replace(day=1), -1), None)  # nothing to pay
    assert (built, skipped) == (0, [])
    assert db.session.scalar(select(func.count(PaymentRegister.id))) == 0
