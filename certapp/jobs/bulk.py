"""A bulk action too long for one request: the rows run one by one, each in its own transaction,
with a progress bar (certapp.common.bulk runs short ones in the request, each row in a savepoint).
Features register their row actions by name; the job finds them again in the worker."""
from collections.abc import Iterable
from typing import TYPE_CHECKING

from flask import flash, redirect, url_for

from certapp.common.bulk import clean_ids
from certapp.common.errors import DomainError
from certapp.common.rows import get_existing
from certapp.common.scope import scoped
from certapp.common.templating import plural
from certapp.common.web import run_and_flash
from certapp.jobs import job
from certapp.jobs.models import Job
from certapp.jobs.services import Progress, start
from certapp.uow import refuse, unit_of_work

if TYPE_CHECKING:  # names only: accounts builds on the queue
    from certapp.accounts.models import User

#: name -> (row action(row_id, actor, **options), Russian name of the rows' plural forms, result path,
#: row_name(row_id) naming a refused row or None: «№ id»); an action may return a note (a str) about its
#: row: the report counts the rows of each note
BULK_ACTIONS: dict[str, tuple] = {}
#: more rows than this run as a job with a progress bar instead of in the request
SYNC_LIMIT = 20


def register_bulk(name: str, action, forms: tuple[str, str, str], result_path, row_name=None) -> None:
    BULK_ACTIONS[name] = (action, forms, result_path, row_name)


def start_bulk(name: str, title: str, ids: Iterable[object], actor: "User", **options: object) -> Job:
    """Record and enqueue the bulk job (after the commit); returns the Job."""
    return start(run_bulk, f"bulk.{name}", title, actor, name, clean_ids(ids), actor.id, options)


@job(resumable=True)
def run_bulk(job_id: int, name: str, ids: list[int], actor_id: int, options: dict) -> int:
    """Each row in its own transaction, which also saves the job's checkpoint (the rows done, the
    refusals): a run handed out again after its worker died goes on with the rows not done yet."""
    action, forms, result_path, row_name = BULK_ACTIONS[name]
    actor = get_existing(Job, job_id).created_by  # the official who started it (actor_id)
    # the worker acts as the official did in the request: within their municipality only
    with scoped(actor.municipality_id), Progress(job_id, len(ids)) as progress:
        state = {"notes": {}, **(progress.saved or {"done": 0, "refused": 0, "reasons": []})}
        for row_id in ids[progress.done:]:
            try:
                with unit_of_work():
                    note = action(row_id, actor, **options)
                    notes = state["notes"]
                    if isinstance(note, str):
                        notes = {**notes, note: notes.get(note, 0) + 1}
                    progress.save({**state, "done": state["done"] + 1, "notes": notes})
                state["done"], state["notes"] = state["done"] + 1, notes
            except DomainError as error:
                state["refused"] += 1
                state["reasons"] = (state["reasons"] + [f"{row_name(row_id) if row_name else f'№ {row_id}'}: {error.message}"])[:50]
                with unit_of_work():
                    progress.save(state)
        done, refused = state["done"], state["refused"]
        progress.finish("\n".join([f"Обработано: {done} {plural(done, *forms)}."]
                                  + [f"{note}: {count}." for note, count in state["notes"].items()]
                                  + ([f"Не обработано: {refused}."] + state["reasons"] if refused else [])),
                        result_url=result_path())
    return done


def bulk_from_page(ids: list, start_job, run, report, back_url: str, started: str):
    """A page's bulk form: more than SYNC_LIMIT rows start `start_job()` and open its progress bar;
    fewer run `run()` in the request's unit and `report(result)` flashes what was done. Returns the
    redirect."""
    if len(ids) > SYNC_LIMIT:
        record = run_and_flash(start_job, started)
        return redirect(url_for("jobs.job", job_id=record.id) if record else back_url)
    try:
        result = run()
    except DomainError as error:
        refuse(error)
        flash(error.message, "error")
    else:
        report(result)
    return redirect(back_url)
