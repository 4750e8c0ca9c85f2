"""Bookkeeping's journey in a real browser: conclude an agreement (the provider signs it on its page),
build, approve and pay a payment register (the provider reads it), open the reconciliation."""
import re
from datetime import timedelta

from playwright.sync_api import expect

from certapp.common.months import add_months
from tests import factories
from tests.browser.journeys import PASSWORD, check_print, login, staff_user


def _money_to_pay(email: str) -> dict:
    """A provider in the registry (its agreement prepared as a draft) with a month delivered."""
    from sqlalchemy import select

    from certapp.bookkeeping.models import Agreement
    from certapp.contracts import service_reports
    from certapp.db import db

    staff_user("bookkeeping", email)
    department = factories.make_user("department")
    provider_user, provider = factories.make_provider(
        user=factories.make_user("provider", email=f"provider-{email}", password=PASSWORD), department=department)
    program = factories.make_program(provider_user, department)
    certificate = factories.make_certificate(department=department)
    contract = factories.make_contract(certificate, provider_user, program)
    month = contract.months[0].month
    # the month is reported, built and approved once it is over: the journey's day is the 9th of the next
    day = add_months(month, 1) + timedelta(days=8)
    service_reports.report_month(contract.id, provider_user, month, True, today=day)
    agreement = db.session.execute(select(Agreement).where(Agreement.provider_id == provider.id)).scalar_one()
    return {"agreement_id": agreement.id, "provider_id": provider.id, "provider": provider.short_name,
            "month": f"{month:%Y-%m}", "valid_from": factories.current_period().starts_on.isoformat(), "day": day}


def test_bookkeeping_pays_a_register_and_reconciles(page, live_server, watch, viewport):
    url = live_server.url
    email = f"buh-{viewport}@example.ru"
    world = live_server.run(lambda: _money_to_pay(email))
    day = live_server.app.config["CLOCK_NOW"]  # the suite's day (tests/conftest.py TEST_TODAY)
    live_server.app.config["CLOCK_NOW"] = world["day"].isoformat()  # the server's day, for this journey only
    try:
        _journey(page, watch, url, email, world)
    finally:
        live_server.app.config["CLOCK_NOW"] = day


def _journey(page, watch, url, email, world):
    login(page, watch, url, email)

    # the agreement
    page.goto(f"{url}/bookkeeping/agreements")
    watch.check()
    page.goto(f"{url}/bookkeeping/agreements/{world['agreement_id']}")
    watch.check()
    page.get_by_label("Действует с").fill(world["valid_from"])
    page.get_by_label("Объём: число сертификатов (детей)").fill("30")
    page.get_by_role("button", name="Подписать и направить исполнителю").click()
    expect(page.get_by_text("ждёт подписи исполнителя").first).to_be_visible()
    watch.check()

    # the provider reads the agreement on its page and signs it
    page.context.clear_cookies()
    login(page, watch, url, f"provider-{email}")
    page.goto(f"{url}/bookkeeping/agreements")
    watch.check()
    page.goto(f"{url}/bookkeeping/agreements/{world['agreement_id']}")
    expect(page.get_by_text("30 сертификатов (детей)")).to_be_visible()
    watch.check()
    page.get_by_role("button", name="Подписать соглашение").click()
    expect(page.get_by_text("Соглашение подписано")).to_be_visible()
    watch.check()
    page.context.clear_cookies()
    login(page, watch, url, email)

    # the register: build, approve, pay
    page.goto(f"{url}/bookkeeping/registers")
    watch.check()
    page.get_by_label("За какой месяц").fill(world["month"])
    page.get_by_label("Исполнитель", exact=True).select_option(str(world["provider_id"]))  # the form's, not the filter's
    page.get_by_role("button", name="Сформировать").click()
    expect(page.get_by_text("Реестр сформирован.")).to_be_visible()
    watch.check()
    page.locator("tr", has_text=world["provider"]).get_by_role("link").first.click()
    watch.check()
    page.get_by_role("button", name="Утвердить").click()
    watch.check()
    # the confirmation says what is approved and that it becomes final
    assert re.match(r"Утвердить реестр на [\d\u00a0]+,\d\d\u00a0₽\? Утверждённый реестр больше не меняется", watch.dialogs[-1])
    # a payment order dated tomorrow is refused beside its date; today's is accepted
    page.get_by_label("№ платёжного поручения").fill("512")
    page.get_by_label("Дата").fill((world["day"] + timedelta(days=1)).isoformat())
    page.get_by_role("button", name="Отметить оплату").click()
    expect(page.get_by_label("Дата")).to_have_attribute("aria-invalid", "true")
    expect(page.get_by_text(re.compile("не может быть позже сегодняшнего дня"))).to_be_visible()
    watch.check()
    page.get_by_label("Дата").fill(world["day"].isoformat())
    page.get_by_role("button", name="Отметить оплату").click()
    expect(page.get_by_text(re.compile("№ 512"))).to_be_visible()
    watch.check()
    check_print(page)  # the paid register
    register_url = page.url

    # the provider reads the register that paid it
    page.context.clear_cookies()
    login(page, watch, url, f"provider-{email}")
    page.goto(register_url)
    expect(page.get_by_text(re.compile("№ 512"))).to_be_visible()
    watch.check()
    page.context.clear_cookies()
    login(page, watch, url, email)

    # the reconciliation
    page.goto(f"{url}/bookkeeping/reconciliation")
    expect(page.get_by_text(re.compile("Расхождений нет|расхождений нет", re.I)).first).to_be_visible()
    watch.check()
    # reconcile now, as a job: its page shows the outcome and leads back to the result
    page.get_by_role("button", name="Сверить сейчас").click()
    expect(page.get_by_text(re.compile("Сверка выполнена за .* расхождений нет"))).to_be_visible()
    watch.check()
    page.get_by_role("link", name="Открыть результат").click()
    expect(page.get_by_role("heading", name="Сверка средств сертификатов")).to_be_visible()
    watch.check()
