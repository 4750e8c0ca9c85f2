"""Accounts: registration, passwords, the login lock-out and API tokens."""
import hashlib
import secrets
from dataclasses import dataclass
from datetime import timedelta
from functools import lru_cache

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from flask import current_app
from sqlalchemy import delete, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import joinedload

from certapp.accounts import letters
from certapp.accounts.models import ROLES, SELF_REGISTERED_ROLES, ApiToken, LoginThrottle, User
from certapp.audit.services import record_event
from certapp.common.errors import ConflictError, FieldChecks, NotFoundError, ValidationError
from certapp.common.templating import format_wait
from certapp.common.validators import normalise_email, normalise_phone, validate_password_strength
from certapp.db import MAX_ID, db, utcnow
from certapp.reference.models import Municipality

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


#: what a person or a client is told after self-registration, whether or not the address was free
REGISTRATION_ACCEPTED = ("Заявка на регистрацию принята. Войдите с указанными адресом почты и паролем. "
                         "Если этот адрес был зарегистрирован раньше, войдите с прежним паролем.")


#: roles that work for one municipality
MUNICIPAL_ROLES = ("department", "bookkeeping", "moc")


def clean_registration(email, password, full_name, phone, *, self_registration: bool = True) -> tuple:
    """The typed account checked whole: (email, full name, phone) normalised, or one ValidationError
    naming every wrong field (the page shows each beside its field after one submit)."""
    checks = FieldChecks()
    email = checks(normalise_email, email)
    checks(validate_password_strength, password)
    if "password" not in checks.fields and email and password.lower() in email:
        checks.fail("password", "Пароль не должен повторять адрес почты.")
    full_name = checks(_clean_full_name, full_name)
    phone = checks(normalise_phone, phone) if phone else None
    if self_registration and not phone and "phone" not in checks.fields:
        checks.fail("phone", "Укажите телефон.")
    checks.done()
    return email, full_name, phone


def register_user(*, email: str, password: str, full_name: str, phone: str | None, role: str,
                  actor: User | None = None, self_registration: bool = True,
                  municipality_id: int | None = None) -> User | None:
    """Create an account. Self-registration may give only the parent or provider role.

    Self-registration with an address already taken creates nothing, audits the attempt on the
    existing account and returns None, spending the same time as a creation: the answer must not
    tell whether an address is registered. Raises ValidationError (bad email, weak password,
    unknown role) or, for an account created by an administrator, ConflictError (email taken).
    """
    if role not in ROLES:
        raise ValidationError("Неизвестная роль.", field="role")
    if self_registration and role not in SELF_REGISTERED_ROLES:
        raise ValidationError("Эту роль назначает администратор системы.", field="role")
    email, full_name, phone = clean_registration(email, password, full_name, phone,
                                                 self_registration=self_registration)
    existing = db.session.execute(select(User).where(User.email == email)).scalar_one_or_none()
    if existing is not None and self_registration:
        hash_password(password)  # the time a creation takes
        record_event("user.register_repeated", existing, actor=existing, details={"role": role})
        letters.tell_owner_of_repeated_registration(existing)
        return None
    if existing is not None:
        raise ConflictError("Пользователь с таким адресом почты уже зарегистрирован.", field="email",
                            code="duplicate_account")
    if role in MUNICIPAL_ROLES:
        municipality_id = municipality_id or _only_municipality()
    elif municipality_id is not None:
        raise ValidationError("Муниципальное образование указывается только управлению образования, бухгалтерии и опорному центру.",
                              field="municipality")
    user = User(email=email, password_hash=hash_password(password), full_name=full_name, phone=phone,
                role=role, email_confirmed_at=None if self_registration else utcnow(), municipality_id=municipality_id)
    db.session.add(user)
    db.session.flush()
    record_event("user.register" if self_registration else "user.create", user, to_state=role,
                 actor=actor or user, details={"email": email})
    if self_registration:
        letters.send_confirmation(user)
    return user


def _only_municipality() -> int:
    """The municipality of a new official when none is named: the installation's only one."""
    ids = db.session.execute(select(Municipality.id).order_by(Municipality.id).limit(2)).scalars().all()
    if len(ids) != 1:
        raise ValidationError("Укажите муниципальное образование (ОКТМО) сотрудника." if ids else
                              "Справочник муниципальных образований не загружен: выполните flask reference load.",
                              field="municipality")
    return ids[0]


@dataclass
class LoginResult:
    user: User | None
    error: str | None = None


GENERIC_LOGIN_ERROR = "Неверный адрес почты или пароль."


