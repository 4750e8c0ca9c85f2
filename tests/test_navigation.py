"""The menu: officials work in a few sections named as on their home page; parents, providers and
visitors see their few items in one row; the phone menu is a button that says whether it is open."""
import re

import pytest

from certapp.home import SECTIONS


def _menu(html: str) -> str:
    """The menu's sections and links, without the account's (the profile and «Выйти» under the name)."""
    menu = html[html.index('<nav class="nav"'):html.index("</nav>")]
    return menu[:menu.index('<details class="nav-group nav-account"')]

def test_the_department_sees_its_menu_in_sections_named_as_on_its_home(app, users, login):
    page = login(users["department"]).get("/").get_data(as_text=True)
    menu = _menu(page)
    assert re.findall(r"<summary>([^<]+)</summary>", menu) == list(SECTIONS.values())
    # five sections of six or seven links each: a person scans one section at a time
    assert len(re.findall(r"<a href=", menu)) <= 32 and menu.count("<details") == 5
    # the home page's links and the menu name the same pages alike
    for name in ("Заявки исполнителей", "Заявления на сертификат", "Реестр получателей", "Периоды и номинал",
                 "Показатели эффективности", "Журнал действий"):
        assert f">{name}</a>" in menu and f">{name}</a>" in page[page.index("</nav>"):]

@pytest.mark.parametrize("role", ["department", "bookkeeping"])
def test_the_officials_home_has_the_menus_sections_by_the_same_names(app, users, login, role):
    page = login(users[role]).get("/").get_data(as_text=True)
    menu, home = _menu(page), page[page.index("</nav>"):]
    sections = re.findall(r"<summary>([^<]+)</summary>", menu)
    assert sections and all(s in SECTIONS.values() for s in sections)
    assert [t for t in re.findall(r"<h2>([^<]+)</h2>", home) if t in sections or t == "Социальный заказ"] == sections
    for group in re.findall(r"<details.*?</details>", menu, re.S):
        for link in re.findall(r'<a href="([^"]+)"', group):
            assert f'<a href="{link}"' in home

def test_the_open_page_marks_its_section_and_link(app, users, login):
    menu = _menu(login(users["department"]).get("/certificates/queue").get_data(as_text=True))
    assert '<details class="nav-group active" data-nav-group>\n        <summary>Сертификаты</summary>' in menu
    assert 'class="active" aria-current="page">Заявления на сертификат</a>' in menu

def test_parents_see_their_pages_in_the_row_and_what_anyone_may_open_under_more(app, users, login):
    menu = _menu(login(users["parent"]).get("/").get_data(as_text=True))
    top = menu[:menu.index("<details")]
    for name in ("Каталог программ", "Дети", "Сертификаты", "Заявления", "Запись на обучение", "Договоры", "Отзывы"):
        assert f">{name}</a>" in top
    assert re.findall(r"<summary>([^<]+)</summary>", menu) == ["Ещё"]
    assert re.findall(r">([^<>]+)</a>", menu[menu.index("<details"):]) == [
        "Реестр исполнителей", "Проверить сертификат", "Открытые данные", "Проверить документ"]
    assert ">Открытые данные</a>" not in top  # with it in the row the name went to a second line at 1280 px


def test_the_account_menu_holds_the_profile_and_logout_under_the_initials(app, users, login):
    page = login(users["parent"]).get("/").get_data(as_text=True)
    account = page[page.index('<details class="nav-group nav-account"'):page.index("</nav>")]
    surname, first, middle = users["parent"].full_name.split()[:3]
    assert f">{surname} {first[0]}. {middle[0]}.</summary>" in account
    assert ">Выйти</button>" in account and "/account/profile" in account


def test_the_provider_works_in_sections_named_as_the_officials_and_its_home(app, users, login):
    page = login(users["provider"]).get("/").get_data(as_text=True)
    menu, home = _menu(page), page[page.index("</nav>"):]
    assert re.findall(r"<summary>([^<]+)</summary>", menu) == [SECTIONS[key] for key in ("registry", "money", "reports")]
    groups = {re.search(r"<summary>([^<]+)</summary>", g).group(1): re.findall(r">([^<>]+)</a>", g)
              for g in re.findall(r"<details.*?</details>", menu, re.S)}
    assert groups["Реестр и программы"] == ["Реестр исполнителей", "Заявка в реестр", "Сотрудники", "Муниципалитеты",
                                            "Программы", "Запись на обучение"]
    assert groups["Договоры и деньги"] == ["Договоры", "Соглашения", "Счета", "Отчёты по соглашениям", "Реестры на оплату"]
    # outside the sections: what a provider opens with a parent at hand
    top = menu[:menu.index("<details")]
    assert ">Каталог программ</a>" in top and ">Проверить сертификат</a>" in top
    for title in groups:
        assert f"<h2>{title}</h2>" in home

def test_the_phone_menu_is_a_button_that_says_whether_it_is_open(app, client):
    page = client.get("/").get_data(as_text=True)
    assert '<button type="button" class="nav-toggle" aria-expanded="false" aria-controls="site-nav"' in page
    assert 'id="site-nav"' in page and 'type="checkbox" id="nav-toggle"' not in page
