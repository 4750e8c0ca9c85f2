from datetime import date, datetime

from sqlalchemy import ForeignKey, Index, String, Text, select, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from certapp.common.scope import MunicipalityOwned, register_criteria
from certapp.db import Model, UTCDateTime, one_of, utcnow

#: kind of applicant
PROVIDER_KINDS = {"legal_entity": "Юридическое лицо", "individual": "Индивидуальный предприниматель"}

#: ownership type; the indicators of Приложение № 3 count non-state providers
OWNERSHIP_TYPES = {
    "state_municipal": "Государственное или муниципальное учреждение",
    "non_profit": "Некоммерческая организация",
    "commercial": "Коммерческая организация",
    "individual": "Индивидуальный предприниматель",
}
NON_STATE_OWNERSHIP = ("non_profit", "commercial", "individual")

#: RegistryApplication statuses -> Russian names
APPLICATION_STATUSES = {
    "draft": "Черновик",
    "submitted": "На рассмотрении",
    "returned": "Возвращена на доработку",
    "approved": "Одобрена",
    "rejected": "Отклонена",
}
#: status -> statuses it may move to (п. 6.1.3 of 458-п: the application is an electronic document)
APPLICATION_TRANSITIONS = {
    "draft": {"submitted", "rejected"},  # rejected straight away: an excluded art school (п. 4 of 458-п)
    "submitted": {"approved", "returned", "rejected"},
    "returned": {"submitted", "rejected"},
    "approved": set(),
    "rejected": set(),
}
#: statuses in which an application holds its ИНН: no second one may be submitted
APPLICATION_HOLDING_STATUSES = ("submitted", "returned", "approved")

#: RegistryEntry statuses
ENTRY_STATUSES = {"active": "Включён в реестр", "suspended": "Приостановлен", "excluded": "Исключён из реестра"}
ENTRY_TRANSITIONS = {
    "active": {"suspended", "excluded"},
    "suspended": {"active", "excluded"},
    "excluded": set(),
}


class ProviderDetails:
    """The data of a provider: as filed in an application, and as in force for a provider in the registry."""

    kind: Mapped[str] = mapped_column(String(16))
    full_name: Mapped[str] = mapped_column(String(500))
    short_name: Mapped[str] = mapped_column(String(255))
    #: ОГРН (13 digits) or ОГРНИП (15 digits)
    ogrn: Mapped[str] = mapped_column(String(15))
    kpp: Mapped[str | None] = mapped_column(String(9))
    legal_address: Mapped[str] = mapped_column(String(500))
    actual_address: Mapped[str] = mapped_column(String(500))
    head_name: Mapped[str] = mapped_column(String(255))
    head_position: Mapped[str] = mapped_column(String(255))
    phone: Mapped[str] = mapped_column(String(32))
    email: Mapped[str] = mapped_column(String(255))
    ownership: Mapped[str] = mapped_column(String(32))
    bik: Mapped[str] = mapped_column(String(9))
    settlement_account: Mapped[str] = mapped_column(String(20))

    @property
    def ownership_name(self) -> str:
        return OWNERSHIP_TYPES[self.ownership]


