"""A district's data arriving from another system: the uploaded files and the rows they brought in."""
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, Integer, LargeBinary, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from certapp.common.scope import MunicipalityOwned
from certapp.db import Model, UTCDateTime, one_of, utcnow

#: what a file holds -> its Russian name (the noun of the page, the API's `kind`)
IMPORT_KINDS = {"providers": "Исполнители и записи реестра", "certificates": "Дети и сертификаты с остатками",
                "contracts": "Действующие договоры"}
#: checking (the job reads every row) -> checked (a dry run) | failed (problems) | queued (the load, in the
#: same job) -> imported | unchanged | failed
IMPORT_STATUSES = {"checking": "Проверяется", "checked": "Проверен", "queued": "Загружается", "imported": "Загружен",
                   "unchanged": "Уже был загружен: ничего не изменено", "failed": "Не загружен"}


class ImportBatch(MunicipalityOwned, Model):
    """One uploaded file: kept here while a job checks it row by row, then (not a dry run, no problem)
    loads it, all rows or none."""

    __tablename__ = "import_batch"
    __table_args__ = (
        one_of("kind", IMPORT_KINDS),
        one_of("status", IMPORT_STATUSES),
        Index("ix_import_batch_municipality_newest", "municipality_id", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(16), default="checking")
    #: only a check: nothing is written
    dry_run: Mapped[bool] = mapped_column(default=True)
    filename: Mapped[str] = mapped_column(String(255))
    #: SHA-256 of the file's bytes: the same file loaded again changes nothing
    sha256: Mapped[str] = mapped_column(String(64), index=True)
    #: the file itself, for the job that checks and loads it (any server's worker reads it from here);
    #: dropped once the job is over with it
    content: Mapped[bytes | None] = mapped_column(LargeBinary)
    rows: Mapped[int] = mapped_column(Integer, default=0)
    #: rows written, and rows already loaded before (by an earlier file) and left as they were
    created: Mapped[int] = mapped_column(Integer, default=0)
    skipped: Mapped[int] = mapped_column(Integer, default=0)
    #: [{"row": 3, "field": "СНИЛС", "message": "…"}], every problem of every row
    problems: Mapped[list[dict[str, Any]] | None] = mapped_column(JSON)
    problem_count: Mapped[int] = mapped_column(Integer, default=0)
    message: Mapped[str | None] = mapped_column(Text)
    #: the job that checks the file and (not a dry run) loads it
    job_id: Mapped[int | None] = mapped_column(ForeignKey("job.id"))
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    job = relationship("Job")
    created_by = relationship("User")

    @property
    def kind_name(self) -> str:
        return IMPORT_KINDS[self.kind]

    @property
    def status_name(self) -> str:
        return IMPORT_STATUSES[self.status]

    def __repr__(self) -> str:
        return f"<ImportBatch {self.id} {self.kind} {self.status}>"


class ImportedRow(MunicipalityOwned, Model):
    """A row an import wrote, by its natural key (ИНН; СНИЛС key and school year; …) and a digest of
    its values: the same row in a later file is left alone, another row with the key is a problem."""

    __tablename__ = "imported_row"
    __table_args__ = (UniqueConstraint("municipality_id", "kind", "natural_key", name="uq_imported_row_key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))
    natural_key: Mapped[str] = mapped_column(String(160))
    digest: Mapped[str] = mapped_column(String(64))
    #: the row's object: the provider, the certificate or the contract
    object_id: Mapped[int] = mapped_column(Integer)
    batch_id: Mapped[int] = mapped_column(ForeignKey("import_batch.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    def __repr__(self) -> str:
        return f"<ImportedRow {self.kind} {self.object_id}>"
