"""The embedded default sends no mail (no CERTAPP_SMTP_URL): the pages say so instead of promising a
letter, the administrator confirms addresses with a command, and nothing a parent needs waits for a
confirmed address (it decides only whether notification letters are sent)."""
from sqlalchemy import func, select

from certapp.accounts.models import User
from certapp.audit.models import AuditEvent
from certapp.certificates import services as certificates
from certapp.db import db
from certapp.mail.models import OutboxMessage
from tests.factories import child_data, current_period
from tests.notifications.conftest import smtp  # noqa: F401  (the real SMTP server fixture)

EMAIL = "new.parent@example.ru"
PASSWORD = "Длинный-пароль-1"


def _registered_parent(client) -> User:
    client.post("/account/register", data={"role": "parent", "full_name": "Петрова Анна Ивановна", "email": EMAIL,
                                           "phone": "+79131234567", "password": PASSWORD, "password2": PASSWORD})
    client.post("/account/login", data={"email": EMAIL, "password": PASSWORD})
    return db.session.execute(select(User).where(User.email == EMAIL)).scalar_one()


def _letters() -> int:
    return db.session.execute(select(func.count()).select_from(OutboxMessage)).scalar_one()


def test_without_smtp_no_letter_is_promised_and_the_banner_is_one_short_line(client, api):
    parent = _registered_parent(client)
    assert parent.email_confirmed_at is None and _letters() == 0  # no link waiting in the outbox, unread
    home = client.get("/").get_data(as_text=True)
    banner = home.split('class="confirm-banner"', 1)[1].split("</div>", 1)[0]
    assert "Адрес почты не подтверждён" in banner and "Подробнее" in banner and "Отправить" not in banner
    answer = client.post("/account/confirm/resend", data={"next": "/"}, follow_redirects=True).get_data(as_text=True)
    assert "Письмо со ссылкой отправлено" not in answer and "Почта в системе не настроена" in answer
    profile = client.get("/account/profile").get_data(as_text=True)
    assert "Почта в системе не настроена" in profile and "Отправить ссылку ещё раз" not in profile
    refused = api(parent).post("/api/v1/account/email-confirmation")
    assert refused.status_code == 409 and refused.json["status"] == "mail_not_configured"
    assert _letters() == 0


def test_with_smtp_the_banner_offers_the_link_in_one_line(client, smtp):  # noqa: F811
    _registered_parent(client)
    banner = client.get("/").get_data(as_text=True).split('class="confirm-banner"', 1)[1].split("</div>", 1)[0]
    assert "Подтвердите адрес почты" in banner and "Отправить ссылку" in banner
    page = client.post("/account/confirm/resend", data={"next": "/"}, follow_redirects=True).get_data(as_text=True)
    assert f"Письмо со ссылкой отправлено на {EMAIL}" in page


def test_an_unconfirmed_parent_adds_a_child_and_applies(client):
    parent = _registered_parent(client)
    child = certificates.add_child(parent, child_data())
    application = certificates.apply(parent, child.id, current_period().id, True)
    db.session.commit()
    assert application.status == "submitted" and parent.email_confirmed_at is None


def test_the_officials_home_and_readyz_tell_the_administrator(login, users, client):
    from certapp.documents.keys import key_store

    for role in ("department", "bookkeeping"):
        page = login(users[role]).get("/").get_data(as_text=True)
        assert "Почта не настроена" in page and "flask users confirm-email --email" in page
    assert "Почта не настроена" not in login(users["parent"]).get("/").get_data(as_text=True)
    key_store().ensure()
    ready = client.get("/readyz")
    assert ready.status_code == 200 and ready.json["mail"].startswith("not configured (CERTAPP_SMTP_URL)")


def test_with_smtp_the_officials_home_says_nothing_of_mail(login, users, smtp):  # noqa: F811
    assert "Почта не настроена" not in login(users["department"]).get("/").get_data(as_text=True)


def test_the_administrator_confirms_an_address_by_command(app, client):
    parent = _registered_parent(client)
    runner = app.test_cli_runner()
    result = runner.invoke(args=["users", "confirm-email", "--email", EMAIL.upper()])
    assert result.exit_code == 0 and "адрес подтверждён" in result.output
    db.session.refresh(parent)
    assert parent.email_confirmed_at is not None
    again = runner.invoke(args=["users", "confirm-email", "--email", EMAIL])
    assert "уже был подтверждён" in again.output
    events = db.session.execute(select(AuditEvent).where(AuditEvent.action == "user.email_confirmed")).scalars().all()
    assert len(events) == 1 and events[0].actor_id is None
    assert runner.invoke(args=["users", "confirm-email", "--email", "nobody@example.ru"]).exit_code != 0
    assert 'class="confirm-banner"' not in client.get("/").get_data(as_text=True)
