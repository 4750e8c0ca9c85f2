"""«Что ждёт решения»: what waits on an official's or a provider's side, with due dates from the deadlines'
rules and the working days overdue; filters and paging in the page and the API; notifications whose
matter was decided say so and stop waiting."""
import json
from datetime import date

import pytest
from sqlalchemy import func, select

from certapp.certificates import services as certificates
from certapp.common import clock
from certapp.contracts import contracts as contract_docs
from certapp.contracts import enrollments as contracts
from certapp.contracts import service_reports
from certapp.db import db
from certapp.matters.services import matters_for
from certapp.notifications import services as notifications
from certapp.notifications.models import Notification
from certapp.programs import services as programs
from certapp.reference.models import Municipality
from certapp.registry import services as registry
from certapp.reminders import check_deadlines
from certapp.uow import transaction
from tests.factories import (
    application_data,
    child_data,
    current_period,
    make_certificate,
    make_contract,
    make_program,
    make_provider,
    make_user,
)


def _application(parent, due_on: date, **child):
    application = certificates.apply(parent, certificates.add_child(parent, child_data(**child)).id,
                                     current_period().id, True)
    application.due_on = due_on
    return application


@pytest.mark.app_config(CLOCK_NOW="2026-12-11")
def test_the_department_reads_what_waits_and_how_many_working_days_it_is_overdue(login, users):
    late = _application(users["parent"], date(2026, 12, 8), first_name="Анна")        # Tue: 9, 10, 11 passed
    soon = _application(users["parent"], date(2026, 12, 18), first_name="Борис")      # Fri: 14–18 left
    db.session.commit()
    page = login(users["department"]).get("/matters")
    text = page.get_data(as_text=True)
    assert page.status_code == 200
    assert "Ждут решения: 2 дела, из них просрочено: <strong>1</strong>" in text
    assert f"Заявление на сертификат № {late.number}" in text and late.child.full_name in text
    assert "08.12.2026" in text and "просрочено на 3 рабочих дня" in text
    assert "18.12.2026" in text and "осталось 5 рабочих дней" in text
    assert text.index(late.number) < text.index(soon.number)                          # the overdue one first
    only_late = login(users["department"]).get("/matters?overdue=1").get_data(as_text=True)
    assert late.number in only_late and soon.number not in only_late
    home = login(users["department"]).get("/").get_data(as_text=True)
    assert 'href="/matters?overdue=1"' in home and "/matters?kind=certificate_review&amp;overdue=1" in home


@pytest.mark.app_config(CLOCK_NOW="2026-12-11")
def test_a_wrong_filter_is_told_in_russian_beside_it_and_the_list_stays(login, api, users):
    _application(users["parent"], date(2026, 12, 8))
    db.session.commit()
    page = login(users["department"]).get("/matters?kind=nonsense&provider=abc")
    text = page.get_data(as_text=True)
    assert page.status_code == 422
    assert "Такого вида дел нет: выберите из списка." in text and "Такого исполнителя нет" in text
    assert "просрочено на 3 рабочих дня" in text
    client = api(users["department"])
    refused = client.get("/api/v1/matters?kind=nonsense&overdue=maybe")
    assert refused.status_code == 422 and set(refused.json["errors"]["query"]) == {"kind", "overdue"}
    assert api(users["parent"]).get("/api/v1/matters").status_code == 403
    assert login(users["parent"]).get("/matters").status_code == 403


@pytest.mark.app_config(CLOCK_NOW="2026-12-11")
@pytest.mark.parametrize("role, name, value, message", [
    ("department", "kind", "nonsense", "Такого вида дел нет: выберите из списка."),
    ("provider", "kind", "certificate_review", "Такого вида дел нет: выберите из списка."),  # not a provider's
    ("department", "provider", "1" * 5000, "Такого исполнителя нет: выберите из списка."),
    ("department", "provider", "x1", "Такого исполнителя нет: выберите из списка."),
    ("department", "overdue", "maybe", "Укажите 1 (да) или 0 (нет)."),
])
def test_the_page_and_the_api_refuse_a_filter_with_the_same_message(login, api, users, role, name, value, message):
    """One schema (matters.schemas.MatterQuerySchema) parses the filters of the page and of the API."""
    _application(users["parent"], date(2026, 12, 8))
    db.session.commit()
    page = login(users[role]).get("/matters", query_string={name: value})
    assert page.status_code == 422 and f'id="{name}-error">{message}<' in page.get_data(as_text=True)
    answer = api(users[role]).get("/api/v1/matters", query_string={name: value})
    assert answer.status_code == 422 and answer.json["errors"]["query"] == {name: [message]}


