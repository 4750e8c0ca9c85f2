"""Quality monitoring (issue 24; plan 6.1–6.2 of 458-п, Приложение 3 rows 4.4–4.5): the municipal support
centre keeps the checklist and records visits to its municipality's providers; a provider sees its own
visits, nobody else anyone's; the figures count the monitored providers and the compliant share."""
import json
from datetime import date
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from certapp.accounts.models import User
from certapp.audit.models import AuditEvent
from certapp.common.errors import ValidationError
from certapp.db import db
from certapp.monitoring import services
from certapp.monitoring.models import MAX_WEIGHT, ChecklistItem, MonitoringVisit, VisitResult
from certapp.monitoring.services import MAX_TITLE
from certapp.reference.services import create_municipality, get_district
from tests.factories import make_provider, make_user
from tests.shared import BY_NAME, shared_fixture

pytestmark = pytest.mark.app_config(CLOCK_NOW="2026-12-04T12:00:00")
YEAR = 2026


def _world():
    """The support centre of the default municipality with a checklist of three items, two providers
    admitted there and one admitted only in a second municipality."""
    users = BY_NAME["users"]()
    moc = make_user("moc")
    items = [services.add_item(title, weight, moc) for title, weight in
             (("Расписание соответствует каталогу", 3), ("Педагог с документом об образовании", 2),
              ("Информационный стенд", 1))]
    own_user, own = make_provider(department=users["department"])
    other_user, other = make_provider(department=users["department"])
    second = create_municipality(name="Курагинский район", oktmo="04630000", number_code="30")
    far_user, far = make_provider(department=make_user("department", municipality_id=second.id),
                                  municipality_id=second.id)
    db.session.commit()
    return {"moc": moc, "items": items, "own_user": own_user, "own": own, "other_user": other_user,
            "other": other, "second": second, "far_user": far_user, "far": far}


world = shared_fixture(_world)


def _visit(world, provider, results=("met", "met", "met"), day=date(2026, 11, 20), comment=None):
    visit = services.record_visit(world["moc"], provider_id=provider.id, visited_on=day, comment=comment,
                                  results={item.id: (result, None) for item, result in zip(world["items"], results)})
    db.session.commit()
    return visit


def _form(world, provider_id, results=("met", "partial", "not_met"), **extra):
    data = {"provider_id": provider_id, "visited_on": "20.11.2026", "comment": "Всё по плану"}
    data.update({f"result-{item.id}": result for item, result in zip(world["items"], results)})
    data.update(extra)
    return data


def _count(model) -> int:
    return db.session.execute(select(func.count()).select_from(model)
                              .execution_options(all_municipalities=True)).scalar_one()


# --- the support centre's work ---------------------------------------------------------------------

def test_the_support_centre_adds_checklist_items_and_records_a_visit_with_its_weighted_score(login, world):
    page = login(world["moc"])
    added = page.post("/monitoring/checklist", data={"title": "Журнал посещаемости ведётся", "weight": "4"})
    assert added.status_code == 302
    item = db.session.execute(select(ChecklistItem).where(ChecklistItem.title == "Журнал посещаемости ведётся")).scalar_one()
    assert item.weight == 4 and item.municipality_id == world["moc"].municipality_id
    answer = page.post("/monitoring/visits/new", data=_form(world, world["own"].id, **{f"result-{item.id}": "met"}))
    assert answer.status_code == 302, answer.get_data(as_text=True)
    visit = db.session.execute(select(MonitoringVisit)).scalar_one()
    # weights 3, 2, 1, 4: met 3, partial 2 (half: 1), not met 1, met 4 -> 8 of 10
    assert (visit.provider_id, visit.visited_on, visit.score) == (world["own"].id, date(2026, 11, 20), Decimal("80.00"))
    assert visit.compliant and len(visit.results) == 4
    shown = page.get(answer.headers["Location"]).get_data(as_text=True)
    assert "20.11.2026" in shown and "80,0 %" in shown and "Частично соответствует" in shown
    actions = set(db.session.execute(select(AuditEvent.action)).scalars())
    assert {"checklist_item.create", "monitoring_visit.create"} <= actions


