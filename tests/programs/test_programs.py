
import pytest
from sqlalchemy import func, select

from certapp.db import db
from certapp.programs.models import Program
from tests.factories import current_period, listed_total, make_certificate, make_contract, make_program, make_provider, program_data


@pytest.fixture
def provider_user(users):
    user, _ = make_provider(users["provider"], users["department"])
    db.session.commit()
    return user


def _api_program(**overrides) -> dict:
    data = program_data(**overrides)
    data["price_per_month_rub"] = data.pop("price_per_month")
    return data


def test_provider_publishes_a_program_and_a_parent_finds_it_by_direction_and_age(login, users, provider_user):
    client = login(provider_user)
    response = client.post("/provider/programs/new", data=program_data())
    assert response.status_code == 302, response.get_data(as_text=True)
    program = db.session.execute(select(Program)).scalar_one()
    assert program.price_per_month == 125000
    period = current_period()
    response = client.post(f"/provider/programs/{program.id}/groups/new", data={
        "name": "Группа 1", "teacher": "Иванов И. И.", "schedule": "вт, чт 15:00",
        "starts_on": period.starts_on.isoformat(), "ends_on": period.ends_on.isoformat(), "capacity": "10"})
    assert response.status_code == 302
    assert client.post(f"/provider/programs/{program.id}/submit").status_code == 302
    assert program.status == "submitted"
    assert "Робототехника" not in login(users["parent"]).get("/catalog").get_data(as_text=True)

    department = login(users["department"])
    assert "Робототехника" in department.get("/programs/review").get_data(as_text=True)
    assert department.post(f"/programs/{program.id}/decide", data={"decision": "published"}).status_code == 302

    parent = login(users["parent"])
    assert "Робототехника" in parent.get("/catalog?direction=technical&age=8").get_data(as_text=True)
    assert "Робототехника" not in parent.get("/catalog?direction=sport").get_data(as_text=True)
    assert "Робототехника" not in parent.get("/catalog?age=14").get_data(as_text=True)
    page = parent.get(f"/catalog/{program.id}").get_data(as_text=True)
    assert "804200О.99.0.ББ52АЕ04000" in page and "10 из 10" in page and "1\u00a0250,00\u00a0₽" in page


def test_catalog_api_filters_by_direction_age_provider_text_and_seats(api, users, provider_user):
    make_program(provider_user, users["department"])
    make_program(provider_user, users["department"], title="Футбол", direction="sport", age_from=10, age_to=17,
                 groups=0)
    db.session.commit()
    client = api()
    assert listed_total(client.get("/api/v1/programs/catalog")) == 2
    found = client.get("/api/v1/programs/catalog?direction=technical&age=7").json
    assert [p["title"] for p in found] == ["Робототехника для начинающих"]
    assert found[0]["service_code"] == "804200О.99.0.ББ52АЕ04000"
    assert listed_total(client.get("/api/v1/programs/catalog?age=13")) == 1
    assert listed_total(client.get("/api/v1/programs/catalog?q=ФУТБОЛ")) == 1
    assert listed_total(client.get("/api/v1/programs/catalog?seats=true")) == 1
    assert listed_total(client.get(f"/api/v1/programs/catalog?provider={provider_user.provider_id}")) == 2
    assert client.get("/api/v1/programs/catalog?age=abc").status_code == 422


def test_program_outside_the_age_range_is_refused(api, provider_user):
    response = api(provider_user).post("/api/v1/programs", json=_api_program(age_from=3))
    assert response.status_code == 422 and "age_from" in response.json["errors"]["json"]
    response = api(provider_user).post("/api/v1/programs", json=_api_program(age_to=18))
    assert response.status_code == 422 and "age_to" in response.json["errors"]["json"]


def test_pre_professional_arts_program_is_refused_citing_point_1(api, login, provider_user):
    response = api(provider_user).post("/api/v1/programs", json=_api_program(kind="pre_professional_arts",
                                                                              direction="arts"))
    assert response.status_code == 422
    assert response.json["status"] == "pre_professional_program" and "п. 1" in response.json["message"]
    page = login(provider_user).post("/provider/programs/new", data=program_data(
        title="Предпрофессиональная программа «Фортепиано»", direction="arts"))
    assert page.status_code == 422 and "п. 1 постановления" in page.get_data(as_text=True)
    assert db.session.execute(select(func.count()).select_from(Program)).scalar_one() == 0


