"""The login, registration, application and signing forms work with the keyboard alone: the focus
is always visible, errors are announced on their fields (aria-describedby) and the first invalid
field receives the focus."""
import re

import pytest
from playwright.sync_api import expect

from tests import factories
from tests.browser.journeys import PASSWORD, login, staff_user

FOCUS_VISIBLE = """() => {
  const el = document.activeElement, style = getComputedStyle(el);
  return el !== document.body && (style.outlineStyle !== 'none' && parseFloat(style.outlineWidth) > 0
                                   || style.boxShadow !== 'none');
}"""


@pytest.fixture(autouse=True)
def desktop_only(viewport):
    if viewport == "phone":
        pytest.skip("keyboard use is checked at the desktop size; the phone journeys cover the layout")


def tab_to(page, name: str, limit: int = 40) -> None:
    """Press Tab until the focused element is the one named `name` (label, text or accessible name);
    every stop on the way must show where the focus is."""
    for _ in range(limit):
        page.keyboard.press("Tab")
        assert page.evaluate(FOCUS_VISIBLE), f"focus not visible on {page.evaluate('document.activeElement.outerHTML')[:120]}"
        label = page.evaluate("""() => { const el = document.activeElement;
            return (el.labels && el.labels[0] ? el.labels[0].innerText : '') + '|' + (el.innerText || el.value || ''); }""")
        if name in label:
            return
    raise AssertionError(f"{name!r} not reached with Tab")


def error_of_focused(page) -> str:
    """The text of the elements that aria-describedby of the focused field names."""
    return page.evaluate("""() => (document.activeElement.getAttribute('aria-describedby') || '').split(' ')
        .filter(Boolean).map(id => document.getElementById(id).innerText).join(' ')""")


def test_registration_with_the_keyboard_focuses_and_announces_the_first_error(page, live_server, watch):
    page.goto(f"{live_server.url}/account/register")
    page.locator("body").focus()
    tab_to(page, "Фамилия, имя, отчество")
    page.keyboard.type("Иванова Мария Сергеевна")
    page.keyboard.press("Tab")
    page.keyboard.type("not-an-email")
    page.keyboard.press("Tab")
    page.keyboard.type("+7 913 000-00-02")
    page.keyboard.press("Tab")
    page.keyboard.type(PASSWORD)
    page.keyboard.press("Tab")
    page.keyboard.type(PASSWORD)
    tab_to(page, "Зарегистрироваться")
    page.keyboard.press("Enter")
    expect(page.get_by_label("Электронная почта")).to_be_focused()
    assert page.get_by_label("Электронная почта").get_attribute("aria-invalid") == "true"
    assert "Укажите правильный адрес электронной почты." in error_of_focused(page)
    watch.check()


def test_login_with_the_keyboard(page, live_server, watch):
    email = "kbd-parent@example.ru"
    live_server.run(lambda: staff_user("parent", email))
    page.goto(f"{live_server.url}/account/login")
    page.locator("body").focus()
    tab_to(page, "Электронная почта")
    page.keyboard.type(email)
    tab_to(page, "Пароль")
    page.keyboard.type(PASSWORD)
    page.keyboard.press("Enter")
    expect(page).to_have_url(f"{live_server.url}/")
    watch.check()


def test_application_and_signing_with_the_keyboard(page, live_server, watch):
    email = "kbd-sign@example.ru"

    def world():
        from certapp.certificates import services as certificates

        parent = staff_user("parent", email)
        department = factories.make_user("department")
        certificates.add_child(parent, factories.child_data())
        provider_user, _ = factories.make_provider(department=department)
        other = factories.make_certificate(parent=parent, department=department, first_name="Анна")
        contract = factories.make_contract(other, provider_user, sign=False)
        return contract.id

    contract_id = live_server.run(world)
    login(page, watch, live_server.url, email)

    # the application: the child and the period are preselected; consent and submit by keyboard
    page.goto(f"{live_server.url}/certificates/apply")
    page.locator("body").focus()
    tab_to(page, "Даю согласие")
    page.keyboard.press("Space")
    tab_to(page, "Подать заявление")
    page.keyboard.press("Enter")
    expect(page.get_by_role("status").first).to_be_visible()
    watch.check()

    # the contract: acceptance checkbox and the signature by keyboard
    page.goto(f"{live_server.url}/contracts/{contract_id}")
    page.locator("body").focus()
    tab_to(page, "Я ознакомлен")
    page.keyboard.press("Space")
    tab_to(page, "Подписать договор")
    page.keyboard.press("Enter")
    expect(page.get_by_text(re.compile("подписан", re.I)).first).to_be_visible()
    watch.check()
