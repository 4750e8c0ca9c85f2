"""The official's menu as a person uses it: five sections in one row at 1280 px, a section opens by
click and closes with Escape; on a phone the menu is a button (reached with Tab, it says whether the
menu is open) and the sections open inside it."""
import pytest
from playwright.sync_api import expect

from tests.browser.journeys import login, staff_user

SECTIONS = ["Реестр и программы", "Сертификаты", "Договоры и деньги", "Отчёты", "Настройки"]


def test_the_department_finds_its_pages_through_the_sections(page, live_server, watch, viewport):
    with live_server.app.app_context():
        from certapp.db import db

        staff_user("department", f"menu.{viewport}@example.ru")
        db.session.commit()
    login(page, watch, live_server.url, f"menu.{viewport}@example.ru")
    nav = page.locator("#site-nav")
    toggle = page.get_by_role("button", name="☰ Меню")
    if viewport == "phone":
        expect(nav).to_be_hidden()
        page.locator("body").focus()
        for _ in range(6):  # the skip link, the brand, the bell, then the menu button
            page.keyboard.press("Tab")
            if page.evaluate("document.activeElement.hasAttribute('data-nav-toggle')"):
                break
        expect(toggle).to_be_focused()
        expect(toggle).to_have_attribute("aria-expanded", "false")
        page.keyboard.press("Enter")
        expect(toggle).to_have_attribute("aria-expanded", "true")
        expect(nav).to_be_visible()
    else:
        expect(toggle).to_be_hidden()
        # one row: the header is no taller than one line of sections and the user's name
        assert page.locator("header.topbar").bounding_box()["height"] < 90
    assert nav.locator(".nav-group:not(.nav-account) summary").all_inner_texts() == SECTIONS
    watch.check()
    nav.get_by_text("Сертификаты", exact=True).click()
    link = nav.get_by_role("link", name="Заявления на сертификат")
    expect(link).to_be_visible()
    if viewport != "phone":
        page.keyboard.press("Escape")
        expect(link).to_be_hidden()
        nav.get_by_text("Сертификаты", exact=True).click()
    link.click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Заявления")
    if viewport == "phone":
        page.get_by_role("button", name="☰ Меню").click()
    expect(page.locator("#site-nav details.active summary")).to_have_text("Сертификаты")
    watch.check()


@pytest.mark.parametrize("role", ["parent", "provider", "department", "bookkeeping", "region", "moc"])
def test_every_roles_menu_fits_in_one_row_at_1280_and_opens_on_a_phone(page, live_server, watch, viewport, role):
    email = f"menu.{role}.{viewport}@example.ru"
    with live_server.app.app_context():
        from certapp.db import db

        staff_user(role, email)
        db.session.commit()
    login(page, watch, live_server.url, email)
    nav = page.locator("#site-nav")
    if viewport == "phone":
        page.get_by_role("button", name="☰ Меню").click()
        expect(nav).to_be_visible()
        # the open menu fits the phone's width (watch.check) and each section opens inside it
        for summary in nav.locator(".nav-group:not(.nav-account) summary").all():
            summary.click()
            watch.check()
    else:
        # one row: the sections (or a parent's few links) and the user's name, no second line
        assert page.locator("header.topbar").bounding_box()["height"] < 90, role
    sections = nav.locator(".nav-group:not(.nav-account) summary").all_inner_texts()
    assert sections == (["Ещё"] if role == "parent" else
                        ["Реестр и программы", "Договоры и деньги", "Отчёты"] if role == "provider" else
                        ["Мониторинг качества", "Реестр и программы", "Отчёты"] if role == "moc" else sections)
    assert sections
    if role in ("parent", "provider"):  # the open data go under «Ещё» / «Отчёты», not in the row
        assert "Открытые данные" not in nav.locator(":scope > a").all_inner_texts()
    # the account: the profile and «Выйти» under the name
    nav.locator(".nav-account summary").click()
    expect(nav.get_by_role("button", name="Выйти")).to_be_visible()
    watch.check()
