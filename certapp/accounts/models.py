from datetime import datetime

from flask_login import UserMixin
from sqlalchemy import JSON, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from certapp.db import Model, UTCDateTime, one_of, utcnow

#: role code -> Russian name
ROLES = {
    "parent": "Родитель (законный представитель)",
    "provider": "Исполнитель услуг",
    "department": "Управление образования",
    "bookkeeping": "Бухгалтерия",
    "region": "Региональный оператор",
    # plan 6.2 of 458-п: monitors the providers' quality against the service standard; changes no money,
    # no registry, certificate or contract (certapp.monitoring)
    "moc": "Муниципальный опорный центр",
}
#: the roles whose pages the regional operator reads (read-only) in every municipality
REGION_READS_AS = frozenset({"department", "bookkeeping"})
#: roles that people may give themselves by registering
SELF_REGISTERED_ROLES = ("parent", "provider")


class User(UserMixin, Model):
    __tablename__ = "user"
    __table_args__ = (
        one_of("role", ROLES),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    #: stored lower-cased, so uniqueness ignores case
    email: Mapped[str] = mapped_column(String(255), unique=True)
    password_hash: Mapped[str] = mapped_column(String(255))
    full_name: Mapped[str] = mapped_column(String(255))
    phone: Mapped[str | None] = mapped_column(String(32))
    role: Mapped[str] = mapped_column(String(16), index=True)
    active: Mapped[bool] = mapped_column(default=True)
    #: part of the session cookie's user id: raising it (logout, password change, blocking)
    #: ends every session opened before
    session_version: Mapped[int] = mapped_column(default=0, server_default="0")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_login_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    #: when the owner proved the address by the link in a letter (staff created by an administrator
    #: count as confirmed); letters go only to confirmed addresses
    email_confirmed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    #: notification kinds (notifications.models.NOTIFICATION_KINDS) the user does not take by email
    email_muted: Mapped[list[str] | None] = mapped_column(JSON)
    #: the organisation a provider account acts for, set when its registry application is approved
    provider_id: Mapped[int | None] = mapped_column(ForeignKey("provider.id", use_alter=True), index=True)
    #: the municipality a department, bookkeeping or support-centre official works for (None for other roles)
    municipality_id: Mapped[int | None] = mapped_column(ForeignKey("municipality.id"), index=True)

    tokens: Mapped[list["ApiToken"]] = relationship(back_populates="user", order_by="ApiToken.id")

    @property
    def is_active(self) -> bool:
        return self.active

    def get_id(self) -> str:
        """Flask-Login's session id: "<user id>:<session version>" (see accounts.services.load_session_user)."""
        return f"{self.id}:{self.session_version}"

    @property
    def role_name(self) -> str:
        return ROLES[self.role]

    def reads_as(self, *roles: str) -> bool:
        """May read what these roles read: one of them, or the regional operator in place of a
        municipality's officials (read-only: the access check refuses it every change)."""
        return self.role in roles or (self.role == "region" and bool(REGION_READS_AS & set(roles)))

    def __repr__(self) -> str:
        return f"<User {self.id} {self.email} {self.role}>"


class ApiToken(Model):
    """A personal bearer token. Only its SHA-256 is stored; the token is shown once."""

    __tablename__ = "api_token"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id"), index=True)
    name: Mapped[str] = mapped_column(String(100))
    #: sha256 hex of the whole token
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    #: the first characters of the token, to tell tokens apart in lists
    prefix: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    user: Mapped[User] = relationship(back_populates="tokens")

    @property
    def is_revoked(self) -> bool:
        return self.revoked_at is not None

    def __repr__(self) -> str:
        return f"<ApiToken {self.id} {self.prefix}… user={self.user_id}>"


class LoginThrottle(Model):
    """Failed logins of one account from one address, and until when that pair must wait.

    Keyed by a hash of (address, email), so that an attacker slows down without locking the
    owner, who logs in from another address, out of the account.
    """

    __tablename__ = "login_throttle"

    id: Mapped[int] = mapped_column(primary_key=True)
    #: sha256 hex of "<address> <email>"
    key: Mapped[str] = mapped_column(String(64), unique=True)
    #: consecutive failures of the pair since its last success
    failures: Mapped[int] = mapped_column(default=0)
    last_failure_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    #: no password is checked for the pair before this moment
    wait_until: Mapped[datetime | None] = mapped_column(UTCDateTime)

    def __repr__(self) -> str:
        return f"<LoginThrottle {self.key[:8]}… failures={self.failures}>"