@pytest.mark.app_config(CLOCK_NOW="2026-12-11")
def test_a_provider_id_in_fullwidth_or_arabic_indic_digits_filters_alike(login, api, users):
    late = _application(users["parent"], date(2026, 12, 8))
    provider_user = make_user("provider")
    _, provider = make_provider(provider_user, users["department"])
    program = make_program(provider_user, users["department"], publish=False, title="Керамика")
    programs.submit_program(program.id, provider_user)
    db.session.commit()
    plain = api(users["department"]).get(f"/api/v1/matters?provider={provider.id}").json
    assert [m["title"] for m in plain] == ["Программа «Керамика»"]
    for digits in ("０１２３４５６７８９", "٠١٢٣٤٥٦٧٨٩"):
        typed = str(provider.id).translate(str.maketrans("0123456789", digits))
        page = login(users["department"]).get("/matters", query_string={"provider": typed})
        text = page.get_data(as_text=True)
        assert page.status_code == 200 and "Программа «Керамика»" in text and late.number not in text
        assert api(users["department"]).get("/api/v1/matters", query_string={"provider": typed}).json == plain
    other = Municipality(name="Курагинский район", oktmo="04630000", number_code="30")
    db.session.add(other)
    db.session.flush()
    stranger = make_user("department", municipality_id=other.id)
    db.session.commit()
    # another municipality's official: a provider not admitted there is refused beside the filter, as none at all
    for provider_id in (provider.id, 10**15):
        foreign = login(stranger).get(f"/matters?provider={provider_id}")
        assert foreign.status_code == 422 and "Такого исполнителя нет: выберите из списка." in foreign.get_data(as_text=True)
        refused = api(stranger).get(f"/api/v1/matters?provider={provider_id}")
        assert refused.status_code == 422
        assert refused.json["errors"]["query"]["provider"] == ["Такого исполнителя нет: выберите из списка."]


@pytest.mark.app_config(CLOCK_NOW="2026-12-11")
def test_the_api_lists_the_same_matters_with_the_same_filters_and_pages(api, users):
    for i, day in enumerate((8, 10, 18)):
        _application(users["parent"], date(2026, 12, day), first_name=f"Анна{'а' * i}")
    provider_user = make_user("provider")
    application = registry.save_application(provider_user, application_data())
    registry.submit_application(application.id, provider_user)
    db.session.commit()
    client = api(users["department"])
    answer = client.get("/api/v1/matters")
    everything = answer.json
    assert _total(answer) == 4 and sum(m["overdue"] for m in everything) == 2
    first = everything[0]
    assert first["kind"] == "certificate_review" and first["due_on"] == "2026-12-08" and first["days_left"] == -3
    assert first["overdue"] and first["days_overdue"] == 3 and first["due_text"] == "просрочено на 3 рабочих дня"
    registry_only = client.get("/api/v1/matters?kind=registry_review").json
    assert [m["title"] for m in registry_only] == [f"Заявка в реестр № {application.number}"]
    second_page = client.get("/api/v1/matters?page_size=3&page=2")
    assert _total(second_page) == 4 and len(second_page.json) == 1
    assert _total(client.get("/api/v1/matters?overdue=true")) == 2


def _total(answer) -> int:
    """The list's total, from the one pagination contract's header."""
    return json.loads(answer.headers["X-Pagination"])["total"]