def test_the_support_centres_home_counts_its_checklist_and_names_who_is_not_visited(login, world):
    _visit(world, world["own"], results=("met", "met", "not_met"))
    html = login(world["moc"]).get("/").get_data(as_text=True)
    assert "Пунктов в чек-листе: <strong>3</strong>" in html and "built-in" not in html
    assert "из 2 исполнителей" in html
    assert world["other"].short_name in html and ".</p>" in html and "..</p>" not in html


def test_the_score_is_the_weighted_share_of_the_items_met_a_partial_one_half():
    assert services.visit_score([("met", 3), ("partial", 2), ("not_met", 1)]) == Decimal("66.67")
    assert services.visit_score([("not_met", 5)]) == Decimal("0.00")
    assert services.visit_score([("met", 1), ("met", 100)]) == Decimal("100.00")


def test_every_wrong_field_of_a_visit_is_shown_beside_it_at_once_and_nothing_is_saved(login, world):
    page = login(world["moc"])
    answer = page.post("/monitoring/visits/new", data={
        "provider_id": "", "visited_on": "31.02.2026", "comment": "x" * 2001,
        f"result-{world['items'][0].id}": "met", f"result-{world['items'][1].id}": "maybe"})
    assert answer.status_code == 422
    html = answer.get_data(as_text=True)
    assert "Выберите исполнителя." in html and "Укажите дату посещения" in html
    assert "Поле «Комментарий» длиннее 2000 символов." in html
    assert html.count("Отметьте результат по пункту") == 2  # the unknown result and the missing one
    assert f'id="err-item-{world["items"][1].id}"' in html and 'aria-invalid="true"' in html
    assert _count(MonitoringVisit) == 0 and _count(VisitResult) == 0


def test_a_long_items_name_in_a_message_is_cut_between_words_with_an_ellipsis(login, world):
    title = "Занятия проводит педагог с документом об образовании и без ограничений по ст. 351.1 ТК РФ"
    item = services.add_item(title, 2, world["moc"])
    db.session.commit()
    html = login(world["moc"]).post("/monitoring/visits/new", data=_form(world, world["own"].id)).get_data(as_text=True)
    assert "«Занятия проводит педагог с документом об образовании и без ограничений по ст.…»" in html
    assert "ст. 35»" not in html
    assert item.short_title.endswith("…") and len(item.short_title) <= 81
    assert world["items"][0].short_title == world["items"][0].title


def test_a_retired_item_is_no_longer_asked_and_the_visits_that_asked_it_keep_its_result(api, world):
    first = _visit(world, world["own"], results=("met", "met", "not_met"))
    assert first.score == Decimal("83.33")
    client = api(world["moc"])
    retired = client.post(f"/api/v1/monitoring/checklist-items/{world['items'][2].id}/retire")
    assert retired.status_code == 200 and retired.json["retired"] is True
    again = client.post(f"/api/v1/monitoring/checklist-items/{world['items'][2].id}/retire")
    assert again.status_code == 409
    listed = client.get("/api/v1/monitoring/checklist-items").json
    assert [row["id"] for row in listed] == [world["items"][0].id, world["items"][1].id]
    assert len(client.get("/api/v1/monitoring/checklist-items?include_retired=true").json) == 3
    refused = client.post("/api/v1/monitoring/visits", json={
        "provider_id": world["own"].id, "visited_on": "2026-12-01",
        "results": [{"item_id": item.id, "result": "met"} for item in world["items"]]})
    assert refused.status_code == 422 and "results" in refused.json["errors"]["json"]
    second = client.post("/api/v1/monitoring/visits", json={
        "provider_id": world["own"].id, "visited_on": "2026-12-01",
        "results": [{"item_id": item.id, "result": "met"} for item in world["items"][:2]]})
    assert second.status_code == 201 and second.json["score"] == "100.00"
    assert [r["item_id"] for r in second.json["results"]] == [world["items"][0].id, world["items"][1].id]
    old = client.get(f"/api/v1/monitoring/visits/{first.id}").json
    assert [(r["title"], r["result"]) for r in old["results"]][2] == ("Информационный стенд", "not_met")
    assert old["score"] == "83.33"


