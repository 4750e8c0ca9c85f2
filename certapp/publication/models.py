"""Publications of open data (п. 7 of 458-п; plan 1.1): what the department made public, as it was then."""
from datetime import date, datetime

from sqlalchemy import JSON, ForeignKey, String, UniqueConstraint, event
from sqlalchemy.orm import Mapped, mapped_column, relationship

from certapp.common.scope import MunicipalityOwned
from certapp.db import Model, UTCDateTime, utcnow

#: kind -> (Russian name of the kind, how often it is updated)
PUBLICATION_KINDS = {
    "social_order": ("Муниципальный социальный заказ", "ежегодно и при каждой новой редакции"),
    "execution_report": ("Отчёт об исполнении социального заказа", "ежеквартально и по итогам года"),
    "indicators": ("Показатели эффективности (Приложение № 3 к постановлению № 458-п)", "ежегодно"),
    "registry": ("Реестр исполнителей услуг", "по мере изменения"),
    "catalog": ("Каталог дополнительных общеразвивающих программ", "по мере изменения"),
}


class PublishedVersionChanged(Exception):
    """Raised when code tries to change or delete a published version (it never changes)."""


class Publication(MunicipalityOwned, Model):
    """One published version of an open data set: its data frozen as published (`snapshot`), never
    recomputed and never changed (refused here and, by a trigger, in the database); a new version is
    a new publication."""

    __tablename__ = "publication"
    __table_args__ = (
        UniqueConstraint("municipality_id", "dataset", "version", name="uq_publication_dataset_version"),
        #: a document (a social order's version, a formed report) is published once
        UniqueConstraint("municipality_id", "kind", "source_id", name="uq_publication_source"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(32))
    #: the set's stable name in its address: social-order-2026, execution-report-2026-q1, registry …
    dataset: Mapped[str] = mapped_column(String(64))
    version: Mapped[int]
    #: the published document (SocialOrder, FormedExecutionReport), when the set is one
    source_id: Mapped[int | None]
    title: Mapped[str] = mapped_column(String(500))
    #: the date of the act of publication (the municipality's day)
    published_on: Mapped[date]
    published_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    published_by_id: Mapped[int] = mapped_column(ForeignKey("user.id"))
    #: {"description", "document": {...} | None, "fields": [{name, title, type, description}], "rows": [{...}]}
    snapshot: Mapped[dict] = mapped_column(JSON)

    published_by = relationship("User")

    @property
    def kind_name(self) -> str:
        return PUBLICATION_KINDS[self.kind][0]

    def __repr__(self) -> str:
        return f"<Publication {self.dataset} v{self.version}>"


@event.listens_for(Publication, "before_update")
def _refuse_update(mapper, connection, target) -> None:
    raise PublishedVersionChanged(f"publication {target.id} is published: it never changes")


@event.listens_for(Publication, "before_delete")
def _refuse_delete(mapper, connection, target) -> None:
    raise PublishedVersionChanged(f"publication {target.id} is published: it is never deleted")


# The database refuses to change a published version whatever the code: its trigger `publication_guard`
# is written once, in migration 0038_publication, as every trigger of the schema is (0010, 0024, 0035, 0045).
# The schema is only ever built by the migrations (tests copy a migrated database; nothing calls
# create_all), and a migration stays frozen as it ran, importing nothing of the models, so the model holds
# no copy: tests/publication/test_publication.py checks that the migrated database refuses the update.
