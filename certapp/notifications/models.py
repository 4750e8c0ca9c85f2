from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from certapp.common.scope import MunicipalityTagged
from certapp.db import Model, UTCDateTime, utcnow

#: groups of notifications a user may take by email or not (in the app they always come)
NOTIFICATION_KINDS = {
    "certificate": "Заявления на сертификат и сертификаты",
    "enrollment": "Заявки на обучение",
    "contract": "Договоры и отчёты о занятиях",
    "registry": "Заявки в реестр исполнителей и сотрудники",
    "program": "Программы",
    "bookkeeping": "Соглашения и реестры на оплату",
    "feedback": "Отзывы",
    "deadline": "Сроки: напоминания и просрочки",
    "system": "Служебные: сверка, письма",
    "monitoring": "Мониторинг качества: посещения опорного центра",
}
#: the kinds each role receives (and so chooses among on its profile); a parent is never offered the
#: registry's or the bookkeeping's letters
ROLE_KINDS = {
    "parent": ("certificate", "enrollment", "contract", "feedback", "deadline"),
    "provider": ("registry", "program", "enrollment", "contract", "bookkeeping", "feedback", "deadline", "monitoring"),
    # every kind but the visits' results, which go to the provider visited only
    "department": tuple(kind for kind in NOTIFICATION_KINDS if kind != "monitoring"),
    "bookkeeping": ("contract", "bookkeeping", "deadline", "system"),
    "region": ("system",),
    "moc": ("system",),
}


def kinds_for(role: str) -> dict[str, str]:
    """The notification kinds a role receives, with their names."""
    return {kind: NOTIFICATION_KINDS[kind] for kind in ROLE_KINDS.get(role, ())}


class Notification(MunicipalityTagged, Model):
    """A message to a person, an organisation (every member of a provider's staff) or a role (every
    department official): shown in the app, and sent by email to those who take that kind."""

    __tablename__ = "notification"
    __table_args__ = (
        CheckConstraint("(CASE WHEN user_id IS NULL THEN 0 ELSE 1 END) + (CASE WHEN provider_id IS NULL THEN 0 ELSE 1 END)"
                        " + (CASE WHEN role IS NULL THEN 0 ELSE 1 END) = 1", name="one_recipient"),
        Index("ix_notification_user_unread", "user_id", "read_at"),
        Index("ix_notification_provider_unread", "provider_id", "read_at"),
        Index("ix_notification_role_unread", "role", "read_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    provider_id: Mapped[int | None] = mapped_column(ForeignKey("provider.id"))
    role: Mapped[str | None] = mapped_column(String(16))
    kind: Mapped[str] = mapped_column(String(16))
    title: Mapped[str] = mapped_column(String(255))
    body: Mapped[str] = mapped_column(Text, default="")
    #: the object's page, a path inside the app
    url: Mapped[str | None] = mapped_column(String(500))
    #: one notification per fact (a reminder is sent once)
    dedupe_key: Mapped[str | None] = mapped_column(String(255), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    read_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    #: the matter it asks someone to act on («RegistryApplication:12», «deadline:certificate_review:m3»):
    #: when that matter is decided, the notification is settled
    subject: Mapped[str | None] = mapped_column(String(64), index=True)
    #: when its matter was decided, and what was decided («решено: заявка одобрена»): a settled
    #: notification no longer waits (it is not counted as unread)
    settled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    settled_text: Mapped[str | None] = mapped_column(String(255))

    @property
    def waiting(self) -> bool:
        """New and its matter not yet decided: what the bell counts."""
        return self.read_at is None and self.settled_at is None

    def __repr__(self) -> str:
        return f"<Notification {self.id} {self.kind} {self.title!r}>"
