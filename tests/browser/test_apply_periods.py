"""The application form's category list follows the chosen period (static/js/apply.js)."""
from datetime import date, timedelta

import pytest

from tests import factories
from tests.browser.journeys import login, staff_user

VISIBLE_OPTIONS = """() => Array.from(document.querySelectorAll('#category_id option'))
    .filter(o => !o.disabled && !o.parentElement.disabled).map(o => o.textContent.trim())"""


@pytest.fixture(autouse=True)
def desktop_only(viewport):
    if viewport == "phone":
        pytest.skip("the lists are the same at every size")


def test_the_categories_follow_the_chosen_period(page, live_server, watch):
    email = "periods@example.ru"

    def world():
        from certapp.certificates import services as certificates
        from certapp.db import db
        from certapp.reference.services import create_category, create_period

        parent = staff_user("parent", email)
        department = factories.make_user("department")
        certificates.add_child(parent, factories.child_data())
        current = factories.current_period()
        create_category(current.id, {"name": "Дети из многодетных семей", "age_from": 5, "age_to": 17,
                                     "needs_document": True}, department)
        start = current.ends_on + timedelta(days=1)
        following = create_period(code=f"{start.year}/{(start.year + 1) % 100:02d}", name="Следующий учебный год",
                                  starts_on=start, ends_on=date(start.year + 1, 8, 31), nominal=16_000_00,
                                  actor=department)
        db.session.flush()
        create_category(following.id, {"name": "Спортсмены", "age_from": 5, "age_to": 17}, department)
        return following.id

    following_id = live_server.run(world)
    login(page, watch, live_server.url, email)
    page.goto(f"{live_server.url}/certificates/apply")
    shown = page.evaluate(VISIBLE_OPTIONS)
    assert shown[0] == "Определить по возрасту ребёнка" and any("многодетных" in o for o in shown)
    assert not any("Спортсмены" in o for o in shown)
    page.select_option("#category_id", label=next(o for o in shown if "многодетных" in o))
    page.select_option("#period_id", str(following_id))
    shown = page.evaluate(VISIBLE_OPTIONS)
    assert any("Спортсмены" in o for o in shown) and not any("многодетных" in o for o in shown)
    # the category chosen for the other period is not sent with this one
    assert page.eval_on_selector("#category_id", "s => s.value") == "0"
    watch.check()