def test_the_department_creates_a_support_centre_account_in_its_municipality(login, users, world):
    page = login(users["department"])
    made = page.post("/monitoring/staff", data={"full_name": "Григорьева Елена Викторовна", "email": "moc2@example.ru",
                                                "phone": "+79130009999", "password": "Moc-password-2026"})
    assert made.status_code == 302
    account = db.session.execute(select(User).where(User.email == "moc2@example.ru")).scalar_one()
    assert (account.role, account.municipality_id) == ("moc", users["department"].municipality_id)
    refused = page.post("/monitoring/staff", data={"full_name": "", "email": "не почта", "password": "123"})
    assert refused.status_code == 422
    html = refused.get_data(as_text=True)
    assert "Укажите фамилию, имя и отчество." in html and "Пароль должен быть не короче 10 символов." in html
    assert html.count('class="error"') == 3  # the name, the address and the password, each beside its field
    assert login(users["bookkeeping"]).post("/monitoring/staff", data={
        "full_name": "Иванов Иван Иванович", "email": "moc3@example.ru", "password": "Moc-password-2026"}).status_code == 403
    assert login(world["moc"]).get("/monitoring/staff").status_code == 403


# --- what the support centre may not do ------------------------------------------------------------

def test_another_municipalitys_provider_is_refused_beside_the_field_and_nothing_is_saved(login, api, world):
    answer = login(world["moc"]).post("/monitoring/visits/new", data=_form(world, world["far"].id))
    assert answer.status_code == 422
    assert "не допущен к оказанию услуг в вашем муниципальном образовании" in answer.get_data(as_text=True)
    refused = api(world["moc"]).post("/api/v1/monitoring/visits", json={
        "provider_id": world["far"].id, "visited_on": "2026-11-20",
        "results": [{"item_id": item.id, "result": "met"} for item in world["items"]]})
    assert refused.status_code == 422 and "provider_id" in refused.json["errors"]["json"]
    assert _count(MonitoringVisit) == 0


def test_a_support_centre_sees_nothing_of_another_municipality(api, login, world):
    visit = _visit(world, world["own"])
    stranger = make_user("moc", municipality_id=world["second"].id)
    db.session.commit()
    client = api(stranger)
    assert client.get(f"/api/v1/monitoring/visits/{visit.id}").status_code == 404
    assert client.get("/api/v1/monitoring/visits").json == []
    assert client.get("/api/v1/monitoring/checklist-items").json == []
    assert client.post(f"/api/v1/monitoring/checklist-items/{world['items'][0].id}/retire").status_code == 404
    assert login(stranger).get(f"/monitoring/visits/{visit.id}").status_code == 404
    db.session.expire_all()
    assert world["items"][0].retired_at is None


def test_the_department_reads_the_checklist_and_visits_but_changes_nothing(api, login, users, world):
    visit = _visit(world, world["own"])
    page = login(users["department"])
    assert page.get(f"/monitoring/visits/{visit.id}").status_code == 200
    assert page.post("/monitoring/checklist", data={"title": "Новый пункт", "weight": "1"}).status_code == 403
    client = api(users["department"])
    assert len(client.get("/api/v1/monitoring/visits").json) == 1
    assert client.post("/api/v1/monitoring/checklist-items", json={"title": "Новый", "weight": 1}).status_code == 403
    assert _count(ChecklistItem) == 3


# --- providers and parents -------------------------------------------------------------------------

