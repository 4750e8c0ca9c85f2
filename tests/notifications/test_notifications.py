"""Notifications in the app and by email: who is told what, that letters follow only committed
changes and go once, and that each person sees only their own (provider staff: their organisation's)."""
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from certapp.certificates import services as certificates
from certapp.db import db, utcnow
from certapp.mail import services as mail
from certapp.mail.models import OutboxMessage
from certapp.notifications import services
from certapp.notifications.models import Notification
from certapp.uow import transaction
from tests.factories import child_data, current_period, listed_total, make_certificate, make_program, make_provider, make_user


def _confirmed(user):
    user.email_confirmed_at = utcnow()
    db.session.commit()
    return user


def _apply(parent):
    child = certificates.add_child(parent, child_data())
    application = certificates.apply(parent, child.id, current_period().id, True)
    db.session.commit()
    return application


def test_the_parent_is_told_in_the_app_and_by_email_when_the_department_decides(api, login, users, smtp):
    parent = _confirmed(users["parent"])
    application = _apply(parent)
    assert [m["Subject"] for m in smtp.to(parent.email)] == [f"Заявление № {application.number} принято"]
    page = login(users["department"]).post(f"/certificates/applications/{application.id}/decide",
                                            data={"decision": "confirmed"})
    assert page.status_code == 302
    certificate = db.session.execute(select(certapp_certificate())).scalar_one()
    letter = smtp.to(parent.email)[-1]
    assert letter["Subject"] == f"Выдан сертификат № {certificate.number}"
    text = letter.get_body(("plain",)).get_content()
    assert f"http://127.0.0.1:5000/certificates/{certificate.id}" in text and "15\u00a0000,00" in text
    assert letter.get_body(("html",)) is not None and letter["Message-ID"]
    notes = api(parent).get("/api/v1/notifications").json
    assert [n["title"] for n in notes] == [f"Выдан сертификат № {certificate.number}",
                                           f"Заявление № {application.number} принято"]
    assert listed_total(api(parent).get("/api/v1/notifications?unread=true")) == 2
    read = api(parent).post(f"/api/v1/notifications/{notes[0]['id']}/read")
    assert read.status_code == 200 and read.json["read_at"]
    assert listed_total(api(parent).get("/api/v1/notifications?unread=true")) == 1


def certapp_certificate():
    from certapp.certificates.models import Certificate
    return Certificate


def test_a_refusal_tells_the_reason(users, smtp):
    parent = _confirmed(users["parent"])
    application = _apply(parent)
    with transaction():
        certificates.refuse(application.id, users["department"], "Ребёнок живёт в другом районе")
    assert "Ребёнок живёт в другом районе" in smtp.to(parent.email)[-1].get_body(("plain",)).get_content()


def test_a_rolled_back_change_leaves_no_notification_and_sends_nothing(users, smtp):
    parent = _confirmed(users["parent"])
    child = certificates.add_child(parent, child_data())
    db.session.commit()
    with pytest.raises(RuntimeError), transaction():
        certificates.apply(parent, child.id, current_period().id, True)
        raise RuntimeError("the request failed after the change")
    assert db.session.scalar(select(func.count(Notification.id))) == 0
    assert db.session.scalar(select(func.count(OutboxMessage.id))) == 0
    assert smtp.messages == []


def test_a_letter_delivered_twice_goes_once(app, users, smtp):
    parent = _confirmed(users["parent"])
    app.config["SMTP_URL"], address = None, app.config["SMTP_URL"]   # written while SMTP is down
    _apply(parent)
    message = db.session.execute(select(OutboxMessage)).scalar_one()
    message_id = message.id
    assert message.status == "pending" and smtp.messages == []
    app.config["SMTP_URL"] = address
    db.session.commit()   # (SQLite: a job in its own session must not wait on this one's read)
    assert mail.deliver(message_id) is True
    assert mail.deliver(message_id) is False       # the job run again finds it sent
    assert mail.deliver_email.call_local(message_id) is False
    assert len(smtp.messages) == 1
    message = db.session.get(OutboxMessage, message_id)
    assert message.status == "sent" and message.attempts == 1


