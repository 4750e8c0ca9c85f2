from datetime import date, datetime

from sqlalchemy import JSON, BigInteger, CheckConstraint, ForeignKey, Index, String, Text, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from certapp.common.scope import MunicipalityOwned, MunicipalityTagged
from certapp.db import Model, StoredComputation, UTCDateTime, one_of, utcnow

AGREEMENT_STATUSES = {"draft": "Проект", "concluded": "Заключено", "ended": "Прекращено"}
AGREEMENT_TRANSITIONS = {"draft": {"concluded"}, "concluded": {"ended"}, "ended": set()}

REGISTER_STATUSES = {"draft": "Формируется", "approved": "Утверждён", "paid": "Оплачен", "rejected": "Отклонён"}
REGISTER_TRANSITIONS = {"draft": {"approved", "rejected"}, "approved": {"paid"}, "paid": set(), "rejected": set()}


class Agreement(MunicipalityOwned, Model):
    """Соглашение о финансовом обеспечении (возмещении) затрат with a provider in the registry."""

    __tablename__ = "agreement"
    __table_args__ = (
        one_of("status", AGREEMENT_STATUSES),
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
    #: the authorised body's signature (the system's, made when bookkeeping concludes or amends) over
    #: the current version's content
    signature: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    #: the volume: certificates (children) the provider is paid for, and/or the amount limit (kopecks);
    #: none: within the certificates the municipality issued
    volume_children: Mapped[int | None]
    amount_limit: Mapped[int | None] = mapped_column(BigInteger)
    #: the money terms fixed at conclusion: the advance's share of a month (per cent) and the day of the
    #: next month by which the month is paid
    advance_percent: Mapped[int | None]
    payment_day: Mapped[int | None]
    #: the last version the provider signed (accepted), and that version's term: the agreement is in
    #: force on the term both parties signed (458-п п. 6.1.4: concluded electronically by both)
    provider_signed_version: Mapped[int | None]
    in_force_from: Mapped[date | None]
    in_force_to: Mapped[date | None]

    provider = relationship("Provider")
    versions: Mapped[list["AgreementVersion"]] = relationship(back_populates="agreement",
                                                              order_by="AgreementVersion.version")

    @property
    def status_name(self) -> str:
        return AGREEMENT_STATUSES[self.status]

    @property
    def awaits_provider(self) -> bool:
        """The current version is signed by the authorised body and waits for the provider's signature."""
        return self.status == "concluded" and (self.provider_signed_version or 0) < self.version

    @property
    def state_name(self) -> str:
        """The status as both parties see it: «Заключено» only once the provider has signed too."""
        if self.status == "concluded" and self.provider_signed_version is None:
            return "Подписано уполномоченным органом, ждёт подписи исполнителя"
        if self.awaits_provider:
            return f"Заключено; редакция {self.version} ждёт подписи исполнителя"
        return self.status_name

    def in_force_during(self, first: date, last: date) -> bool:
        """Concluded, signed by both parties, and in force (on the term both signed) on at least one day
        from first to last."""
        return (self.status == "concluded" and self.provider_signed_version is not None
                and self.in_force_from is not None and self.in_force_from <= last
                and (self.in_force_to is None or first <= self.in_force_to))

    def __repr__(self) -> str:
        return f"<Agreement {self.number or self.id} {self.status}>"


class AgreementVersion(MunicipalityOwned, Model):
    """One version of an agreement (the conclusion, then each supplementary agreement) as signed: its
    content frozen, the authorised body's signature (made by bookkeeping) and the provider's, each with
    its time and signer."""

    __tablename__ = "agreement_version"
    __table_args__ = (UniqueConstraint("agreement_id", "version", name="uq_agreement_version"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    agreement_id: Mapped[int] = mapped_column(ForeignKey("agreement.id"), index=True)
    version: Mapped[int]
    #: the canonical content as signed (certapp.bookkeeping.agreements.agreement_content)
    content: Mapped[dict] = mapped_column(JSON)
    valid_from: Mapped[date]
    valid_to: Mapped[date | None]
    signature: Mapped[str] = mapped_column(String(200))
    signed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    signed_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    #: the provider's signature over the same content, its time and signer (provider_acceptance_content)
    provider_signature: Mapped[str | None] = mapped_column(String(200))
    provider_signed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    provider_signed_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))

    agreement: Mapped[Agreement] = relationship(back_populates="versions")
    signed_by = relationship("User", foreign_keys=[signed_by_id])
    provider_signed_by = relationship("User", foreign_keys=[provider_signed_by_id])

    def __repr__(self) -> str:
        return f"<AgreementVersion {self.agreement_id} v{self.version}>"


class PaymentRegister(MunicipalityOwned, Model):
    """Реестр на оплату: a provider's spent amounts for a month, approved by bookkeeping, then paid."""

    __tablename__ = "payment_register"
    __table_args__ = (
        one_of("status", REGISTER_STATUSES),
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


class PaymentRegisterLine(MunicipalityOwned, Model):
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


INVOICE_KINDS = {"advance": "Авансовый счёт", "final": "Итоговый счёт"}
INVOICE_STATUSES = {"draft": "Сформирован", "approved": "Утверждён", "rejected": "Отклонён"}
INVOICE_TRANSITIONS = {"draft": {"approved", "rejected"}, "approved": set(), "rejected": set()}


class Invoice(MunicipalityOwned, Model):
    """A provider's invoice for a month of service: the advance at the month's start (a share of the
    contracts in force on its 1st), the final after it (the month's amount × lessons held / planned,
    less the advance). Approving the advance pays it from the certificates' reserve; the final's
    movements are made by the provider's reports, which it lists."""

    __tablename__ = "invoice"
    __table_args__ = (
        one_of("kind", INVOICE_KINDS),
        one_of("status", INVOICE_STATUSES),
        Index("uq_invoice_provider_month_kind", "provider_id", "municipality_id", "month", "kind", unique=True,
              sqlite_where=text("status <> 'rejected'"), postgresql_where=text("status <> 'rejected'")),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[str] = mapped_column(String(32), unique=True)
    kind: Mapped[str] = mapped_column(String(16))
    provider_id: Mapped[int] = mapped_column(ForeignKey("provider.id"), index=True)
    agreement_id: Mapped[int] = mapped_column(ForeignKey("agreement.id"))
    #: first day of the month of service
    month: Mapped[date] = mapped_column(index=True)
    status: Mapped[str] = mapped_column(String(16), default="draft", index=True)
    #: the advance's share of the month, per cent (advance invoices)
    share_percent: Mapped[int | None]
    #: kopecks, signed (a final below its advance is negative): the sum of the lines
    total: Mapped[int] = mapped_column(BigInteger, default=0)
    approved_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    approved_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    rejection_reason: Mapped[str | None] = mapped_column(Text)
    signature: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    provider = relationship("Provider")
    agreement = relationship("Agreement")
    lines: Mapped[list["InvoiceLine"]] = relationship(back_populates="invoice", order_by="InvoiceLine.id",
                                                      cascade="all, delete-orphan")

    @property
    def status_name(self) -> str:
        return INVOICE_STATUSES[self.status]

    @property
    def kind_name(self) -> str:
        return INVOICE_KINDS[self.kind]

    def __repr__(self) -> str:
        return f"<Invoice {self.number} {self.kind} {self.status}>"


class InvoiceLine(MunicipalityOwned, Model):
    """One contract's month in an invoice."""

    __tablename__ = "invoice_line"

    id: Mapped[int] = mapped_column(primary_key=True)
    invoice_id: Mapped[int] = mapped_column(ForeignKey("invoice.id"), index=True)
    contract_id: Mapped[int] = mapped_column(ForeignKey("contract.id"), index=True)
    certificate_number: Mapped[str] = mapped_column(String(32))
    child_initials: Mapped[str] = mapped_column(String(120))
    program_title: Mapped[str] = mapped_column(String(255))
    #: kopecks: the certificate's share of the month by the contract
    month_amount: Mapped[int] = mapped_column(BigInteger)
    lessons_planned: Mapped[int | None]
    lessons_held: Mapped[int | None]
    #: final lines: what the month costs (month_amount × held / planned)
    due: Mapped[int | None] = mapped_column(BigInteger)
    #: the advance: asked for (advance lines) or already paid (final lines)
    advance: Mapped[int] = mapped_column(BigInteger, default=0)
    #: kopecks, signed: the advance (advance lines) or due − advance (final lines)
    amount: Mapped[int] = mapped_column(BigInteger)
    #: the advance's ledger entry, once approved
    ledger_entry_id: Mapped[int | None] = mapped_column(ForeignKey("ledger_entry.id"))

    invoice: Mapped[Invoice] = relationship(back_populates="lines")

    def __repr__(self) -> str:
        return f"<InvoiceLine {self.invoice_id} contract={self.contract_id} {self.amount}>"


AGREEMENT_REPORT_STATUSES = {"submitted": "На проверке", "accepted": "Принят", "returned": "Возвращён на доработку"}
AGREEMENT_REPORT_TRANSITIONS = {"submitted": {"accepted", "returned"}, "accepted": set(), "returned": set()}


class AgreementReport(MunicipalityOwned, Model):
    """Отчёт исполнителя об исполнении соглашения за квартал (Kaluga 677, п. 3.4): the services
    delivered and the money received, formed by the provider from the data, signed, accepted or
    returned by bookkeeping. A returned report is formed anew."""

    __tablename__ = "agreement_report"
    __table_args__ = (
        one_of("status", AGREEMENT_REPORT_STATUSES),
        CheckConstraint("quarter BETWEEN 1 AND 4", name="quarter"),
        Index("uq_agreement_report_quarter", "agreement_id", "year", "quarter", unique=True,
              sqlite_where=text("status <> 'returned'"), postgresql_where=text("status <> 'returned'")),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[str] = mapped_column(String(32), unique=True)
    agreement_id: Mapped[int] = mapped_column(ForeignKey("agreement.id"), index=True)
    provider_id: Mapped[int] = mapped_column(ForeignKey("provider.id"), index=True)
    year: Mapped[int]
    quarter: Mapped[int]
    status: Mapped[str] = mapped_column(String(16), default="submitted", index=True)
    #: the figures as formed: {"months": [...], "totals": {...}}
    figures: Mapped[dict] = mapped_column(JSON)
    formed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    formed_by_id: Mapped[int] = mapped_column(ForeignKey("user.id"))
    signature: Mapped[str] = mapped_column(String(200))
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    return_reason: Mapped[str | None] = mapped_column(Text)

    agreement = relationship("Agreement")
    provider = relationship("Provider")

    @property
    def status_name(self) -> str:
        return AGREEMENT_REPORT_STATUSES[self.status]

    @property
    def title(self) -> str:
        return f"{self.quarter} квартал {self.year} года"

    def __repr__(self) -> str:
        return f"<AgreementReport {self.number} {self.status}>"


class ReconciliationRun(StoredComputation, MunicipalityTagged, Model):
    """A reconciliation as computed: it reads every ledger entry of the municipality (or, with no
    municipality, of the region). `result`: {"totals": {...}, "municipalities": [...],
    "providers": [...], "mismatches": [...], "mismatch_count": n}."""

    __tablename__ = "reconciliation_run"
    __table_args__ = (Index("ix_reconciliation_run_latest", "municipality_id", "computed_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)

    def __repr__(self) -> str:
        return f"<ReconciliationRun {self.id} {self.municipality_id} {self.computed_at:%Y-%m-%d %H:%M}>"
