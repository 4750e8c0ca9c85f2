"""The audit log as one hash chain: sealing at commit, verification, anchors.

Events are added to the session as they happen. Just before their transaction commits, the session
takes the chain's lock (PostgreSQL: a transaction-level advisory lock held until the commit; SQLite:
every write transaction already holds the database's write lock), reads the head and gives each new
event the next `seq`, the head's hash as `prev_hash` and its own `hash`; the last flush then inserts
the events no earlier flush did, sealed, in one statement (and updates those an earlier one inserted
unsealed). The lock is held only from that moment to the commit (the unit's last writes and the
commit), so concurrent requests queue for milliseconds, not for their whole work. The unique `seq`
makes a fork impossible even if the lock were missing.

A database superuser can rewrite an event and rehash the chain after it (and the anchors kept in the
database): the chain then verifies. Against that, `flask audit anchor` also publishes the head outside
the database (a line appended to a file the administrator keeps, and a letter), and `flask audit
verify --anchor FILE` checks that each published head is still in the chain, at its number, with its hash.
"""
import hashlib
import json
import re
from dataclasses import dataclass
from datetime import UTC
from pathlib import Path
from typing import cast

from sqlalchemy import event, inspect, select, text
from sqlalchemy.orm import Session

from certapp.audit.models import AuditAnchor, AuditEvent

GENESIS = "0" * 64
#: pg_advisory_xact_lock key of the chain ("audit" in ASCII)
LOCK_KEY = 0x6175646974
#: the chain is one for the whole region: its own queries are never limited to a municipality
WHOLE_CHAIN = {"all_municipalities": True}
PENDING = "certapp.audit_unsealed"