@pytest.mark.app_config(CLOCK_NOW="2026-12-04")  # the contract of December 2026, its report late in January 2027
def test_a_provider_sees_its_own_months_to_report_and_the_department_filters_by_provider(users):
    provider_user, provider = make_provider(users["provider"], users["department"])
    program = make_program(provider_user, users["department"])
    make_contract(make_certificate(users["parent"], users["department"]), provider_user, program,
                  today=date(2026, 12, 4))
    db.session.commit()
    # December is reported from 1 January, due on the 5th; on 12.01.2027 (6–8 January are holidays) it is
    # two working days late
    today = date(2027, 1, 12)
    own = matters_for(provider_user, today=today)
    assert [(m.kind, m.title, m.due_on, m.due_text) for m in own] == [
        ("report", "Отчёт за декабрь 2026: 1 договор", date(2027, 1, 5), "просрочено на 2 рабочих дня")]
    department = users["department"]
    assert [m.provider_name for m in matters_for(department, kind="report", provider_id=provider.id, today=today)] \
        == [provider.short_name]
    assert matters_for(department, kind="report", provider_id=provider.id + 1000, today=today) == []
    assert matters_for(provider_user, today=date(2026, 12, 31)) == []          # December is not over yet


def test_a_notification_about_a_decided_matter_says_so_and_no_longer_waits(login, users):
    department = users["department"]
    applications = []
    for _ in range(3):
        user = make_user("provider")
        application = registry.save_application(user, application_data())
        registry.submit_application(application.id, user)
        applications.append(application)
    db.session.commit()
    assert notifications.unread_count(department) == 3
    for application in applications:
        with transaction():
            registry.decide_application(application.id, "approved", department)
    assert notifications.unread_count(department) == 0            # none of the three waits any more
    told = db.session.execute(select(Notification).where(Notification.role == "department")).scalars().all()
    assert {n.settled_text for n in told} == {"решено: заявка одобрена"} and all(n.read_at is None for n in told)
    page = login(department).get("/notifications").get_data(as_text=True)
    assert page.count("решено: заявка одобрена") == 3 and "· новое" not in page
    assert login(department).get("/notifications?unread=1").get_data(as_text=True).count("решено") == 0


def test_a_provider_s_enrollment_request_is_settled_by_its_answer(users):
    provider_user, _ = make_provider(users["provider"], users["department"])
    program = make_program(provider_user, users["department"])
    certificate = make_certificate(users["parent"], users["department"])
    enrollment = contracts.request_enrollment(users["parent"], certificate.id, program.groups[0].id,
                                              clock.today().replace(day=1))
    db.session.commit()
    asked = db.session.execute(select(Notification).where(Notification.subject == f"Enrollment:{enrollment.id}")
                               ).scalar_one()
    assert asked.settled_at is None and notifications.unread_count(provider_user) >= 1
    with transaction():
        contract = contracts.accept_enrollment(enrollment.id, provider_user)
    db.session.refresh(asked)
    assert asked.settled_text == "решено: заявка принята, предложен договор"
    offer = db.session.execute(select(Notification).where(Notification.subject == f"Contract:{contract.id}")
                               ).scalar_one()
    assert offer.settled_at is None                                  # the parent's offer still waits for them
    with transaction():
        contract_docs.sign_contract(contract.id, users["parent"], "127.0.0.1")
    db.session.refresh(offer)
    assert offer.settled_text == "решено: договор подписан"


def test_an_overdue_notice_is_settled_once_nothing_of_its_kind_is_late(users):
    application = _application(users["parent"], date(2026, 12, 8))
    db.session.commit()
    with transaction():
        check_deadlines(date(2026, 12, 11))
    notice = db.session.execute(select(Notification).where(  # (the coming year's social order is reminded too)
        Notification.kind == "deadline", Notification.title.not_like("%социальный заказ%"))).scalar_one()
    assert notice.title == "Просрочено: 1 заявление на сертификат" and notice.settled_at is None
    with transaction():
        certificates.confirm(application.id, users["department"])
    db.session.refresh(notice)
    assert notice.settled_text == "решено: всё рассмотрено"
    social_orders = db.session.execute(select(func.count()).select_from(Notification).where(
        Notification.role == "department", Notification.title.like("%социальный заказ%"))).scalar_one()
    assert notifications.unread_count(users["department"]) == social_orders  # not approved in this test