def test_a_crashed_workers_letter_is_handed_out_again_and_goes_once(app, users, smtp):
    parent = _confirmed(users["parent"])
    app.config["SMTP_URL"], address = None, app.config["SMTP_URL"]
    _apply(parent)
    message = db.session.execute(select(OutboxMessage)).scalar_one()
    # a worker claimed it and died before talking to the SMTP server
    message.status, message.claimed_at, message.attempts = "sending", utcnow() - timedelta(minutes=11), 1
    db.session.commit()
    app.config["SMTP_URL"] = address
    assert mail.waiting_ids() == [message.id]
    db.session.commit()
    assert mail.sweep_outbox.call_local() == 1
    assert mail.sweep_outbox.call_local() == 0
    assert len(smtp.messages) == 1
    db.session.expire_all()
    assert db.session.get(OutboxMessage, message.id).status == "sent"


def test_a_recent_claim_is_not_taken_twice(app, users, smtp):
    parent = _confirmed(users["parent"])
    app.config["SMTP_URL"], address = None, app.config["SMTP_URL"]
    _apply(parent)
    message = db.session.execute(select(OutboxMessage)).scalar_one()
    message.status, message.claimed_at = "sending", utcnow()   # another worker is sending it now
    db.session.commit()
    app.config["SMTP_URL"] = address
    assert mail.waiting_ids() == [] and mail.deliver(message.id) is False and smtp.messages == []


def test_without_smtp_letters_wait_and_the_region_sees_them(login, users):
    parent = _confirmed(users["parent"])
    _apply(parent)
    page = login(users["region"]).get("/mail/outbox").get_data(as_text=True)
    assert "Почтовый сервер не настроен" in page and parent.email in page and "Ждёт отправки" in page
    # a letter to a parent is nobody's municipality's: the officials see their own municipality's letters
    assert parent.email not in login(users["department"]).get("/mail/outbox").get_data(as_text=True)
    assert login(users["parent"]).get("/mail/outbox").status_code == 403


def test_an_unconfirmed_address_and_a_muted_kind_get_no_letter_but_the_app_shows_it(api, users, smtp):
    parent = users["parent"]
    parent.email_confirmed_at = None   # a parent who has not yet opened the confirmation link
    db.session.commit()
    _apply(parent)
    assert smtp.messages == []
    _confirmed(parent)
    services.set_email_preferences(parent, {"enrollment", "contract"})
    db.session.commit()
    _apply(parent)
    assert smtp.messages == []
    assert listed_total(api(parent).get("/api/v1/notifications")) == 2


def test_the_provider_is_told_of_a_new_enrollment_and_the_parent_gets_a_link_to_sign(api, users, smtp):
    from certapp.contracts import contracts, enrollments
    from tests.factories import this_month

    provider_user, provider = make_provider(users["provider"], users["department"])
    colleague = make_user("provider")
    colleague.provider_id = provider.id
    program = make_program(provider_user, users["department"])
    parent = users["parent"]
    certificate = make_certificate(parent, users["department"])
    _confirmed(provider_user), _confirmed(colleague), _confirmed(parent)
    with transaction():
        enrollment = enrollments.request_enrollment(parent, certificate.id, program.groups[0].id, this_month())
    subjects = {m["To"]: m["Subject"] for m in smtp.messages}
    assert subjects[provider_user.email].startswith("Новая заявка на обучение") and colleague.email in subjects
    for person in (provider_user, colleague):   # the organisation's notification, seen by its staff
        assert api(person).get("/api/v1/notifications").json[0]["title"].startswith("Новая заявка")
    with transaction():
        contract = enrollments.accept_enrollment(enrollment.id, provider_user)
    letter = smtp.to(parent.email)[-1]
    assert letter["Subject"] == f"Заявка принята: подпишите договор № {contract.number}"
    assert f"/contracts/{contract.id}" in letter.get_body(("plain",)).get_content()
    with transaction():
        contracts.sign_contract(contract.id, parent, "127.0.0.1")
    assert smtp.to(provider_user.email)[-1]["Subject"] == f"Договор № {contract.number} подписан"


def test_each_person_sees_only_their_own(api, login, users):
    parent, other = users["parent"], make_user("parent")
    _apply(parent)
    note = db.session.execute(select(Notification)).scalar_one()
    assert listed_total(api(other).get("/api/v1/notifications")) == 0
    assert api(other).post(f"/api/v1/notifications/{note.id}/read").status_code == 404
    assert login(other).post(f"/notifications/{note.id}/read").status_code == 404
    assert listed_total(api(users["department"]).get("/api/v1/notifications")) == 0
    assert api().get("/api/v1/notifications").status_code == 401
    db.session.refresh(note)
    assert note.read_at is None


