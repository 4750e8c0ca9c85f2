import click
from flask import current_app
from flask.cli import AppGroup

from certapp.jobs import huey, set_worker_app

jobs_cli = AppGroup("jobs", help="Фоновые задания: обработчик очереди.")


@jobs_cli.command("worker")
@click.option("--workers", default=2, show_default=True, help="Threads that run jobs.")
@click.option("--periodic/--no-periodic", default=True, show_default=True,
              help="Also run the schedule (deadlines, reminders, the 1st's registers, the nightly check). "
                   "With several workers, keep it on one; the periodic jobs are idempotent either way.")
def worker(workers, periodic):
    """Run the job queue's worker until stopped (SIGTERM/SIGINT finish the running jobs first)."""
    import certapp.tasks  # noqa: F401  (every job known to the worker)

    set_worker_app(current_app._get_current_object())
    click.echo(f"certapp: jobs worker on {type(huey.storage).__name__} «{huey.name}», {workers} threads"
               + (", with the schedule" if periodic else ""))
    huey.create_consumer(workers=workers, worker_type="thread", periodic=periodic, check_worker_health=True,
                         flush_locks=False).run()
