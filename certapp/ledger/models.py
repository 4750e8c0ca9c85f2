from datetime import date, datetime

from sqlalchemy import BigInteger, CheckConstraint, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from certapp.common.scope import MunicipalityOwned
from certapp.db import Model, UTCDateTime, one_of, utcnow

#: kind -> Russian name. A kind fixes which balances its entry moves (see ledger.services.MOVES).
ENTRY_KINDS = {
    "issue": "Выдача сертификата",
    "reserve": "Резерв по договору",
    "release": "Возврат резерва",
    "spend": "Списание за месяц",
    "advance": "Аванс за месяц",
    "refund": "Возврат излишне выплаченного аванса в резерв",
    "expire": "Сгорание остатка",
    "correction": "Корректировка",
    #: an imported certificate's opening balance: what it had spent in the system it came from
    "opening": "Израсходовано до переноса (входящий остаток)",
}


class CertificateBalance(MunicipalityOwned, Model):
    """The cached balances of one certificate, kept with its entries in the same transaction.

    The CHECKs make it impossible, whatever the timing, to take a balance below zero or lose a kopeck.
    """

    __tablename__ = "ledger_balance"
    __table_args__ = (
        CheckConstraint("available >= 0", name="available_not_negative"),
        CheckConstraint("reserved >= 0", name="reserved_not_negative"),
        CheckConstraint("spent >= 0", name="spent_not_negative"),
        CheckConstraint("expired >= 0", name="expired_not_negative"),
        CheckConstraint("nominal = available + reserved + spent + expired", name="sums_to_nominal"),
        # a municipality's certificates by id: the reconciliation walks them part by part
        Index("ix_ledger_balance_municipality_certificate", "municipality_id", "certificate_id"),
    )

    certificate_id: Mapped[int] = mapped_column(ForeignKey("certificate.id"), primary_key=True)
    #: kopecks
    nominal: Mapped[int] = mapped_column(BigInteger)
    available: Mapped[int] = mapped_column(BigInteger)
    reserved: Mapped[int] = mapped_column(BigInteger, default=0)
    spent: Mapped[int] = mapped_column(BigInteger, default=0)
    expired: Mapped[int] = mapped_column(BigInteger, default=0)

    def __repr__(self) -> str:
        return (f"<CertificateBalance {self.certificate_id} available={self.available} reserved={self.reserved} "
                f"spent={self.spent} expired={self.expired}>")


class LedgerEntry(MunicipalityOwned, Model):
    """Проводка: one movement of a certificate's money. Append-only: never updated or deleted."""

    __tablename__ = "ledger_entry"
    __table_args__ = (
        UniqueConstraint("certificate_id", "idempotency_key", name="uq_ledger_entry_idempotency"),
        one_of("kind", ENTRY_KINDS),
        CheckConstraint("amount > 0", name="amount_positive"),
        CheckConstraint("d_available + d_reserved + d_spent + d_expired = "
                        "CASE WHEN kind = 'issue' THEN amount ELSE 0 END", name="balanced"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    certificate_id: Mapped[int] = mapped_column(ForeignKey("certificate.id"), index=True)
    #: the contract the movement is for, where there is one
    contract_id: Mapped[int | None] = mapped_column(ForeignKey("contract.id"), index=True)
    kind: Mapped[str] = mapped_column(String(16))
    #: kopecks, always positive; the signed deltas below say where it went
    amount: Mapped[int] = mapped_column(BigInteger)
    d_available: Mapped[int] = mapped_column(BigInteger, default=0)
    d_reserved: Mapped[int] = mapped_column(BigInteger, default=0)
    d_spent: Mapped[int] = mapped_column(BigInteger, default=0)
    d_expired: Mapped[int] = mapped_column(BigInteger, default=0)
    #: unique per certificate: a retried request finds its entry and moves nothing twice
    idempotency_key: Mapped[str] = mapped_column(String(128))
    #: the month of service for spend entries (first day of the month)
    month: Mapped[date | None]
    reason: Mapped[str | None] = mapped_column(Text)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)

    @property
    def kind_name(self) -> str:
        return ENTRY_KINDS[self.kind]

    def __repr__(self) -> str:
        return f"<LedgerEntry {self.id} {self.kind} {self.amount} cert={self.certificate_id}>"
