"""The job queue's own periodic work."""
from certapp.jobs import crontab, periodic
from certapp.jobs.services import remove_old_files


@periodic(crontab(minute="15", hour="4"))
def remove_old_job_files() -> int:
    """Every night: the files jobs wrote more than a week ago."""
    return remove_old_files()
