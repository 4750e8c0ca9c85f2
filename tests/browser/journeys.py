"""Steps that several journeys share: registering and logging in through the pages, and set-up or
decisions made by another role directly through the services (the other journeys test those pages)."""
from playwright.sync_api import expect

from tests import factories

PASSWORD = "Journey-password-2026"


def register_and_login(page, watch, url: str, role_label: str, email: str, full_name: str) -> None:
    page.goto(f"{url}/account/register")
    watch.check()
    page.get_by_label(role_label).check()
    page.get_by_label("Фамилия, имя, отчество").fill(full_name)
    page.get_by_label("Электронная почта").fill(email)
    page.get_by_label("Телефон").fill("+7 913 000-00-01")
    page.get_by_label("Пароль (не короче 10 символов)").fill(PASSWORD)
    page.get_by_label("Пароль ещё раз").fill(PASSWORD)
    page.get_by_role("button", name="Зарегистрироваться").click()
    expect(page.get_by_text("Заявка на регистрацию принята")).to_be_visible()
    watch.check()
    login(page, watch, url, email)


def login(page, watch, url: str, email: str, password: str = PASSWORD) -> None:
    if "/account/login" not in page.url:
        page.goto(f"{url}/account/login")
    page.get_by_label("Электронная почта").fill(email)
    page.get_by_label("Пароль", exact=True).fill(password)
    page.get_by_role("button", name="Войти").click()
    expect(page).to_have_url(f"{url}/")
    watch.check()


def user_by_email(email: str):
    from sqlalchemy import select

    from certapp.accounts.models import User
    from certapp.db import db

    return db.session.execute(select(User).where(User.email == email)).scalar_one()


def staff_user(role: str, email: str):
    """An official's account made by the administrator (the CLI's way), with the journeys' password."""
    return factories.make_user(role, email=email, password=PASSWORD)


def check_print(page) -> None:
    """The page prints on A4 without the site's navigation, footer, buttons or forms."""
    page.emulate_media(media="print")
    try:
        for selector in (".topbar", ".footer", "form"):
            for element in page.locator(selector).all():
                assert not element.is_visible(), f"{selector} is printed on {page.url}"
        assert page.locator("h1").first.is_visible()
        pdf = page.pdf(format="A4", prefer_css_page_size=True)
        assert pdf.startswith(b"%PDF")
    finally:
        page.emulate_media(media="screen")
