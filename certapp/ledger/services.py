"""The only code that moves money. One function per kind of movement, all through _move().

A movement inserts its entry first (the unique idempotency key makes a retry find the first
entry and do nothing), then changes the balance with one conditional UPDATE whose WHERE refuses
to take any balance below zero. On PostgreSQL the UPDATE's row lock serialises concurrent
movements of one certificate and re-checks the condition; on SQLite every transaction begins
IMMEDIATE. The CHECK constraints of ledger_balance are the last guard.
"""
from dataclasses import dataclass
from datetime import date

from flask import current_app
from sqlalchemy import Select, func, or_, select, update

from certapp.accounts.models import User
from certapp.audit.services import record_event
from certapp.common.errors import ConflictError, DomainError, ValidationError
from certapp.common.money import format_rub
from certapp.common.validators import free_text
from certapp.db import db, insert_unless_taken, rowcount
from certapp.ledger.models import CertificateBalance, LedgerEntry


class InsufficientBalanceError(DomainError):
    code = "insufficient_balance"
    status = 409


class IdempotencyConflictError(ConflictError):
    code = "idempotency_conflict"


#: kind -> (d_available, d_reserved, d_spent, d_expired) per kopeck of the amount
MOVES = {
    "reserve": (-1, 1, 0, 0),
    "release": (1, -1, 0, 0),
    "spend": (0, -1, 1, 0),
    "advance": (0, -1, 1, 0),
    "refund": (0, 1, -1, 0),
    "expire": (-1, 0, 0, 1),
    "opening": (-1, 0, 1, 0),
}
REFUSALS = {
    "reserve": "На сертификате недостаточно средств: доступно {available}.",
    "release": "В резерве сертификата недостаточно средств для возврата.",
    "spend": "В резерве сертификата недостаточно средств для списания.",
    "advance": "В резерве сертификата недостаточно средств для аванса.",
    "refund": "Списано меньше, чем нужно вернуть в резерв.",
    "expire": "На сертификате нет такого остатка.",
    "correction": "Корректировка увела бы остаток сертификата ниже нуля.",
    "opening": "Входящий остаток больше номинала сертификата.",
}


def _existing(certificate_id: int, key: str) -> LedgerEntry | None:
    return db.session.execute(select(LedgerEntry).where(
        LedgerEntry.certificate_id == certificate_id, LedgerEntry.idempotency_key == key)).scalar_one_or_none()


def _same(entry: LedgerEntry, kind: str, amount: int, deltas: tuple[int, ...]) -> LedgerEntry:
    if (entry.kind, entry.amount, (entry.d_available, entry.d_reserved, entry.d_spent, entry.d_expired)) != \
            (kind, amount, deltas):
        raise IdempotencyConflictError("Этот ключ идемпотентности уже использован для другой операции.",
                                       field="idempotency_key")
    return entry


def _move(certificate_id: int, kind: str, amount: int, deltas: tuple[int, ...], key: str, *, actor: User | None = None,
          contract_id: int | None = None, month: date | None = None, reason: str | None = None) -> LedgerEntry:
    if not isinstance(amount, int) or isinstance(amount, bool) or amount <= 0:
        raise ValidationError("Сумма операции должна быть целым положительным числом копеек.", field="amount")
    if not key or len(key) > 128:
        raise ValidationError("Нужен ключ идемпотентности до 128 символов.", field="idempotency_key")
    d_available, d_reserved, d_spent, d_expired = deltas
    # the entry first, in one statement: the idempotency key's unique index decides a retry or a race
    # (a concurrent request with the key waits for it and then finds it taken): nothing inserted means
    # that one did the work
    entry = insert_unless_taken(
        LedgerEntry, ["certificate_id", "idempotency_key"], certificate_id=certificate_id, kind=kind, amount=amount,
        d_available=d_available, d_reserved=d_reserved, d_spent=d_spent, d_expired=d_expired, idempotency_key=key,
        actor_id=getattr(actor, "id", None), contract_id=contract_id, month=month, reason=reason,
        municipality_id=select(CertificateBalance.municipality_id)
        .where(CertificateBalance.certificate_id == certificate_id).scalar_subquery())
    if entry is None:
        existing = _existing(certificate_id, key)
        if existing is None:  # the key's holder was rolled back after all: cannot happen after the wait
            raise ConflictError("Операция с этим ключом идемпотентности не завершена: повторите запрос.",
                                field="idempotency_key")
        return _same(existing, kind, amount, deltas)
    balance = CertificateBalance.__table__.c
    moved = db.session.execute(
        update(CertificateBalance)
        .where(balance.certificate_id == certificate_id,
               balance.available + d_available >= 0, balance.reserved + d_reserved >= 0,
               balance.spent + d_spent >= 0, balance.expired + d_expired >= 0)
        .values(available=balance.available + d_available, reserved=balance.reserved + d_reserved,
                spent=balance.spent + d_spent, expired=balance.expired + d_expired)
        .execution_options(synchronize_session=False))
    if rowcount(moved) == 0:
        current = db.session.get(CertificateBalance, certificate_id, populate_existing=True)
        available = format_rub(current.available if current else 0)
        raise InsufficientBalanceError(REFUSALS[kind].format(available=available))
    _refresh(certificate_id)
    record_event(f"ledger.{kind}", entry, to_state=format_rub(amount), actor=actor,
                 details={"certificate_id": certificate_id, "contract_id": contract_id, "key": key})
    return entry


