from datetime import date, datetime

from sqlalchemy import BigInteger, CheckConstraint, ForeignKey, Index, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from certapp.common.scope import MunicipalityOwned
from certapp.db import UTCDateTime, db, utcnow

AGREEMENT_STATUSES = {"draft": "Проект", "concluded": "Заключено", "ended": "Прекращено"}
AGREEMENT_TRANSITIONS = {"draft": {"concluded"}, "concluded": {"ended"}, "ended": set()}

REGISTER_STATUSES = {"draft": "Формируется", "approved": "Утверждён", "paid": "Оплачен", "rejected": "Отклонён"}
REGISTER_TRANSITIONS = {"draft": {"approved", "rejected"}, "approved": {"paid"}, "paid": set(), "rejected": set()}


class Agreement(MunicipalityOwned, db.Model):
    """Соглашение о финансовом обеспечении (возмещении) затрат with a provider in the registry."""

    __tablename__ = "agreement"
    __table_args__ = (
        CheckConstraint("status IN ('draft', 'concluded', 'ended')", name="status"),
        # one agreement in force (draft or concluded) per provider and municipality
        Index("uq_agreement_provider_open", "provider_id", "municipality_id", unique=True,
              sqlite_where=text("status IN ('draft', 'concluded')"),
              postgresql_where=text("status IN ('draft', 'concluded')")),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[str | None] = mapped_column(String(32), unique=True)
    provider_id: Mapped[int] = mapped_column(ForeignKey("provider.id"), index=True)
    status: Mapped[str] = mapped_column(String(16), default="draft")
    #: amendments made after conclusion (дополнительные соглашения)
    version: Mapped[int] = mapped_column(default=1)
    concluded_on: Mapped[date | None]
    valid_from: Mapped[date | None]
    valid_to: Mapped[date | None]
    #: bank details copied from the registry when concluded or amended
    bik: Mapped[str | None] = mapped_column(String(9))
    settlement_account: Mapped[str | None] = mapped_column(String(20))
    ended_on: Mapped[date | None]
    end_reason: Mapped[str | None] = mapped_column(Text)
    signature: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    provider = relationship("Provider")

    @property
    def status_name(self) -> str:
        return AGREEMENT_STATUSES[self.status]

    def in_force_during(self, first: date, last: date) -> bool:
        """Concluded and in force on at least one day from first to last."""
        return (self.status == "concluded" and self.valid_from is not None and self.valid_from <= last
                and (self.valid_to is None or first <= self.valid_to))

    def __repr__(self) -> str:
        return f"<Agreement {self.number or self.id} {self.status}>"


class PaymentRegister(MunicipalityOwned, db.Model):
    """Реестр на оплату: a provider's spent amounts for a month, approved by bookkeeping, then paid."""

    __tablename__ = "payment_register"
    __table_args__ = (
        CheckConstraint("status IN ('draft', 'approved', 'paid', 'rejected')", name="status"),
        Index("uq_payment_register_provider_month", "provider_id", "municipality_id", "month", unique=True,
              sqlite_where=text("status <> 'rejected'"), postgresql_where=text("status <> 'rejected'")),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[str] = mapped_column(String(32), unique=True)
    provider_id: Mapped[int] = mapped_column(ForeignKey("provider.id"), index=True)
    agreement_id: Mapped[int] = mapped_column(ForeignKey("agreement.id"))
    #: first day of the month of service
    month: Mapped[date] = mapped_column(index=True)
    status: Mapped[str] = mapped_column(String(16), default="draft", index=True)
    #: kopecks: the sum of the lines, fixed at approval
    total: Mapped[int] = mapped_column(BigInteger, default=0)
    approved_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    approved_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    payment_order_number: Mapped[str | None] = mapped_column(String(32))
    payment_order_date: Mapped[date | None]
    rejection_reason: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    provider = relationship("Provider")
    agreement = relationship("Agreement")
    lines: Mapped[list["PaymentRegisterLine"]] = relationship(back_populates="register", order_by="PaymentRegisterLine.id")

    @property
    def status_name(self) -> str:
        return REGISTER_STATUSES[self.status]

    def __repr__(self) -> str:
        return f"<PaymentRegister {self.number} {self.status}>"


class PaymentRegisterLine(MunicipalityOwned, db.Model):
    """One ledger entry (a spend, or a correction of one) in a payment register. While its register
    is not rejected the line holds its entry: an entry lands in exactly one register."""

    __tablename__ = "payment_register_line"
    __table_args__ = (
        Index("uq_payment_register_line_entry", "ledger_entry_id", unique=True,
              sqlite_where=text("active"), postgresql_where=text("active")),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    register_id: Mapped[int] = mapped_column(ForeignKey("payment_register.id"), index=True)
    ledger_entry_id: Mapped[int] = mapped_column(ForeignKey("ledger_entry.id"))
    contract_id: Mapped[int] = mapped_column(ForeignKey("contract.id"))
    certificate_number: Mapped[str] = mapped_column(String(32))
    child_initials: Mapped[str] = mapped_column(String(120))
    program_title: Mapped[str] = mapped_column(String(255))
    #: the month of service of the entry
    month: Mapped[date]
    #: kopecks, signed: a refund correction is negative
    amount: Mapped[int] = mapped_column(BigInteger)
    #: false once the register is rejected: the entry is free for another register
    active: Mapped[bool] = mapped_column(default=True)

    register: Mapped[PaymentRegister] = relationship(back_populates="lines")

    def __repr__(self) -> str:
        return f"<PaymentRegisterLine {self.register_id} entry={self.ledger_entry_id} {self.amount}>"
