import unicodedata

import pytest
from sqlalchemy import func, select

from certapp.db import db
from certapp.reference.models import Direction, Period
from certapp.reference.services import load_reference_data


def test_directions_carry_the_registry_numbers_with_cyrillic_letters(app):
    codes = dict(db.session.execute(select(Direction.code, Direction.service_code)).all())
    assert codes["technical"] == "804200О.99.0.ББ52АЕ04000"
    assert codes["tourism_local_history"] == "804200О.99.0.ББ52АЖ00000"
    assert len(codes) == 6
    letter = codes["sport"][6]
    assert unicodedata.name(letter) == "CYRILLIC CAPITAL LETTER O"
    assert all(unicodedata.name(c).startswith("CYRILLIC") for c in codes["arts"][13:15] + codes["arts"][17:19])


def test_reference_load_is_idempotent_and_keeps_edits(app):
    period = db.session.execute(select(Period).where(Period.code == "2026/27")).scalar_one()
    period.nominal = 99_00
    db.session.commit()
    assert load_reference_data() == {"directions": 0, "municipalities": 0, "periods": 0, "service_codes": 0, "holidays": 0}
    assert db.session.execute(select(func.count()).select_from(Direction)).scalar_one() == 6
    assert db.session.get(Period, period.id).nominal == 99_00


def test_directions_are_public_in_the_api(api):
    response = api().get("/api/v1/reference/directions")
    assert [d["code"] for d in response.json][:2] == ["technical", "natural_science"]


def test_department_creates_a_period_in_the_browser(login, users):
    client = login(users["department"])
    response = client.post("/reference/periods/new", data={
        "code": "2027/28", "name": "2027/28 учебный год", "starts_on": "2027-09-01", "ends_on": "2028-08-31",
        "nominal": "16 000"})
    assert response.status_code == 302
    period = db.session.execute(select(Period).where(Period.code == "2027/28")).scalar_one()
    assert period.nominal == 16_000_00
    assert "16\u00a0000,00\u00a0₽" in client.get("/reference/periods").get_data(as_text=True)


@pytest.mark.parametrize("changes, message", [
    ({"nominal": "-5"}, "Сумма не может быть отрицательной."),
    ({"nominal": "сто"}, "Сумма указана неверно"),
    ({"nominal": "10,005"}, "с точностью до копейки"),
    ({"nominal": "0"}, "Номинал сертификата должен быть больше нуля."),
    ({"ends_on": "2027-01-01"}, "Дата окончания должна быть позже даты начала."),
    ({"code": "2026/27"}, "Период с таким кодом уже есть."),
    ({"starts_on": "2027-06-01"}, "Даты пересекаются с периодом 2026/27 учебный год."),
])
def test_period_form_refuses_bad_values(login, users, changes, message):
    data = {"code": "2027/28", "name": "2027/28", "starts_on": "2027-09-01", "ends_on": "2028-08-31",
            "nominal": "16000", **changes}
    response = login(users["department"]).post("/reference/periods/new", data=data)
    assert response.status_code == 422
    assert message in response.get_data(as_text=True)
    assert db.session.execute(select(func.count()).select_from(Period)).scalar_one() == 2


def test_api_updates_a_period_nominal(api, users):
    period = db.session.execute(select(Period).where(Period.code == "2026/27")).scalar_one()
    response = api(users["department"]).put(f"/api/v1/reference/periods/{period.id}", json={
        "name": period.name, "starts_on": "2026-09-01", "ends_on": "2027-08-31", "nominal_rub": "17000.25"})
    assert response.status_code == 200, response.json
    assert response.json["nominal"] == 1_700_025
    assert response.json["nominal_display"] == "17\u00a0000,25\u00a0₽"


def test_api_refuses_a_negative_nominal_with_the_field(api, users):
    response = api(users["department"]).post("/api/v1/reference/periods", json={
        "code": "2027/28", "name": "x", "starts_on": "2027-09-01", "ends_on": "2028-08-31", "nominal_rub": "-1"})
    assert response.status_code == 422
    assert "nominal_rub" in response.json["errors"]["json"]


def test_municipalities_are_public_in_the_api(api):
    answer = api().get("/api/v1/reference/municipalities")
    assert answer.status_code == 200
    assert [(m["name"], m["oktmo"], m["order_number"], m["order_date"]) for m in answer.json] == [
        ("Каратузский район", "04624000", "458-п", "2023-05-16")]


