import click
from flask import current_app
from flask.cli import AppGroup

from certapp.jobs import huey, set_worker_app
from certapp.jobs.services import recover_stale_jobs, start_heartbeat

jobs_cli = AppGroup("jobs", help="Фоновые задания: обработчик очереди.")


@jobs_cli.command("worker")
@click.option("--workers", default=2, show_default=True, help="Threads that run jobs.")
@click.option("--periodic/--no-periodic", default=True, show_default=True,
              help="Also run the schedule (deadlines, reminders, the 1st's registers, the nightly check). "
                   "With several workers, keep it on one; the periodic jobs are idempotent either way.")
def worker(workers, periodic):
    """Run the job queue's worker until stopped (SIGTERM/SIGINT finish the running jobs first)."""
    import certapp.tasks  # noqa: F401  (every job known to the worker)

    app = current_app._get_current_object()  # type: ignore[attr-defined]  # the proxy's own method
    set_worker_app(app)
    start_heartbeat(app)
    # a worker restarted after a crash: its jobs (already silent for JOB_STALE_SECONDS) go on at once
    with app.app_context():
        recovered = recover_stale_jobs()
    if any(recovered.values()):
        click.echo(f"certapp: jobs of dead workers: resumed {recovered['resumed']}, handed out again "
                   f"{recovered['handed_out']}, failed {recovered['failed']}")
    click.echo(f"certapp: jobs worker on {type(huey.storage).__name__} «{huey.name}», {workers} threads"
               + (", with the schedule" if periodic else ""))
    huey.create_consumer(workers=workers, worker_type="thread", periodic=periodic, check_worker_health=True,
                         flush_locks=False).run()


@jobs_cli.command("recover")
def recover():
    """Resume (or mark failed, telling their owners) the jobs whose worker died; the worker with the
    schedule does it every minute, this does it now."""
    recovered = recover_stale_jobs()
    click.echo(f"Возобновлено: {recovered['resumed']}, передано обработчику заново: {recovered['handed_out']}, "
               f"завершено с ошибкой: {recovered['failed']}.")