def _refresh(certificate_id: int) -> None:
    balance = db.session.identity_map.get(db.session.identity_key(CertificateBalance, certificate_id))
    if balance is not None:
        db.session.expire(balance)


def issue(certificate_id: int, nominal: int, key: str, *, municipality_id: int, actor: User | None = None) -> LedgerEntry:
    """The opening entry of a certificate: available = nominal, the money of `municipality_id`."""
    if not isinstance(nominal, int) or nominal <= 0:
        raise ValidationError("Номинал должен быть больше нуля.", field="nominal")
    existing = _existing(certificate_id, key)
    if existing is not None:
        return _same(existing, "issue", nominal, (nominal, 0, 0, 0))
    if db.session.get(CertificateBalance, certificate_id) is not None:
        raise ConflictError("Сертификат уже выдан: открывающая проводка есть.")
    db.session.add(CertificateBalance(certificate_id=certificate_id, nominal=nominal, available=nominal,
                                      reserved=0, spent=0, expired=0, municipality_id=municipality_id))
    entry = LedgerEntry(certificate_id=certificate_id, kind="issue", amount=nominal, d_available=nominal,
                        d_reserved=0, d_spent=0, d_expired=0, idempotency_key=key, actor_id=getattr(actor, "id", None),
                        municipality_id=municipality_id)
    db.session.add(entry)
    db.session.flush()
    record_event("ledger.issue", entry, to_state=format_rub(nominal), actor=actor,
                 details={"certificate_id": certificate_id})
    return entry


def reserve(certificate_id: int, amount: int, key: str, *, contract_id: int, actor: User | None = None) -> LedgerEntry:
    """Move `amount` from available to reserved. Raises InsufficientBalanceError and changes nothing."""
    return _move(certificate_id, "reserve", amount, tuple(d * amount for d in MOVES["reserve"]), key,
                 actor=actor, contract_id=contract_id)


def release(certificate_id: int, amount: int, key: str, *, contract_id: int, actor: User | None = None,
            reason: str | None = None) -> LedgerEntry:
    """Move `amount` from reserved back to available (a contract ended early)."""
    return _move(certificate_id, "release", amount, tuple(d * amount for d in MOVES["release"]), key,
                 actor=actor, contract_id=contract_id, reason=reason)


def spend(certificate_id: int, amount: int, key: str, *, contract_id: int, month: date, actor: User | None = None) -> LedgerEntry:
    """Move a delivered month's share from reserved to spent (списание)."""
    return _move(certificate_id, "spend", amount, tuple(d * amount for d in MOVES["spend"]), key,
                 actor=actor, contract_id=contract_id, month=month)


def advance(certificate_id: int, amount: int, key: str, *, contract_id: int, month: date, actor: User | None = None) -> LedgerEntry:
    """Pay a month's advance before the month is reported: reserved to spent."""
    return _move(certificate_id, "advance", amount, tuple(d * amount for d in MOVES["advance"]), key,
                 actor=actor, contract_id=contract_id, month=month)


def refund(certificate_id: int, amount: int, key: str, *, contract_id: int, month: date, actor: User | None = None,
           reason: str | None = None) -> LedgerEntry:
    """An advance larger than the month's final amount: the difference returns from spent to the reserve."""
    return _move(certificate_id, "refund", amount, tuple(d * amount for d in MOVES["refund"]), key,
                 actor=actor, contract_id=contract_id, month=month, reason=reason)


def open_spent(certificate_id: int, amount: int, key: str, *, actor: User | None = None,
               reason: str | None = None) -> LedgerEntry:
    """The opening entry of a certificate carried over from another system (certapp.imports): after its
    issue entry (the nominal), what it had already spent there moves from available to spent, so that
    available is the balance carried over and nominal = available + reserved + spent + expired holds."""
    return _move(certificate_id, "opening", amount, tuple(d * amount for d in MOVES["opening"]), key,
                 actor=actor, reason=reason)


def expire(certificate_id: int, key: str, actor: User | None = None) -> LedgerEntry | None:
    """What is still available at the period's end expires. None when nothing is left."""
    existing = _existing(certificate_id, key)
    if existing is not None:
        return existing
    balance = db.session.get(CertificateBalance, certificate_id, populate_existing=True)
    if balance is None or balance.available == 0:
        return None
    amount = balance.available
    return _move(certificate_id, "expire", amount, tuple(d * amount for d in MOVES["expire"]), key, actor=actor)


