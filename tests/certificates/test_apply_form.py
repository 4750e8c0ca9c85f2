"""The certificate application offers the child's municipality's open periods, the current one first and
preselected, and per period only that period's categories; the server checks the category's period."""
import json
import re
from datetime import date

import pytest
from sqlalchemy import func, select

from certapp.certificates import services
from certapp.certificates.models import CertificateApplication
from certapp.db import db
from certapp.reference.models import Period
from certapp.reference.services import create_category, create_municipality, create_period, get_district
from tests.factories import child_data

pytestmark = pytest.mark.app_config(CLOCK_NOW="2026-12-04")


def _period(code: str, municipality_id: int) -> Period:
    return db.session.execute(select(Period).where(Period.code == code, Period.municipality_id == municipality_id)
                              ).scalar_one()


@pytest.fixture
def world(users):
    """The district's school years 2025/26 (over), 2026/27 (running), 2027/28 (opened early), each with
    the default category (the same name in each), 2026/27 with a second one; a second municipality with
    its own 2026/27; a child already known in the district (an earlier application refused)."""
    district = get_district()
    department = users["department"]
    create_period(code="2027/28", name="2027/28 учебный год", starts_on=date(2027, 9, 1), ends_on=date(2028, 8, 31),
                  nominal=16_000_00, actor=department)
    current = _period("2026/27", district.id)
    large = create_category(current.id, {"name": "Дети из многодетных семей", "age_from": 5, "age_to": 17,
                                         "needs_document": True}, department)
    other = create_municipality(name="Курагинский район", oktmo="04630000", number_code="30")
    known = services.add_child(users["parent"], child_data())
    application = services.apply(users["parent"], known.id, current.id, True)
    services.refuse(application.id, department, "Не приложено свидетельство")
    unknown = services.add_child(users["parent"], child_data(first_name="Анна"))
    db.session.commit()
    return {"past": _period("2025/26", district.id).id, "current": current.id, "next": _period("2027/28", district.id).id,
            "other": _period("2026/27", other.id).id, "known": known.id, "unknown": unknown.id,
            "current_categories": [c.id for c in current.categories], "large": large.id,
            "next_category": _period("2027/28", district.id).categories[0].id}


def _select(page: str, name: str) -> str:
    return re.search(rf'<select id="{name}" name="{name}".*?</select>', page, re.S).group(0)


def test_the_form_offers_the_childs_municipalitys_open_periods_current_first_and_its_categories(login, users, world):
    page = login(users["parent"]).get("/certificates/apply").get_data(as_text=True)
    periods = re.findall(r'<option value="(\d+)"( selected)?( hidden disabled)?>', _select(page, "period_id"))
    # the first child (known in the district): 2026/27 preselected, then 2027/28; no past period, and the
    # other municipality's period only for the child it may concern (hidden for this one)
    assert [(int(value), bool(selected)) for value, selected, hidden in periods if not hidden] == [
        (world["current"], True), (world["next"], False)]
    assert world["past"] not in {int(value) for value, _, _ in periods}
    offered = json.loads(re.search(r"data-child-periods='([^']*)'", page).group(1))
    assert offered[str(world["known"])] == [world["current"], world["next"]]
    # a child never applied for: every municipality's open periods, the running ones first
    assert set(offered[str(world["unknown"])]) == {world["current"], world["next"], world["other"]}
    assert offered[str(world["unknown"])][-1] == world["next"]

    categories = _select(page, "category_id")
    groups = dict(re.findall(r'<optgroup label="[^"]*" data-period="(\d+)"( hidden disabled)?>', categories))
    assert groups == {str(world["current"]): "", str(world["next"]): " hidden disabled",
                      str(world["other"]): " hidden disabled"}
    shown = re.search(rf'data-period="{world["current"]}">(.*?)</optgroup>', categories, re.S).group(1)
    assert [int(v) for v in re.findall(r'<option value="(\d+)"', shown)] == world["current_categories"]
    values = re.findall(r'<option value="(\d+)"', categories)
    assert len(values) == len(set(values))  # each category once
    # the script that switches the lists is served by the application itself
    assert '<script src="/static/js/apply.js" defer></script>' in page
    script = login(users["parent"]).get("/static/js/apply.js")
    assert script.status_code == 200 and b"data-category-select" in script.data
    script.close()


def test_a_category_of_another_period_is_refused_beside_its_field_and_nothing_is_filed(api, login, users, world):
    body = {"child_id": world["known"], "period_id": world["current"], "category_id": world["next_category"],
            "consent": True}
    response = api(users["parent"]).post("/api/v1/certificates/applications", json=body)
    assert response.status_code == 422
    assert response.json["errors"]["json"]["category_id"] == ["Категория относится к другому периоду."]
    page = login(users["parent"]).post("/certificates/apply", data={**body, "consent": "y"})
    assert page.status_code == 422
    assert re.search(r'id="category_id-error">Категория относится к другому периоду.</p>', page.get_data(as_text=True))
    assert db.session.execute(select(func.count()).select_from(CertificateApplication).where(
        CertificateApplication.status == "submitted")).scalar_one() == 0


def test_a_past_period_is_not_accepted_by_the_form(login, users, world):
    page = login(users["parent"]).post("/certificates/apply", data={
        "child_id": world["known"], "period_id": world["past"], "category_id": 0, "consent": "y"})
    assert page.status_code == 422 and 'id="period_id-error"' in page.get_data(as_text=True)
    assert db.session.execute(select(func.count()).select_from(CertificateApplication).where(
        CertificateApplication.status == "submitted")).scalar_one() == 0


def test_the_period_chosen_and_its_category_are_filed(login, users, world):
    response = login(users["parent"]).post("/certificates/apply", data={
        "child_id": world["known"], "period_id": world["current"], "category_id": world["large"], "consent": "y"})
    assert response.status_code == 302
    filed = db.session.execute(select(CertificateApplication).where(CertificateApplication.status == "submitted")
                               ).scalar_one()
    assert (filed.period_id, filed.category_id) == (world["current"], world["large"])


@pytest.mark.parametrize("group_id", ["²", "9" * 5000])
def test_a_group_id_int_cannot_parse_is_not_a_500(login, users, world, group_id):
    """«²» and 5 000 digits passed str.isdigit() and were a ValueError in int()."""
    response = login(users["parent"]).post("/certificates/apply", data={
        "child_id": world["unknown"], "period_id": world["current"], "category_id": 0, "consent": "y",
        "group_id": group_id})
    assert response.status_code < 500, response.get_data(as_text=True)[:500]
