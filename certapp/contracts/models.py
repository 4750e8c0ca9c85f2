from datetime import date, datetime, timedelta

from sqlalchemy import BigInteger, CheckConstraint, ForeignKey, Index, String, Text, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from certapp.common.months import add_months
from certapp.common.scope import MunicipalityOwned
from certapp.db import Model, UTCDateTime, one_of, utcnow

ENROLLMENT_STATUSES = {"requested": "Ожидает ответа исполнителя", "accepted": "Принята, договор сформирован",
                       "declined": "Отклонена исполнителем", "cancelled": "Отозвана родителем"}
ENROLLMENT_TRANSITIONS = {"requested": {"accepted", "declined", "cancelled"}, "accepted": set(), "declined": set(),
                          "cancelled": set()}

CONTRACT_STATUSES = {"offered": "Ожидает подписания родителем", "active": "Действует", "rejected": "Не подписан",
                     "terminated": "Расторгнут", "completed": "Исполнен", "lapsed": "Не подписан в срок"}
CONTRACT_TRANSITIONS = {
    "offered": {"active", "rejected", "lapsed"},
    "lapsed": set(),
    "active": {"terminated", "completed"},
    "rejected": set(),
    "terminated": set(),
    "completed": set(),
}
#: contracts that hold a seat in their group
SEAT_HOLDING_STATUSES = ("offered", "active")

#: termination grounds (п. of the contract) and who may give notice on each
TERMINATION_GROUNDS = {"agreement": "Соглашение сторон", "parent_will": "Инициатива родителя (законного представителя)",
                       "provider_grounds": "Основания исполнителя (например, сертификат приостановлен)",
                       "department_instruction": "Предписание уполномоченного органа"}
GROUNDS_BY_ROLE = {"parent": ("parent_will", "agreement"), "provider": ("provider_grounds", "agreement"),
                   "department": ("department_instruction",)}

#: a month's service («Услуга» in the payment schedule): the words agree with «услуга»
MONTH_STATUSES = {"planned": "Запланирована", "delivered": "Оказана", "not_delivered": "Не оказана",
                  "cancelled": "Отменена (расторжение)"}