def test_officials_belong_to_a_municipality(app):
    from certapp.accounts.models import User
    from certapp.reference.models import Municipality
    from certapp.reference.services import get_district

    runner = app.test_cli_runner()
    created = runner.invoke(args=["users", "create", "--role", "department", "--email", "uo2@example.ru",
                                  "--full-name", "Петрова Ольга Николаевна", "--municipality", "04624000",
                                  "--password", "Длинный-пароль-1"])
    assert created.exit_code == 0, created.output
    user = db.session.execute(select(User).where(User.email == "uo2@example.ru")).scalar_one()
    assert user.municipality_id == get_district().id
    unknown = runner.invoke(args=["users", "create", "--role", "department", "--email", "uo3@example.ru",
                                  "--full-name", "Петрова Ольга Николаевна", "--municipality", "99999999",
                                  "--password", "Длинный-пароль-1"])
    assert unknown.exit_code != 0 and "не найдено" in unknown.output
    db.session.add(Municipality(name="Курагинский район", oktmo="04630000", number_code="24"))
    db.session.commit()
    ambiguous = runner.invoke(args=["users", "create", "--role", "bookkeeping", "--email", "buh2@example.ru",
                                    "--full-name", "Сидорова Галина Петровна", "--password", "Длинный-пароль-1"])
    assert ambiguous.exit_code != 0 and "Укажите муниципальное образование" in ambiguous.output
    parent = runner.invoke(args=["users", "create", "--role", "parent", "--email", "p2@example.ru",
                                 "--full-name", "Иванова Мария Сергеевна", "--municipality", "04624000",
                                 "--password", "Длинный-пароль-1"])
    assert parent.exit_code != 0 and "только управлению образования, бухгалтерии и опорному центру" in parent.output


def test_the_department_keeps_its_municipalitys_order_and_exclusions(login, api, users):
    from certapp.reference.services import get_district
    from certapp.registry import services as registry
    from certapp.registry.models import RegistryApplication
    from tests.factories import application_data, make_user

    client = login(users["department"])
    page = client.get("/reference/municipality").get_data(as_text=True)
    assert "458-п" in page and "Уполномоченный орган" in page
    saved = client.post("/reference/municipality", data={
        "authority": "Управление образования администрации Каратузского района", "order_number": "458-п",
        "order_date": "2023-05-16", "extra_exclusions": "детская студия танца\n\n  спортивная школа олимпийского резерва "})
    assert saved.status_code == 302
    assert get_district().extra_exclusions == ["детская студия танца", "спортивная школа олимпийского резерва"]
    wrong = client.post("/reference/municipality", data={"authority": "", "order_number": "1",
                                                         "order_date": "2099-01-01"})
    assert wrong.status_code == 422 and "Заполните поле «Уполномоченный орган»" in wrong.get_data(as_text=True)
    applicant = make_user("provider")
    application = registry.save_application(applicant, application_data(
        full_name="Муниципальное бюджетное учреждение «Детская студия танца „Ритм“»", short_name="МБУ ДСТ «Ритм»"))
    db.session.commit()
    import pytest as _pytest

    from certapp.common.errors import DomainError
    with _pytest.raises(DomainError) as refused:
        registry.submit_application(application.id, applicant)
    assert "детская студия танца" in refused.value.message and "постановление № 458-п от 16.05.2023" in refused.value.message
    db.session.commit()
    assert db.session.get(RegistryApplication, application.id).status == "rejected"   # kept, with the reason
    department = api(users["department"])
    municipality_id = get_district().id
    answer = department.put(f"/api/v1/reference/municipalities/{municipality_id}", json={
        "authority": "Управление образования", "order_number": "458-п", "order_date": "2023-05-16",
        "extra_exclusions": []})
    assert answer.status_code == 200 and answer.json["extra_exclusions"] is None
    assert department.put(f"/api/v1/reference/municipalities/{municipality_id}", json={
        "authority": "x", "order_number": "1", "order_date": "2023-05-16", "extra_exclusions": ["аб"]}).status_code == 422
    assert api(users["provider"]).put(f"/api/v1/reference/municipalities/{municipality_id}", json={
        "authority": "x", "order_number": "1", "order_date": "2023-05-16"}).status_code == 403
    assert api(users["department"]).put("/api/v1/reference/municipalities/999", json={
        "authority": "x", "order_number": "1", "order_date": "2023-05-16"}).status_code == 404
