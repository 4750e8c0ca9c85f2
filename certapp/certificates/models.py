from collections.abc import Callable
from datetime import date, datetime

from sqlalchemy import BigInteger, CheckConstraint, ColumnElement, ForeignKey, Index, String, Text, UniqueConstraint, select, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from certapp.common.scope import MunicipalityOwned, register_criteria
from certapp.db import Model, UTCDateTime, one_of, utcnow

APPLICATION_STATUSES = {"submitted": "На рассмотрении", "confirmed": "Подтверждено", "refused": "Отказано"}
APPLICATION_TRANSITIONS = {"submitted": {"confirmed", "refused"}, "confirmed": set(), "refused": set()}
#: statuses in which an application holds its child and period: no second one
APPLICATION_HOLDING_STATUSES = ("submitted", "confirmed")

CERTIFICATE_STATUSES = {"active": "Действует", "suspended": "Приостановлен", "revoked": "Аннулирован",
                        "expired": "Истёк"}
#: a certificate of financing pays with its category's nominal; a certificate of accounting (учёта)
#: counts the child, holds no money and waits in its category's queue for a funded place
CERTIFICATE_KINDS = {"financing": "Сертификат персонифицированного финансирования",
                     "accounting": "Сертификат учёта"}
CERTIFICATE_TRANSITIONS = {
    "active": {"suspended", "revoked", "expired"},
    "suspended": {"active", "revoked", "expired"},
    "revoked": set(),
    "expired": set(),
}


#: what a parent may state about a child's health (152-ФЗ special category): pupils with these are
#: outside the service «за исключением обучающихся с ОВЗ и детей-инвалидов» (Приложение 1 к 458-п)
HEALTH_STATUSES = {"ovz": "Ограниченные возможности здоровья (ОВЗ)", "disabled": "Ребёнок-инвалид"}


