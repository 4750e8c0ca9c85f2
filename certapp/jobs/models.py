from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from certapp.common.scope import MunicipalityTagged
from certapp.db import Model, UTCDateTime, utcnow

JOB_STATES = {"queued": "В очереди", "running": "Выполняется", "done": "Готово", "failed": "Ошибка"}


class Job(MunicipalityTagged, Model):
    """Long work started by a person (building all registers, an export, a bulk decision), with its
    progress: the page and GET /api/v1/jobs/{id} show it while the worker runs it."""

    __tablename__ = "job"

    id: Mapped[int] = mapped_column(primary_key=True)
    #: what it does, e.g. "registers.build" (the task's name)
    kind: Mapped[str] = mapped_column(String(64))
    #: what the person sees, in Russian
    title: Mapped[str] = mapped_column(String(255))
    state: Mapped[str] = mapped_column(String(16), default="queued", index=True)
    done: Mapped[int] = mapped_column(Integer, default=0)
    total: Mapped[int | None] = mapped_column(Integer)
    #: where the result is (a page or a file), when there is one
    result_url: Mapped[str | None] = mapped_column(String(500))
    #: the outcome in Russian («Сформировано реестров: 3.»)
    message: Mapped[str | None] = mapped_column(Text)
    error: Mapped[str | None] = mapped_column(Text)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"), index=True)
    #: who started it (named, not imported: accounts builds on the queue, its letters go through mail's jobs)
    created_by = relationship("User", lazy="select")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    #: the last sign of life of the worker running it (progress, and a beat every JOB_HEARTBEAT_SECONDS);
    #: for a queued job, when it was last handed to the queue. Older than JOB_STALE_SECONDS: its worker died
    heartbeat_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    #: the queue's task and its arguments ({"args": [...], "kwargs": {...}}), to hand the job out again
    task: Mapped[str | None] = mapped_column(String(200))
    arguments: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    #: what a resumable job has done so far, written with each row (bulk: counts and refusals)
    checkpoint: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    #: the run that may write the row: raised each time the job is handed out again after a dead worker
    attempt: Mapped[int] = mapped_column(Integer, default=0, server_default="0")

    @property
    def state_name(self) -> str:
        return JOB_STATES[self.state]

    @property
    def percent(self) -> int:
        if self.state == "done":
            return 100
        return int(100 * self.done / self.total) if self.total else 0

    def __repr__(self) -> str:
        return f"<Job {self.id} {self.kind} {self.state} {self.done}/{self.total}>"
