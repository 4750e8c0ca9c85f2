"""The parent's journey in a real browser, on a desktop and at a phone's width: register, log in,
add a child, apply, (the department confirms), open, print and download the certificate, find a
program in the catalog, enroll, (the provider accepts), sign the contract and see the balance move."""
import re

from playwright.sync_api import expect

from certapp.common import clock
from tests import factories
from tests.browser.journeys import check_print

PASSWORD = "Parent-password-2026"


def _world():
    """A department official and a provider in the registry with a published program and a group."""
    department = factories.make_user("department")
    provider_user, _ = factories.make_provider(department=department)
    program = factories.make_program(provider_user, department, title="Робототехника для начинающих",
                                     price_per_month="1 250,00")
    return {"department_id": department.id, "provider_id": provider_user.id, "program_id": program.id}


def _confirm_application(world, email):
    from sqlalchemy import select

    from certapp.accounts.models import User
    from certapp.certificates import services
    from certapp.certificates.models import CertificateApplication
    from certapp.db import db

    parent = db.session.execute(select(User).where(User.email == email)).scalar_one()
    application = db.session.execute(select(CertificateApplication).where(
        CertificateApplication.parent_id == parent.id)).scalar_one()
    return services.confirm(application.id, db.session.get(User, world["department_id"])).number


def _accept_enrollment(world):
    from certapp.accounts.models import User
    from certapp.contracts import enrollments
    from certapp.db import db

    provider = db.session.get(User, world["provider_id"])
    enrollment = db.session.execute(enrollments.enrollments_for(provider, "requested")).scalars().first()
    return enrollments.accept_enrollment(enrollment.id, provider).number


