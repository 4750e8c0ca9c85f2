"""The anchor published outside the database: a chain rewritten and rehashed by someone with direct
database access passes the plain check, but not the check against the published anchors."""
from pathlib import Path

from sqlalchemy import select, text

from certapp.audit import chain
from certapp.audit.models import AuditEvent
from certapp.audit.services import record_event
from certapp.db import db
from certapp.mail.models import OutboxMessage
from certapp.uow import transaction
from tests.factories import make_user


def _events(n, start=0):
    for i in range(start, start + n):
        with transaction():
            record_event("test.event", ("Test", i), details={"i": i})


def _cli(app, *args):
    return app.test_cli_runner().invoke(args=["audit", *args])


def _rewrite_and_rehash(seq: int) -> None:
    """A superuser changes event `seq` and recomputes every hash after it (and the anchors in the database)."""
    guarded = db.engine.dialect.name == "postgresql"
    if guarded:
        db.session.execute(text("ALTER TABLE audit_event DISABLE TRIGGER audit_event_guard"))
    db.session.execute(text("UPDATE audit_event SET to_state = 'approved' WHERE seq = :seq"), {"seq": seq})
    db.session.expire_all()
    events = db.session.execute(select(AuditEvent).order_by(AuditEvent.seq)).scalars().all()
    prev = chain.GENESIS
    for event in events:
        new_hash = chain.content_hash(prev, event)
        db.session.execute(text("UPDATE audit_event SET prev_hash = :prev, hash = :hash WHERE id = :id"),
                           {"prev": prev, "hash": new_hash, "id": event.id})
        db.session.execute(text("UPDATE audit_anchor SET hash = :hash WHERE seq = :seq"),
                           {"hash": new_hash, "seq": event.seq})
        prev = new_hash
    if guarded:
        db.session.execute(text("ALTER TABLE audit_event ENABLE TRIGGER audit_event_guard"))
    db.session.commit()


def test_a_rehashed_chain_passes_the_plain_check_but_not_the_published_anchor(app, tmp_path):
    anchors = tmp_path / "anchors.txt"
    _events(3)
    result = _cli(app, "anchor", "--file", str(anchors))
    assert result.exit_code == 0 and "событие № 3" in result.output
    _events(2, start=3)
    assert _cli(app, "anchor", "--file", str(anchors)).exit_code == 0
    lines = anchors.read_text().splitlines()
    assert [line.split()[1] for line in lines] == ["seq=3", "seq=5"]
    assert _cli(app, "verify", "--anchor", str(anchors)).exit_code == 0
    _rewrite_and_rehash(2)
    plain = _cli(app, "verify")
    assert plain.exit_code == 0 and "Цепочка цела" in plain.output   # the database alone cannot tell
    checked = _cli(app, "verify", "--anchor", str(anchors))
    assert checked.exit_code == 1
    assert "НАРУШЕНИЕ: событие № 3 не совпадает с опубликованной отметкой" in checked.output
    assert "журнал переписан и пересчитан после неё" in checked.output and "событие № 5" in checked.output


def test_an_intact_chain_matches_its_published_anchors(app, tmp_path):
    anchors = tmp_path / "anchors.txt"
    _events(2)
    _cli(app, "anchor", "--file", str(anchors))
    result = _cli(app, "verify", "--anchor", str(anchors))
    assert result.exit_code == 0 and "Опубликованные отметки совпадают: 1." in result.output


def test_a_cut_off_end_or_a_missing_or_empty_file_fails_with_a_clear_message(app, tmp_path):
    anchors = tmp_path / "anchors.txt"
    _events(3)
    _cli(app, "anchor", "--file", str(anchors))
    missing = _cli(app, "verify", "--anchor", str(tmp_path / "nowhere.txt"))
    assert missing.exit_code == 1 and "файла отметок" in missing.output and "нет" in missing.output
    (tmp_path / "empty.txt").write_text("# nothing yet\n")
    empty = _cli(app, "verify", "--anchor", str(tmp_path / "empty.txt"))
    assert empty.exit_code == 1 and "нет ни одной отметки" in empty.output
    (tmp_path / "bad.txt").write_text("certapp-audit-anchor seq=3 hash=xyz\n")
    assert "строка 1 файла отметок не читается" in _cli(app, "verify", "--anchor", str(tmp_path / "bad.txt")).output
    # the last event removed, and its anchor in the database too: only the published one remembers it
    if db.engine.dialect.name == "postgresql":
        db.session.execute(text("ALTER TABLE audit_event DISABLE TRIGGER audit_event_guard"))
    db.session.execute(text("DELETE FROM audit_event WHERE seq = 3"))
    db.session.execute(text("DELETE FROM audit_anchor"))
    if db.engine.dialect.name == "postgresql":
        db.session.execute(text("ALTER TABLE audit_event ENABLE TRIGGER audit_event_guard"))
    db.session.commit()
    assert _cli(app, "verify").exit_code == 0
    cut = _cli(app, "verify", "--anchor", str(anchors))
    assert cut.exit_code == 1 and "события № 3, опубликованного в отметке" in cut.output


def test_the_anchor_goes_to_the_department_by_letter_and_to_the_default_file(app):
    official = make_user("department")
    db.session.commit()
    _events(1)
    default = Path(app.instance_path) / "audit-anchors.txt"
    before = default.read_text() if default.exists() else ""
    result = _cli(app, "anchor", "--mail")
    assert result.exit_code == 0
    line = default.read_text()[len(before):].strip()
    assert line.startswith("certapp-audit-anchor seq=")
    letter = db.session.execute(select(OutboxMessage).where(OutboxMessage.to_address == official.email)).scalar_one()
    assert line in letter.text_body
