"""The department's home: counters with their trends (the last 30 days against the 30 before) and
how long the oldest item of each queue has waited."""
from datetime import timedelta

from certapp.certificates import services as certificates
from certapp.db import db, utcnow
from certapp.reporting.services import department_counters
from tests.factories import child_data, current_period, make_certificate, make_contract, make_program, make_provider


def test_counters_compare_the_last_30_days_with_the_30_before(app, users):
    department = users["department"]
    provider_user, _ = make_provider(users["provider"], department)
    program = make_program(provider_user, department)
    recent = [make_certificate(users["parent"], department, first_name=name) for name in ("Анна", "Борис", "Вера")]
    older = make_certificate(users["parent"], department, first_name="Глеб")
    older.issued_at = utcnow() - timedelta(days=45)
    ancient = make_certificate(users["parent"], department, first_name="Дарья")
    ancient.issued_at = utcnow() - timedelta(days=90)
    make_contract(recent[0], provider_user, program)
    child = certificates.add_child(users["parent"], child_data(first_name="Ева"))
    certificates.apply(users["parent"], child.id, current_period().id, True)
    db.session.commit()

    counters = {c.title: c for c in department_counters()}
    issued = counters["Действующих сертификатов"]
    assert (issued.value, issued.recent, issued.before, issued.change) == (5, 3, 1, 2)
    waiting = counters["Заявлений ждут решения"]
    assert (waiting.value, waiting.recent) == (1, 6)   # five confirmed and one waiting were filed now
    contracts = counters["Действующих договоров"]
    assert (contracts.value, contracts.recent, contracts.before) == (1, 1, 0)
    assert counters["Детей учатся по сертификатам"].value == 1
    assert counters["Детей учатся по сертификатам"].change is None
    money = counters["Оплачено сертификатами за 30 дней"]
    assert money.money and (money.value, money.before) == (0, 0)


def test_the_home_page_shows_counters_trends_and_the_oldest_waiting(login, users):
    parent = users["parent"]
    child = certificates.add_child(parent, child_data())
    application = certificates.apply(parent, child.id, current_period().id, True)
    application.created_at = utcnow() - timedelta(days=3, hours=1)
    make_certificate(parent, users["department"], first_name="Анна")
    db.session.commit()
    page = login(users["department"]).get("/").get_data(as_text=True)
    assert 'class="counters"' in page and "Действующих сертификатов" in page
    assert "выдано за 30 дней: 1, за предыдущие 30: 0" in page
    assert "самое давнее ждёт 3 дня" in page
    assert "Оплачено сертификатами за 30 дней" in page and "0,00\u00a0₽" in page


def test_an_application_of_today_waits_since_today_not_0_days(login, users):
    parent = users["parent"]
    child = certificates.add_child(parent, child_data())
    certificates.apply(parent, child.id, current_period().id, True)
    db.session.commit()
    page = login(users["department"]).get("/").get_data(as_text=True)
    assert "поданы сегодня" in page and "ждёт 0 дней" not in page