def test_a_provider_sees_its_own_visits_and_results_and_nobody_elses(api, login, world):
    own = _visit(world, world["own"], comment="Замечаний нет")
    other = _visit(world, world["other"], results=("not_met", "met", "met"))
    client = api(world["own_user"])
    listed = client.get("/api/v1/monitoring/visits")
    assert listed.status_code == 200 and [row["id"] for row in listed.json] == [own.id]
    assert json.loads(listed.headers["X-Pagination"])["total"] == 1
    assert client.get(f"/api/v1/monitoring/visits/{own.id}").json["results"][0]["result_name"] == "Соответствует"
    assert client.get(f"/api/v1/monitoring/visits/{other.id}").status_code == 404
    assert client.get(f"/api/v1/monitoring/visits?provider={world['other'].id}").json == []
    page = login(world["own_user"])
    html = page.get("/monitoring/").get_data(as_text=True)
    assert "20.11.2026" in html and "100,0 %" in html and world["other"].short_name not in html
    assert page.get(f"/monitoring/visits/{other.id}").status_code == 404
    assert page.get("/monitoring/visits/new").status_code == 403
    told = page.get("/notifications").get_data(as_text=True)
    assert "Посещение опорного центра 20.11.2026: оценка 100,0 %" in told
    assert client.post("/api/v1/monitoring/visits", json={}).status_code == 403
    assert client.get("/api/v1/monitoring/checklist-items").status_code == 403


def test_a_parent_sees_nothing_of_the_monitoring(api, login, users, world):
    visit = _visit(world, world["own"])
    page, client = login(users["parent"]), api(users["parent"])
    for path in ("/monitoring/", f"/monitoring/visits/{visit.id}", "/monitoring/checklist", "/monitoring/region"):
        assert page.get(path).status_code == 403, path
    for path in ("/api/v1/monitoring/visits", f"/api/v1/monitoring/visits/{visit.id}",
                 "/api/v1/monitoring/checklist-items", "/api/v1/monitoring/region"):
        assert client.get(path).status_code == 403, path


# --- figures ---------------------------------------------------------------------------------------

def test_the_figures_count_the_monitored_providers_and_the_share_whose_latest_visit_complies(world):
    home = get_district().id
    assert services.quality_figures(YEAR, [home]) == services.QualityFigures(
        year=YEAR, providers_total=2, providers_monitored=0, providers_compliant=0, compliant_share=None)
    _visit(world, world["own"], results=("not_met", "met", "met"), day=date(2026, 3, 1))  # 50 %
    _visit(world, world["own"], results=("met", "met", "partial"), day=date(2026, 10, 1))  # 91.67 %: the latest
    _visit(world, world["other"], results=("met", "not_met", "met"), day=date(2026, 11, 1))  # 66.67 %
    _visit(world, world["other"], results=("met", "met", "met"), day=date(2025, 12, 1))  # another year
    figures = services.quality_figures(YEAR, [home])
    assert (figures.providers_total, figures.providers_monitored, figures.providers_compliant) == (2, 2, 1)
    assert figures.compliant_share == Decimal("50.0")
    assert services.quality_figures(2025, [home]).compliant_share == Decimal("100.0")
    assert services.quality_figures(YEAR, [world["second"].id]).providers_total == 1
    assert services.quality_figures(YEAR).providers_total == 3
    with pytest.raises(ValidationError):
        services.quality_figures(99999)


def test_the_regional_operator_compares_the_municipalities(api, login, users, world):
    _visit(world, world["own"])
    html = login(users["region"]).get("/monitoring/region?year=2026").get_data(as_text=True)
    assert "Каратузский район" in html and "Курагинский район" in html and "Регион, всего" in html
    assert "нет посещений" in html  # Kuragino
    # a provider admitted in two municipalities counts once in the total: the page says why it is not the sum
    assert "считается один раз" in html
    rows = api(users["region"]).get("/api/v1/monitoring/region?year=2026")
    assert rows.status_code == 200
    by_name = {row["name"]: row["figures"] for row in rows.json}
    assert by_name[get_district().name]["providers_monitored"] == 1
    assert by_name[get_district().name]["compliant_share"] == "100.0"
    assert by_name["Курагинский район"]["compliant_share"] is None
    assert rows.json[-1]["municipality"] is None
    assert api(users["region"]).get("/api/v1/monitoring/region?year=1").status_code == 422
    assert api(users["department"]).get("/api/v1/monitoring/region").status_code == 403