def content_hash(prev_hash: str, ev: AuditEvent) -> str:
    """SHA-256 over the previous hash and the event's canonical content (every column but id)."""
    created = ev.created_at.astimezone(UTC).isoformat(timespec="microseconds")
    body = json.dumps([ev.seq, prev_hash, created, ev.actor_id, ev.actor_label, ev.ip, ev.action, ev.object_type,
                       ev.object_id, ev.from_state, ev.to_state, ev.details],
                      sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(body.encode()).hexdigest()


def track(session: Session, ev: AuditEvent) -> None:
    """Called by record_event: seal this event when the session commits."""
    session.info.setdefault(PENDING, []).append(ev)


def _head(session: Session) -> tuple[int, str]:
    row = session.execute(select(AuditEvent.seq, AuditEvent.hash).where(AuditEvent.seq.is_not(None))
                          .order_by(AuditEvent.seq.desc()).limit(1), execution_options=WHOLE_CHAIN).first()
    return (row.seq, row.hash) if row else (0, GENESIS)


@event.listens_for(Session, "before_commit")
def _seal(session: Session) -> None:
    if session.in_nested_transaction():
        # a savepoint being released (SQLAlchemy tells before_commit for those too): its events are
        # sealed with the rest at the real commit, so the chain's lock is taken only then
        return
    # an event recorded inside a savepoint that was rolled back is neither pending nor persistent any
    # more: skip it. Those not yet inserted are inserted sealed by the flush below (one INSERT for
    # them and the unit's last writes); those an earlier flush inserted are updated.
    pending = [ev for ev in session.info.pop(PENDING, ()) if inspect(ev).persistent or inspect(ev).pending]
    if not pending:
        return
    with session.no_autoflush:  # the events not inserted yet are inserted sealed, after the head is read
        if session.get_bind().dialect.name == "postgresql":
            session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": LOCK_KEY})
        seq, prev = _head(session)
    for ev in pending:  # in the order recorded (an earlier flush inserted them in that order too)
        seq += 1
        ev.seq, ev.prev_hash = seq, prev
        ev.hash = prev = content_hash(prev, ev)
    session.flush()


@event.listens_for(Session, "after_soft_rollback")
def _forget(session: Session, previous_transaction) -> None:
    # the whole transaction is gone; a savepoint's rollback keeps the outer events (those of the
    # savepoint are no longer persistent and _seal skips them)
    if previous_transaction.parent is None:
        session.info.pop(PENDING, None)


@dataclass
class ChainReport:
    checked: int
    head_seq: int
    problems: list[str]


def verify(session: Session, *, from_seq: int = 1, progress=None) -> ChainReport:
    """Walk the chain from `from_seq` (streamed, constant memory) and the anchors; name the first
    broken link. `progress(n)` is called every 10 000 events."""
    problems: list[str] = []
    expected_seq, prev = from_seq, GENESIS
    if from_seq > 1:
        found = session.execute(select(AuditEvent.hash).where(AuditEvent.seq == from_seq - 1),
                                execution_options=WHOLE_CHAIN).scalar_one_or_none()
        if found is None:
            return ChainReport(0, 0, [f"нет события № {from_seq - 1}, с которого начата проверка"])
        prev = found
    checked = 0
    result = session.execute(select(AuditEvent).where(AuditEvent.seq >= from_seq).order_by(AuditEvent.seq)
                             .execution_options(yield_per=2000, all_municipalities=True))
    try:
        for ev in result.scalars():
            checked += 1
            if progress and checked % 10_000 == 0:
                progress(checked)
            if ev.seq != expected_seq:
                problems.append(f"разрыв цепочки: после события № {expected_seq - 1} идёт № {ev.seq} "
                                f"(удалено {cast(int, ev.seq) - expected_seq})")  # selected by seq: never None
                break
            if ev.prev_hash != prev:
                problems.append(f"событие № {ev.seq} (id {ev.id}) не ссылается на предыдущее: цепочка подменена")
                break
            if ev.hash != content_hash(prev, ev):
                problems.append(f"событие № {ev.seq} (id {ev.id}, {ev.action}) изменено после записи")
                break
            prev, expected_seq = ev.hash, expected_seq + 1
    finally:
        result.close()  # a server-side cursor on PostgreSQL, also when the walk stops early
    session.expunge_all()
    head_seq = expected_seq - 1 if not problems else 0
    if not problems:
        unsealed = session.execute(select(AuditEvent.id).where(AuditEvent.seq.is_(None)).limit(1),
                                   execution_options=WHOLE_CHAIN).scalar()
        if unsealed is not None:
            problems.append(f"событие id {unsealed} записано в журнал в обход системы (не включено в цепочку)")
        for anchor in session.execute(select(AuditAnchor).order_by(AuditAnchor.seq)).scalars():
            actual = session.execute(select(AuditEvent.hash).where(AuditEvent.seq == anchor.seq),
                                     execution_options=WHOLE_CHAIN).scalar_one_or_none()
            if actual is None:
                problems.append(f"событий после № {head_seq} нет, а отметка от {anchor.created_at:%d.%m.%Y} "
                                f"фиксирует № {anchor.seq}: конец журнала удалён")
                break
            if actual != anchor.hash:
                problems.append(f"событие № {anchor.seq} не совпадает с отметкой от {anchor.created_at:%d.%m.%Y}")
                break
    return ChainReport(checked, head_seq, problems)


def anchor(session: Session) -> AuditAnchor | None:
    """Record the chain's head as an anchor (None when the log is empty)."""
    seq, head = _head(session)
    if seq == 0:
        return None
    row = AuditAnchor(seq=seq, hash=head)
    session.add(row)
    session.flush()
    return row


# --- anchors published outside the database ----------------------------------------------------------

#: a published anchor: one line of the administrator's file (and of the letter)
ANCHOR_LINE = "certapp-audit-anchor seq={seq} hash={hash} at={at}"
_ANCHOR_RE = re.compile(r"certapp-audit-anchor seq=(?P<seq>\d+) hash=(?P<hash>[0-9a-f]{64}) at=(?P<at>\S+)")


def anchor_line(row: AuditAnchor) -> str:
    return ANCHOR_LINE.format(seq=row.seq, hash=row.hash, at=row.created_at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"))


def publish_anchor(row: AuditAnchor, path: Path) -> str:
    """Append the anchor's line to the administrator's file (created if missing); returns the line."""
    line = anchor_line(row)
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a", encoding="utf-8") as out:
        out.write(line + "\n")
    return line


@dataclass
class PublishedAnchor:
    seq: int
    hash: str
    at: str
    line_no: int


def read_anchors(path: Path) -> tuple[list[PublishedAnchor], list[str]]:
    """The anchors of a published file (blank lines and # comments skipped), and its unreadable lines."""
    anchors, problems = [], []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        found = _ANCHOR_RE.search(line)
        if found is None:
            problems.append(f"строка {number} файла отметок не читается: «{line[:80]}»")
        else:
            anchors.append(PublishedAnchor(int(found["seq"]), found["hash"], found["at"], number))
    return anchors, problems


def check_published(session: Session, anchors: list[PublishedAnchor]) -> list[str]:
    """Each published anchor's event must still be in the chain at its number with the same hash: a chain
    rewritten and rehashed inside the database (which then verifies) differs from what was published."""
    problems = []
    for published in anchors:
        actual = session.execute(select(AuditEvent.hash).where(AuditEvent.seq == published.seq),
                                 execution_options=WHOLE_CHAIN).scalar_one_or_none()
        if actual is None:
            problems.append(f"события № {published.seq}, опубликованного в отметке от {published.at} "
                            f"(строка {published.line_no}), в журнале нет: конец журнала удалён")
        elif actual != published.hash:
            problems.append(f"событие № {published.seq} не совпадает с опубликованной отметкой от {published.at} "
                            f"(строка {published.line_no}): журнал переписан и пересчитан после неё")
    return problems
