"""The menu: officials work in a few sections named as on their home page; parents, providers and
visitors see their few items in one row; the phone menu is a button that says whether it is open."""
import re

import pytest

from certapp.home import SECTIONS


def _menu(html: str) -> str:
    return html[html.index('<nav class="nav"'):html.index("</nav>")]

def test_the_department_sees_its_menu_in_sections_named_as_on_its_home(app, users, login):
    page = login(users["department"]).get("/").get_data(as_text=True)
    menu = _menu(page)
    assert re.findall(r"<summary>([^<]+)</summary>", menu) == list(SECTIONS.values())
    assert len(re.findall(r"<a href=", menu)) <= 30 and menu.count("<details") == 5
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

@pytest.mark.parametrize("role", ["parent", "provider"])
def test_parents_and_providers_see_one_row_without_sections(app, users, login, role):
    menu = _menu(login(users[role]).get("/").get_data(as_text=True))
    assert "<details" not in menu and "Договоры</a>" in menu

def test_the_phone_menu_is_a_button_that_says_whether_it_is_open(app, client):
    page = client.get("/").get_data(as_text=True)
    assert '<button type="button" class="nav-toggle" aria-expanded="false" aria-controls="site-nav"' in page
    assert 'id="site-nav"' in page and 'type="checkbox" id="nav-toggle"' not in page
