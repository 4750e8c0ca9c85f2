"""Letters through the outbox: written with the change they tell about, sent by the worker once.

Sending is claimed by a conditional UPDATE (pending -> sending), committed before the SMTP
conversation: two workers cannot both send a letter, and a job run twice finds it sent. A worker
that dies after claiming leaves a stale claim, which the sweep hands out again after
CLAIM_TIMEOUT (the letter then goes once: it was never sent). A worker that dies after the SMTP
server accepted the letter but before recording it would send it again; the Message-ID, chosen
when the letter is written and kept on its row, is the same both times, so that mail systems can
recognise the repeat.
"""
import smtplib
from datetime import timedelta
from email.message import EmailMessage
from email.utils import make_msgid
from urllib.parse import parse_qs, unquote, urlsplit

from flask import current_app
from sqlalchemy import or_, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from certapp.common.errors import NotFoundError
from certapp.db import db, rowcount, utcnow
from certapp.jobs import crontab, job, periodic
from certapp.jobs.services import after_commit
from certapp.mail.models import OutboxMessage
from certapp.uow import unit_of_work

#: a claim older than this belongs to a worker that died
CLAIM_TIMEOUT = timedelta(minutes=10)
#: attempts before a letter is marked failed (the department can send it again)
MAX_ATTEMPTS = 8


def queue_email(to_address: str, subject: str, text_body: str, html_body: str | None = None,
                dedupe_key: str | None = None, sensitive: bool = False,
                municipality_id: int | None = None) -> int | None:
    """Write a letter into the outbox of the current transaction; it is sent after the commit.
    A `sensitive` letter's body is erased once it is sent. Returns the letter's id, or None when a
    letter with the same dedupe_key exists (written before, or by a concurrent transaction)."""
    insert = pg_insert if db.engine.dialect.name == "postgresql" else sqlite_insert
    stmt = insert(OutboxMessage).values(to_address=to_address, subject=subject[:255], text_body=text_body,
                                        html_body=html_body, dedupe_key=dedupe_key, sensitive=sensitive,
                                        municipality_id=municipality_id, message_id=new_message_id())
    if dedupe_key:  # one statement, no savepoint: the first letter with the key wins
        stmt = stmt.on_conflict_do_nothing(index_elements=["dedupe_key"])
    message_id = db.session.execute(stmt.returning(OutboxMessage.id)).scalar_one_or_none()
    if message_id is not None:
        after_commit(deliver_email, message_id)
    return message_id


def new_message_id() -> str:
    """A letter's Message-ID, chosen once when it is written (the sender's domain on the right)."""
    domain = current_app.config.get("MAIL_FROM", "").rpartition("@")[2].strip(" >") or "localhost"
    return make_msgid(idstring="certapp", domain=domain)


def smtp_configured() -> bool:
    return bool(current_app.config.get("SMTP_URL"))


#: delivery writes the one letter it was handed, by id, region-wide: a letter to a parent belongs to no
#: municipality, and an official's request that queued it (scoped to theirs) may deliver it at once
_DELIVERY = {"all_municipalities": True}


def _claim(message_id: int) -> bool:
    now = utcnow()
    with unit_of_work():
        claimed = rowcount(db.session.execute(
            update(OutboxMessage)
            .where(OutboxMessage.id == message_id,
                   or_(OutboxMessage.status == "pending",
                       (OutboxMessage.status == "sending") & (OutboxMessage.claimed_at < now - CLAIM_TIMEOUT)))
            .values(status="sending", claimed_at=now, attempts=OutboxMessage.attempts + 1)
            .execution_options(**_DELIVERY)))
    return claimed == 1


def deliver(message_id: int) -> bool:
    """Send one letter if it still waits and SMTP is configured; True when this call sent it."""
    if not smtp_configured() or not _claim(message_id):
        return False
    message = db.session.get(OutboxMessage, message_id, execution_options=_DELIVERY)
    if message is None:  # claimed a moment ago: only its deletion in between leaves nothing to send
        return False
    try:
        _send(message)
    except (OSError, smtplib.SMTPException) as error:
        failed = message.attempts >= MAX_ATTEMPTS
        with unit_of_work():
            db.session.execute(update(OutboxMessage).where(OutboxMessage.id == message_id).values(
                status="failed" if failed else "pending", last_error=f"{type(error).__name__}: {error}"[:1000])
                .execution_options(**_DELIVERY))
        current_app.logger.warning("letter %s not sent (attempt %s): %s", message_id, message.attempts,
                                   type(error).__name__)
        return False
    erased = {"text_body": "(содержимое удалено после отправки)", "html_body": None} if message.sensitive else {}
    with unit_of_work():
        db.session.execute(update(OutboxMessage).where(OutboxMessage.id == message_id).values(
            status="sent", sent_at=utcnow(), last_error=None, **erased).execution_options(**_DELIVERY))
    return True


def _send(message: OutboxMessage) -> None:
    url = urlsplit(current_app.config["SMTP_URL"])
    options = parse_qs(url.query)
    letter = EmailMessage()
    letter["From"] = current_app.config["MAIL_FROM"]
    letter["To"] = message.to_address
    letter["Subject"] = message.subject
    letter["Message-ID"] = message.message_id  # the same on every attempt: a repeat is recognised
    letter.set_content(message.text_body)
    if message.html_body:
        letter.add_alternative(message.html_body, subtype="html")
    smtp_class = smtplib.SMTP_SSL if url.scheme == "smtps" else smtplib.SMTP
    with smtp_class(url.hostname or "localhost", url.port or (465 if url.scheme == "smtps" else 25),
                    timeout=30) as smtp:
        if options.get("starttls", ["0"])[0] == "1":
            smtp.starttls()
        if url.username:
            smtp.login(unquote(url.username), unquote(url.password or ""))
        smtp.send_message(letter)


def retry(message_id: int) -> None:
    """The department sends a failed letter again (the scope: only a letter of its municipality)."""
    if not rowcount(db.session.execute(update(OutboxMessage).where(OutboxMessage.id == message_id,
                                                                   OutboxMessage.status == "failed")
                                       .values(status="pending", attempts=0))):
        raise NotFoundError("Письмо не найдено или уже не ждёт повторной отправки.")
    after_commit(deliver_email, message_id)


def waiting_ids(limit: int = 500) -> list[int]:
    """Letters to hand out again: waiting ones, and those whose worker died while sending."""
    stale = utcnow() - CLAIM_TIMEOUT
    return list(db.session.execute(select(OutboxMessage.id).where(or_(
        OutboxMessage.status == "pending",
        (OutboxMessage.status == "sending") & (OutboxMessage.claimed_at < stale))).order_by(OutboxMessage.id)
        .limit(limit)).scalars())


def outbox_query(status: str | None = None):
    stmt = select(OutboxMessage).order_by(OutboxMessage.id.desc())
    return stmt.where(OutboxMessage.status == status) if status else stmt


@job()
def deliver_email(message_id: int) -> bool:
    return deliver(message_id)


@periodic(crontab(minute="*"))
def sweep_outbox() -> int:
    """Every minute: hand out the letters that wait (SMTP configured after they were written, a
    server that was down, a worker that died)."""
    if not smtp_configured():
        return 0
    with unit_of_work():   # hand them out after the read ends (a job run at once must not wait on it)
        ids = waiting_ids()
        for message_id in ids:
            after_commit(deliver_email, message_id)
    return len(ids)
