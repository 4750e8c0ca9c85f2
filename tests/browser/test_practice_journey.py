"""Personified financing as practised, in a real browser: the department raises a category's limit
and the queue moves; bookkeeping approves an advance invoice; a parent gives notice and reads the
certificate's three parts; anyone checks a signed document by its number."""
import re

from playwright.sync_api import expect

from tests import factories
from tests.browser.journeys import PASSWORD, login, staff_user


def _queue(email: str) -> dict:
    from certapp.certificates import services as certificates
    from certapp.reference.services import create_category

    department = staff_user("department", email)
    period = factories.current_period()
    category = create_category(period.id, {"name": f"Многодетные, {email.split('@')[0]}", "age_from": 5,
                                           "age_to": 17, "needs_document": True, "funded_limit": 1}, department)
    parent = factories.make_user("parent")
    for name in ("Анна", "Борис"):
        child = certificates.add_child(parent, factories.child_data(first_name=name))
        application = certificates.apply(parent, child.id, period.id, True, category_id=category.id)
        certificates.confirm(application.id, department)
    return {"category_id": category.id, "period_id": period.id, "name": category.name}


def test_department_raises_a_limit_and_the_first_in_the_queue_is_funded(page, live_server, watch, viewport):
    url = live_server.url
    email = f"uo-queue-{viewport}@example.ru"
    world = live_server.run(lambda: _queue(email))
    login(page, watch, url, email)
    page.goto(f"{url}/certificates/categories?period={world['period_id']}")
    expect(page.get_by_role("heading", name=re.compile(re.escape(f"Очередь: {world['name']} — 1 ребёнок")))).to_be_visible()
    watch.check()
    page.goto(f"{url}/certificates/categories/{world['category_id']}")
    watch.check()
    page.get_by_label("Финансируемых мест").fill("2")
    page.get_by_role("button", name="Сохранить").click()
    expect(page.get_by_text("Категория сохранена.")).to_be_visible()
    expect(page.get_by_role("heading", name=re.compile(re.escape(f"Очередь: {world['name']}")))).to_have_count(0)
    watch.check()


def _advance(email: str) -> dict:
    from sqlalchemy import select

    from certapp.bookkeeping import agreements
    from certapp.bookkeeping.models import Agreement
    from certapp.db import db

    bookkeeper = staff_user("bookkeeping", email)
    department = factories.make_user("department")
    provider_user, provider = factories.make_provider(department=department)
    program = factories.make_program(provider_user, department)
    contract = factories.make_contract(factories.make_certificate(department=department), provider_user, program)
    agreement = db.session.execute(select(Agreement).where(Agreement.provider_id == provider.id)).scalar_one()
    agreements.conclude_agreement(agreement.id, bookkeeper, factories.current_period().starts_on, None)
    agreements.accept_agreement(agreement.id, provider_user)
    return {"provider_id": provider.id, "month": f"{contract.start_month:%Y-%m}"}


def test_bookkeeping_forms_and_approves_an_advance_invoice(page, live_server, watch, viewport):
    url = live_server.url
    email = f"buh-advance-{viewport}@example.ru"
    world = live_server.run(lambda: _advance(email))
    login(page, watch, url, email)
    page.goto(f"{url}/bookkeeping/invoices")
    watch.check()
    page.get_by_label("За какой месяц").fill(world["month"])
    page.get_by_label("Исполнитель", exact=True).select_option(str(world["provider_id"]))  # the form's, not the filter's
    page.get_by_label("Счёт", exact=True).select_option("advance")
    page.get_by_role("button", name="Сформировать").click()
    expect(page.get_by_text("Счёт сформирован.")).to_be_visible()
    page.get_by_role("link", name=re.compile("СЧ-")).first.click()
    expect(page.get_by_text(re.compile("аванс 80 %"))).to_be_visible()
    watch.check()
    page.get_by_role("button", name="Утвердить").click()
    expect(page.get_by_text("Счёт утверждён.")).to_be_visible()
    watch.check()


def _contract(email: str) -> dict:
    department = factories.make_user("department")
    parent = factories.make_user("parent", email=email, password=PASSWORD)
    provider_user, _ = factories.make_provider(department=department)
    program = factories.make_program(provider_user, department)
    certificate = factories.make_certificate(parent, department)
    contract = factories.make_contract(certificate, provider_user, program)
    return {"contract_id": contract.id, "number": contract.number, "certificate_id": certificate.id,
            "months": len(contract.months)}


def test_a_parent_gives_notice_and_reads_the_certificates_three_parts(page, live_server, watch, viewport):
    url = live_server.url
    email = f"parent-notice-{viewport}@example.ru"
    world = live_server.run(lambda: _contract(email))
    login(page, watch, url, email)
    page.goto(f"{url}/certificates/{world['certificate_id']}")
    for part in ("Часть 1. Общие сведения", "Часть 2. Услуга и выбранный исполнитель",
                 "Часть 3. Договор и результаты оказания услуги"):
        expect(page.get_by_role("heading", name=part)).to_be_visible()
    watch.check()
    page.goto(f"{url}/contracts/{world['contract_id']}")
    watch.check()
    if world["months"] > 1:  # in the period's last month there is nothing to end early
        page.get_by_label("Причина").fill("Переезд в другой район")
        page.get_by_role("button", name="Подать уведомление о расторжении").click()
        expect(page.get_by_text("Уведомление о расторжении принято")).to_be_visible()
        assert re.match(r"Подать уведомление о расторжении договора № ДО-\d{4}-\d{5}\? Это окончательно", watch.dialogs[-1])
        expect(page.get_by_text(re.compile(r"договор действует до \d\d\.\d\d\.\d{4}"))).to_be_visible()
        watch.check()

    page.goto(f"{url}/documents/verify")
    watch.check()
    page.get_by_label("Номер документа").fill(world["number"])
    page.get_by_role("button", name="Проверить по номеру").click()
    expect(page.get_by_text(re.compile("подпись верна"))).to_be_visible()
    watch.check()
