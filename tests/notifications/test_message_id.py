"""A letter keeps the Message-ID chosen when it was written: sent again after its worker died, it
carries the same one (real SMTP server), so that mail systems drop the repeat."""
from datetime import timedelta

import pytest
from flask_migrate import downgrade, upgrade
from sqlalchemy import select, text

from certapp.db import db, utcnow
from certapp.mail import services as mail
from certapp.mail.models import OutboxMessage


def test_a_letter_sent_again_after_its_worker_died_carries_the_same_message_id(app, smtp):
    mail.queue_email("parent@example.ru", "Письмо", "Текст письма")
    db.session.commit()
    message = db.session.execute(select(OutboxMessage)).scalar_one()
    assert message.message_id.startswith("<") and message.message_id.endswith(">")
    assert len(smtp.wait_for(1)) == 1
    # the worker that sent it died before recording it: the claim went stale, the sweep hands it out again
    db.session.expire_all()
    message = db.session.get(OutboxMessage, message.id)
    message.status, message.claimed_at = "sending", utcnow() - mail.CLAIM_TIMEOUT - timedelta(minutes=1)
    db.session.commit()
    assert mail.sweep_outbox.call_local() == 1
    first, second = smtp.wait_for(2)
    assert first["Message-ID"] == second["Message-ID"] == message.message_id


def test_two_letters_have_different_message_ids(app):
    mail.queue_email("a@example.ru", "Письмо", "Текст")
    mail.queue_email("b@example.ru", "Письмо", "Текст")
    ids = db.session.execute(select(OutboxMessage.message_id)).scalars().all()
    assert len(set(ids)) == 2 and all("@localhost>" in value for value in ids)


@pytest.mark.commits  # migrations change the schema
def test_the_migration_gives_existing_letters_their_own_message_id(app):
    db.session.remove()
    downgrade(revision="0027_official_lists")
    with db.engine.begin() as conn:
        for address in ("a@example.ru", "b@example.ru"):
            conn.execute(text("INSERT INTO outbox_message (to_address, subject, text_body, status, attempts, sensitive,"
                              " created_at) VALUES (:to, 'Старое письмо', 'Текст', 'pending', 0, FALSE, "
                              "CURRENT_TIMESTAMP)"), {"to": address})
    upgrade()
    with db.engine.connect() as conn:
        rows = conn.execute(text("SELECT id, message_id FROM outbox_message ORDER BY id")).all()
    assert [value for _, value in rows] == [f"<certapp-outbox-{row_id}@certapp>" for row_id, _ in rows]
    assert len(rows) == 2
