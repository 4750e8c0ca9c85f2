from datetime import date

from sqlalchemy import JSON, BigInteger, CheckConstraint, ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from certapp.common.scope import MunicipalityOwned
from certapp.db import Model

#: the eligible ages of the service: 5 to 17 inclusive (under 18) on the period's start
MIN_AGE, MAX_AGE = 5, 17


class Direction(Model):
    """One of the six directions of the service; the direction fixes its registry number."""

    __tablename__ = "direction"

    id: Mapped[int] = mapped_column(primary_key=True)
    #: stable code used in code and the API, e.g. "technical"
    code: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(String(100))
    #: реестровый номер услуги (Приложение № 1 к 458-п); contains Cyrillic letters
    service_code: Mapped[str] = mapped_column(String(32), unique=True)

    def __repr__(self) -> str:
        return f"<Direction {self.code} {self.service_code}>"


class ServiceCode(Model):
    """A registry number of the service «Реализация дополнительных общеразвивающих программ» in the
    federal list: a direction, the form (очная) and the pupils it is for. Приложение 1 к 458-п names
    the six «за исключением обучающихся с ОВЗ и детей-инвалидов»; the list also has adapted-program
    numbers for pupils with ОВЗ and disabled children. Reference data, loaded by migration 0041."""

    __tablename__ = "service_code"
    __table_args__ = (UniqueConstraint("direction_id", "adapted", name="uq_service_code_direction_adapted"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    #: реестровый номер услуги; contains Cyrillic letters
    registry_number: Mapped[str] = mapped_column(String(32), unique=True)
    direction_id: Mapped[int] = mapped_column(ForeignKey("direction.id"))
    #: an adapted program for pupils with ОВЗ and disabled children; False: «за исключением» them
    adapted: Mapped[bool] = mapped_column(default=False)
    #: the pupils and form as the list words them
    name: Mapped[str] = mapped_column(String(500))

    direction: Mapped[Direction] = relationship()

    @property
    def title(self) -> str:
        return f"{self.registry_number} — {self.direction.name} направленность, {self.name}"

    def __repr__(self) -> str:
        return f"<ServiceCode {self.registry_number} adapted={self.adapted}>"


class Municipality(Model):
    """A municipality (муниципальное образование) that finances certificates under its own order:
    its authorised body, the order (number and date) and the exclusions the order adds to the
    art-school rule that holds everywhere (names or name fragments, as data)."""

    __tablename__ = "municipality"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(255), unique=True)
    #: ОКТМО of the municipal district (8 or 11 digits)
    oktmo: Mapped[str] = mapped_column(String(11), unique=True)
    #: the two digits that open certificate numbers of this municipality
    number_code: Mapped[str] = mapped_column(String(4))
    #: the authorised body (уполномоченный орган)
    authority: Mapped[str | None] = mapped_column(String(500))
    order_number: Mapped[str | None] = mapped_column(String(64))
    order_date: Mapped[date | None]
    #: exclusions the municipality's own order adds (lower-case name fragments)
    extra_exclusions: Mapped[list[str] | None] = mapped_column(JSON)

    @property
    def order(self) -> str:
        return f"№ {self.order_number} от {self.order_date:%d.%m.%Y}" if self.order_number and self.order_date else ""

    def __repr__(self) -> str:
        return f"<Municipality {self.oktmo} {self.name}>"


class Period(MunicipalityOwned, Model):
    """A period of certificates (a school year) with its nominal."""

    __tablename__ = "period"
    __table_args__ = (
        CheckConstraint("nominal >= 0", name="nominal_not_negative"),
        CheckConstraint("ends_on > starts_on", name="dates_ordered"),
        UniqueConstraint("municipality_id", "code", name="uq_period_municipality_code"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    #: the school year, e.g. "2025/26": the period part of certificate numbers, and the same code in
    #: every municipality (one certificate per child and school year in the region)
    code: Mapped[str] = mapped_column(String(16))
    name: Mapped[str] = mapped_column(String(100))
    starts_on: Mapped[date]
    ends_on: Mapped[date]
    #: certificate nominal for the period, kopecks
    nominal: Mapped[int] = mapped_column(BigInteger)

    categories: Mapped[list["CertificateCategory"]] = relationship(
        back_populates="period", order_by="CertificateCategory.position, CertificateCategory.id",
        cascade="all, delete-orphan")

    @property
    def title(self) -> str:
        """The period with its municipality, for choosing among every municipality's periods."""
        return f"{self.name} — {self.municipality.name}"

    def contains(self, day: date) -> bool:
        return self.starts_on <= day <= self.ends_on

    def __repr__(self) -> str:
        return f"<Period {self.code} {self.starts_on}..{self.ends_on}>"


class CertificateCategory(MunicipalityOwned, Model):
    """A category (group) of certificates of a period: who is eligible (ages on the period's start,
    or a status the department confirms with documents), the nominal of its certificates and how
    many of them the budget funds. Beyond the limit a child gets a certificate of accounting and a
    place in the category's waiting queue."""

    __tablename__ = "certificate_category"
    __table_args__ = (
        UniqueConstraint("period_id", "name", name="uq_certificate_category_name"),
        CheckConstraint(f"age_from >= {MIN_AGE} AND age_to <= {MAX_AGE} AND age_from <= age_to", name="ages"),
        CheckConstraint("nominal IS NULL OR nominal > 0", name="nominal_positive"),
        CheckConstraint("funded_limit IS NULL OR funded_limit >= 0", name="limit_not_negative"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    period_id: Mapped[int] = mapped_column(ForeignKey("period.id"), index=True)
    name: Mapped[str] = mapped_column(String(100))
    age_from: Mapped[int]
    age_to: Mapped[int]
    #: the status is confirmed by a document the department checks (e.g. a large family)
    needs_document: Mapped[bool] = mapped_column(default=False)
    #: kopecks; None: the period's nominal
    nominal: Mapped[int | None] = mapped_column(BigInteger)
    #: how many certificates of financing the budget funds; None: no limit
    funded_limit: Mapped[int | None]
    #: the order categories are listed and proposed in
    position: Mapped[int] = mapped_column(default=0)

    period: Mapped[Period] = relationship(back_populates="categories")

    @property
    def certificate_nominal(self) -> int:
        """The one rule for the nominal of a certificate of financing of this category."""
        return self.nominal if self.nominal is not None else self.period.nominal

    @property
    def ages(self) -> str:
        return f"{self.age_from}–{self.age_to} лет"

    def fits(self, age: int) -> bool:
        return self.age_from <= age <= self.age_to

    def __repr__(self) -> str:
        return f"<CertificateCategory {self.id} {self.name}>"


class FinancedServiceCode(MunicipalityOwned, Model):
    """A registry number of the service that the municipality's order finances (its Приложение 1):
    the department keeps the set; programs of other numbers are not paid by its certificates."""

    __tablename__ = "financed_service_code"
    __table_args__ = (UniqueConstraint("municipality_id", "service_code_id", name="uq_financed_service_code"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    service_code_id: Mapped[int] = mapped_column(ForeignKey("service_code.id"))

    service_code: Mapped[ServiceCode] = relationship()

    def __repr__(self) -> str:
        return f"<FinancedServiceCode {self.municipality_id} {self.service_code_id}>"