class Child(Model):
    """Потребитель услуг: a child added by a parent. СНИЛС is stored encrypted and found by HMAC."""

    __tablename__ = "child"
    __table_args__ = (UniqueConstraint("parent_id", "snils_key", name="uq_child_parent_snils"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    parent_id: Mapped[int] = mapped_column(ForeignKey("user.id"), index=True)
    last_name: Mapped[str] = mapped_column(String(100))
    first_name: Mapped[str] = mapped_column(String(100))
    patronymic: Mapped[str | None] = mapped_column(String(100))
    birth_date: Mapped[date]
    #: Fernet token of the 11 digits (personal_data.encrypt_snils)
    snils_encrypted: Mapped[str] = mapped_column(Text)
    #: HMAC-SHA256 of the СНИЛС: the same child whoever enters it
    snils_key: Mapped[str] = mapped_column(String(64), index=True)
    #: the last two digits, to show it masked without decrypting
    snils_last2: Mapped[str] = mapped_column(String(2))
    birth_certificate: Mapped[str] = mapped_column(String(32))
    address: Mapped[str] = mapped_column(String(500))
    #: the parent states that the child lives in the district (checked with documents by the department)
    lives_in_district: Mapped[bool] = mapped_column(default=False)
    #: Fernet token of the child's health statuses (HEALTH_STATUSES, comma-separated): health data, a
    #: special category under 152-ФЗ art. 10, kept only with its own consent (certificates.health)
    health_encrypted: Mapped[str | None] = mapped_column(Text)
    #: when the parent gave the separate consent to keep the health statuses; None: no value is kept
    health_consent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    #: when names, СНИЛС, documents and address were removed after the retention period (privacy)
    anonymised_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    parent = relationship("User")

    @property
    def full_name(self) -> str:
        return " ".join(p for p in (self.last_name, self.first_name, self.patronymic) if p)

    @property
    def initials(self) -> str:
        return f"{self.last_name} {self.first_name[:1]}.{(self.patronymic or '')[:1] + '.' if self.patronymic else ''}"

    @property
    def snils_masked(self) -> str:
        return f"***-***-*** {self.snils_last2}"

    def age_on(self, day: date) -> int:
        return day.year - self.birth_date.year - ((day.month, day.day) < (self.birth_date.month, self.birth_date.day))

    def __repr__(self) -> str:
        return f"<Child {self.id} parent={self.parent_id}>"


class CertificateApplication(MunicipalityOwned, Model):
    """Заявление потребителя услуг о получении социального сертификата (п. 6.1.5 of 458-п)."""

    __tablename__ = "certificate_application"
    __table_args__ = (
        one_of("status", APPLICATION_STATUSES),
        # one pending or confirmed application per child (by СНИЛС) and school year in the whole region,
        # whatever arrives at once
        Index("uq_certificate_application_child_period", "snils_key", "period_code", unique=True,
              sqlite_where=text("status IN ('submitted', 'confirmed')"),
              postgresql_where=text("status IN ('submitted', 'confirmed')")),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[str] = mapped_column(String(32), unique=True)
    parent_id: Mapped[int] = mapped_column(ForeignKey("user.id"), index=True)
    child_id: Mapped[int] = mapped_column(ForeignKey("child.id"), index=True)
    snils_key: Mapped[str] = mapped_column(String(64))
    period_id: Mapped[int] = mapped_column(ForeignKey("period.id"))
    #: the period's school year (Period.code), copied: the region-wide uniqueness above
    period_code: Mapped[str] = mapped_column(String(16))
    #: the category the parent asks for (proposed from the child's age)
    category_id: Mapped[int] = mapped_column(ForeignKey("certificate_category.id"), index=True)
    status: Mapped[str] = mapped_column(String(16), default="submitted", index=True)
    #: consent to personal data processing (152-ФЗ), given when filing
    consent_at: Mapped[datetime] = mapped_column(UTCDateTime)
    #: filed by the department for a parent who came in person
    filed_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    decision_reason: Mapped[str | None] = mapped_column(Text)
    #: the department decides by this day (deadlines: certificate_review)
    due_on: Mapped[date | None] = mapped_column(index=True)
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    #: system signature over the canonical content of the application, made at submission
    signature: Mapped[str | None] = mapped_column(String(200))
    #: one application for both: the group the parent also asks to enroll in once the certificate is
    #: issued (the enrollment request goes to the provider by itself)
    wanted_group_id: Mapped[int | None] = mapped_column(ForeignKey("study_group.id"))

    child: Mapped[Child] = relationship()
    parent = relationship("User", foreign_keys=[parent_id])
    period = relationship("Period")
    category = relationship("CertificateCategory")
    wanted_group = relationship("StudyGroup")
    certificate: Mapped["Certificate | None"] = relationship(back_populates="application", uselist=False)

    @property
    def status_name(self) -> str:
        return APPLICATION_STATUSES[self.status]

    def __repr__(self) -> str:
        return f"<CertificateApplication {self.number} {self.status}>"


class Certificate(MunicipalityOwned, Model):
    """Социальный сертификат. Its money lives in the ledger (ledger_balance, ledger_entry)."""

    __tablename__ = "certificate"
    __table_args__ = (
        one_of("status", CERTIFICATE_STATUSES),
        one_of("kind", CERTIFICATE_KINDS),
        # a certificate of accounting holds no money until a funded place makes it one of financing
        CheckConstraint("(kind = 'financing' AND nominal > 0) OR (kind = 'accounting' AND nominal = 0)",
                        name="kind_nominal"),
        Index("ix_certificate_category_queue", "category_id", "kind", "queued_at"),
        # one certificate per child (by СНИЛС) per school year in the whole region, unless it was revoked
        Index("uq_certificate_child_period", "snils_key", "period_code", unique=True,
              sqlite_where=text("status <> 'revoked'"), postgresql_where=text("status <> 'revoked'")),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    #: e.g. "24-2627-000001-5": district, period, sequence, Damm check digit
    number: Mapped[str] = mapped_column(String(32), unique=True)
    child_id: Mapped[int] = mapped_column(ForeignKey("child.id"), index=True)
    snils_key: Mapped[str] = mapped_column(String(64))
    period_id: Mapped[int] = mapped_column(ForeignKey("period.id"), index=True)
    #: the period's school year (Period.code), copied: the region-wide uniqueness above
    period_code: Mapped[str] = mapped_column(String(16))
    application_id: Mapped[int] = mapped_column(ForeignKey("certificate_application.id"), unique=True)
    category_id: Mapped[int] = mapped_column(ForeignKey("certificate_category.id"))
    kind: Mapped[str] = mapped_column(String(16), default="financing")
    #: when it took its place in the category's waiting queue (a certificate of accounting waiting)
    queued_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    #: kopecks, fixed at issuance (or when funded) from the category's nominal; 0 for accounting
    nominal: Mapped[int] = mapped_column(BigInteger)
    valid_from: Mapped[date]
    valid_to: Mapped[date]
    status: Mapped[str] = mapped_column(String(16), default="active", index=True)
    status_reason: Mapped[str | None] = mapped_column(Text)
    issued_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    #: the QR text (CQ1:…) as signed at issuance
    qr_payload: Mapped[str] = mapped_column(Text)
    #: system signature over the canonical content of the certificate document
    signature: Mapped[str] = mapped_column(String(200))

    child: Mapped[Child] = relationship()
    period = relationship("Period")
    category = relationship("CertificateCategory")
    application: Mapped[CertificateApplication] = relationship(back_populates="certificate")
    balance = relationship("CertificateBalance", uselist=False, viewonly=True,
                           primaryjoin="Certificate.id == foreign(CertificateBalance.certificate_id)")

    @property
    def status_name(self) -> str:
        return CERTIFICATE_STATUSES[self.status]

    @property
    def kind_name(self) -> str:
        return CERTIFICATE_KINDS[self.kind]

    def __repr__(self) -> str:
        return f"<Certificate {self.number} {self.status}>"


#: a parent's correction of a child's record once a certificate is issued: the department of the
#: certificate's municipality confirms or refuses it
CORRECTION_STATUSES = {"requested": "На рассмотрении", "confirmed": "Подтверждено", "refused": "Отказано"}
CORRECTION_TRANSITIONS = {"requested": {"confirmed", "refused"}, "confirmed": set(), "refused": set()}


class ChildCorrection(MunicipalityOwned, Model):
    """A parent's request to correct a child's record after a certificate was issued for it: the whole
    record as proposed (СНИЛС encrypted, as on the child), decided by the department of the
    certificate's municipality. On confirmation the child's record takes these values."""

    __tablename__ = "child_correction"
    __table_args__ = (
        one_of("status", CORRECTION_STATUSES),
        # one pending request per child
        Index("uq_child_correction_pending", "child_id", unique=True,
              sqlite_where=text("status = 'requested'"), postgresql_where=text("status = 'requested'")),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    child_id: Mapped[int] = mapped_column(ForeignKey("child.id"), index=True)
    status: Mapped[str] = mapped_column(String(16), default="requested", index=True)
    last_name: Mapped[str] = mapped_column(String(100))
    first_name: Mapped[str] = mapped_column(String(100))
    patronymic: Mapped[str | None] = mapped_column(String(100))
    birth_date: Mapped[date]
    #: the proposed СНИЛС (Fernet token), its HMAC and last two digits; None: the СНИЛС stays
    snils_encrypted: Mapped[str | None] = mapped_column(Text)
    snils_key: Mapped[str | None] = mapped_column(String(64))
    snils_last2: Mapped[str | None] = mapped_column(String(2))
    birth_certificate: Mapped[str] = mapped_column(String(32))
    address: Mapped[str] = mapped_column(String(500))
    lives_in_district: Mapped[bool] = mapped_column(default=False)
    #: the parent's explanation (what was wrong, which document shows it)
    note: Mapped[str | None] = mapped_column(Text)
    requested_by_id: Mapped[int] = mapped_column(ForeignKey("user.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    decision_reason: Mapped[str | None] = mapped_column(Text)

    child: Mapped[Child] = relationship()
    requested_by = relationship("User", foreign_keys=[requested_by_id])

    @property
    def status_name(self) -> str:
        return CORRECTION_STATUSES[self.status]

    @property
    def full_name(self) -> str:
        return " ".join(p for p in (self.last_name, self.first_name, self.patronymic) if p)

    @property
    def snils_masked(self) -> str | None:
        return f"***-***-*** {self.snils_last2}" if self.snils_last2 else None

    def __repr__(self) -> str:
        return f"<ChildCorrection {self.id} child={self.child_id} {self.status}>"


def _applied_in_scope(municipality_id: int) -> Callable[[type[Child]], ColumnElement[bool]]:
    # a municipality's officials see the children for whom a certificate was asked in it
    return lambda cls: cls.id.in_(select(CertificateApplication.child_id)
                                  .where(CertificateApplication.municipality_id == municipality_id))


register_criteria(Child, _applied_in_scope)
