from datetime import date, datetime

from sqlalchemy import BigInteger, CheckConstraint, Column, ForeignKey, Index, String, Table, Text, false, select, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from certapp.common.scope import register_criteria
from certapp.db import Model, UTCDateTime, db, one_of, utcnow
from certapp.reference.models import MAX_AGE, MIN_AGE

#: program kinds; only «общеразвивающая» is accepted (п. 1 of 458-п)
PROGRAM_KINDS = {
    "general_developmental": "Дополнительная общеразвивающая программа",
    "pre_professional_arts": "Дополнительная предпрофессиональная программа в области искусств",
}
PROGRAM_STATUSES = {
    "draft": "Черновик",
    "submitted": "На согласовании",
    "published": "Опубликована",
    "returned": "Возвращена на доработку",
    "unpublished": "Снята с публикации",
}
PROGRAM_TRANSITIONS = {
    "draft": {"submitted"},
    "submitted": {"published", "returned"},
    "returned": {"submitted"},
    "published": {"unpublished"},
    "unpublished": {"submitted"},
}


#: the municipalities a program is offered in (those where its provider is admitted)
program_municipality = Table(
    "program_municipality", db.metadata,
    Column("program_id", ForeignKey("program.id"), primary_key=True),
    Column("municipality_id", ForeignKey("municipality.id"), primary_key=True, index=True),
)


class Program(Model):
    """Дополнительная общеразвивающая программа of a provider in the registry."""

    __tablename__ = "program"
    __table_args__ = (
        CheckConstraint("kind = 'general_developmental'", name="kind_general_developmental"),
        CheckConstraint(f"age_from >= {MIN_AGE} AND age_to <= {MAX_AGE} AND age_from <= age_to", name="ages"),
        CheckConstraint("duration_months BETWEEN 1 AND 12", name="duration"),
        CheckConstraint("price_per_month >= 0", name="price_not_negative"),
        one_of("status", PROGRAM_STATUSES),
        Index("ix_program_catalog", "status", "direction_id", "age_from", "age_to"),
        # the catalog's order: a page is read in title order and stops after its rows (no sort of a region)
        Index("ix_program_catalog_order", "title", "id", postgresql_where=text("status = 'published'"),
              sqlite_where=text("status = 'published'")),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    provider_id: Mapped[int] = mapped_column(ForeignKey("provider.id"), index=True)
    title: Mapped[str] = mapped_column(String(255))
    description: Mapped[str] = mapped_column(Text)
    direction_id: Mapped[int] = mapped_column(ForeignKey("direction.id"))
    kind: Mapped[str] = mapped_column(String(32), default="general_developmental")
    #: «адаптированная программа» for pupils with ОВЗ and disabled children: with the direction it fixes
    #: the program's registry number of the service (reference.service_scope.program_service_code)
    adapted: Mapped[bool] = mapped_column(default=False, server_default=false())
    age_from: Mapped[int]
    age_to: Mapped[int]
    duration_months: Mapped[int]
    hours_per_month: Mapped[int]
    #: kopecks
    price_per_month: Mapped[int] = mapped_column(BigInteger)
    venue_address: Mapped[str] = mapped_column(String(500))
    max_group_size: Mapped[int]
    status: Mapped[str] = mapped_column(String(16), default="draft")
    #: the department decides on a submitted program by this day (deadlines: program_review)
    review_due_on: Mapped[date | None] = mapped_column(index=True)
    #: the department's remarks when it returns or unpublishes the program
    remarks: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    published_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    provider = relationship("Provider")
    direction = relationship("Direction")
    #: the registry number of the service the program belongs to: its direction and its «адаптированная» mark
    service_code = relationship(
        "ServiceCode", viewonly=True, uselist=False,
        primaryjoin="and_(foreign(Program.direction_id) == remote(ServiceCode.direction_id), "
                    "foreign(Program.adapted) == remote(ServiceCode.adapted))")
    municipalities = relationship("Municipality", secondary=program_municipality, order_by="Municipality.name")
    groups: Mapped[list["StudyGroup"]] = relationship(back_populates="program", order_by="StudyGroup.starts_on")

    @property
    def status_name(self) -> str:
        return PROGRAM_STATUSES[self.status]

    @property
    def editable(self) -> bool:
        return self.status in ("draft", "returned", "unpublished")

    def __repr__(self) -> str:
        return f"<Program {self.id} {self.title!r} {self.status}>"


class StudyGroup(Model):
    """Учебная группа of a program. Seats left are derived from contracts, never typed."""

    __tablename__ = "study_group"
    __table_args__ = (
        CheckConstraint("capacity > 0", name="capacity_positive"),
        CheckConstraint("ends_on > starts_on", name="dates_ordered"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    program_id: Mapped[int] = mapped_column(ForeignKey("program.id"), index=True)
    name: Mapped[str] = mapped_column(String(255))
    teacher: Mapped[str] = mapped_column(String(255))
    schedule: Mapped[str] = mapped_column(String(500))
    starts_on: Mapped[date]
    ends_on: Mapped[date]
    capacity: Mapped[int]
    #: seats held by contracts (offered or in force), kept by the database's triggers on contract in the
    #: same transaction (migration 0024) for the catalog's «free seats» filter over every group; the
    #: per-group checks count the contracts themselves (contracts.seats.taken_seats_expr)
    seats_taken: Mapped[int] = mapped_column(default=0, server_default="0")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    program: Mapped[Program] = relationship(back_populates="groups")

    def __repr__(self) -> str:
        return f"<StudyGroup {self.id} {self.name!r}>"


def _offered_in_scope(municipality_id: int):
    # a municipal official sees the programs offered in their municipality
    return lambda cls: cls.id.in_(select(program_municipality.c.program_id)
                                  .where(program_municipality.c.municipality_id == municipality_id))


register_criteria(Program, _offered_in_scope)
