"""The account's letters: confirming the address, resetting a forgotten password (never telling
whether an address is registered), and the owner told of a repeated registration."""
import re

import pytest
from sqlalchemy import select

from certapp.accounts.models import User
from certapp.db import db
from tests.factories import PASSWORD, make_user
from tests.notifications.conftest import smtp  # noqa: F401  (the real SMTP server fixture)


def _link(message) -> str:
    return re.search(r"http://127\.0\.0\.1:5000(/\S+)", message.get_body(("plain",)).get_content()).group(1)


def _register(client, email="new.parent@example.ru"):
    return client.post("/account/register", data={
        "role": "parent", "full_name": "Петрова Анна Ивановна", "email": email, "phone": "+79131234567",
        "password": "Длинный-пароль-1", "password2": "Длинный-пароль-1"})


def test_a_new_parent_confirms_the_address_by_the_link(client, login, smtp):  # noqa: F811
    assert _register(client).status_code == 302
    letter = smtp.to("new.parent@example.ru")[0]
    assert letter["Subject"] == "Подтвердите адрес почты"
    user = db.session.execute(select(User).where(User.email == "new.parent@example.ru")).scalar_one()
    assert user.email_confirmed_at is None
    parent = client
    parent.post("/account/login", data={"email": user.email, "password": "Длинный-пароль-1"})
    assert "Подтвердите адрес почты" in parent.get("/").get_data(as_text=True)
    page = parent.get(_link(letter), follow_redirects=True).get_data(as_text=True)
    assert "Адрес почты подтверждён" in page and "подтверждена" in page
    db.session.refresh(user)
    assert user.email_confirmed_at is not None
    assert "Подтвердите адрес почты" not in parent.get("/").get_data(as_text=True)


def test_a_bad_or_forged_confirmation_link_is_refused(client, api, users):
    page = client.get("/account/confirm/not-a-token", follow_redirects=True).get_data(as_text=True)
    assert "Ссылка неверна или устарела" in page
    answer = api().post("/api/v1/account/email-confirmation/confirm", json={"token": "x.y.z"})
    assert answer.status_code == 422 and answer.json["status"] == "invalid_token"


def test_resend_and_confirm_through_the_api(api, users, smtp):  # noqa: F811
    parent = users["parent"]
    parent.email_confirmed_at = None
    db.session.commit()
    assert api(parent).get("/api/v1/account/me").json["email_confirmed_at"] is None
    assert api(parent).post("/api/v1/account/email-confirmation").status_code == 202
    token = _link(smtp.to(parent.email)[0]).rsplit("/", 1)[1]
    assert api().post("/api/v1/account/email-confirmation/confirm", json={"token": token}).status_code == 200
    assert api(parent).get("/api/v1/account/me").json["email_confirmed_at"]


@pytest.mark.parametrize("known", [True, False])
def test_a_reset_request_answers_the_same_for_any_address(client, users, smtp, known):  # noqa: F811
    email = users["parent"].email if known else "nobody@example.ru"
    page = client.post("/account/forgot", data={"email": email}, follow_redirects=True).get_data(as_text=True)
    assert "Если этот адрес зарегистрирован, на него отправлено письмо" in page
    assert len(smtp.messages) == (1 if known else 0)


def test_the_reset_link_sets_a_new_password_once_and_ends_sessions(client, login, api, users, smtp):  # noqa: F811
    parent = users["parent"]
    other_session = login(parent)
    assert api().post("/api/v1/account/password-reset", json={"email": parent.email}).status_code == 202
    link = _link(smtp.to(parent.email)[0])
    assert client.get(link).status_code == 200
    short = client.post(link, data={"password": "короткий", "password2": "короткий"})
    assert short.status_code == 422
    done = client.post(link, data={"password": "Новый-пароль-2026", "password2": "Новый-пароль-2026"})
    assert done.status_code == 302
    assert other_session.get("/account/profile").status_code == 302     # the old session ended
    again = client.post(link, data={"password": "Ещё-пароль-2027", "password2": "Ещё-пароль-2027"}, follow_redirects=True)
    assert "Ссылка неверна или устарела" in again.get_data(as_text=True)   # the link works once
    assert client.post("/account/login", data={"email": parent.email, "password": PASSWORD}).status_code == 422
    assert login(parent, "Новый-пароль-2026")


def test_the_api_reset_refuses_a_used_token(api, users, smtp):  # noqa: F811
    parent = users["parent"]
    api().post("/api/v1/account/password-reset", json={"email": parent.email})
    token = _link(smtp.to(parent.email)[0]).rsplit("/", 1)[1]
    assert api().post("/api/v1/account/password-reset/confirm", json={"token": token, "password": "Новый-пароль-2026"}
                      ).status_code == 204
    used = api().post("/api/v1/account/password-reset/confirm", json={"token": token, "password": "Другой-пароль-2026"})
    assert used.status_code == 422 and used.json["status"] == "invalid_token"
    from certapp.mail.models import OutboxMessage
    stored = db.session.execute(select(OutboxMessage).where(OutboxMessage.subject == "Смена пароля")).scalar_one()
    assert stored.status == "sent" and token not in stored.text_body and stored.html_body is None


def test_the_owner_is_told_when_someone_registers_their_address(client, users, smtp):  # noqa: F811
    assert _register(client, users["parent"].email).status_code == 302
    assert smtp.to(users["parent"].email)[0]["Subject"] == "Попытка повторной регистрации"


def test_email_preferences_on_the_profile_and_in_the_api(login, api, users):
    parent = users["parent"]
    client = login(parent)
    assert "Присылать на почту" in client.get("/account/profile").get_data(as_text=True)
    client.post("/account/notifications", data={"kinds": ["contract", "enrollment"]})
    db.session.refresh(parent)
    assert "certificate" in parent.email_muted and "contract" not in parent.email_muted
    answer = api(parent).get("/api/v1/account/notification-preferences").json
    assert sorted(answer["email"]) == ["contract", "enrollment"] and answer["kinds"]["contract"]
    assert api(parent).put("/api/v1/account/notification-preferences", json={"email": ["nonsense"]}).status_code == 422
    put = api(parent).put("/api/v1/account/notification-preferences", json={"email": ["certificate"]})
    assert put.status_code == 200 and put.json["email"] == ["certificate"]


def test_each_role_chooses_among_its_own_letters_and_sees_api_access_only_on_request(login, api, users):
    parent_page = login(users["parent"]).get("/account/profile").get_data(as_text=True)
    assert "Заявки на обучение" in parent_page
    for officials_topic in ("Соглашения и реестры на оплату", "Заявки в реестр исполнителей", "Служебные: сверка"):
        assert officials_topic not in parent_page
    # the API part is folded away until asked for
    assert '<details class="card api-access">' in parent_page
    assert "bookkeeping" not in api(users["parent"]).get("/api/v1/account/notification-preferences").json["kinds"]
    refused = api(users["parent"]).put("/api/v1/account/notification-preferences", json={"email": ["bookkeeping"]})
    assert refused.status_code == 422
    assert "Соглашения и реестры на оплату" in login(users["bookkeeping"]).get("/account/profile").get_data(as_text=True)


def test_staff_created_by_an_administrator_count_as_confirmed(app):
    assert make_user("department").email_confirmed_at is not None
