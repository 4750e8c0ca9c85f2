from datetime import datetime

from sqlalchemy import JSON, BigInteger, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from certapp.common.scope import MunicipalityTagged
from certapp.db import Model, UTCDateTime, utcnow


class AuditEvent(MunicipalityTagged, Model):
    """One state change: who, when, which object, from what to what, from which address.

    Append-only and tamper-evident: when its transaction commits, each event is sealed into one
    chain (certapp.audit.chain): its position `seq` and `hash` = SHA-256 over its content and the
    previous event's hash. A sealed row is never updated (on PostgreSQL a trigger refuses it).
    """

    __tablename__ = "audit_event"
    __table_args__ = (Index("ix_audit_event_object", "object_type", "object_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"), index=True)
    #: the actor's email at the time, kept even if the account changes
    actor_label: Mapped[str] = mapped_column(String(255), default="система")
    ip: Mapped[str | None] = mapped_column(String(64))
    #: dotted verb, e.g. "user.register", "period.update"
    action: Mapped[str] = mapped_column(String(64), index=True)
    object_type: Mapped[str] = mapped_column(String(64))
    object_id: Mapped[str | None] = mapped_column(String(64))
    from_state: Mapped[str | None] = mapped_column(String(64))
    to_state: Mapped[str | None] = mapped_column(String(64))
    details: Mapped[dict | None] = mapped_column(JSON)
    #: position in the chain, 1, 2, 3 … without gaps; set when the transaction commits
    seq: Mapped[int | None] = mapped_column(BigInteger, unique=True)
    #: hash of the event at seq - 1 ("0" * 64 for the first)
    prev_hash: Mapped[str | None] = mapped_column(String(64))
    #: sha256 hex over prev_hash and the canonical content of this event
    hash: Mapped[str | None] = mapped_column(String(64))

    def __repr__(self) -> str:
        return f"<AuditEvent {self.id} {self.action} {self.object_type}:{self.object_id}>"


class AuditAnchor(Model):
    """The chain's head at a moment (`flask audit anchor`, periodically): a copy kept outside the
    database (the command prints it) lets `audit verify` notice events cut off the end."""

    __tablename__ = "audit_anchor"

    id: Mapped[int] = mapped_column(primary_key=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    seq: Mapped[int] = mapped_column(BigInteger)
    hash: Mapped[str] = mapped_column(String(64))

    def __repr__(self) -> str:
        return f"<AuditAnchor {self.seq} {self.hash[:12]}…>"
