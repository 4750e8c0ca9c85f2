"""The department's journey in a real browser: the queues (a registry application, a program, a
certificate application), the social order, the execution report and the indicators."""
import re

from playwright.sync_api import expect

from certapp.common import clock
from tests import factories
from tests.browser.journeys import login, staff_user


def _queues(email: str) -> dict:
    """A submitted registry application, a submitted program and a submitted certificate application."""
    from certapp.certificates import services as certificates
    from certapp.programs import services as programs
    from certapp.registry import services as registry

    department = staff_user("department", email)
    applicant = factories.make_user("provider")
    application = registry.save_application(applicant, factories.application_data(short_name=f"ЦДТ {email[:8]}"))
    registry.submit_application(application.id, applicant)
    provider_user, _ = factories.make_provider(department=department)
    program = factories.make_program(provider_user, department, publish=False, title=f"Шахматы {email[:8]}")
    programs.submit_program(program.id, provider_user)
    parent = factories.make_user("parent")
    child = certificates.add_child(parent, factories.child_data())
    certificate_application = certificates.apply(parent, child.id, factories.current_period().id, True)
    more = [certificates.apply(parent, certificates.add_child(parent, factories.child_data(first_name=name)).id,
                               factories.current_period().id, True).number for name in ("Анна", "Борис")]
    from certapp.deadlines.services import rule_days
    return {"application": application.number, "program": program.title, "program_id": program.id,
            "certificate_application": certificate_application.number, "more": more,
            "due_on": f"{certificate_application.due_on:%d.%m.%Y}", "review_days": rule_days("certificate_review")}


def test_the_department_works_its_queues_and_reports(page, live_server, watch, viewport):
    url = live_server.url
    email = f"uo-{viewport}@example.ru"
    world = live_server.run(lambda: _queues(email))
    login(page, watch, url, email)

    # the registry application
    page.goto(f"{url}/registry/review")
    watch.check()
    page.get_by_role("link", name=world["application"]).click()
    watch.check()
    page.get_by_label("Одобрить и включить в реестр").check()
    page.get_by_role("button", name="Принять решение").click()
    expect(page.get_by_role("status").filter(has_text="Решение принято.")).to_be_visible()
    watch.check()

    # the program
    page.goto(f"{url}/programs/review")
    watch.check()
    page.locator(f"a[href='/catalog/{world['program_id']}']").click()
    watch.check()
    page.get_by_label("Согласовать и опубликовать").check()
    page.get_by_role("button", name="Принять решение").click()
    watch.check()

    # the certificate application
    page.goto(f"{url}/certificates/queue")
    watch.check()
    # the deadline a person reads beside the application: its date and the working days left, in words
    # (submitted today, so all of the review's 5 working days are left)
    assert world["review_days"] == 5
    row = page.get_by_role("row").filter(has_text=world["certificate_application"])
    expect(row.locator(".due")).to_have_text(f"до {world['due_on']}, осталось 5 рабочих дней")
    page.get_by_role("button", name=f"Принять решение по заявлению {world['certificate_application']}").click()
    expect(page.get_by_role("status").first).to_be_visible()
    watch.check()
    # two more refused at once, with one reason
    for number in world["more"]:
        page.get_by_label(f"Отметить заявление {number}").check()
    expect(page.locator("[data-bulk-count]")).to_have_text("2")
    page.get_by_label("Причина отказа — одна для всех отмеченных").fill("Не приложено свидетельство о рождении")
    page.get_by_role("button", name="Отказать", exact=True).click()
    expect(page.get_by_role("status").filter(has_text="Отказано: 2 заявления.")).to_be_visible()
    watch.check()

    # the social order: a draft, its plan, approval
    page.goto(f"{url}/reports/social-orders")
    watch.check()
    year = live_server.run(clock.today).year + (1 if viewport == "phone" else 2)  # each run its own year
    page.get_by_label("Год").fill(str(year))
    page.get_by_role("button", name=re.compile("Новый проект")).click()
    watch.check()
    page.get_by_label("техническая: детей").fill("40")
    page.get_by_label("техническая: человеко-часов").fill("2880")
    page.get_by_label("техническая: средства, ₽").fill("450 000,00")
    page.get_by_role("button", name="Сохранить план").click()
    expect(page.get_by_text("План сохранён.")).to_be_visible()
    page.get_by_role("button", name=re.compile("Утвердить")).click()
    expect(page.get_by_text("Социальный заказ утверждён.")).to_be_visible()
    watch.check()

    # the execution report and its XLSX
    page.goto(f"{url}/reports/execution")
    watch.check()
    xlsx = page.request.get(f"{url}/reports/execution.xlsx")
    assert xlsx.ok and xlsx.body()[:2] == b"PK"

    # the pages of deadlines, letters, notifications and the municipality pass the page checks
    for path in ("/deadlines/", "/mail/outbox", "/notifications", "/reference/municipality"):
        page.goto(f"{url}{path}")
        watch.check()
    expect(page.get_by_label("Уполномоченный орган")).to_have_value(re.compile("Каратузского района"))

    # the indicators: a base value
    page.goto(f"{url}/reports/indicators")
    watch.check()
    base = page.get_by_label(re.compile(r"Общее число детей, получивших услугу: \d{4} \(база\)"))
    target = page.get_by_label(re.compile(r"Общее число детей, получивших услугу: \d{4} \(цель\)"))
    offset = 1 if viewport == "phone" else 0   # each run changes the shared database's values
    base.fill(str(120 + offset))
    target.fill("много")
    page.get_by_role("button", name="Сохранить базовые и целевые значения").click()
    target = page.get_by_label(re.compile(r"Общее число детей, получивших услугу: \d{4} \(цель\)"))
    expect(target).to_be_focused()   # the wrong value is focused and its message tied to it
    expect(target).to_have_attribute("aria-invalid", "true")
    expect(page.locator(".chart").first).to_be_visible()
    watch.check()
    target.fill(str(350 + offset))
    page.get_by_role("button", name="Сохранить базовые и целевые значения").click()
    expect(page.get_by_role("status").filter(has_text=re.compile(r"Сохранено: \d+ значени"))).to_be_visible()
    watch.check()
