"""The job queue's own periodic work."""
from certapp.jobs import crontab, periodic
from certapp.jobs.services import recover_stale_jobs, remove_old_files


@periodic(crontab(minute="15", hour="4"))
def remove_old_job_files() -> int:
    """Every night: the files jobs wrote more than a week ago."""
    return remove_old_files()


@periodic(crontab(minute="*"))
def recover_jobs_of_dead_workers() -> dict:
    """Every minute: jobs whose worker died (no sign of life for JOB_STALE_SECONDS) are resumed or
    handed out again, or marked failed and their owner told (certapp.jobs.services.recover_stale_jobs)."""
    return recover_stale_jobs()
