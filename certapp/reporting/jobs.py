"""Reporting's long and periodic work on the job queue: the regional report."""

from certapp.accounts.models import User
from certapp.common import clock
from certapp.common.scope import scoped
from certapp.common.templating import format_number
from certapp.common.web import path_for
from certapp.db import db
from certapp.jobs import crontab, job, periodic
from certapp.jobs.services import Progress
from certapp.reporting import services
from certapp.uow import unit_of_work


def compute_and_store(year: int, actor: User | None, job_id: int | None = None) -> int:
    """The year's regional report computed with progress and stored; returns the stored report's id."""
    with scoped(None), Progress(job_id, None, every=1) as progress, unit_of_work():
        report = services.store_region_report(year, actor, progress)
        progress.finish(f"Отчёт по региону за {year} год рассчитан за {format_number(report.duration_ms / 1000, 1)} с.",
                        result_url=path_for("reporting.region", year=year))
    return report.id


@job()
def region_report_job(job_id: int, actor_id: int, year: int) -> int:
    """Started from the regional report's page or the API, with a progress bar."""
    return compute_and_store(year, db.session.get(User, actor_id), job_id)


@periodic(crontab(minute="0", hour="3"))
def region_report_nightly() -> int:
    """Every night, after the reconciliation: this year's regional report (and, in January, last year's
    final one), stored for the page and the API."""
    today = clock.today()
    years = [today.year - 1, today.year] if today.month == 1 else [today.year]
    return [compute_and_store(year, None) for year in years][-1]