# --- hostile input ---------------------------------------------------------------------------------

def test_ids_in_fullwidth_digits_are_the_same_ids(login, api, world):
    wide = str(world["own"].id).translate(str.maketrans("0123456789", "０１２３４５６７８９"))
    answer = login(world["moc"]).post("/monitoring/visits/new", data=_form(world, wide))
    assert answer.status_code == 302
    listed = api(world["moc"]).get(f"/api/v1/monitoring/visits?provider={wide}")
    assert listed.status_code == 200 and [row["provider_id"] for row in listed.json] == [world["own"].id]
    page = login(world["moc"]).get(f"/monitoring/?provider={wide}")
    assert page.status_code == 200


def test_a_provider_chosen_by_the_address_of_a_new_visit_in_any_scripts_digits_is_chosen(login, world):
    own = world["own"].id
    for digits in ("0123456789", "０１２３４５６７８９", "٠١٢٣٤٥٦٧٨٩"):
        answer = login(world["moc"]).get("/monitoring/visits/new",
                                         query_string={"provider": str(own).translate(str.maketrans("0123456789", digits))})
        assert answer.status_code == 200 and f'<option selected value="{own}">' in answer.get_data(as_text=True), digits


@pytest.mark.parametrize("value", ["abc", "0", "\x00", "1" * 5000, "far"])
def test_a_wrong_provider_chosen_by_the_address_of_a_new_visit_is_told_beside_it(login, world, value):
    """The visits list's own filter field (monitoring.schemas.VisitQuerySchema), and a provider not offered."""
    provider = str(world["far"].id) if value == "far" else value
    answer = login(world["moc"]).get("/monitoring/visits/new", query_string={"provider": provider})
    text = answer.get_data(as_text=True)
    assert answer.status_code == 422 and 'id="provider_id-error">Такого исполнителя нет: выберите из списка.<' in text
    assert '<option selected value="">' in text  # nothing chosen in its place


def test_html_in_comments_is_shown_as_text(login, world):
    visit = _visit(world, world["own"], comment='<script>alert("x")</script><b>жирный</b>')
    html = login(world["own_user"]).get(f"/monitoring/visits/{visit.id}").get_data(as_text=True)
    assert "<script>alert" not in html and "&lt;script&gt;alert" in html and "<b>жирный" not in html


@pytest.mark.parametrize("body", [
    {"provider_id": "1" * 30},
    {"provider_id": -5},
    {"provider_id": "abc", "visited_on": "2026-13-45"},
    {"results": [{"item_id": 1, "result": "met"}] * 201},
    {"results": "met"},
    {"visited_on": "2099-01-01"},
])
def test_hostile_visit_bodies_are_refused_with_field_details_and_change_nothing(api, world, body):
    full = {"provider_id": world["own"].id, "visited_on": "2026-11-20",
            "results": [{"item_id": item.id, "result": "met"} for item in world["items"]], **body}
    answer = api(world["moc"]).post("/api/v1/monitoring/visits", json=full)
    assert answer.status_code in (400, 422), answer.get_data(as_text=True)
    if answer.status_code == 422:
        assert answer.json["errors"]["json"]
    assert _count(MonitoringVisit) == 0


def test_a_repeated_item_and_a_huge_comment_are_refused(api, world):
    client = api(world["moc"])
    results = [{"item_id": item.id, "result": "met"} for item in world["items"]]
    repeated = client.post("/api/v1/monitoring/visits", json={
        "provider_id": world["own"].id, "visited_on": "2026-11-20", "results": results + results[:1]})
    assert repeated.status_code == 422 and f"results.{world['items'][0].id}" in repeated.json["errors"]["json"]
    huge = client.post("/api/v1/monitoring/visits", json={
        "provider_id": world["own"].id, "visited_on": "2026-11-20", "results": results, "comment": "я" * 3_000_000})
    assert huge.status_code == 413
    long_title = client.post("/api/v1/monitoring/checklist-items", json={"title": "п" * 501, "weight": 1})
    assert long_title.status_code == 422 and "title" in long_title.json["errors"]["json"]
    weight = client.post("/api/v1/monitoring/checklist-items", json={"title": "Пункт", "weight": 0})
    assert weight.status_code == 422 and "weight" in weight.json["errors"]["json"]
    assert _count(MonitoringVisit) == 0 and _count(ChecklistItem) == 3


