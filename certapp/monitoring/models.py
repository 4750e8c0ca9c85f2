"""Quality monitoring (plan 6.1–6.2 of order 458-п; Приложение 3, rows 4.x): the municipal support
centre's checklist of the service standard and its visits to providers, each item's result recorded."""
from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import CheckConstraint, ForeignKey, Numeric, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from certapp.common.scope import MunicipalityOwned
from certapp.db import Model, UTCDateTime, one_of, utcnow

#: an item's result on a visit -> its Russian name
RESULTS = {
    "met": "Соответствует",
    "partial": "Частично соответствует",
    "not_met": "Не соответствует",
}
#: the share of an item's weight a result earns in the visit's score (a partial result earns half)
RESULT_CREDIT = {"met": Decimal(1), "partial": Decimal("0.5"), "not_met": Decimal(0)}
#: a visit whose score reaches this (per cent) meets the checklist (row 4.5 of Приложение 3)
COMPLIANCE_THRESHOLD = Decimal(80)
#: the weight of one item: 1 to 100
MAX_WEIGHT = 100


SHORT_TITLE = 80


class ChecklistItem(MunicipalityOwned, Model):
    """One point of the service standard's checklist, with its weight. An item is never edited nor
    deleted: one retired (`retired_at`) is no longer asked on new visits, old visits keep its result;
    a changed wording is a new item."""

    __tablename__ = "checklist_item"
    __table_args__ = (CheckConstraint(f"weight >= 1 AND weight <= {MAX_WEIGHT}", name="weight_range"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(String(500))
    weight: Mapped[int]
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    created_by_id: Mapped[int] = mapped_column(ForeignKey("user.id"))
    retired_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    retired_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))

    @property
    def retired(self) -> bool:
        return self.retired_at is not None

    @property
    def short_title(self) -> str:
        """The title for a message: up to 80 characters, cut between words with «…», never inside one."""
        if len(self.title) <= SHORT_TITLE:
            return self.title
        cut = self.title[:SHORT_TITLE].rsplit(" ", 1)[0].rstrip(" ,;:—-")
        return f"{cut}…"

    def __repr__(self) -> str:
        return f"<ChecklistItem {self.id} weight={self.weight}{' retired' if self.retired else ''}>"


class MonitoringVisit(MunicipalityOwned, Model):
    """A visit of the municipal support centre to a provider admitted in its municipality. Recorded once,
    never changed; `score` is the weighted share of the items met, in per cent, as of the visit."""

    __tablename__ = "monitoring_visit"
    __table_args__ = (CheckConstraint("score >= 0 AND score <= 100", name="score_range"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    provider_id: Mapped[int] = mapped_column(ForeignKey("provider.id"), index=True)
    visited_on: Mapped[date] = mapped_column(index=True)
    score: Mapped[Decimal] = mapped_column(Numeric(5, 2))
    comment: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    created_by_id: Mapped[int] = mapped_column(ForeignKey("user.id"))

    provider = relationship("Provider")
    created_by = relationship("User")
    results: Mapped[list["VisitResult"]] = relationship(back_populates="visit", order_by="VisitResult.id",
                                                        cascade="all, delete-orphan")

    @property
    def compliant(self) -> bool:
        return self.score >= COMPLIANCE_THRESHOLD

    def __repr__(self) -> str:
        return f"<MonitoringVisit {self.id} provider={self.provider_id} {self.visited_on} {self.score}>"


class VisitResult(Model):
    """One checklist item's result on a visit, with the item's weight as it was asked."""

    __tablename__ = "visit_result"
    __table_args__ = (one_of("result", RESULTS),
                      UniqueConstraint("visit_id", "item_id", name="uq_visit_result_item"),
                      CheckConstraint(f"weight >= 1 AND weight <= {MAX_WEIGHT}", name="weight_range"))

    id: Mapped[int] = mapped_column(primary_key=True)
    visit_id: Mapped[int] = mapped_column(ForeignKey("monitoring_visit.id"), index=True)
    item_id: Mapped[int] = mapped_column(ForeignKey("checklist_item.id"), index=True)
    result: Mapped[str] = mapped_column(String(16))
    weight: Mapped[int]
    comment: Mapped[str | None] = mapped_column(Text)

    visit: Mapped[MonitoringVisit] = relationship(back_populates="results")
    item: Mapped[ChecklistItem] = relationship()

    @property
    def result_name(self) -> str:
        return RESULTS[self.result]

    def __repr__(self) -> str:
        return f"<VisitResult visit={self.visit_id} item={self.item_id} {self.result}>"
