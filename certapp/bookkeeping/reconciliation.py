"""Reconciliation of the ledger with the balances and the registers, stored runs, and the per-certificate
lines exported from it."""
import time
from collections import defaultdict
from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any, ClassVar

from sqlalchemy import ColumnElement, Row, Select, func, select

from certapp.accounts.models import User
from certapp.audit.services import record_event
from certapp.bookkeeping.models import PaymentRegister, PaymentRegisterLine, ReconciliationRun
from certapp.certificates.models import Certificate
from certapp.common.errors import NotFoundError, ValidationError
from certapp.common.roles import require_role
from certapp.common.scope import current_scope
from certapp.contracts.models import Contract
from certapp.db import db
from certapp.jobs.models import Job
from certapp.jobs.services import FILE_TYPES, Progress, start
from certapp.ledger import services as ledger
from certapp.ledger.models import CertificateBalance, LedgerEntry
from certapp.ledger.services import check_invariant
from certapp.reference.models import Municipality
from certapp.registry.models import Provider


@dataclass
class ProviderLine:
    provider_id: int
    name: str
    spent: int = 0
    paid: int = 0
    approved: int = 0
    payable: int = 0

    @property
    def mismatch(self) -> int:
        return self.spent - (self.paid + self.approved + self.payable)


@dataclass
class MunicipalityLine:
    name: str
    certificates: int
    nominal: int
    available: int
    reserved: int
    spent: int
    expired: int


@dataclass
class Reconciliation:
    totals: dict[str, int]
    providers: list[ProviderLine]
    municipalities: list[MunicipalityLine]
    mismatches: list[str]

    #: computed now (not a stored run)
    live: ClassVar[bool] = True
    computed_at: ClassVar[None] = None
    duration_ms: ClassVar[None] = None

    @property
    def ok(self) -> bool:
        return not self.mismatches

    @property
    def mismatch_count(self) -> int:
        return len(self.mismatches)


BALANCE_FIELDS = ("nominal", "available", "reserved", "spent", "expired")


def _balance_sums() -> list[ColumnElement[Any]]:
    return [func.coalesce(func.sum(getattr(CertificateBalance, field)), 0) for field in BALANCE_FIELDS]


