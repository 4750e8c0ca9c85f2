"""The audit log is one hash chain: a changed, removed or cut-off event is found and named."""
import pytest
from sqlalchemy import select, text
from sqlalchemy.exc import DBAPIError

from certapp.audit import chain
from certapp.audit.models import AuditEvent
from certapp.audit.services import record_event
from certapp.db import db
from certapp.uow import transaction
from tests.concurrency import run_concurrently


def _events(n):
    for i in range(n):
        with transaction():
            record_event("test.event", ("Test", i), details={"i": i, "name": "Журнал"})


def _verify(app):
    return app.test_cli_runner().invoke(args=["audit", "verify"])


def _tamper(sql, **params):
    """What a person with direct database access could do (on PostgreSQL the trigger has to be
    switched off first, which only the table's owner can do)."""
    if db.engine.dialect.name == "postgresql":
        db.session.execute(text("ALTER TABLE audit_event DISABLE TRIGGER audit_event_guard"))
    db.session.execute(text(sql), params)
    if db.engine.dialect.name == "postgresql":
        db.session.execute(text("ALTER TABLE audit_event ENABLE TRIGGER audit_event_guard"))
    db.session.commit()


def test_events_are_sealed_in_one_unbroken_chain(app):
    _events(5)
    rows = db.session.execute(select(AuditEvent).order_by(AuditEvent.seq)).scalars().all()
    assert [r.seq for r in rows] == [1, 2, 3, 4, 5]
    assert rows[0].prev_hash == chain.GENESIS
    assert all(b.prev_hash == a.hash for a, b in zip(rows, rows[1:]))
    result = _verify(app)
    assert result.exit_code == 0 and "проверено событий 5" in result.output


def test_a_changed_event_is_detected_and_named(app):
    _events(4)
    target = db.session.execute(select(AuditEvent).where(AuditEvent.seq == 3)).scalar_one()
    _tamper("UPDATE audit_event SET to_state = 'approved' WHERE id = :id", id=target.id)
    result = _verify(app)
    assert result.exit_code == 1
    assert f"событие № 3 (id {target.id}, test.event) изменено после записи" in result.output


def test_a_deleted_event_is_detected(app):
    _events(4)
    _tamper("DELETE FROM audit_event WHERE seq = 2")
    result = _verify(app)
    assert result.exit_code == 1 and "после события № 1 идёт № 3" in result.output


def test_a_cut_off_end_is_detected_by_the_anchor(app):
    _events(3)
    assert "событие № 3" in app.test_cli_runner().invoke(args=["audit", "anchor"]).output
    _tamper("DELETE FROM audit_event WHERE seq = 3")
    result = _verify(app)
    assert result.exit_code == 1 and "конец журнала удалён" in result.output


def test_an_event_slipped_in_around_the_system_is_detected(app):
    _events(2)
    _tamper("INSERT INTO audit_event (created_at, actor_label, action, object_type) "
            "VALUES (CURRENT_TIMESTAMP, 'x', 'user.login', 'User')")
    assert "в обход системы" in _verify(app).output


def test_a_rolled_back_event_leaves_no_trace_in_the_chain(app):
    _events(1)
    with pytest.raises(RuntimeError), transaction():
        record_event("test.rolled_back", ("Test", 1))
        raise RuntimeError("refused")
    _events(1)
    assert _verify(app).exit_code == 0
    assert db.session.execute(select(AuditEvent.seq).order_by(AuditEvent.seq)).scalars().all() == [1, 2]


@pytest.mark.commits  # threads, each with its own connection
def test_concurrent_transactions_keep_the_chain_linear(app):
    results = run_concurrently(app, 8, lambda i: record_event("test.parallel", ("Test", i)))
    assert not [r for r in results if isinstance(r, Exception)]
    assert _verify(app).exit_code == 0
    assert db.session.execute(select(AuditEvent.seq).order_by(AuditEvent.seq)).scalars().all() == list(range(1, 9))


def test_postgresql_refuses_to_change_or_delete_a_sealed_event(app):
    if db.engine.dialect.name != "postgresql":
        pytest.skip("the trigger exists on PostgreSQL; SQLite relies on the chain")
    _events(1)
    for sql in ("UPDATE audit_event SET action = 'x'", "DELETE FROM audit_event"):
        with pytest.raises(DBAPIError, match="append-only|sealed"):
            db.session.execute(text(sql))
        db.session.rollback()


def test_an_event_of_a_rolled_back_savepoint_is_not_sealed(app):
    with transaction():
        record_event("test.kept", ("Test", 1))
        with pytest.raises(RuntimeError), db.session.begin_nested():
            record_event("test.savepoint", ("Test", 2))
            raise RuntimeError("inner refusal")
    actions = db.session.execute(select(AuditEvent.action).order_by(AuditEvent.seq)).scalars().all()
    assert actions == ["test.kept"]
    result = _verify(app)
    assert result.exit_code == 0, result.output
