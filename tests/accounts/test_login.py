from sqlalchemy import select

from certapp.audit.models import AuditEvent
from certapp.db import db
from tests.factories import PASSWORD


def test_login_with_the_right_password_opens_the_profile(client, users):
    response = client.post("/account/login", data={"email": users["parent"].email.upper(), "password": PASSWORD})
    assert response.status_code == 302
    assert users["parent"].email in client.get("/account/profile").get_data(as_text=True)


def test_wrong_password_is_refused_without_saying_which_part_was_wrong(client, users):
    response = client.post("/account/login", data={"email": users["parent"].email, "password": "Wrong-pass-123"})
    assert response.status_code == 422
    assert "Неверный адрес почты или пароль." in response.get_data(as_text=True)
    unknown = client.post("/account/login", data={"email": "nobody@example.ru", "password": PASSWORD})
    assert "Неверный адрес почты или пароль." in unknown.get_data(as_text=True)


def test_repeated_failures_lock_the_account_even_for_the_right_password(client, users, app):
    email = users["parent"].email
    for _ in range(app.config["LOGIN_MAX_FAILURES"]):
        client.post("/account/login", data={"email": email, "password": "Wrong-pass-123"})
    response = client.post("/account/login", data={"email": email, "password": PASSWORD})
    assert response.status_code == 422
    assert "Слишком много неудачных попыток входа" in response.get_data(as_text=True)
    assert db.session.execute(select(AuditEvent).where(AuditEvent.action == "user.lock")).scalar_one()


def test_logout_ends_the_session(login, users):
    client = login(users["parent"])
    assert client.post("/account/logout").status_code == 302
    assert client.get("/account/profile").status_code == 302


def test_password_change_requires_the_current_password(login, users):
    client = login(users["parent"])
    refused = client.post("/account/password", data={
        "current_password": "Wrong-pass-123", "new_password": "New-password-2027",
        "new_password2": "New-password-2027"})
    assert refused.status_code == 422
    assert "Текущий пароль указан неверно." in refused.get_data(as_text=True)
    done = client.post("/account/password", data={
        "current_password": PASSWORD, "new_password": "New-password-2027", "new_password2": "New-password-2027"})
    assert done.status_code == 302
    client.post("/account/logout")
    assert client.post("/account/login", data={"email": users["parent"].email,
                                                "password": "New-password-2027"}).status_code == 302


def test_login_redirect_ignores_foreign_next_urls(client, users):
    response = client.post("/account/login?next=https://evil.example/", data={
        "email": users["parent"].email, "password": PASSWORD})
    assert response.headers["Location"] == "/"