class RegistryApplication(MunicipalityOwned, ProviderDetails, Model):
    """Заявка исполнителя услуг на включение в реестр исполнителей (п. 6.1.3 of 458-п)."""

    __tablename__ = "registry_application"
    __table_args__ = (
        one_of("status", APPLICATION_STATUSES),
        one_of("kind", PROVIDER_KINDS),
        # one pending or approved application per ИНН, whatever happens at once
        Index("uq_registry_application_inn_holding", "inn", unique=True,
              sqlite_where=text("status IN ('submitted', 'returned', 'approved')"),
              postgresql_where=text("status IN ('submitted', 'returned', 'approved')")),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    #: document number, e.g. "РЗ-2026-000012", given at submission
    number: Mapped[str | None] = mapped_column(String(32), unique=True)
    applicant_id: Mapped[int] = mapped_column(ForeignKey("user.id"), index=True)
    status: Mapped[str] = mapped_column(String(16), default="draft", index=True)
    inn: Mapped[str] = mapped_column(String(12), index=True)
    #: the art-school check found only an abbreviation: a person must decide (п. 4 of 458-п)
    flagged: Mapped[bool] = mapped_column(default=False)
    flag_reason: Mapped[str | None] = mapped_column(Text)
    #: the department's remarks (returned) or reason (rejected)
    decision_reason: Mapped[str | None] = mapped_column(Text)
    #: the department decides by this day (deadlines: registry_review), set at submission
    due_on: Mapped[date | None] = mapped_column(index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    submitted_at: Mapped[datetime | None] = mapped_column(UTCDateTime, index=True)
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    #: system signature over the canonical content, made at submission and again at each decision
    signature: Mapped[str | None] = mapped_column(String(200))

    applicant = relationship("User", foreign_keys=[applicant_id])
    license: Mapped["License | None"] = relationship(back_populates="application", uselist=False,
                                                     cascade="all, delete-orphan")

    @property
    def status_name(self) -> str:
        return APPLICATION_STATUSES[self.status]

    @property
    def editable(self) -> bool:
        return self.status in ("draft", "returned")

    def __repr__(self) -> str:
        return f"<RegistryApplication {self.id} {self.inn} {self.status}>"


class License(Model):
    """Лицензия на образовательную деятельность: the basis for inclusion (п. 5.1 of the plan)."""

    __tablename__ = "license"

    id: Mapped[int] = mapped_column(primary_key=True)
    application_id: Mapped[int] = mapped_column(ForeignKey("registry_application.id"), unique=True)
    number: Mapped[str] = mapped_column(String(64))
    issued_on: Mapped[date]
    authority: Mapped[str] = mapped_column(String(500))
    #: the license lists "дополнительное образование детей и взрослых" among its subtypes
    additional_education: Mapped[bool] = mapped_column(default=False)

    application: Mapped[RegistryApplication] = relationship(back_populates="license")

    def __repr__(self) -> str:
        return f"<License {self.number}>"


class Provider(ProviderDetails, Model):
    """Исполнитель услуг in the registry: its data as of the last approved application."""

    __tablename__ = "provider"

    id: Mapped[int] = mapped_column(primary_key=True)
    inn: Mapped[str] = mapped_column(String(12), unique=True)
    short_name: Mapped[str] = mapped_column(String(255), index=True)
    #: the approved application whose data and license this is
    application_id: Mapped[int] = mapped_column(ForeignKey("registry_application.id"))

    application: Mapped[RegistryApplication] = relationship()
    entry: Mapped["RegistryEntry"] = relationship(back_populates="provider", uselist=False)

    @property
    def license(self) -> License | None:
        return self.application.license

    @property
    def in_registry(self) -> bool:
        return self.entry is not None and self.entry.status == "active"

    def __repr__(self) -> str:
        return f"<Provider {self.id} {self.inn} {self.short_name}>"


class RegistryEntry(Model):
    """Запись реестра исполнителей."""

    __tablename__ = "registry_entry"
    __table_args__ = (one_of("status", ENTRY_STATUSES),)

    id: Mapped[int] = mapped_column(primary_key=True)
    #: registry number, e.g. "04624-0007"
    number: Mapped[str] = mapped_column(String(32), unique=True)
    provider_id: Mapped[int] = mapped_column(ForeignKey("provider.id"), unique=True)
    entered_on: Mapped[date]
    status: Mapped[str] = mapped_column(String(16), default="active", index=True)
    status_reason: Mapped[str | None] = mapped_column(Text)
    status_changed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    provider: Mapped[Provider] = relationship(back_populates="entry")

    @property
    def status_name(self) -> str:
        return ENTRY_STATUSES[self.status]

    def __repr__(self) -> str:
        return f"<RegistryEntry {self.number} {self.status}>"


STAFF_REQUEST_STATUSES = {"requested": "Ожидает подтверждения", "approved": "Подтверждена", "declined": "Отклонена"}
STAFF_REQUEST_TRANSITIONS = {"requested": {"approved", "declined"}, "approved": set(), "declined": set()}


class StaffRequest(Model):
    """A provider account asks to act for an organisation already in the registry; its staff or the
    department confirm."""

    __tablename__ = "staff_request"
    __table_args__ = (
        one_of("status", STAFF_REQUEST_STATUSES),
        Index("uq_staff_request_user_pending", "user_id", unique=True, sqlite_where=text("status = 'requested'"),
              postgresql_where=text("status = 'requested'")),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id"), index=True)
    provider_id: Mapped[int] = mapped_column(ForeignKey("provider.id"), index=True)
    status: Mapped[str] = mapped_column(String(16), default="requested")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))

    user = relationship("User", foreign_keys=[user_id])
    provider: Mapped[Provider] = relationship()

    @property
    def status_name(self) -> str:
        return STAFF_REQUEST_STATUSES[self.status]

    def __repr__(self) -> str:
        return f"<StaffRequest {self.id} user={self.user_id} provider={self.provider_id} {self.status}>"


ADMISSION_STATUSES = {"requested": "На рассмотрении", "active": "Допущен", "refused": "Отказано",
                      "suspended": "Приостановлен", "ended": "Прекращён"}
ADMISSION_TRANSITIONS = {"requested": {"active", "refused"}, "active": {"suspended", "ended"},
                         "suspended": {"active", "ended"}, "refused": set(), "ended": set()}
#: statuses in which an admission holds its provider and municipality: no second request
ADMISSION_HOLDING_STATUSES = ("requested", "active", "suspended")


class Admission(MunicipalityOwned, Model):
    """Допуск: a provider of the (regional) registry works in a municipality once that
    municipality's department admits it; each admission is paid under its own agreement."""

    __tablename__ = "admission"
    __table_args__ = (
        one_of("status", ADMISSION_STATUSES),
        Index("uq_admission_provider_municipality", "provider_id", "municipality_id", unique=True,
              sqlite_where=text("status IN ('requested', 'active', 'suspended')"),
              postgresql_where=text("status IN ('requested', 'active', 'suspended')")),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    provider_id: Mapped[int] = mapped_column(ForeignKey("provider.id"), index=True)
    status: Mapped[str] = mapped_column(String(16), default="requested")
    reason: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))

    provider: Mapped[Provider] = relationship()

    @property
    def status_name(self) -> str:
        return ADMISSION_STATUSES[self.status]

    def __repr__(self) -> str:
        return f"<Admission provider={self.provider_id} municipality={self.municipality_id} {self.status}>"


def _admitted_in_scope(municipality_id: int):
    # a municipality's officials handle the staff of the providers admitted in it: an admission in force,
    # not one merely asked for (else any provider could hand a municipality its people by asking)
    return lambda cls: cls.provider_id.in_(select(Admission.provider_id)
                                           .where(Admission.municipality_id == municipality_id,
                                                  Admission.status == "active"))


register_criteria(StaffRequest, _admitted_in_scope)
