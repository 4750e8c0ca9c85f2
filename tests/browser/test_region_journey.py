"""A region of two municipalities in a real browser: a provider of one asks to work in the other, that
municipality's department admits it, and the regional operator compares the two side by side."""
import re

from playwright.sync_api import expect

from tests import factories
from tests.browser.journeys import PASSWORD, login, staff_user


def _two_municipalities(viewport: str) -> dict:
    from sqlalchemy import select

    from certapp.db import db
    from certapp.reference.models import Municipality
    from certapp.reference.services import create_municipality

    second = db.session.execute(select(Municipality).where(Municipality.oktmo == "04630000")).scalar_one_or_none()
    second = second or create_municipality(name="Курагинский район", oktmo="04630000", number_code="30")
    factories.make_user("department", email=f"uo-kuragino-{viewport}@example.ru", password=PASSWORD,
                        municipality_id=second.id)
    factories.make_user("region", email=f"region-{viewport}@example.ru", password=PASSWORD)
    provider_user, provider = factories.make_provider(user=staff_user("provider", f"provider-region-{viewport}@example.ru"))
    return {"provider": provider.short_name}


def _fresh_login(page, watch, url, email):
    page.context.clear_cookies()
    page.goto(f"{url}/account/login")
    login(page, watch, url, email)


def test_a_provider_is_admitted_in_a_second_municipality_and_the_region_compares_them(page, live_server, watch,
                                                                                      viewport):
    url = live_server.url
    world = live_server.run(lambda: _two_municipalities(viewport))

    # the provider asks to work in the second municipality
    _fresh_login(page, watch, url, f"provider-region-{viewport}@example.ru")
    page.goto(f"{url}/registry/admissions")
    watch.check()
    page.get_by_label("Муниципальное образование").select_option(label="Курагинский район")
    page.get_by_role("button", name="Отправить запрос").click()
    expect(page.get_by_text("Запрос на допуск отправлен")).to_be_visible()
    watch.check()

    # that municipality's department admits it
    _fresh_login(page, watch, url, f"uo-kuragino-{viewport}@example.ru")
    page.goto(f"{url}/registry/admissions?status=requested")
    watch.check()
    row = page.locator("tr", has_text=world["provider"])
    row.get_by_label("Решение").select_option(label="Допустить")
    row.get_by_role("button", name="Принять решение").click()
    expect(page.get_by_text("Решение о допуске принято.")).to_be_visible()
    watch.check()

    # the regional operator sees both side by side and views the second one's pages
    _fresh_login(page, watch, url, f"region-{viewport}@example.ru")
    page.goto(f"{url}/reports/region")
    expect(page.get_by_role("heading", name="Муниципальные образования региона")).to_be_visible()
    expect(page.get_by_text("Регион, всего").first).to_be_visible()
    watch.check()
    # at region scale the report is stored: the operator recomputes it as a job and comes back to it
    live_server.app.config["LIVE_REPORT_LIMIT"] = -1  # every region counts as large, even one without certificates
    try:
        page.goto(f"{url}/reports/region")
        watch.check()
        page.get_by_role("button", name=re.compile(r"Пересчитать за \d{4} год")).click()
        expect(page.get_by_text(re.compile(r"Отчёт по региону за \d{4} год рассчитан за"))).to_be_visible()
        watch.check()
        page.get_by_role("link", name="Открыть результат").click()
        expect(page.get_by_text("Отчёт рассчитан")).to_be_visible()
        expect(page.get_by_text("Регион, всего").first).to_be_visible()
        watch.check()
    finally:
        live_server.app.config["LIVE_REPORT_LIMIT"] = 10_000
    page.get_by_role("link", name="Курагинский район").first.click()
    expect(page.get_by_text("Просмотр: Курагинский район")).to_be_visible()
    watch.check()
    page.goto(f"{url}/registry/admissions")
    expect(page.locator("tr", has_text=world["provider"])).to_contain_text("Допущен")
    watch.check()
