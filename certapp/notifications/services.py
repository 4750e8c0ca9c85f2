"""Notifications: in the app for everyone concerned, by email to those who take the kind and have
confirmed their address. Written in the transaction of the change they tell about."""
from html import escape

from sqlalchemy import func, or_, select, update

from certapp.accounts.models import User
from certapp.audit.services import record_event
from certapp.common.errors import NotFoundError, ValidationError
from certapp.common.rows import get_existing
from certapp.common.web import absolute_url, path_for
from certapp.db import db, rowcount, utcnow
from certapp.mail.services import queue_email
from certapp.notifications.models import NOTIFICATION_KINDS, Notification, kinds_for

#: roles whose notifications are shared by every official of the role
SHARED_ROLES = ("department", "bookkeeping")


def notify(kind: str, title: str, body: str = "", *, user_id: int | None = None, provider_id: int | None = None,
           role: str | None = None, municipality_id: int | None = None, url: str | None = None,
           dedupe_key: str | None = None, subject: str | None = None) -> Notification | None:
    """Notify one user, a provider's staff or every official of a role in a municipality; returns
    None when a notification with the same dedupe_key exists (a reminder already sent). `subject`: the
    matter it asks to act on (see settle)."""
    if kind not in NOTIFICATION_KINDS:
        raise ValueError(f"unknown notification kind {kind!r}")
    if user_id is not None and municipality_id is None:  # an official's own notification is their municipality's
        municipality_id = get_existing(User, user_id).municipality_id
    if role is not None and municipality_id is None:
        raise ValueError("a notification to a role names the municipality whose officials it is for")
    if dedupe_key and db.session.execute(select(Notification.id).where(Notification.dedupe_key == dedupe_key)
                                         .execution_options(all_municipalities=True)).first():
        return None
    notification = Notification(kind=kind, title=title[:255], body=body, url=url, dedupe_key=dedupe_key,
                                subject=subject, user_id=user_id, provider_id=provider_id, role=role, municipality_id=municipality_id)
    db.session.add(notification)
    db.session.flush()
    for person in _recipients(notification):
        if person.email_confirmed_at and kind not in (person.email_muted or ()):
            queue_email(person.email, title, _letter_text(notification), _letter_html(notification),
                        dedupe_key=f"notification:{notification.id}:user:{person.id}",
                        municipality_id=notification.municipality_id)
    return notification


def _recipients(notification: Notification) -> list[User]:
    stmt = select(User).where(User.active.is_(True))
    if notification.user_id:
        stmt = stmt.where(User.id == notification.user_id)
    elif notification.provider_id:
        stmt = stmt.where(User.provider_id == notification.provider_id, User.role == "provider")
    else:
        stmt = stmt.where(User.role == notification.role, User.municipality_id == notification.municipality_id)
    return list(db.session.execute(stmt.order_by(User.id)).scalars())


def _link(path: str | None) -> str | None:
    return absolute_url(path) if path else None


def _letter_text(notification: Notification) -> str:
    parts = [notification.title, ""]
    if notification.body:
        parts += [notification.body, ""]
    if notification.url:
        parts += [f"Открыть: {_link(notification.url)}", ""]
    parts += ["—", "Социальные сертификаты на дополнительное образование детей.",
              f"Какие уведомления приходят на почту, можно выбрать в профиле: {_link(path_for('accounts.profile'))}"]
    return "\n".join(parts)


def _letter_html(notification: Notification) -> str:
    link = (f'<p><a href="{escape(absolute_url(notification.url))}">Открыть в системе</a></p>' if notification.url else "")
    body = "".join(f"<p>{escape(line)}</p>" for line in notification.body.split("\n") if line.strip())
    return (f'<!doctype html><html lang="ru"><body style="font-family: Arial, sans-serif; color: #1d2433">'
            f"<h2 style=\"font-size: 18px\">{escape(notification.title)}</h2>{body}{link}"
            f'<hr><p style="color: #5b6475; font-size: 13px">Социальные сертификаты на дополнительное образование детей. '
            f'<a href="{escape(absolute_url(path_for("accounts.profile")))}">Настроить уведомления</a></p></body></html>')


def visible_to(user: User):
    """The condition of the notifications a user sees: their own, their organisation's, their role's."""
    conditions = [Notification.user_id == user.id]
    if user.role == "provider" and user.provider_id:
        conditions.append(Notification.provider_id == user.provider_id)
    if user.role in SHARED_ROLES:
        conditions.append(Notification.role == user.role)
    return or_(*conditions)


def notifications_for(user: User, unread: bool = False):
    """The user's notifications, newest first; `unread`: those that wait (new, their matter not decided)."""
    stmt = select(Notification).where(visible_to(user)).order_by(Notification.created_at.desc(), Notification.id.desc())
    return stmt.where(Notification.read_at.is_(None), Notification.settled_at.is_(None)) if unread else stmt


def subject_of(obj) -> str:
    """The subject key of a document: «RegistryApplication:12»."""
    return f"{type(obj).__name__}:{obj.id}"


def settle(subject: str, outcome: str) -> int:
    """The matter `subject` is decided: its notifications not yet settled say so («решено: {outcome}») and
    stop waiting. Returns how many. Every recipient's notification about this one matter is settled,
    whoever decided it (a provider's has no municipality: the scope would hide it from the decider)."""
    return rowcount(db.session.execute(
        update(Notification).where(Notification.subject == subject, Notification.settled_at.is_(None))
        .values(settled_at=utcnow(), settled_text=f"решено: {outcome}"[:255])
        .execution_options(all_municipalities=True, synchronize_session=False)))


def unread_count(user: User) -> int:
    """What waits: new notifications whose matter is not yet decided."""

    return db.session.execute(select(func.count()).select_from(Notification).where(
        visible_to(user), Notification.read_at.is_(None), Notification.settled_at.is_(None))).scalar_one()


def mark_read(notification_id: int, user: User) -> Notification:
    """Mark one notification read; another person's is not found."""
    notification = db.session.execute(select(Notification).where(Notification.id == notification_id,
                                                                 visible_to(user))).scalar_one_or_none()
    if notification is None:
        raise NotFoundError("Уведомление не найдено.")
    if notification.read_at is None:
        notification.read_at = utcnow()
    return notification


def mark_all_read(user: User) -> int:
    return rowcount(db.session.execute(update(Notification).where(visible_to(user), Notification.read_at.is_(None))
                                       .values(read_at=utcnow())))


def set_email_preferences(user: User, kinds_by_email: set[str]) -> None:
    """The kinds the user takes by email; the others come only in the app."""
    offered = set(kinds_for(user.role))
    unknown = set(kinds_by_email) - offered
    if unknown:
        raise ValidationError(f"Неизвестные виды уведомлений: {', '.join(sorted(unknown))}.", field="email")
    # the kinds the role is not offered keep their setting
    muted = sorted((offered - set(kinds_by_email)) | (set(user.email_muted or ()) - offered))
    if muted != sorted(user.email_muted or []):
        record_event("user.email_preferences", user, actor=user, details={"muted": muted})
    user.email_muted = muted