def correct(certificate_id: int, deltas: tuple[int, int, int, int], key: str, *, reason: str, actor: User,
            contract_id: int | None = None, month: date | None = None) -> LedgerEntry:
    """A correcting entry (the department's): moves between balances that sum to zero, with a reason."""
    if sum(deltas) != 0 or not any(deltas):
        raise ValidationError("Корректировка должна перемещать сумму между остатками, не меняя номинал.",
                              field="amount")
    reason = free_text(reason, "Укажите причину корректировки.")
    amount = sum(d for d in deltas if d > 0)
    return _move(certificate_id, "correction", amount, deltas, key, actor=actor, contract_id=contract_id,
                 month=month, reason=reason)


def balance_of(certificate_id: int) -> CertificateBalance | None:
    return db.session.get(CertificateBalance, certificate_id)


def entries_query(certificate_id: int) -> Select[LedgerEntry]:
    """The certificate's ledger entries, oldest first."""
    return select(LedgerEntry).where(LedgerEntry.certificate_id == certificate_id).order_by(LedgerEntry.id)


def entries_of(certificate_id: int) -> list[LedgerEntry]:
    return list(db.session.execute(entries_query(certificate_id)).scalars())


@dataclass
class StatementLine:
    """One movement of a certificate's statement and the balances right after it."""
    entry: LedgerEntry
    available: int
    reserved: int
    spent: int
    expired: int


def statement(certificate_id: int) -> list[StatementLine]:
    """The certificate's movements in order, each with the balances it left (the entries' deltas
    summed from the issue on: the same arithmetic as the invariant)."""
    lines, available, reserved, spent, expired = [], 0, 0, 0, 0
    for entry in entries_of(certificate_id):
        available, reserved = available + entry.d_available, reserved + entry.d_reserved
        spent, expired = spent + entry.d_spent, expired + entry.d_expired
        lines.append(StatementLine(entry, available, reserved, spent, expired))
    return lines


@dataclass
class Mismatch:
    certificate_id: int
    field: str
    cached: int
    from_entries: int


def check_invariant(certificate_id: int | None = None, *, after_id: int | None = None,
                    up_to_id: int | None = None) -> list[Mismatch]:
    """For every certificate (or one, or those with after_id < id <= up_to_id): nominal = available +
    reserved + spent + expired, and each balance equals the sum of its entries. Computed in the
    database, which returns only the mismatches (there must be none), so memory does not grow with the
    number of certificates; a range lets a job check the region part by part, with progress."""
    sums = (select(LedgerEntry.certificate_id,
                   func.sum(LedgerEntry.d_available).label("available"),
                   func.sum(LedgerEntry.d_reserved).label("reserved"),
                   func.sum(LedgerEntry.d_spent).label("spent"),
                   func.sum(LedgerEntry.d_expired).label("expired"),
                   func.sum(LedgerEntry.amount).filter(LedgerEntry.kind == "issue").label("nominal"))
            .group_by(LedgerEntry.certificate_id))
    if certificate_id is not None:
        sums = sums.where(LedgerEntry.certificate_id == certificate_id)
    if after_id is not None:
        sums = sums.where(LedgerEntry.certificate_id > after_id)
    if up_to_id is not None:
        sums = sums.where(LedgerEntry.certificate_id <= up_to_id)
    entry_sums = sums.subquery()
    fields = ("nominal", "available", "reserved", "spent", "expired")
    cached = {field: getattr(CertificateBalance, field) for field in fields}
    from_entries = {field: func.coalesce(entry_sums.c[field], 0) for field in fields}
    total = cached["available"] + cached["reserved"] + cached["spent"] + cached["expired"]
    stmt = (select(CertificateBalance.certificate_id, total.label("total"),
                   *(cached[f].label(f"cached_{f}") for f in fields), *(from_entries[f].label(f) for f in fields))
            .outerjoin(entry_sums, entry_sums.c.certificate_id == CertificateBalance.certificate_id)
            .where(or_(total != cached["nominal"], *(cached[f] != from_entries[f] for f in fields))))
    if certificate_id is not None:
        stmt = stmt.where(CertificateBalance.certificate_id == certificate_id)
    if after_id is not None:
        stmt = stmt.where(CertificateBalance.certificate_id > after_id)
    if up_to_id is not None:
        stmt = stmt.where(CertificateBalance.certificate_id <= up_to_id)
    mismatches = []
    for row in db.session.execute(stmt.execution_options(yield_per=1000)):
        if row.total != row.cached_nominal:
            mismatches.append(Mismatch(row.certificate_id, "nominal", row.cached_nominal, row.total))
        for field in fields:
            if getattr(row, f"cached_{field}") != getattr(row, field):
                mismatches.append(Mismatch(row.certificate_id, field, getattr(row, f"cached_{field}"),
                                           int(getattr(row, field))))
    return mismatches


def few_certificates() -> bool:
    """Whether the current scope holds few enough certificates (LIVE_REPORT_LIMIT) for a summary that
    reads all of them to be computed while a page waits; counts no further than the limit."""
    limit = int(current_app.config["LIVE_REPORT_LIMIT"])
    held = select(CertificateBalance.certificate_id).limit(limit + 1).subquery()
    return db.session.execute(select(func.count()).select_from(held)).scalar_one() <= limit
