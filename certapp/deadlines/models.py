from datetime import date, datetime

from sqlalchemy import CheckConstraint, ForeignKey, Integer, PrimaryKeyConstraint, String
from sqlalchemy.orm import Mapped, mapped_column

from certapp.common.scope import MunicipalityOwned
from certapp.db import Model, UTCDateTime, one_of, utcnow

HOLIDAY_KINDS = {"holiday": "Нерабочий праздничный день", "workday": "Рабочий день (перенесённый выходной)"}

#: kind -> (Russian name, how it counts, default): "working_days" after the document's start, or
#: "day_of_month": by that day of the month after the document's month
DEADLINE_KINDS = {
    "registry_review": ("Рассмотрение заявки на включение в реестр исполнителей", "working_days", 10),
    "certificate_review": ("Рассмотрение заявления на сертификат", "working_days", 5),
    "program_review": ("Согласование программы", "working_days", 10),
    "offer": ("Подписание договора родителем (после срока предложение отзывается)", "working_days", 10),
    "report": ("Отчёт исполнителя за месяц — до этого числа следующего месяца", "day_of_month", 5),
    "payment": ("Оплата утверждённого реестра — до этого числа следующего месяца", "day_of_month", 10),
}


class Holiday(Model):
    """The production calendar's exceptions: a weekday that is a public holiday (or a day off moved
    by the Government's decree), or a Saturday/Sunday that is a working day. Kept by the department."""

    __tablename__ = "holiday"
    __table_args__ = (one_of("kind", HOLIDAY_KINDS),)

    id: Mapped[int] = mapped_column(primary_key=True)
    day: Mapped[date] = mapped_column(unique=True)
    kind: Mapped[str] = mapped_column(String(16), default="holiday")
    name: Mapped[str] = mapped_column(String(255))

    @property
    def kind_name(self) -> str:
        return HOLIDAY_KINDS[self.kind]

    def __repr__(self) -> str:
        return f"<Holiday {self.day} {self.kind}>"


class DeadlineRule(MunicipalityOwned, Model):
    """A deadline's length as a municipality's department set it under its order (DEADLINE_KINDS
    gives the default)."""

    __tablename__ = "deadline_rule"
    __table_args__ = (CheckConstraint("days >= 1 AND days <= 60", name="days_range"),
                      PrimaryKeyConstraint("municipality_id", "kind", name="pk_deadline_rule"))

    kind: Mapped[str] = mapped_column(String(32))
    days: Mapped[int] = mapped_column(Integer)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
    updated_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))

    def __repr__(self) -> str:
        return f"<DeadlineRule {self.kind} {self.days}>"