@pytest.mark.app_config(CLOCK_NOW="2026-12-11")
def test_the_regional_operator_reads_a_municipality_s_matters(login, api, users):
    from certapp.reference.services import get_district

    late = _application(users["parent"], date(2026, 12, 8))
    db.session.commit()
    district = get_district()
    page = login(users["region"]).get(f"/matters?municipality={district.oktmo}")
    text = page.get_data(as_text=True)
    assert page.status_code == 200 and late.number in text and "просрочено на 3 рабочих дня" in text
    assert f'<option value="{district.oktmo}" selected>{district.name}</option>' in text
    unknown = login(users["region"]).get("/matters?municipality=00000000000")
    shown = unknown.get_data(as_text=True)           # the same message as the API's, beside the municipality
    assert unknown.status_code == 422 and "Муниципального образования с таким ОКТМО нет." in shown
    assert f'<option value="{district.oktmo}" selected>{district.name}</option>' in shown
    listed = api(users["region"]).get(f"/api/v1/matters?municipality={district.oktmo}").json
    assert [m["title"] for m in listed] == [f"Заявление на сертификат № {late.number}"]
    assert listed[0]["municipality"] == district.name
    for url in ("/api/v1/matters", "/api/v1/contracts", "/api/v1/certificates"):  # never another's rows instead
        refused = api(users["region"]).get(f"{url}?municipality=00000000000")
        assert refused.status_code == 422 and "municipality" in refused.json["errors"]["query"], url


@pytest.mark.app_config(CLOCK_NOW="2026-12-04")  # as above
def test_a_late_report_notice_is_settled_when_the_month_is_reported(users):
    provider_user, provider = make_provider(users["provider"], users["department"])
    contract = make_contract(make_certificate(users["parent"], users["department"]), provider_user,
                             make_program(provider_user, users["department"]), today=date(2026, 12, 4))
    db.session.commit()
    late = date(2027, 1, 12)
    with transaction():
        check_deadlines(late)
    told = db.session.execute(select(Notification).where(Notification.kind == "deadline")
                              .order_by(Notification.id)).scalars().all()
    assert {n.title for n in told if "социальный заказ" not in n.title} == {"Просрочен отчёт за декабрь 2026",
                                       "Не поданы отчёты за декабрь 2026: 1 исполнитель"}
    waiting = notifications.unread_count(provider_user), notifications.unread_count(users["department"])
    with transaction():
        service_reports.report_month(contract.id, provider_user, date(2026, 12, 1), True, today=late)
    for notice in told:
        db.session.refresh(notice)
    assert {n.settled_text for n in told if "социальный заказ" not in n.title} == {
        "решено: отчёты за месяц поданы", "решено: все исполнители отчитались"}
    assert (notifications.unread_count(provider_user), notifications.unread_count(users["department"])) == (
        waiting[0] - 1, waiting[1] - 1)


def test_a_provider_sees_its_agreement_to_sign_until_it_signs(users):
    from certapp.bookkeeping import agreements as bookkeeping
    from certapp.bookkeeping.models import Agreement

    provider_user, provider = make_provider(users["provider"], users["department"])
    agreement = db.session.execute(select(Agreement).where(Agreement.provider_id == provider.id)).scalar_one()
    assert [m.kind for m in matters_for(provider_user)] == []                       # a draft is not theirs yet
    with transaction():
        bookkeeping.conclude_agreement(agreement.id, users["bookkeeping"], current_period().starts_on, None)
    waiting = matters_for(provider_user)
    assert [(m.kind, m.title, m.due_text) for m in waiting] == [
        ("agreement", f"Соглашение № {agreement.number}", "срок не установлен")]
    with transaction():
        bookkeeping.accept_agreement(agreement.id, provider_user)
    assert matters_for(provider_user) == []


@pytest.mark.parametrize("value", ["0463\x00", "x" * 300])
def test_a_wrong_municipality_of_the_regional_operator_is_told_beside_it(login, api, users, value):
    """matters.schemas.MatterQuerySchema's municipality: a NUL or a long text is «no such ОКТМО», never a 500."""
    page = login(users["region"]).get("/matters", query_string={"municipality": value})
    assert page.status_code == 422 and 'id="municipality-error">Муниципального образования с таким ОКТМО нет.<' in \
        page.get_data(as_text=True)
    refused = api(users["region"]).get("/api/v1/matters", query_string={"municipality": value})
    assert refused.status_code == 422 and "municipality" in refused.json["errors"]["query"]