def reconcile(progress: Progress | None = None, batch: int = 50_000) -> Reconciliation:
    """The summary, computed in the database (its memory does not grow with the certificates): totals
    and per-municipality lines of the certificates' money, per provider spent = paid + approved-unpaid
    + payable, and only the mismatches — per certificate (nominal = available + reserved + spent +
    expired, each equal to its entries), per register (its total = its lines = their entries). The
    per-certificate lines are read page by page (certificate_lines) or streamed (stream_certificate_lines)."""
    low, high = db.session.execute(select(func.min(CertificateBalance.certificate_id),
                                          func.max(CertificateBalance.certificate_id))).one()
    steps = range((low or 1) - 1, high or 0, batch)
    if progress:
        progress.set_total(len(steps) + 1)
    mismatches = []
    for after_id in steps:  # the certificates part by part: a job shows how far it got
        mismatches += [f"Сертификат {m.certificate_id}: {m.field} = {m.cached}, по проводкам {m.from_entries}"
                       for m in check_invariant(after_id=after_id, up_to_id=after_id + batch)]
        if progress:
            progress.advance()
    count, *sums = db.session.execute(select(func.count(CertificateBalance.certificate_id), *_balance_sums())).one()
    totals = {"certificates": count, **{field: int(value) for field, value in zip(BALANCE_FIELDS, sums)}}
    municipalities = [MunicipalityLine(name, count, *(int(v) for v in values)) for name, count, *values in
                      db.session.execute(select(Municipality.name, func.count(CertificateBalance.certificate_id),
                                                *_balance_sums())
                                         .join(Municipality, Municipality.id == CertificateBalance.municipality_id)
                                         .group_by(Municipality.id, Municipality.name).order_by(Municipality.name))]

    providers: dict[int, ProviderLine] = {}
    for provider_id, name, spent in db.session.execute(
            select(Contract.provider_id, Provider.short_name, func.sum(LedgerEntry.d_spent))
            .join(Contract, LedgerEntry.contract_id == Contract.id).join(Provider, Provider.id == Contract.provider_id)
            .group_by(Contract.provider_id, Provider.short_name)):
        providers[provider_id] = ProviderLine(provider_id, name, spent=int(spent or 0))
    by_status = defaultdict(int)
    for provider_id, status, amount in db.session.execute(
            select(PaymentRegister.provider_id, PaymentRegister.status, func.sum(PaymentRegisterLine.amount))
            .join(PaymentRegisterLine, PaymentRegisterLine.register_id == PaymentRegister.id)
            .where(PaymentRegisterLine.active).group_by(PaymentRegister.provider_id, PaymentRegister.status)):
        by_status[(provider_id, status)] = int(amount or 0)
    for line in providers.values():
        line.paid = by_status[(line.provider_id, "paid")]
        line.approved = by_status[(line.provider_id, "approved")]
        # payable: spent and not yet in an approved or paid register (unregistered, or in a draft)
        line.payable = line.spent - line.paid - line.approved
        if line.payable < 0:
            mismatches.append(f"{line.name}: в реестрах {line.paid + line.approved} коп. больше списанного "
                              f"{line.spent} коп.")
    lines_sum = func.coalesce(func.sum(PaymentRegisterLine.amount), 0)
    for number, total, lines in db.session.execute(
            select(PaymentRegister.number, PaymentRegister.total, lines_sum)
            .outerjoin(PaymentRegisterLine, PaymentRegisterLine.register_id == PaymentRegister.id)
            .where(PaymentRegister.status.in_(("approved", "paid")))
            .group_by(PaymentRegister.id, PaymentRegister.number, PaymentRegister.total)
            .having(PaymentRegister.total != lines_sum)):
        mismatches.append(f"Реестр {number}: итог {total} коп., сумма строк {lines} коп.")
    for number, entry_id, amount, d_spent in db.session.execute(
            select(PaymentRegister.number, LedgerEntry.id, PaymentRegisterLine.amount, LedgerEntry.d_spent)
            .join(PaymentRegisterLine, PaymentRegisterLine.register_id == PaymentRegister.id)
            .join(LedgerEntry, LedgerEntry.id == PaymentRegisterLine.ledger_entry_id)
            .where(PaymentRegisterLine.active, PaymentRegisterLine.amount != LedgerEntry.d_spent)):
        mismatches.append(f"Реестр {number}: строка проводки {entry_id} на {amount} коп., а проводка — {d_spent} коп.")
    totals["paid"] = sum(p.paid for p in providers.values())
    totals["approved"] = sum(p.approved for p in providers.values())
    totals["payable"] = sum(p.payable for p in providers.values())
    if progress:
        progress.advance()
    return Reconciliation(totals, sorted(providers.values(), key=lambda p: p.name), municipalities, mismatches)


#: the mismatches a stored run keeps (there must be none; thousands mean one cause, not a list to read)
STORED_MISMATCHES = 1000


def store_reconciliation(actor: User | None, progress: Progress | None = None) -> ReconciliationRun:
    """Reconcile now (in the current scope: a municipality, or the whole region) and keep the result as
    the one the page and the API answer until the next run."""
    started = time.perf_counter()
    result = reconcile(progress)
    run = ReconciliationRun(
        municipality_id=current_scope(), created_by_id=actor.id if actor else None,
        duration_ms=int((time.perf_counter() - started) * 1000),
        result={"totals": result.totals, "municipalities": [asdict(m) for m in result.municipalities],
                "providers": [asdict(p) for p in result.providers], "mismatch_count": len(result.mismatches),
                "mismatches": result.mismatches[:STORED_MISMATCHES]})
    db.session.add(run)
    db.session.flush()
    record_event("reconciliation.run", run, actor=actor,
                 details={"certificates": result.totals["certificates"], "mismatches": len(result.mismatches),
                          "duration_ms": run.duration_ms})
    return run


@dataclass
class StoredReconciliation:
    """A stored run as the page, the API and the exports read it (the shape of Reconciliation)."""

    run: ReconciliationRun
    totals: dict[str, int]
    providers: list[ProviderLine]
    municipalities: list[MunicipalityLine]
    mismatches: list[str]
    mismatch_count: int

    live: ClassVar[bool] = False

    @property
    def ok(self) -> bool:
        return not self.mismatch_count

    @property
    def computed_at(self) -> datetime:
        return self.run.computed_at

    @property
    def duration_ms(self) -> int:
        return self.run.duration_ms


