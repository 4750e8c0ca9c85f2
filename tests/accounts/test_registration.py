import pytest
from sqlalchemy import func, select

from certapp.accounts.models import User
from certapp.audit.models import AuditEvent
from certapp.db import db
from tests.factories import PASSWORD, make_user

FORM = {"role": "parent", "full_name": "Иванова Мария Сергеевна", "email": "Maria@Example.ru",
        "phone": "8 913 000-00-01", "password": PASSWORD, "password2": PASSWORD}


def test_parent_registers_through_the_form_and_is_logged_in(client):
    response = client.post("/account/register", data=FORM)
    assert response.status_code == 302
    user = db.session.execute(select(User)).scalar_one()
    assert (user.email, user.role, user.phone) == ("maria@example.ru", "parent", "+79130000001")
    assert user.password_hash.startswith("$argon2id$") and PASSWORD not in user.password_hash
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


def test_duplicate_account_is_refused_whatever_the_case_of_the_email(client):
    make_user("parent", email="maria@example.ru")
    db.session.commit()
    response = client.post("/account/register", data=FORM)
    assert response.status_code == 422
    assert "уже зарегистрирован" in response.get_data(as_text=True)
    assert db.session.execute(select(func.count()).select_from(User)).scalar_one() == 1


def test_form_cannot_register_a_department_account(client):
    response = client.post("/account/register", data={**FORM, "role": "department"})
    assert response.status_code == 422
    assert db.session.execute(select(func.count()).select_from(User)).scalar_one() == 0


def test_api_registers_a_provider_account_and_audits_it(api):
    response = api().post("/api/v1/account/register", json={
        "email": "cdt@example.ru", "password": PASSWORD, "full_name": "Орлова Наталья Ивановна",
        "phone": "+73913723333", "role": "provider"})
    assert response.status_code == 201, response.json
    assert response.json["role"] == "provider" and "password" not in response.json
    event = db.session.execute(select(AuditEvent).where(AuditEvent.action == "user.register")).scalar_one()
    assert (event.object_type, event.object_id, event.to_state) == ("User", str(response.json["id"]), "provider")


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


def test_api_refuses_a_duplicate_account_with_409(api):
    make_user("parent", email="x@example.ru")
    db.session.commit()
    response = api().post("/api/v1/account/register", json={
        "email": "X@example.ru", "password": PASSWORD, "full_name": "Тестов Тест Тестович",
        "phone": "+79130000009", "role": "parent"})
    assert response.status_code == 409
    assert response.json["status"] == "duplicate_account"
    assert response.json["errors"]["json"]["email"]
