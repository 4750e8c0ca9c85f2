from datetime import datetime

from sqlalchemy import Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from certapp.common.scope import MunicipalityTagged
from certapp.db import Model, UTCDateTime, utcnow

MESSAGE_STATUSES = {"pending": "Ждёт отправки", "sending": "Отправляется", "sent": "Отправлено",
                    "failed": "Не отправлено"}


class OutboxMessage(MunicipalityTagged, Model):
    """A letter, written in the same transaction as the change it tells about (an outbox): a
    rolled-back change leaves no letter, a committed one is never lost. The worker sends it
    (certapp.mail.services.deliver); without SMTP it waits here, shown on the department's page."""

    __tablename__ = "outbox_message"

    id: Mapped[int] = mapped_column(primary_key=True)
    to_address: Mapped[str] = mapped_column(String(255))
    subject: Mapped[str] = mapped_column(String(255))
    text_body: Mapped[str] = mapped_column(Text)
    html_body: Mapped[str | None] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(16), default="pending", index=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(Text)
    #: the body holds a secret (a password-reset link): it is erased once the letter is sent
    sensitive: Mapped[bool] = mapped_column(default=False, server_default="0")
    #: one letter per fact: a second letter with the same key is not written
    dedupe_key: Mapped[str | None] = mapped_column(String(255), unique=True)
    #: the letter's Message-ID, chosen when it is written: a letter sent again after a worker died
    #: carries the same one, so that mail systems drop the repeat
    message_id: Mapped[str] = mapped_column(String(255), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    #: when a worker took it; a claim older than CLAIM_TIMEOUT is a crashed worker's and is taken again
    claimed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    @property
    def status_name(self) -> str:
        return MESSAGE_STATUSES[self.status]

    def __repr__(self) -> str:
        return f"<OutboxMessage {self.id} {self.status} {self.to_address}>"