def test_the_department_shares_its_notifications_and_the_bell_counts_them(login, users):
    from certapp.registry import services as registry
    from tests.factories import application_data

    applicant = make_user("provider")
    with transaction():
        application = registry.save_application(applicant, application_data())
        registry.submit_application(application.id, applicant)
    colleague = make_user("department")
    db.session.commit()
    for official in (users["department"], colleague):
        page = login(official).get("/notifications").get_data(as_text=True)
        assert f"Заявка в реестр № {application.number}" in page
        assert 'aria-label="Уведомления: непрочитанных 1"' in login(official).get("/").get_data(as_text=True)
    client = login(users["department"])
    assert "Прочитано: 1." in client.post("/notifications/read-all", follow_redirects=True).get_data(as_text=True)
    assert 'aria-label="Уведомления"' in login(colleague).get("/").get_data(as_text=True)


def test_a_queue_that_is_down_does_not_undo_a_committed_change(app, users, monkeypatch):
    from huey.exceptions import HueyException

    from certapp.jobs import huey

    def down(*args, **kwargs):
        raise HueyException("the queue is unreachable")

    monkeypatch.setattr(huey, "enqueue", down)
    parent = _confirmed(users["parent"])
    application = _apply(parent)   # the commit succeeds; the letter waits for the sweep
    assert application.id and db.session.execute(select(OutboxMessage)).scalar_one().status == "pending"


def test_the_notifications_name_the_child_in_the_right_case(login, users, app):
    parent = users["parent"]
    child = certificates.add_child(parent, child_data(last_name="Петрова", first_name="Анна", patronymic="Андреевна"))
    application = certificates.apply(parent, child.id, current_period().id, True)
    db.session.commit()
    certificates.confirm(application.id, users["department"])
    db.session.commit()
    page = login(parent).get("/notifications").get_data(as_text=True)
    assert "для ребёнка Петровой Анны Андреевны принято" in page
    assert "Ребёнку Петровой Анне Андреевне выдан социальный сертификат" in page
    assert "Петрова Анна Андреевна выдан" not in page
    with app.test_request_context():
        from flask import render_template_string
        assert render_template_string("Выдан {{ child|dative }}, для {{ child|genitive }}", child=child) == \
            "Выдан Петровой Анне Андреевне, для Петровой Анны Андреевны"


@pytest.mark.parametrize("value", ["maybe", "2", "\x00"])
def test_a_wrong_unread_filter_is_told_on_the_page_and_under_errors_query(api, login, users, value):
    """One schema (notifications.schemas.NotificationQuerySchema) reads the filter of the page and of the API."""
    parent = users["parent"]
    application = _apply(parent)
    page = login(parent).get("/notifications", query_string={"unread": value})
    text = page.get_data(as_text=True)
    assert page.status_code == 422 and 'id="unread-error">Укажите 1 (да) или 0 (нет).<' in text
    assert f"Заявление № {application.number} принято" in text  # the list is still shown
    answer = api(parent).get("/api/v1/notifications", query_string={"unread": value})
    assert answer.status_code == 422 and answer.json["errors"]["query"] == {"unread": ["Укажите 1 (да) или 0 (нет)."]}


def test_the_unread_filter_in_any_scripts_digits_shows_what_waits(api, login, users):
    parent = users["parent"]
    application = _apply(parent)
    note = db.session.execute(select(Notification).where(Notification.user_id == parent.id)).scalar_one()
    services.mark_read(note.id, parent)
    db.session.commit()
    for typed in ("1", "１", "١"):
        page = login(parent).get("/notifications", query_string={"unread": typed})
        assert page.status_code == 200 and "Уведомлений нет." in page.get_data(as_text=True), typed
        assert listed_total(api(parent).get("/api/v1/notifications", query_string={"unread": typed})) == 0
    everything = login(parent).get("/notifications", query_string={"unread": "0"}).get_data(as_text=True)
    assert f"Заявление № {application.number} принято" in everything


@pytest.mark.parametrize("value", ["nonsense", "\x00"])
def test_a_wrong_state_of_the_outbox_is_told_beside_its_field_and_the_letters_stay(login, users, value):
    parent = _confirmed(users["parent"])
    _apply(parent)
    client = login(users["region"])
    assert parent.email in client.get("/mail/outbox", query_string={"status": "pending"}).get_data(as_text=True)
    assert parent.email not in client.get("/mail/outbox", query_string={"status": "sent"}).get_data(as_text=True)
    page = client.get("/mail/outbox", query_string={"status": value})
    text = page.get_data(as_text=True)
    assert page.status_code == 422 and 'id="status-error">Такого состояния нет: выберите из списка.<' in text
    assert parent.email in text