def test_general_arts_program_is_accepted(api, provider_user):
    response = api(provider_user).post("/api/v1/programs", json=_api_program(title="Рисуем вместе",
                                                                              direction="arts"))
    assert response.status_code == 201 and response.json["direction"] == "arts"


def test_a_provider_not_in_the_registry_cannot_create_a_program(api, login, users):
    response = api(users["provider"]).post("/api/v1/programs", json=_api_program())
    assert response.status_code == 403 and response.json["status"] == "not_in_registry"
    assert "только исполнителю, включённому в реестр" in login(users["provider"]).post(
        "/provider/programs/new", data=program_data()).get_data(as_text=True)


def test_a_parent_calling_a_provider_endpoint_is_refused(api, users):
    assert api(users["parent"]).post("/api/v1/programs", json=_api_program()).status_code == 403
    assert api(users["parent"]).get("/api/v1/programs").status_code == 403


def test_group_capacity_cannot_exceed_the_program_group_size(api, provider_user):
    program = api(provider_user).post("/api/v1/programs", json=_api_program(max_group_size=8)).json
    response = api(provider_user).post(f"/api/v1/programs/{program['id']}/groups", json={
        "name": "Г1", "teacher": "Иванов", "schedule": "пн", "starts_on": "2026-09-01", "ends_on": "2027-05-31",
        "capacity": 9})
    assert response.status_code == 422 and "capacity" in response.json["errors"]["json"]


def test_suspended_providers_programs_leave_the_catalog_at_once(api, users, provider_user):
    make_program(provider_user, users["department"])
    db.session.commit()
    assert listed_total(api().get("/api/v1/programs/catalog")) == 1
    entry_id = db.session.get(type(provider_user), provider_user.id).provider_id
    from certapp.registry.models import Provider
    provider = db.session.get(Provider, entry_id)
    api(users["department"]).post(f"/api/v1/registry/entries/{provider.entry.id}/status",
                                  json={"status": "suspended", "reason": "Нарушение"})
    assert listed_total(api().get("/api/v1/programs/catalog")) == 0


def test_unpublished_program_is_hidden_from_the_public_and_other_providers(api, users, provider_user):
    program = make_program(provider_user, users["department"])
    db.session.commit()
    api(users["department"]).post(f"/api/v1/programs/{program.id}/decision",
                                  json={"decision": "unpublished", "reason": "Устарело описание"})
    assert api().get(f"/api/v1/programs/{program.id}").status_code == 404
    other, _ = make_provider()
    db.session.commit()
    assert api(other).get(f"/api/v1/programs/{program.id}").status_code == 404
    mine = api(provider_user).get(f"/api/v1/programs/{program.id}").json
    assert mine["status"] == "unpublished" and mine["remarks"] == "Устарело описание"


def test_published_program_cannot_be_edited_until_unpublished(api, users, provider_user):
    program = make_program(provider_user, users["department"])
    db.session.commit()
    response = api(provider_user).put(f"/api/v1/programs/{program.id}", json=_api_program(title="Новое"))
    assert response.status_code == 409


def test_catalog_stays_paginated(api, users, provider_user):
    for i in range(25):
        make_program(provider_user, users["department"], title=f"Программа {i:02d}", groups=0)
    db.session.commit()
    page = api().get("/api/v1/programs/catalog?page_size=10&page=3")
    assert listed_total(page) == 25 and len(page.json) == 5


def test_catalog_cards_show_seats_start_and_what_the_certificate_pays(client, users, login):
    from certapp.db import db
    from tests.factories import make_certificate, make_program, make_provider

    provider_user, _ = make_provider(department=users["department"])
    program = make_program(provider_user, users["department"], title="Шахматный клуб", price_per_month="100 000",
                           capacity=7)
    make_certificate(parent=users["parent"], department=users["department"], first_name="Вера")
    db.session.commit()
    anonymous = client.get("/catalog").get_data(as_text=True)
    from certapp.common import clock
    start = "Ближайшее начало" if program.groups[0].starts_on >= clock.today() else "Группы уже занимаются"
    assert "Свободно: 7 мест" in anonymous and start in anonymous and "оплатит сертификат" not in anonymous
    page = login(users["parent"]).get("/catalog").get_data(as_text=True)
    assert "Вера: оплатит сертификат" in page and "вы доплачиваете" in page  # a month costs more than any nominal
    assert f'href="/enroll/{program.id}"' in page