def latest_reconciliation() -> StoredReconciliation | None:
    """The newest stored run of the current scope (one municipality's, or the region's), or None."""
    scope = current_scope()
    run = db.session.execute(select(ReconciliationRun).where(
        ReconciliationRun.municipality_id.is_(None) if scope is None else ReconciliationRun.municipality_id == scope)
        .order_by(ReconciliationRun.computed_at.desc(), ReconciliationRun.id.desc()).limit(1)
        .execution_options(all_municipalities=True)).scalar_one_or_none()
    if run is None:
        return None
    data = run.result
    return StoredReconciliation(run, data["totals"], [ProviderLine(**p) for p in data["providers"]],
                                [MunicipalityLine(**m) for m in data["municipalities"]], data["mismatches"],
                                data["mismatch_count"])


def reconciliation_summary() -> Reconciliation | StoredReconciliation:
    """What the page and the API answer at once: the reconciliation computed now while the scope holds
    few enough certificates (LIVE_REPORT_LIMIT; a district's take well under a second), else the
    newest stored run. Raises NotFoundError when there is none yet."""
    if ledger.few_certificates():
        return reconcile()
    stored = latest_reconciliation()
    if stored is None:
        raise NotFoundError("Сверка ещё не выполнялась: запустите её, она займёт несколько минут.")
    return stored


def start_reconciliation(actor: User) -> Job:
    """Reconcile the official's municipality (the regional operator's: the region) as a job with progress;
    while one is queued or running for the same scope, that one."""
    from certapp.bookkeeping.jobs import reconcile_job  # the job runs this module's functions: bookkeeping.jobs imports it

    require_role(actor, "bookkeeping", "department")
    # one run at a time per scope: a second request (a double click, a retry) answers the run not yet done
    unfinished = db.session.execute(select(Job).where(
        Job.kind == "reconciliation.run", Job.state.in_(("queued", "running")),
        Job.municipality_id.is_(None) if actor.municipality_id is None else Job.municipality_id == actor.municipality_id,
    ).order_by(Job.id.desc()).limit(1)).scalar()
    if unfinished is not None:
        return unfinished
    return start(reconcile_job, "reconciliation.run", "Сверка средств сертификатов", actor, actor.id, current_scope())


def _certificate_lines_query() -> Select[str, int, int, int, int, int]:
    return (select(Certificate.number, CertificateBalance.nominal, CertificateBalance.available,
                   CertificateBalance.reserved, CertificateBalance.spent, CertificateBalance.expired)
            .join(CertificateBalance, CertificateBalance.certificate_id == Certificate.id).order_by(Certificate.number))


def certificate_lines(after: str | None = None, limit: int = 100, cap: int = 1000) -> Sequence[Row[str, int, int, int, int, int]]:
    """One page of the per-certificate lines, by number after `after` (keyset: as fast on the last page
    as on the first)."""
    stmt = _certificate_lines_query().limit(max(1, min(limit, cap)))
    if after:
        stmt = stmt.where(Certificate.number > after)
    return db.session.execute(stmt).all()


def count_certificate_lines() -> int:
    return db.session.execute(select(func.count()).select_from(CertificateBalance)).scalar_one()


def start_certificate_export(actor: User, fmt: str) -> Job:
    """Every certificate's line into a CSV or XLSX file, as a job with progress (bookkeeping.jobs)."""
    from certapp.bookkeeping.jobs import export_certificate_lines  # the job runs this module's functions: bookkeeping.jobs imports it

    require_role(actor, "bookkeeping", "department")
    if fmt not in FILE_TYPES:
        raise ValidationError("Формат выгрузки: csv или xlsx.", field="format")
    return start(export_certificate_lines, "reconciliation.export", f"Выгрузка сверки по сертификатам ({fmt.upper()})",
                 actor, actor.id, current_scope(), fmt)


def stream_certificate_lines(batch: int = 2000) -> Iterator[Row[str, int, int, int, int, int]]:
    """Every per-certificate line, read page by page by number (keyset, as certificate_lines): memory
    holds one page, and a job may commit its progress between pages (a server-side cursor would not
    survive the commit)."""
    after = None
    while page := certificate_lines(after, batch, cap=batch):
        yield from page
        after = page[-1].number
        if len(page) < batch:
            return
