"""What waits and what is overdue, the contracts' search and the month pickers, read in a real browser at
1280 px and on a 390 px phone: the texts and figures a person reads, the filters' results, the widths."""
from datetime import timedelta

from playwright.sync_api import expect

from tests import factories
from tests.browser.journeys import login, staff_user


def _world(email: str, tag: str, surname: str) -> dict:
    """An overdue certificate application, a registry application within its term, and a contract."""
    from certapp.certificates import services as certificates
    from certapp.common import clock
    from certapp.deadlines.services import working_days_left
    from certapp.registry import services as registry

    department = staff_user("department", email)
    staff_user("bookkeeping", f"bk-{email}")
    parent = factories.make_user("parent")
    late = certificates.apply(parent, certificates.add_child(parent, factories.child_data(first_name="Ангелина")).id,
                              factories.current_period().id, True)
    late.due_on = clock.today() - timedelta(days=12)
    applicant = factories.make_user("provider")
    application = registry.save_application(applicant, factories.application_data(short_name=f"ЦДТ {tag}"))
    registry.submit_application(application.id, applicant)
    provider_user, provider = factories.make_provider(department=department)
    certificate = factories.make_certificate(parent, department, first_name="Мирослава", last_name=surname)
    contract = factories.make_contract(certificate, provider_user,
                                       factories.make_program(provider_user, department, title=f"Шахматы {tag}"))
    return {"late": late.number, "late_due": f"{late.due_on:%d.%m.%Y}", "days": -working_days_left(late.due_on),
            "registry": application.number, "contract": contract.number, "child": surname,
            "last_month": f"{clock.today().replace(day=1) - timedelta(days=1):%Y-%m}"}


def _overdue_text(days: int) -> str:
    from certapp.common.templating import plural
    return f"просрочено на {days} {plural(days, 'рабочий день', 'рабочих дня', 'рабочих дней')}"


def test_the_department_reads_what_is_overdue_and_finds_a_contract(page, live_server, watch, viewport):
    url = live_server.url
    email = f"matters-{viewport}@example.ru"
    world = live_server.run(lambda: _world(email, viewport, "Журавлёва" if viewport == "desktop" else "Ёлкина"))
    login(page, watch, url, email)

    # the home's overdue card leads to the list of what is overdue
    page.get_by_role("link", name="Просрочено").click()
    expect(page.get_by_role("heading", name="Что ждёт решения")).to_be_visible()
    watch.check()
    row = page.get_by_role("row").filter(has_text=world["late"])
    expect(row).to_contain_text(world["late_due"])
    expect(row).to_contain_text(_overdue_text(world["days"]))
    expect(row.get_by_role("link", name=f"Открыть: Заявление на сертификат № {world['late']}")).to_be_visible()
    expect(page.get_by_role("row").filter(has_text=world["registry"])).to_have_count(0)   # within its term
    expect(page.get_by_label("только просроченное")).to_be_checked()

    # every matter, then one kind
    page.get_by_label("только просроченное").uncheck()
    page.get_by_label("Что").select_option(label="Заявка в реестр исполнителей")
    page.get_by_role("button", name="Показать").click()
    watch.check()
    registry_row = page.get_by_role("row").filter(has_text=world["registry"])
    expect(registry_row).to_contain_text(f"ЦДТ {viewport}")
    expect(registry_row).to_contain_text("осталось 10 рабочих дней")
    expect(page.get_by_role("row").filter(has_text=world["late"])).to_have_count(0)

    # the menu names it too, in the section «Отчёты»
    page.goto(f"{url}/")
    nav = page.locator("#site-nav")
    if viewport == "phone":
        page.get_by_role("button", name="☰ Меню").click()
    nav.get_by_text("Отчёты", exact=True).click()
    nav.get_by_role("link", name="Что ждёт решения").click()
    expect(page.get_by_role("heading", name="Что ждёт решения")).to_be_visible()
    watch.check()

    # the contracts: found by the child's surname, a wrong month told beside its field
    page.goto(f"{url}/contracts")
    watch.check()
    page.get_by_label("Ребёнок или номер").fill(world["child"].lower().replace("ё", "е"))
    page.get_by_role("button", name="Найти").click()
    watch.check()
    expect(page.get_by_text("Найдено: 1 договор")).to_be_visible()
    expect(page.get_by_role("link", name=world["contract"])).to_be_visible()
    page.goto(f"{url}/contracts?month=2026-13&q={world['contract']}")
    expect(page.get_by_text("Выберите месяц, например «декабрь 2026».")).to_be_visible()
    expect(page.get_by_role("link", name=world["contract"])).to_be_visible()
    watch.check()


def test_the_bookkeeper_picks_a_month_not_types_it(page, live_server, watch, viewport):
    url = live_server.url
    email = f"months-{viewport}@example.ru"
    world = live_server.run(lambda: _world(email, f"m{viewport}", "Синицына" if viewport == "desktop" else "Орлова"))
    login(page, watch, url, f"bk-{email}")
    page.goto(f"{url}/bookkeeping/registers")
    watch.check()
    picker = page.get_by_label("За какой месяц")
    expect(picker).to_have_attribute("type", "month")
    expect(picker).to_have_value(world["last_month"])
    expect(picker).to_have_attribute("max", world["last_month"])
    filter_month = page.get_by_label("Месяц", exact=True)
    expect(filter_month).to_have_attribute("type", "month")
    filter_month.fill(world["last_month"])
    page.get_by_role("button", name="Показать").click()
    watch.check()
    expect(page.get_by_label("Месяц", exact=True)).to_have_value(world["last_month"])
    page.goto(f"{url}/matters")
    watch.check()
    expect(page.get_by_label("Что")).to_contain_text("Оплата реестра")