def test_a_child_with_certificates_of_two_periods_reads_each_offer_with_its_period(users, login):
    """Two lines «Вера: оплатит сертификат …» would not say which certificate pays what: each names its period."""
    from datetime import date, timedelta

    from certapp.certificates import services as certificates
    from certapp.db import db
    from certapp.reference.services import create_period
    from tests.factories import current_period, make_certificate, make_program, make_provider

    provider_user, _ = make_provider(department=users["department"])
    make_program(provider_user, users["department"], title="Шахматный клуб")
    first = make_certificate(parent=users["parent"], department=users["department"], first_name="Вера")
    now = current_period()
    start = now.ends_on + timedelta(days=1)
    code = f"{start.year}/{(start.year + 1) % 100:02d}"
    following = create_period(code=code, name=f"{code} учебный год", starts_on=start,
                              ends_on=date(start.year + 1, 8, 31), nominal=18_000_00, actor=users["department"])
    application = certificates.apply(users["parent"], first.child_id, following.id, True)
    certificates.confirm(application.id, users["department"])
    db.session.commit()
    page = login(users["parent"]).get("/catalog").get_data(as_text=True)
    assert f"Вера ({now.name}): оплатит сертификат" in page and f"Вера ({following.name}): оплатит сертификат" in page
    assert "Вера: оплатит сертификат" not in page


def test_catalog_text_search_is_full_text_by_words_and_their_starts(app, api, users, provider_user):
    make_program(provider_user, users["department"])
    make_program(provider_user, users["department"], title="Шахматы", description="Дебюты, эндшпиль, турниры.",
                 direction="sport")
    program = make_program(provider_user, users["department"], title="Юный эколог",
                           description="Наблюдения за птицами и растениями.", direction="natural_science")
    db.session.commit()
    client = api()

    def titles(query):
        return sorted(p["title"] for p in client.get("/api/v1/programs/catalog", query_string={"q": query}).json)
    assert titles("робот") == ["Робототехника для начинающих"]          # a word's start
    assert titles("программирование роботов") == ["Робототехника для начинающих"]  # every word, any order
    assert titles("ШАХМАТЫ") == ["Шахматы"] and titles("эндшпиль") == ["Шахматы"]   # the description too
    assert titles("шахматы робот") == []                                   # every word must match
    assert titles("!!!") == [] and titles("' OR 1=1 --") == []              # nothing searchable, no injection
    assert len(titles("ЦДТ")) == 3                                        # the provider's name
    # Russian stemming on both databases (SQLite: the Snowball stems in the FTS5 index, migration 0035)
    assert titles("шахматам") == ["Шахматы"] and titles("птица") == ["Юный эколог"]
    assert titles("роботы") == ["Робототехника для начинающих"] and titles("Робототехникой") == titles("роботы")
    # the index follows an edit of the title
    from certapp.programs.models import Program
    db.session.get(Program, program.id).title = "Юный натуралист"
    db.session.commit()
    assert titles("натуралист") == ["Юный натуралист"] and titles("эколог") == []


def test_a_group_keeps_at_least_the_places_its_contracts_hold(login, api, users, provider_user):
    """contracts refuse, as a reaction to study_group_capacity_set, a capacity below their seats: on the
    page beside the field, in the API as a 422 naming it; nothing changes; the seats held are accepted."""
    program = make_program(provider_user, users["department"], capacity=10)
    for _ in range(2):
        make_contract(make_certificate(department=users["department"]), provider_user, program)
    db.session.commit()
    group = program.groups[0]
    url = f"/provider/programs/{program.id}/groups/{group.id}"
    data = {"name": group.name, "teacher": group.teacher, "schedule": group.schedule,
            "starts_on": group.starts_on.isoformat(), "ends_on": group.ends_on.isoformat()}
    refusal = "В группе уже 2 обучающихся: мест не может быть меньше."

    page = login(provider_user).post(url, data={**data, "capacity": "1"})
    assert page.status_code == 422 and refusal in page.get_data(as_text=True)
    client = api(provider_user)
    refused = client.put(f"/api/v1/programs/{program.id}/groups/{group.id}", json={**data, "capacity": 1})
    assert refused.status_code == 422 and refused.json["errors"]["json"]["capacity"] == [refusal]
    db.session.expire_all()
    assert db.session.get(type(group), group.id).capacity == 10

    accepted = client.put(f"/api/v1/programs/{program.id}/groups/{group.id}", json={**data, "capacity": 2})
    assert accepted.status_code == 200 and accepted.json["capacity"] == 2 and accepted.json["seats_left"] == 0
