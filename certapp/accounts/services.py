"""Accounts: registration, passwords, the login lock-out and API tokens."""
import hashlib
import secrets
from dataclasses import dataclass
from datetime import timedelta
from functools import lru_cache

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from flask import current_app
from sqlalchemy import select

from certapp.accounts.models import ROLES, SELF_REGISTERED_ROLES, ApiToken, User
from certapp.audit.services import record_event
from certapp.common.errors import ConflictError, NotFoundError, PermissionDeniedError, ValidationError
from certapp.common.validators import normalise_email, normalise_phone, validate_password_strength
from certapp.db import db, utcnow

TOKEN_PREFIX = "cat_"


@lru_cache(maxsize=4)
def _hasher(time_cost: int, memory_cost: int, parallelism: int) -> PasswordHasher:
    return PasswordHasher(time_cost=time_cost, memory_cost=memory_cost, parallelism=parallelism)


def password_hasher() -> PasswordHasher:
    return _hasher(**current_app.config["PASSWORD_HASH_PARAMS"])


def hash_password(password: str) -> str:
    return password_hasher().hash(password)


def _clean_full_name(full_name: str) -> str:
    name = " ".join((full_name or "").split())
    if len(name) < 3:
        raise ValidationError("Укажите фамилию, имя и отчество.", field="full_name")
    if len(name) > 255:
        raise ValidationError("ФИО слишком длинное.", field="full_name")
    return name


def register_user(*, email: str, password: str, full_name: str, phone: str | None, role: str,
                  actor: User | None = None, self_registration: bool = True) -> User:
    """Create an account. Self-registration may give only the parent or provider role.

    Raises ValidationError (bad email, weak password, unknown role) or ConflictError (email taken).
    """
    if role not in ROLES:
        raise ValidationError("Неизвестная роль.", field="role")
    if self_registration and role not in SELF_REGISTERED_ROLES:
        raise ValidationError("Эту роль назначает администратор системы.", field="role")
    email = normalise_email(email)
    validate_password_strength(password)
    if password.lower() in email:
        raise ValidationError("Пароль не должен повторять адрес почты.", field="password")
    full_name = _clean_full_name(full_name)
    phone = normalise_phone(phone) if phone else None
    if self_registration and not phone:
        raise ValidationError("Укажите телефон.", field="phone")
    if db.session.execute(select(User.id).where(User.email == email)).first():
        raise ConflictError("Пользователь с таким адресом почты уже зарегистрирован.", field="email",
                            code="duplicate_account")
    user = User(email=email, password_hash=hash_password(password), full_name=full_name, phone=phone,
                role=role)
    db.session.add(user)
    db.session.flush()
    record_event("user.register" if self_registration else "user.create", user, to_state=role,
                 actor=actor or user, details={"email": email})
    return user


@dataclass
class LoginResult:
    user: User | None
    error: str | None = None


def authenticate(email: str, password: str) -> LoginResult:
    """Check a login. Counts failures and locks the account for a while after too many.

    Returns a result instead of raising, so that the caller commits the failure counter too.
    """
    try:
        email = normalise_email(email)
    except ValidationError:
        email = (email or "").strip().lower()
    user = db.session.execute(select(User).where(User.email == email)).scalar_one_or_none()
    generic = "Неверный адрес почты или пароль."
    if user is None:
        _verify_dummy(password)
        return LoginResult(None, generic)
    now = utcnow()
    if user.locked_until and user.locked_until > now:
        minutes = max(1, int((user.locked_until - now).total_seconds() // 60) + 1)
        return LoginResult(None, f"Слишком много неудачных попыток входа. Повторите через {minutes} мин.")
    if not _verify(user, password):
        user.failed_logins += 1
        if user.failed_logins >= current_app.config["LOGIN_MAX_FAILURES"]:
            user.locked_until = now + timedelta(minutes=current_app.config["LOGIN_LOCK_MINUTES"])
            user.failed_logins = 0
            record_event("user.lock", user, to_state="locked", actor=user)
        db.session.flush()
        return LoginResult(None, generic)
    if not user.active:
        return LoginResult(None, "Учётная запись отключена. Обратитесь в управление образования.")
    user.failed_logins = 0
    user.locked_until = None
    user.last_login_at = now
    if password_hasher().check_needs_rehash(user.password_hash):
        user.password_hash = hash_password(password)
    record_event("user.login", user, actor=user)
    return LoginResult(user)


def _verify(user: User, password: str) -> bool:
    return _verify_hash(user.password_hash, password)


def _verify_hash(password_hash: str, password: str) -> bool:
    try:
        return password_hasher().verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


_DUMMY_HASH: dict[str, str] = {}


def _verify_dummy(password: str) -> None:
    """Spend the same time on an unknown email as on a known one."""
    params = str(current_app.config["PASSWORD_HASH_PARAMS"])
    if params not in _DUMMY_HASH:
        _DUMMY_HASH[params] = hash_password("dummy-password-0")
    _verify_hash(_DUMMY_HASH[params], password)


def change_password(user: User, current_password: str, new_password: str) -> None:
    if not _verify(user, current_password):
        raise ValidationError("Текущий пароль указан неверно.", field="current_password")
    validate_password_strength(new_password, field="new_password")
    if new_password == current_password:
        raise ValidationError("Новый пароль совпадает с текущим.", field="new_password")
    user.password_hash = hash_password(new_password)
    record_event("user.password_change", user, actor=user)


def set_active(user_id: int, active: bool, actor: User) -> User:
    user = get_user(user_id)
    if user.active != active:
        user.active = active
        record_event("user.activate" if active else "user.deactivate", user,
                     from_state=str(not active), to_state=str(active), actor=actor)
    return user


def get_user(user_id: int) -> User:
    user = db.session.get(User, user_id)
    if user is None:
        raise NotFoundError("Пользователь не найден.")
    return user


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def create_token(user: User, name: str) -> tuple[ApiToken, str]:
    """Create a bearer token; returns the row and the token text, which is never stored."""
    name = " ".join((name or "").split())
    if not name or len(name) > 100:
        raise ValidationError("Укажите название токена (до 100 символов).", field="name")
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    row = ApiToken(user=user, name=name, token_hash=_token_hash(token), prefix=token[:10])
    db.session.add(row)
    record_event("api_token.create", row, to_state="active", actor=user, details={"name": name})
    return row, token


def revoke_token(user: User, token_id: int) -> ApiToken:
    row = db.session.get(ApiToken, token_id)
    if row is None or row.user_id != user.id:
        raise NotFoundError("Токен не найден.")
    if row.revoked_at is None:
        row.revoked_at = utcnow()
        record_event("api_token.revoke", row, from_state="active", to_state="revoked", actor=user)
    return row


def user_for_token(token: str) -> User | None:
    """The active user owning a non-revoked token, or None."""
    if not token or not token.startswith(TOKEN_PREFIX):
        return None
    row = db.session.execute(
        select(ApiToken).where(ApiToken.token_hash == _token_hash(token))
    ).scalar_one_or_none()
    if row is None or row.revoked_at is not None or not row.user.active:
        return None
    return row.user


def require_role(user, *roles: str) -> None:
    """Service-level guard for rules that depend on who acts."""
    if user is None or not getattr(user, "is_authenticated", False) or user.role not in roles:
        raise PermissionDeniedError("Недостаточно прав для этого действия.")
