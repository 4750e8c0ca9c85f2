"""Bookkeeping's long and periodic work on the job queue."""
from datetime import date

from certapp.accounts.models import User
from certapp.bookkeeping import services
from certapp.common.errors import DomainError
from certapp.common.months import add_months, first_of_month, month_label
from certapp.common.web import path_for
from certapp.db import db, transaction
from certapp.jobs import crontab, job, periodic
from certapp.jobs.services import Progress


def build_month(month: date, actor: User | None, job_id: int | None = None, on_start=None) -> tuple[int, list[str]]:
    """Every provider's register for the month, each in its own transaction, reporting progress
    (to the job's row, and to `on_start(total)`'s callback, e.g. a terminal's progress bar)."""
    provider_ids = services.providers_to_pay(month)
    built, skipped = 0, []
    with Progress(job_id, len(provider_ids), every=1, on_advance=on_start(len(provider_ids)) if on_start else None
                  ) as progress:
        for provider_id in provider_ids:
            try:
                with transaction():
                    services.build_register(provider_id, month, actor)
                built += 1
            except DomainError as error:
                skipped.append(error.message)
            progress.advance()
        progress.finish("\n".join([f"Сформировано реестров за {month_label(month)}: {built}."]
                                  + ([f"Пропущено: {len(skipped)}."] + skipped if skipped else [])),
                        result_url=path_for("bookkeeping.registers", month=f"{month:%Y-%m}"))
    return built, skipped


@job()
def build_registers(job_id: int, month_iso: str, actor_id: int) -> int:
    """Started from the registers page or the API: the month's registers, with a progress bar."""
    return build_month(date.fromisoformat(month_iso), db.session.get(User, actor_id), job_id)[0]


@periodic(crontab(minute="0", hour="6", day="1"))
def draft_registers_of_last_month() -> int:
    """On the 1st: draft registers for the month just ended (those that exist are left alone)."""
    return build_month(add_months(first_of_month(date.today()), -1), None)[0]
