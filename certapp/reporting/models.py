from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import JSON, BigInteger, CheckConstraint, ForeignKey, Index, Numeric, String, Text, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from certapp.common.scope import MunicipalityOwned
from certapp.db import Model, StoredComputation, UTCDateTime, one_of, utcnow

ORDER_STATUSES = {"draft": "Проект", "approved": "Утверждён", "superseded": "Заменён новой редакцией"}
ORDER_TRANSITIONS = {"draft": {"approved"}, "approved": {"superseded"}, "superseded": set()}


class SocialOrder(MunicipalityOwned, Model):
    """Муниципальный социальный заказ for a year; once approved it is fixed, and changes are new versions."""

    __tablename__ = "social_order"
    __table_args__ = (
        UniqueConstraint("municipality_id", "year", "version", name="uq_social_order_year_version"),
        one_of("status", ORDER_STATUSES),
        Index("uq_social_order_year_approved", "municipality_id", "year", unique=True, sqlite_where=text("status = 'approved'"),
              postgresql_where=text("status = 'approved'")),
        Index("uq_social_order_year_draft", "municipality_id", "year", unique=True, sqlite_where=text("status = 'draft'"),
              postgresql_where=text("status = 'draft'")),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    year: Mapped[int]
    version: Mapped[int] = mapped_column(default=1)
    status: Mapped[str] = mapped_column(String(16), default="draft")
    approved_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    approved_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    signature: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    lines: Mapped[list["SocialOrderLine"]] = relationship(back_populates="order", order_by="SocialOrderLine.direction_id",
                                                          cascade="all, delete-orphan")

    @property
    def status_name(self) -> str:
        return ORDER_STATUSES[self.status]

    def __repr__(self) -> str:
        return f"<SocialOrder {self.year} v{self.version} {self.status}>"


class SocialOrderLine(Model):
    """The planned volume of the service under one registry number of the service."""

    __tablename__ = "social_order_line"
    __table_args__ = (
        UniqueConstraint("order_id", "direction_id", name="uq_social_order_line_direction"),
        CheckConstraint("planned_children >= 0 AND planned_child_hours >= 0 AND planned_money >= 0",
                        name="not_negative"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("social_order.id"), index=True)
    direction_id: Mapped[int] = mapped_column(ForeignKey("direction.id"))
    planned_children: Mapped[int] = mapped_column(default=0)
    planned_child_hours: Mapped[int] = mapped_column(default=0)
    #: kopecks
    planned_money: Mapped[int] = mapped_column(BigInteger, default=0)

    order: Mapped[SocialOrder] = relationship(back_populates="lines")
    direction = relationship("Direction")

    def __repr__(self) -> str:
        return f"<SocialOrderLine {self.order_id} {self.direction_id}>"


class Feedback(MunicipalityOwned, Model):
    """A parent's rating of a delivered month of a contract; the provider may answer."""

    __tablename__ = "feedback"
    __table_args__ = (
        UniqueConstraint("contract_id", "month", name="uq_feedback_contract_month"),
        CheckConstraint("rating BETWEEN 1 AND 5", name="rating"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    contract_id: Mapped[int] = mapped_column(ForeignKey("contract.id"), index=True)
    month: Mapped[date]
    parent_id: Mapped[int] = mapped_column(ForeignKey("user.id"))
    rating: Mapped[int]
    comment: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    answer: Mapped[str | None] = mapped_column(Text)
    answered_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    answered_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))

    contract = relationship("Contract")

    def __repr__(self) -> str:
        return f"<Feedback {self.contract_id} {self.month:%Y-%m} {self.rating}>"


class IndicatorValue(MunicipalityOwned, Model):
    """A base (2023) or target (2025) value of an indicator of Приложение № 3, editable by the department."""

    __tablename__ = "indicator_value"
    __table_args__ = (UniqueConstraint("municipality_id", "code", "year", name="uq_indicator_value_code_year"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(32))
    year: Mapped[int]
    value: Mapped[Decimal] = mapped_column(Numeric(12, 2))

    def __repr__(self) -> str:
        return f"<IndicatorValue {self.code} {self.year}={self.value}>"


class IndicatorEntry(MunicipalityOwned, Model):
    """The fact of a year of an indicator of Приложение № 3 that the system's data cannot count (1.1,
    1.2, 1.4: a number; 2.1, 3.1, 4.1–4.3, 5.1: нет/есть as 0/1), entered by the department with its
    source; replacing it is audited (the audit log keeps every earlier value)."""

    __tablename__ = "indicator_entry"
    __table_args__ = (
        UniqueConstraint("municipality_id", "code", "year", name="uq_indicator_entry_code_year"),
        CheckConstraint("value >= 0", name="value_not_negative"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(32))
    year: Mapped[int]
    #: a count, or 1 (есть) / 0 (нет) for a yes/no indicator
    value: Mapped[Decimal] = mapped_column(Numeric(12, 2))
    #: where the figure comes from: a document, a report, a letter («Приказ УО от … № …»)
    source: Mapped[str] = mapped_column(String(500))
    #: the date of that document
    source_date: Mapped[date | None]
    entered_by_id: Mapped[int] = mapped_column(ForeignKey("user.id"))
    entered_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    entered_by = relationship("User")

    def __repr__(self) -> str:
        return f"<IndicatorEntry {self.code} {self.year}={self.value}>"


class FormedExecutionReport(MunicipalityOwned, Model):
    """The execution report (document 2 of п. 6.1) formed by the department for a quarter or a year:
    numbered, its figures frozen as they were, signed. Forming it again makes a new version."""

    __tablename__ = "formed_execution_report"
    __table_args__ = (
        UniqueConstraint("municipality_id", "year", "quarter", "version", name="uq_formed_execution_report_version"),
        CheckConstraint("quarter BETWEEN 0 AND 4", name="quarter"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[str] = mapped_column(String(32), unique=True)
    year: Mapped[int]
    #: 1–4, or 0 for the whole year
    quarter: Mapped[int]
    version: Mapped[int]
    #: the figures as formed: {"lines": [...], "totals": {...}, "order": {...}}
    figures: Mapped[dict[str, Any]] = mapped_column(JSON)
    formed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    formed_by_id: Mapped[int] = mapped_column(ForeignKey("user.id"))
    signature: Mapped[str] = mapped_column(String(200))

    formed_by = relationship("User")

    @property
    def title(self) -> str:
        return f"{self.quarter} квартал {self.year} года" if self.quarter else f"{self.year} год"

    def __repr__(self) -> str:
        return f"<FormedExecutionReport {self.number} v{self.version}>"


class RegionReport(StoredComputation, Model):
    """The regional report of a year as computed: it reads every delivered contract month and every
    balance of the region. `result`: {"municipalities": [MunicipalitySummary as JSON, indicators as
    decimal strings]}."""

    __tablename__ = "region_report"
    __table_args__ = (Index("ix_region_report_latest", "year", "computed_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    year: Mapped[int]

    def __repr__(self) -> str:
        return f"<RegionReport {self.year} {self.computed_at:%Y-%m-%d %H:%M}>"
