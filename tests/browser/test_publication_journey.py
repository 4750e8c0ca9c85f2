"""The department publishes the approved social order (confirming what becomes public and final), and a
stranger without a login finds it on the municipality's open data page, reads it and its passport."""
import re

from playwright.sync_api import expect

from tests import factories
from tests.browser.journeys import login, staff_user

#: a year per viewport: the live server's database is shared by the journeys of one session
YEARS = {"desktop": 2031, "phone": 2032}


def _approved_order(viewport: str) -> dict:
    from certapp.reference.services import get_district
    from certapp.reporting import services as reporting

    department = staff_user("department", f"uo-publish-{viewport}@example.ru")
    order = reporting.create_order(YEARS[viewport], department)
    reporting.update_order_lines(order.id, department, {"technical": {
        "planned_children": 25, "planned_child_hours": 1800, "planned_money": 312_500_00}})
    reporting.approve_order(order.id, department)
    return {"oktmo": get_district().oktmo, "number": reporting.order_number(order)}


def _today():
    from certapp.common import clock

    return clock.today()


def test_the_department_publishes_the_social_order_and_a_stranger_reads_it(page, live_server, watch, viewport):
    url, year = live_server.url, YEARS[viewport]
    world = live_server.run(lambda: _approved_order(viewport))
    today = live_server.run(_today)

    login(page, watch, url, f"uo-publish-{viewport}@example.ru")
    page.goto(f"{url}/publication")
    watch.check()
    row = page.locator("tr", has_text=str(year))
    row.get_by_role("button", name="Опубликовать").click()
    expect(page.get_by_text(f"Опубликовано: «Муниципальный социальный заказ на {year} год», версия 1")).to_be_visible()
    assert re.match(rf"Опубликовать социальный заказ на {year} год \(редакция 1\)\? .*станут общедоступными.*"
                    r"окончательной", watch.dialogs[-1])
    watch.check()

    page.context.clear_cookies()  # a stranger, no login
    page.goto(f"{url}/open/{world['oktmo']}")
    watch.check()
    page.get_by_role("link", name=f"Муниципальный социальный заказ на {year} год").click()
    expect(page.get_by_role("heading", name=f"Муниципальный социальный заказ на {year} год")).to_be_visible()
    expect(page.get_by_text(f"Версия 1 от {today:%d.%m.%Y}").first).to_be_visible()
    expect(page.get_by_text(world["number"])).to_be_visible()
    technical = page.locator("tr", has_text="804200О.99.0.ББ52АЕ04000")
    expect(technical).to_contain_text("312\u00a0500,00\u00a0₽")
    expect(technical).to_contain_text(re.compile(r"1\s800"))
    watch.check()
    csv = page.request.get(f"{url}/open/{world['oktmo']}/social-order-{year}/data.csv")
    assert csv.ok and csv.body().startswith("\ufeff".encode()) and b";312500.00" in csv.body()

    page.get_by_role("link", name="Паспорт набора").click()
    expect(page.get_by_role("heading", name="Паспорт набора открытых данных")).to_be_visible()
    expect(page.get_by_role("row", name=re.compile("Дата последнего внесения изменений"))).to_contain_text(
        f"{today:%d.%m.%Y}")
    watch.check()


def _published_registry(viewport: str) -> dict:
    from certapp.publication import services as publication
    from certapp.reference.services import get_district

    department = staff_user("department", f"uo-registry-{viewport}@example.ru")
    _, provider = factories.make_provider(department=department)
    published = publication.publish("registry", department)
    return {"oktmo": get_district().oktmo, "version": published.version, "inn": provider.inn, "ogrn": provider.ogrn}


def test_a_wide_open_data_set_keeps_its_numbers_and_words_whole_and_scrolls_in_its_box(page, live_server, watch,
                                                                                       viewport):
    """The registry has eleven columns: its box scrolls sideways, but an ИНН, an ОГРН or a word is never cut
    into pieces to squeeze every column onto the screen («240 000 101 0» on four lines)."""
    world = live_server.run(lambda: _published_registry(viewport))
    page.goto(f"{live_server.url}/open/{world['oktmo']}/registry/{world['version']}")
    watch.check()
    row = page.locator("tr", has_text=world["inn"])
    for value in (world["inn"], world["ogrn"], "Государственное"):
        cell = row.locator("td", has_text=value).first
        lines = cell.evaluate("""(td, value) => { const range = document.createRange();
            const node = [...td.childNodes].find(n => n.textContent.includes(value)); const at = node.textContent.indexOf(value);
            range.setStart(node, at); range.setEnd(node, at + value.length);
            return new Set([...range.getClientRects()].map(r => Math.round(r.top))).size; }""", value)
        assert lines == 1, (value, lines)