def test_a_parent_gets_a_certificate_and_signs_a_contract(page, live_server, watch, viewport):
    world = live_server.run(_world)
    email = f"mama-{viewport}@example.ru"
    url = live_server.url

    # registration and login
    page.goto(f"{url}/account/register")
    watch.check(watch.phone)
    page.get_by_label("Родитель (законный представитель) ребёнка").check()
    page.get_by_label("Фамилия, имя, отчество").fill("Иванова Мария Сергеевна")
    page.get_by_label("Электронная почта").fill(email)
    page.get_by_label("Телефон").fill("+7 913 000-00-01")
    page.get_by_label("Пароль (не короче 10 символов)").fill(PASSWORD)
    page.get_by_label("Пароль ещё раз").fill(PASSWORD)
    page.get_by_role("button", name="Зарегистрироваться").click()
    expect(page.get_by_text("Заявка на регистрацию принята")).to_be_visible()
    watch.check(watch.phone)
    page.get_by_label("Электронная почта").fill(email)
    page.get_by_label("Пароль", exact=True).fill(PASSWORD)
    page.get_by_role("button", name="Войти").click()
    expect(page).to_have_url(f"{url}/")
    watch.check(watch.phone)
    # the unconfirmed address (no mail in this installation): one short line, on a phone too
    banner = page.locator(".confirm-banner")
    expect(banner).to_contain_text("Адрес почты не подтверждён")
    line = page.evaluate("parseFloat(getComputedStyle(document.querySelector('.confirm-banner')).lineHeight)")
    assert banner.bounding_box()["height"] < 2 * line, banner.bounding_box()

    # a child and the application
    page.goto(f"{url}/children")
    watch.check(watch.phone)
    page.get_by_label("Фамилия", exact=True).fill("Иванов")
    page.get_by_label("Имя", exact=True).fill("Пётр")
    page.get_by_label("Отчество (если есть)").fill("Сергеевич")
    page.get_by_label("Дата рождения").fill(f"{live_server.run(clock.today).year - 10}-05-10")
    page.get_by_label("СНИЛС ребёнка").fill(factories.snils())
    page.get_by_label("Свидетельство о рождении: серия и номер").fill("III-БА № 123456")
    page.get_by_label("Адрес проживания").fill("662850, Красноярский край, с. Каратузское, ул. Мира, 5")
    page.get_by_label(re.compile("проживает на территории")).check()
    page.get_by_role("button", name="Добавить ребёнка").click()
    expect(page.get_by_text("Ребёнок добавлен")).to_be_visible()
    watch.check(watch.phone)
    page.goto(f"{url}/certificates/apply")
    watch.check(watch.phone)
    page.get_by_label(re.compile("Даю согласие")).check()
    page.get_by_role("button", name="Подать заявление").click()
    watch.check(watch.phone)

    number = live_server.run(lambda: _confirm_application(world, email))

    # the bell tells: the application received and the certificate issued; its link opens the certificate
    page.goto(f"{url}/")
    page.get_by_role("link", name=re.compile(r"Уведомления: непрочитанных \d+")).click()
    expect(page.get_by_text(f"Выдан сертификат № {number}")).to_be_visible()
    # the child's name declined as a person reads it, not «Ребёнку Иванов Пётр Сергеевич»
    expect(page.get_by_text("Ребёнку Иванову Петру Сергеевичу выдан социальный сертификат").first).to_be_visible()
    watch.check(watch.phone)
    page.locator(".notification", has_text=f"Выдан сертификат № {number}").get_by_role("button", name="Открыть").click()
    expect(page.get_by_role("heading", name=f"Социальный сертификат № {number}")).to_be_visible()
    watch.check(watch.phone)

    # the certificate: page, print version, PDF
    page.goto(f"{url}/certificates/")
    watch.check(watch.phone)
    page.get_by_role("link", name=f"№ {number}").click()
    expect(page.get_by_role("heading", name=f"Социальный сертификат № {number}")).to_be_visible()
    watch.check(watch.phone)
    page.get_by_role("link", name="Версия для печати").click()
    watch.check(watch.phone)
    check_print(page)
    page.go_back()
    pdf = page.request.get(page.get_by_role("link", name="PDF").get_attribute("href"))  # with the session
    assert pdf.ok and pdf.headers["content-type"] == "application/pdf" and pdf.body().startswith(b"%PDF")

    # the catalog, enrollment, the provider's acceptance
    page.goto(f"{url}/catalog?q=Робототехника")
    watch.check(watch.phone)
    card = page.locator("article", has=page.locator(f"a[href='/catalog/{world['program_id']}']"))
    expect(card.get_by_text("Пётр: оплатит сертификат")).to_be_visible()
    expect(card.get_by_role("link", name="Записаться")).to_be_visible()
    # each run adds its own provider's program of that title: open this run's
    page.locator(f"a[href='/catalog/{world['program_id']}']").click()
    watch.check(watch.phone)
    page.get_by_role("link", name="Записать ребёнка по сертификату").click()
    watch.check(watch.phone)
    # the group with its school year, dates and free seats
    group = page.eval_on_selector("#group_id option:checked", "o => o.textContent").strip()
    assert re.fullmatch(r"Группа 1, вт, чт 15:00 — .+ учебный год, \d\d\.\d\d\.\d{4}–\d\d\.\d\d\.\d{4}, "
                        r"свободно \d+ мест(а|о)? из \d+", group), group
    page.get_by_role("button", name="Записать ребёнка").click()
    watch.check(watch.phone)
    contract_number = live_server.run(lambda: _accept_enrollment(world))

    # signing: the certificate's money moves from available to reserved
    page.goto(f"{url}/contracts")
    watch.check(watch.phone)
    page.get_by_role("link", name=contract_number).click()
    watch.check(watch.phone)
    page.get_by_label(re.compile("Я ознакомлен")).check()
    page.get_by_role("button", name="Подписать договор").click()
    watch.check(watch.phone)
    check_print(page)  # the signed contract
    page.goto(f"{url}/certificates/")
    page.get_by_role("link", name=f"№ {number}").click()
    reserved = page.locator("dt:has-text('Зарезервировано') + dd")
    expect(reserved).not_to_have_text("0,00\u00a0₽")
    watch.check(watch.phone)
