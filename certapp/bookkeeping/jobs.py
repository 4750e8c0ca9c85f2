"""Bookkeeping's long and periodic work on the job queue."""
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date

from certapp.accounts.models import User
from certapp.bookkeeping import invoices, reconciliation, registers
from certapp.bookkeeping.registers import BuildResult
from certapp.common import clock
from certapp.common.months import add_months, first_of_month, month_label
from certapp.common.scope import scoped
from certapp.common.templating import format_number
from certapp.common.web import path_for
from certapp.db import db
from certapp.jobs import crontab, job, periodic
from certapp.jobs.services import Progress
from certapp.uow import unit_of_work


def _each_in_its_unit(pairs: list[tuple[int, int]], progress: Progress,
                      one: Callable[[BuildResult, int, int], None]) -> BuildResult:
    """one(result, provider_id, paying) for each provider in a unit of work of its own (a job resumed or
    run again leaves the documents already made alone), counted as done whatever became of it."""
    result = BuildResult()
    for provider_id, paying in pairs:
        try:
            with unit_of_work():
                one(result, provider_id, paying)
        finally:
            progress.advance()
    return result


def build_month(month: date, actor: User | None, job_id: int | None = None, on_start=None) -> tuple[int, list[str]]:
    """Every provider's register for the month, each in its own transaction, reporting progress
    (to the job's row, and to `on_start(total)`'s callback, e.g. a terminal's progress bar)."""
    pairs = registers.registers_to_build(month, actor)
    with Progress(job_id, len(pairs), every=1, on_advance=on_start(len(pairs)) if on_start else None) as progress:
        result = _each_in_its_unit(pairs, progress, lambda result, provider_id, paying: registers.build_or_skip(
            result, provider_id, paying, month, actor))
        built, skipped = len(result.built), [reason for _, reason in result.skipped]
        progress.finish("\n".join([f"Сформировано реестров за {month_label(month)}: {built}."]
                                  + ([f"Пропущено: {len(skipped)}."] + skipped if skipped else [])),
                        result_url=path_for("bookkeeping.registers", month=f"{month:%Y-%m}"))
    return built, skipped


@job()
def build_registers(job_id: int, month_iso: str, actor_id: int) -> int:
    """Started from the registers page or the API: the month's registers, with a progress bar."""
    actor = db.session.get(User, actor_id)
    with scoped(actor.municipality_id):
        return build_month(date.fromisoformat(month_iso), actor, job_id)[0]


@periodic(crontab(minute="0", hour="6", day="1"))
def draft_registers_of_last_month() -> int:
    """On the 1st: draft registers for the month just ended (those that exist are left alone)."""
    return build_month(add_months(first_of_month(clock.today()), -1), None)[0]


def _invoice_of(kind: str, month: date, actor: User | None) -> Callable[[BuildResult, int, int], None]:
    return lambda result, provider_id, paying: invoices.form_or_skip(result, kind, provider_id, paying, month, actor)


@periodic(crontab(minute="30", hour="5", day="1"))
def form_month_invoices() -> int:
    """On the 1st, before the registers: every provider's final invoice for the month just ended and
    its advance invoice for the new month (drafts for bookkeeping to approve; those formed are left)."""
    this_month = first_of_month(clock.today())
    formed = 0
    for kind, month in (("final", add_months(this_month, -1)), ("advance", this_month)):
        pairs = invoices.invoices_to_form(month, None)
        with Progress(None, len(pairs)) as progress:
            formed += len(_each_in_its_unit(pairs, progress, _invoice_of(kind, month, None)).built)
    return formed


@job()
def form_invoices_job(job_id: int, kind: str, month_iso: str, actor_id: int) -> int:
    """Started from the invoices page or the API: every provider's invoices of a kind, with a progress bar."""
    actor, month = db.session.get(User, actor_id), date.fromisoformat(month_iso)
    with scoped(actor.municipality_id):
        pairs = invoices.invoices_to_form(month, actor)
        with Progress(job_id, len(pairs), every=1) as progress:
            result = _each_in_its_unit(pairs, progress, _invoice_of(kind, month, actor))
            skipped = [f"{provider.short_name}: {reason}" for provider, reason in result.skipped]
            progress.finish("\n".join([f"Сформировано счетов за {month_label(month)}: {len(result.built)}."]
                                       + ([f"Пропущено: {len(skipped)}."] + skipped if skipped else [])),
                            result_url=path_for("bookkeeping.invoices", month=f"{month:%Y-%m}", kind=kind))
    return len(result.built)


@dataclass(frozen=True)
class ReconciliationResult:
    run_id: int
    mismatches: int


def reconcile_and_store(actor: User | None, job_id: int | None = None) -> ReconciliationResult:
    """Reconcile the current scope with progress and store the result (reconciliation.store_reconciliation)."""
    with Progress(job_id, None, every=1) as progress, unit_of_work():
        run = reconciliation.store_reconciliation(actor, progress)
        count = run.result["mismatch_count"]
        progress.finish(f"Сверка выполнена за {format_number(run.duration_ms / 1000, 1)} с: "
                        + ("расхождений нет." if not count else f"расхождений: {count}."),
                        result_url=path_for("bookkeeping.reconciliation"))
    return ReconciliationResult(run.id, count)


@job()
def reconcile_job(job_id: int, actor_id: int, municipality_id: int | None) -> int:
    """Started from the reconciliation page or the API: the official's municipality (the region's for
    the regional operator), with a progress bar."""
    actor = db.session.get(User, actor_id)
    with scoped(municipality_id):
        return reconcile_and_store(actor, job_id).run_id


@periodic(crontab(minute="30", hour="2"))
def reconcile_nightly() -> int:
    """Every night: each municipality's reconciliation, and the region's, stored for the pages and the API."""
    from sqlalchemy import select

    from certapp.reference.models import Municipality

    mismatches = 0
    for municipality_id in db.session.execute(select(Municipality.id).order_by(Municipality.id)).scalars().all():
        with scoped(municipality_id):
            mismatches += reconcile_and_store(None).mismatches
    return mismatches + reconcile_and_store(None).mismatches


@job()
def export_certificate_lines(job_id: int, actor_id: int, municipality_id: int | None, fmt: str) -> int:
    """Every certificate's reconciliation line into a CSV or XLSX file (read page by page by number and
    written as it is read: memory does not grow with the region), with a progress bar."""
    from certapp.bookkeeping import exports
    from certapp.common.exports import write_csv, write_xlsx
    from certapp.jobs.services import job_file

    with scoped(municipality_id), Progress(job_id, reconciliation.count_certificate_lines(), every=10_000) as progress:
        def counted(lines):
            for line in lines:
                yield line
                progress.advance()

        rows = exports.certificate_rows(counted(reconciliation.stream_certificate_lines()))
        with job_file(job_id, fmt) as out:
            if fmt == "csv":
                write_csv(out, exports.RECONCILIATION_CERTIFICATE_HEADERS, rows)
            else:
                write_xlsx(out, "Сертификаты", exports.RECONCILIATION_CERTIFICATE_HEADERS, rows, (1, 2, 3, 4, 5))
        progress.finish(f"Выгружено сертификатов: {progress.done}.", result_url=path_for("jobs.file", job_id=job_id))
    return progress.done