class Enrollment(MunicipalityOwned, Model):
    """Заявка на обучение: a parent asks to enroll a child with a certificate in a study group."""

    __tablename__ = "enrollment"
    __table_args__ = (
        one_of("status", ENROLLMENT_STATUSES),
        # one pending request per child and group, whatever arrives at once (a contract in force
        # is checked by the service; a rejected or ended one lets the child enrol again)
        Index("uq_enrollment_child_group", "child_id", "group_id", unique=True,
              sqlite_where=text("status IN ('requested')"), postgresql_where=text("status IN ('requested')")),
        # an official's list, newest first: a page of the municipality's rows without walking the region's
        Index("ix_enrollment_municipality_newest", "municipality_id", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    parent_id: Mapped[int] = mapped_column(ForeignKey("user.id"), index=True)
    child_id: Mapped[int] = mapped_column(ForeignKey("child.id"))
    certificate_id: Mapped[int] = mapped_column(ForeignKey("certificate.id"), index=True)
    group_id: Mapped[int] = mapped_column(ForeignKey("study_group.id"), index=True)
    provider_id: Mapped[int] = mapped_column(ForeignKey("provider.id"), index=True)
    #: first day of the first month of study
    start_month: Mapped[date]
    status: Mapped[str] = mapped_column(String(16), default="requested")
    decline_reason: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    child = relationship("Child")
    certificate = relationship("Certificate")
    group = relationship("StudyGroup")
    provider = relationship("Provider")
    contract: Mapped["Contract | None"] = relationship(back_populates="enrollment", uselist=False)

    @property
    def status_name(self) -> str:
        return ENROLLMENT_STATUSES[self.status]

    def __repr__(self) -> str:
        return f"<Enrollment {self.id} {self.status}>"


class Contract(MunicipalityOwned, Model):
    """Договор об образовании between the provider and the parent, paid by the certificate up to
    its balance and by the parent for the rest."""

    __tablename__ = "contract"
    __table_args__ = (
        one_of("status", CONTRACT_STATUSES),
        # an official's list, newest first: a page of the municipality's rows without walking the region's
        Index("ix_contract_municipality_newest", "municipality_id", "id"),
        CheckConstraint("certificate_part >= 0 AND parent_part >= 0", name="parts_not_negative"),
        CheckConstraint("certificate_part + parent_part = total", name="parts_sum_to_total"),
        Index("ix_contract_group_status", "group_id", "status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[str] = mapped_column(String(32), unique=True)
    enrollment_id: Mapped[int] = mapped_column(ForeignKey("enrollment.id"), unique=True)
    certificate_id: Mapped[int] = mapped_column(ForeignKey("certificate.id"), index=True)
    child_id: Mapped[int] = mapped_column(ForeignKey("child.id"))
    parent_id: Mapped[int] = mapped_column(ForeignKey("user.id"), index=True)
    provider_id: Mapped[int] = mapped_column(ForeignKey("provider.id"), index=True)
    program_id: Mapped[int] = mapped_column(ForeignKey("program.id"), index=True)
    group_id: Mapped[int] = mapped_column(ForeignKey("study_group.id"))
    start_month: Mapped[date]
    end_month: Mapped[date]
    #: kopecks
    price_per_month: Mapped[int] = mapped_column(BigInteger)
    total: Mapped[int] = mapped_column(BigInteger)
    #: what the certificate pays (reserved at signing) and what the parent pays themselves
    certificate_part: Mapped[int] = mapped_column(BigInteger)
    parent_part: Mapped[int] = mapped_column(BigInteger)
    status: Mapped[str] = mapped_column(String(16), default="offered", index=True)
    offered_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    signed_at: Mapped[datetime | None] = mapped_column(UTCDateTime, index=True)
    #: an offer not signed by this day lapses (deadlines: offer) and frees its seat
    offer_expires_on: Mapped[date | None] = mapped_column(index=True)
    signed_ip: Mapped[str | None] = mapped_column(String(64))
    #: system signature over the canonical content, made at signing
    signature: Mapped[str | None] = mapped_column(String(200))
    #: notice of termination: given on this day, the contract ends on the last day of that month and
    #: `terminated_from` (the first month no longer paid) is the next one
    notice_given_on: Mapped[date | None]
    termination_grounds: Mapped[str | None] = mapped_column(String(32))
    terminated_from: Mapped[date | None] = mapped_column(index=True)
    termination_reason: Mapped[str | None] = mapped_column(Text)
    terminated_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    #: the contract of the previous period this one continues (prolongation), once per contract
    prolonged_from_id: Mapped[int | None] = mapped_column(ForeignKey("contract.id"), unique=True)

    enrollment: Mapped[Enrollment] = relationship(back_populates="contract")
    certificate = relationship("Certificate")
    child = relationship("Child")
    parent = relationship("User", foreign_keys=[parent_id])
    provider = relationship("Provider")
    program = relationship("Program")
    group = relationship("StudyGroup")
    prolonged_from = relationship("Contract", remote_side=[id], foreign_keys=[prolonged_from_id])
    months: Mapped[list["ContractMonth"]] = relationship(back_populates="contract", order_by="ContractMonth.month",
                                                         cascade="all, delete-orphan")

    @property
    def status_name(self) -> str:
        if self.status == "active" and self.terminated_from:
            return f"Действует до {self.ends_on:%d.%m.%Y} (уведомление о расторжении)"
        return CONTRACT_STATUSES[self.status]

    @property
    def ends_on(self) -> date:
        """The contract's last day: the end of its last month, or of the month in which notice was given."""
        last = self.terminated_from - timedelta(days=1) if self.terminated_from else None
        return last or (add_months(self.end_month, 1) - timedelta(days=1))

    @property
    def grounds_name(self) -> str | None:
        return TERMINATION_GROUNDS.get(self.termination_grounds) if self.termination_grounds else None

    def __repr__(self) -> str:
        return f"<Contract {self.number} {self.status}>"


class ContractMonth(MunicipalityOwned, Model):
    """One month of a contract's payment schedule: the price split into the certificate's and the
    parent's parts, and what became of it."""

    __tablename__ = "contract_month"
    __table_args__ = (
        UniqueConstraint("contract_id", "month", name="uq_contract_month"),
        CheckConstraint("certificate_amount >= 0 AND parent_amount >= 0", name="amounts_not_negative"),
        one_of("status", MONTH_STATUSES),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    contract_id: Mapped[int] = mapped_column(ForeignKey("contract.id"), index=True)
    month: Mapped[date]
    certificate_amount: Mapped[int] = mapped_column(BigInteger)
    parent_amount: Mapped[int] = mapped_column(BigInteger)
    status: Mapped[str] = mapped_column(String(16), default="planned")

    contract: Mapped[Contract] = relationship(back_populates="months")

    @property
    def status_name(self) -> str:
        return MONTH_STATUSES[self.status]

    def __repr__(self) -> str:
        return f"<ContractMonth {self.contract_id} {self.month:%Y-%m} {self.status}>"


class ServiceReport(MunicipalityOwned, Model):
    """Отчёт об оказанных услугах за месяц по договору: filed once per contract month by the provider."""

    __tablename__ = "service_report"
    __table_args__ = (
        UniqueConstraint("contract_id", "month", name="uq_service_report_month"),
        CheckConstraint("lessons_held IS NULL OR (lessons_held >= 0 AND lessons_held <= lessons_planned)",
                        name="lessons_held_within_planned"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    contract_id: Mapped[int] = mapped_column(ForeignKey("contract.id"), index=True)
    month: Mapped[date]
    delivered: Mapped[bool]
    reason: Mapped[str | None] = mapped_column(Text)
    attendance: Mapped[int | None]
    #: lessons of the month by the schedule, and those held (cancelled ones reduce the month in
    #: proportion); empty in reports filed before lessons were counted
    lessons_planned: Mapped[int | None]
    lessons_held: Mapped[int | None]
    #: what the month costs the certificate: its share × lessons held / planned (0 when not delivered)
    amount: Mapped[int] = mapped_column(BigInteger, default=0)
    #: the advance already paid for the month; the report spends amount − advance or returns the excess
    advance: Mapped[int] = mapped_column(BigInteger, default=0)
    ledger_entry_id: Mapped[int | None] = mapped_column(ForeignKey("ledger_entry.id"))
    reported_by_id: Mapped[int] = mapped_column(ForeignKey("user.id"))
    reported_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    contract = relationship("Contract")

    def __repr__(self) -> str:
        return f"<ServiceReport {self.contract_id} {self.month:%Y-%m} delivered={self.delivered}>"