def authenticate(email: str, password: str, address: str | None) -> LoginResult:
    """Check a login from a network address.

    Failures of one account from one address make that pair wait longer and longer before its
    next attempt (LoginThrottle); the account itself is never locked, so the owner, from another
    address, still gets in. Every failure is audited. Returns a result instead of raising, so
    that the caller commits the failure too.
    """
    try:
        email = normalise_email(email)
    except ValidationError:
        email = (email or "").strip().lower()[:255]
    now = utcnow()
    key = _throttle_key(address, email)
    waiting = db.session.execute(
        select(LoginThrottle.wait_until).where(LoginThrottle.key == key)).scalar_one_or_none()
    if waiting and waiting > now:
        record_event("user.login_throttled", ("User", None), details={"email": email})
        return LoginResult(None, "Слишком много неудачных попыток входа с этого адреса. Повторите через "
                                 f"{format_wait((waiting - now).total_seconds())}.")
    user = db.session.execute(select(User).where(User.email == email)).scalar_one_or_none()
    if user is None:
        _verify_dummy(password)
    if user is None or not _verify(user, password):
        failures = _note_failure(key, now)
        record_event("user.login_failed", user or ("User", None),
                     details={"email": email, "failures": failures})
        return LoginResult(None, GENERIC_LOGIN_ERROR)
    if not user.active:
        record_event("user.login_refused", user, actor=user, details={"reason": "inactive"})
        return LoginResult(None, "Учётная запись отключена. Обратитесь в управление образования.")
    db.session.execute(delete(LoginThrottle).where(LoginThrottle.key == key))
    user.last_login_at = now
    if password_hasher().check_needs_rehash(user.password_hash):
        user.password_hash = hash_password(password)
    record_event("user.login", user, actor=user)
    return LoginResult(user)


def _throttle_key(address: str | None, email: str) -> str:
    return hashlib.sha256(f"{address or '-'} {email}".encode()).hexdigest()


def _note_failure(key: str, now) -> int:
    """Count a failure of the pair and set its wait: none for the first LOGIN_FREE_FAILURES, then
    2, 4, 8 … seconds up to LOGIN_MAX_WAIT_SECONDS. A pair quiet for a day starts again."""
    insert = pg_insert if db.session.get_bind().dialect.name == "postgresql" else sqlite_insert
    db.session.execute(insert(LoginThrottle).values(key=key, failures=0, last_failure_at=now)
                       .on_conflict_do_nothing(index_elements=["key"]))
    row = db.session.execute(select(LoginThrottle).where(LoginThrottle.key == key).with_for_update()).scalar_one()
    if row.last_failure_at < now - timedelta(days=1):
        row.failures = 0
    row.failures += 1
    row.last_failure_at = now
    over = row.failures - current_app.config["LOGIN_FREE_FAILURES"]
    if over > 0:
        row.wait_until = now + timedelta(seconds=min(2 ** min(over, 20), current_app.config["LOGIN_MAX_WAIT_SECONDS"]))
    db.session.flush()
    return row.failures


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
    end_sessions(user)
    record_event("user.password_change", user, actor=user)


def end_sessions(user: User) -> None:
    """End every session the user has opened (in every browser); the caller may log in again."""
    user.session_version += 1
    db.session.flush()


def load_session_user(session_id: str) -> User | None:
    """Flask-Login's user loader: the active user whose session version the cookie still carries."""
    user_id, _, version = (session_id or "").partition(":")
    if not user_id.isdigit() or not version.isdigit() or int(user_id) > MAX_ID:
        return None
    user = db.session.get(User, int(user_id))
    if user is None or not user.active or user.session_version != int(version):
        return None
    return user


def set_active(user_id: int, active: bool, actor: User | None) -> User:
    user = get_user(user_id)
    if user.active != active:
        user.active = active
        end_sessions(user)
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
    row = db.session.execute(  # the user in the same query: every API request asks this
        select(ApiToken).options(joinedload(ApiToken.user)).where(ApiToken.token_hash == _token_hash(token))
    ).scalar_one_or_none()
    if row is None or row.revoked_at is not None or not row.user.active:
        return None
    return row.user


def reset_password(token: str, new_password: str) -> User:
    """Set a new password by a reset link: every session ends, and the address counts as confirmed
    (the letter reached its owner). Raises ValidationError for a bad, old or used link or a weak password."""
    user = letters.check_reset_token(token)
    validate_password_strength(new_password, field="password")
    user.password_hash = hash_password(new_password)
    user.email_confirmed_at = user.email_confirmed_at or utcnow()
    end_sessions(user)
    record_event("user.password_reset", user, actor=user)
    return user


#: the password hash of an account created without a password (certapp.imports): no password matches
#: it (argon2 refuses it as a hash), so its owner sets one by «Забыли пароль?»
NO_PASSWORD = "!no-password"


def create_passwordless_account(*, email: str, full_name: str, phone: str | None, role: str,
                                actor: User | None) -> User:
    """An account for a parent or a provider whose data arrived from another system: no password until
    its owner sets one through the password reset letter. Raises ValidationError, ConflictError (email taken)."""
    if role not in SELF_REGISTERED_ROLES:
        raise ValidationError("Так создаются только учётные записи родителей и исполнителей.", field="role")
    email = normalise_email(email)
    full_name = _clean_full_name(full_name)
    phone = normalise_phone(phone) if phone else None
    if db.session.execute(select(User.id).where(User.email == email)).first():
        raise ConflictError("Пользователь с таким адресом почты уже зарегистрирован.", field="email",
                            code="duplicate_account")
    user = User(email=email, password_hash=NO_PASSWORD, full_name=full_name, phone=phone, role=role)
    db.session.add(user)
    db.session.flush()
    record_event("user.create", user, to_state=role, actor=actor, details={"email": email, "imported": True})
    return user