def test_rows_4_4_and_4_5_of_the_indicators_come_from_the_visits(api, users, world):
    """The department's indicators page and API read 4.4 and 4.5 from the support centre's visits."""
    client = api(users["department"])

    def rows() -> dict:
        listed = client.get("/api/v1/reports/indicators?year=2026").json
        return {row["code"]: row for row in listed["rows"]}

    before = rows()
    assert before["providers_monitoring_quality"]["current"] is None and before["checklist_compliance"]["current"] is None
    _visit(world, world["own"])  # every item met: 100 %
    _visit(world, world["other"], results=("not_met", "met", "met"))  # 50 %: below the threshold
    after = rows()
    assert Decimal(after["providers_monitoring_quality"]["current"]) == 2
    assert Decimal(after["checklist_compliance"]["current"]) == 50


@pytest.mark.parametrize("title, weight, name, message", [
    ("я" * (MAX_TITLE + 1), "2", "title", f"Поле «Пункт чек-листа» длиннее {MAX_TITLE} символов."),
    ("Журнал", "0", "weight", f"Вес — целое число от 1 до {MAX_WEIGHT}."),
    ("Журнал", str(MAX_WEIGHT + 1), "weight", f"Вес — целое число от 1 до {MAX_WEIGHT}."),
])
def test_a_checklist_item_is_refused_alike_on_the_page_and_in_the_api(login, api, world, title, weight, name, message):
    """The limits are the service's (the API's schema documents them): the same message beside the field."""
    page = login(world["moc"]).post("/monitoring/checklist", data={"title": title, "weight": weight})
    assert page.status_code == 422 and message in page.get_data(as_text=True)
    answer = api(world["moc"]).post("/api/v1/monitoring/checklist-items", json={"title": title, "weight": int(weight)})
    assert answer.status_code == 422 and answer.json["errors"]["json"] == {name: [message]}
    assert _count(ChecklistItem) == 3


def test_the_visits_filter_refuses_a_provider_of_another_municipality_or_none_as_the_contracts_filter(login, api, world):
    """?provider= of a provider admitted only elsewhere, or of none at all, is told beside the filter (page)
    and under errors.query (API), 422 — not listed as nothing, as the contracts list does."""
    for provider in (world["far"].id, 999999):
        listed = api(world["moc"]).get(f"/api/v1/monitoring/visits?provider={provider}")
        assert listed.status_code == 422
        assert listed.json["errors"]["query"]["provider"] == ["Такого исполнителя нет: выберите из списка."]
        page = login(world["moc"]).get(f"/monitoring/?provider={provider}")
        assert page.status_code == 422 and "Такого исполнителя нет: выберите из списка." in page.get_data(as_text=True)
    assert api(world["moc"]).get(f"/api/v1/monitoring/visits?provider={world['own'].id}").status_code == 200


@pytest.mark.parametrize("title, weight", [("", "-1"), ("Журнал\x00", "9" * 5000), ("", "abc")])
def test_every_wrong_field_of_a_checklist_item_is_shown_on_the_page_at_once_as_in_the_api(login, world, title, weight):
    """An empty item and a weight that is no number: both told beside their fields (the form's own checks
    stopped at the first, so the weight's was never seen), and nothing saved."""
    page = login(world["moc"]).post("/monitoring/checklist", data={"title": title, "weight": weight})
    text = page.get_data(as_text=True)
    assert page.status_code == 422
    assert ("Заполните поле «Пункт чек-листа»." in text) or ("недопустимый символ" in text), text
    assert f"Вес — целое число от 1 до {MAX_WEIGHT}." in text
    assert 'inputmode="numeric"' in text  # a phone offers its digits, as it did for the former number field
    assert _count(ChecklistItem) == 3
