import pytest
from sqlalchemy import func, select

from certapp.accounts.models import User
from certapp.audit.models import AuditEvent
from certapp.db import db
from tests.factories import PASSWORD, make_user

FORM = {"role": "parent", "full_name": "Иванова Мария Сергеевна", "email": "Maria@Example.ru",
        "phone": "8 913 000-00-01", "password": PASSWORD, "password2": PASSWORD}


def test_parent_registers_through_the_form_and_then_logs_in(client):
    response = client.post("/account/register", data=FORM)
    assert response.status_code == 302 and response.headers["Location"] == "/account/login"
    user = db.session.execute(select(User)).scalar_one()
    assert (user.email, user.role, user.phone) == ("maria@example.ru", "parent", "+79130000001")
    assert user.password_hash.startswith("$argon2id$") and PASSWORD not in user.password_hash
    assert client.post("/account/login", data={"email": FORM["email"], "password": PASSWORD}).status_code == 302
    assert "Иванова Мария Сергеевна" in client.get("/").get_data(as_text=True)


@pytest.mark.parametrize("field, value, message", [
    ("email", "not-an-email", "Укажите правильный адрес электронной почты."),
    ("password", "short1", "Пароль должен быть не короче 10 символов."),
    ("password", "1234567890", "Пароль слишком простой"),
    ("password", "aaaaaaaaaaaa1", "Пароль слишком простой"),
    ("phone", "12", "Укажите телефон"),
])
def test_registration_form_refuses_bad_input_in_russian(client, field, value, message):
    data = {**FORM, field: value}
    if field == "password":
        data["password2"] = value
    response = client.post("/account/register", data=data)
    assert response.status_code == 422
    assert message in response.get_data(as_text=True)
    assert db.session.execute(select(func.count()).select_from(User)).scalar_one() == 0


def test_registration_refuses_mismatched_passwords(client):
    response = client.post("/account/register", data={**FORM, "password2": "Other-password-1"})
    assert response.status_code == 422
    assert "Пароли не совпадают." in response.get_data(as_text=True)


def test_registration_does_not_tell_whether_an_address_is_taken(app, client):
    fresh = client.post("/account/register", data={**FORM, "email": "new@example.ru"}, follow_redirects=True)
    make_user("parent", email="maria@example.ru", full_name="Прежняя Владелица Адреса")
    db.session.commit()
    taken = app.test_client().post("/account/register", data=FORM, follow_redirects=True)
    assert fresh.status_code == taken.status_code == 200
    assert fresh.get_data(as_text=True) == taken.get_data(as_text=True)
    owner = db.session.execute(select(User).where(User.email == "maria@example.ru")).scalar_one()
    assert owner.full_name == "Прежняя Владелица Адреса"  # nothing changed on the existing account
    repeated = db.session.execute(select(AuditEvent).where(AuditEvent.action == "user.register_repeated")).scalar_one()
    assert repeated.object_id == str(owner.id)


def test_form_cannot_register_a_department_account(client):
    response = client.post("/account/register", data={**FORM, "role": "department"})
    assert response.status_code == 422
    assert db.session.execute(select(func.count()).select_from(User)).scalar_one() == 0


def test_api_registers_a_provider_account_and_audits_it(api):
    response = api().post("/api/v1/account/register", json={
        "email": "cdt@example.ru", "password": PASSWORD, "full_name": "Орлова Наталья Ивановна",
        "phone": "+73913723333", "role": "provider"})
    assert response.status_code == 202, response.json
    assert set(response.json) == {"message"}
    user = db.session.execute(select(User)).scalar_one()
    assert user.role == "provider"
    event = db.session.execute(select(AuditEvent).where(AuditEvent.action == "user.register")).scalar_one()
    assert (event.object_type, event.object_id, event.to_state) == ("User", str(user.id), "provider")


@pytest.mark.parametrize("changes, field", [
    ({"email": "bad"}, "email"),
    ({"password": "weak"}, "password"),
    ({"role": "department"}, "role"),
    ({"role": "bookkeeping"}, "role"),
])
def test_api_registration_refusals_name_the_field(api, changes, field):
    body = {"email": "x@example.ru", "password": PASSWORD, "full_name": "Тестов Тест Тестович",
            "phone": "+79130000009", "role": "parent", **changes}
    response = api().post("/api/v1/account/register", json=body)
    assert response.status_code == 422
    assert field in response.json["errors"]["json"]
    assert db.session.execute(select(func.count()).select_from(User)).scalar_one() == 0


def test_api_answers_a_taken_address_as_a_free_one(api):
    body = {"password": PASSWORD, "full_name": "Тестов Тест Тестович", "phone": "+79130000009", "role": "parent"}
    fresh = api().post("/api/v1/account/register", json={**body, "email": "y@example.ru"})
    make_user("parent", email="x@example.ru")
    db.session.commit()
    taken = api().post("/api/v1/account/register", json={**body, "email": "X@example.ru"})
    assert (taken.status_code, taken.json) == (fresh.status_code, fresh.json) == (202, fresh.json)
    assert db.session.execute(select(func.count()).select_from(User)).scalar_one() == 2


def test_an_administrator_creating_a_taken_address_is_told(app):
    from certapp.common.errors import ConflictError

    make_user("department", email="uo@example.ru")
    with pytest.raises(ConflictError):
        make_user("department", email="UO@example.ru")
