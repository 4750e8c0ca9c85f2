"""The account's own letters: confirming the address, resetting a forgotten password, and telling
an owner that someone tried to register their address. Links carry a signed, expiring token
(itsdangerous, keyed by SECRET_KEY): nothing is stored, and a reset link works once, because the
new password ends the account's session version the token was made for."""
from flask import current_app
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer
from sqlalchemy import select

from certapp.accounts.models import User
from certapp.audit.services import record_event
from certapp.common.errors import ValidationError
from certapp.common.validators import normalise_email
from certapp.common.web import absolute_url, path_for
from certapp.db import db, utcnow
from certapp.mail.services import queue_email, smtp_configured

CONFIRM_MAX_AGE = 3 * 24 * 3600
RESET_MAX_AGE = 2 * 3600
RESET_REQUESTED = ("Если этот адрес зарегистрирован, на него отправлено письмо со ссылкой для смены пароля. "
                   "Ссылка действует 2 часа.")
_SIGNATURE = "\n\n—\nСоциальные сертификаты на дополнительное образование детей.\nЕсли вы не запрашивали это письмо, просто удалите его."


def _serializer(purpose: str) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt=f"certapp.{purpose}")


def _token(purpose: str, user: User) -> str:
    return _serializer(purpose).dumps({"u": user.id, "e": user.email, "v": user.session_version})


def _user_of(purpose: str, token: str, max_age: int, *, same_version: bool) -> User:
    refusal = ValidationError("Ссылка неверна или устарела. Запросите новую.", field="token", code="invalid_token")
    try:
        data = _serializer(purpose).loads(token or "", max_age=max_age)
    except (SignatureExpired, BadSignature):
        raise refusal
    user = db.session.get(User, data.get("u")) if isinstance(data, dict) and isinstance(data.get("u"), int) else None
    if user is None or not user.active or user.email != data.get("e") or (same_version and user.session_version != data.get("v")):
        raise refusal
    return user


def _link_letter(user: User, purpose: str, endpoint: str, subject: str, text: str) -> None:
    """A letter with a signed link (`{link}` in the text); its body is erased once sent."""
    link = absolute_url(path_for(endpoint, token=_token(purpose, user)))
    queue_email(user.email, subject, f"Здравствуйте, {user.full_name}!\n\n" + text.format(link=link) + _SIGNATURE,
                sensitive=True)


#: what a user is told when the installation sends no mail (no CERTAPP_SMTP_URL)
MAIL_NOT_CONFIGURED = ("Почта в системе не настроена: письмо со ссылкой отправить нельзя. Уведомления видны в системе "
                       "(значок колокольчика), на почту они не приходят. Подтвердить адрес может администратор системы.")


def send_confirmation(user: User) -> bool:
    """A letter with the link that confirms the address (sent at registration and on request). Without
    SMTP nothing is written (the link would wait in the outbox, unread): returns False, and the caller
    says so."""
    if not smtp_configured():
        return False
    _link_letter(user, "confirm", "accounts.confirm_email", "Подтвердите адрес почты",
                 "Чтобы получать уведомления на этот адрес, подтвердите его: {link}\nСсылка действует 3 дня.")
    record_event("user.confirmation_sent", user, actor=user)
    return True


def confirm_address(user: User, actor: User | None) -> User:
    """Mark the address confirmed (once): by the owner's link, or by the administrator
    (`flask users confirm-email`, actor None) where the installation sends no mail."""
    if user.email_confirmed_at is None:
        user.email_confirmed_at = utcnow()
        record_event("user.email_confirmed", user, actor=actor,
                     details=None if actor is not None else {"by": "administrator (flask users confirm-email)"})
    return user


def confirm_email(token: str) -> User:
    """The owner opened the link: the address is confirmed. Raises ValidationError for a bad or old link."""
    user = _user_of("confirm", token, CONFIRM_MAX_AGE, same_version=False)
    return confirm_address(user, user)


def request_password_reset(email: str) -> None:
    """Send a reset link if the address belongs to an active account; the caller answers the same
    either way (RESET_REQUESTED), so that nobody learns whether an address is registered."""
    try:
        email = normalise_email(email)
    except ValidationError:
        return
    user = db.session.execute(select(User).where(User.email == email, User.active.is_(True))).scalar_one_or_none()
    if user is None:
        return
    _link_letter(user, "reset", "accounts.reset_password", "Смена пароля",
                 "Чтобы задать новый пароль, откройте ссылку: {link}\nСсылка действует 2 часа и срабатывает один раз.")
    record_event("user.password_reset_requested", user, actor=user)


def check_reset_token(token: str) -> User:
    return _user_of("reset", token, RESET_MAX_AGE, same_version=True)


def tell_owner_of_repeated_registration(user: User) -> None:
    """Someone registered with an address that has an account: its owner is told (the page said nothing)."""
    queue_email(user.email, "Попытка повторной регистрации",
                f"Здравствуйте, {user.full_name}!\n\nКто-то пытался зарегистрироваться в системе с вашим адресом почты. "
                f"Ваша учётная запись не изменилась. Если это были вы, войдите: {absolute_url(path_for('accounts.login'))}\n"
                f"Забыли пароль? {absolute_url(path_for('accounts.forgot_password'))}" + _SIGNATURE)
