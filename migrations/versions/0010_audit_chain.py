"""tamper-evident audit log: the hash chain, anchors, and (PostgreSQL) a trigger against edits

Revision ID: 0010_audit_chain
Revises: 0009_sessions_throttle
Create Date: 2026-11-24 11:00:00

Existing events are sealed into the chain in the order of their ids.
"""
import hashlib
import json
from datetime import UTC

import sqlalchemy as sa
from alembic import op

import certapp.db

revision = '0010_audit_chain'
down_revision = '0009_sessions_throttle'
branch_labels = None
depends_on = None

GENESIS = "0" * 64

#: PostgreSQL: a sealed event cannot be changed and no event can be deleted, whatever the role
PG_GUARD = """
CREATE FUNCTION audit_event_guard() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP = 'DELETE' THEN
    RAISE EXCEPTION 'audit_event is append-only: delete refused';
  END IF;
  IF OLD.hash IS NOT NULL THEN
    RAISE EXCEPTION 'audit_event % is sealed: update refused', OLD.id;
  END IF;
  RETURN NEW;
END $$;
CREATE TRIGGER audit_event_guard BEFORE UPDATE OR DELETE ON audit_event
  FOR EACH ROW EXECUTE FUNCTION audit_event_guard();
"""


def _hash(seq, prev, row):
    """certapp.audit.chain.content_hash as of this revision (frozen here)."""
    created = row.created_at.astimezone(UTC).isoformat(timespec="microseconds")
    body = json.dumps([seq, prev, created, row.actor_id, row.actor_label, row.ip, row.action, row.object_type,
                       row.object_id, row.from_state, row.to_state, row.details],
                      sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(body.encode()).hexdigest()


def upgrade():
    op.create_table('audit_anchor',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('created_at', certapp.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('seq', sa.BigInteger(), nullable=False),
    sa.Column('hash', sa.String(length=64), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_audit_anchor'))
    )
    with op.batch_alter_table('audit_event', schema=None) as batch_op:
        batch_op.add_column(sa.Column('seq', sa.BigInteger(), nullable=True))
        batch_op.add_column(sa.Column('prev_hash', sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column('hash', sa.String(length=64), nullable=True))
        batch_op.create_unique_constraint(batch_op.f('uq_audit_event_seq'), ['seq'])

    # seal the events already recorded, in id order, streaming
    conn = op.get_bind()
    events = sa.table('audit_event', *(sa.column(c) for c in (
        'id', 'created_at', 'actor_id', 'actor_label', 'ip', 'action', 'object_type', 'object_id', 'from_state',
        'to_state', 'details', 'seq', 'prev_hash', 'hash')))
    events.c.created_at.type = certapp.db.UTCDateTime(timezone=True)
    events.c.details.type = sa.JSON()
    seq, prev, last_id = 0, GENESIS, 0
    while True:
        batch = conn.execute(sa.select(events).where(events.c.id > last_id).order_by(events.c.id).limit(1000)).all()
        if not batch:
            break
        for row in batch:
            seq += 1
            digest = _hash(seq, prev, row)
            conn.execute(events.update().where(events.c.id == row.id).values(seq=seq, prev_hash=prev, hash=digest))
            prev, last_id = digest, row.id
    if conn.dialect.name == "postgresql":
        op.execute(PG_GUARD)


def downgrade():
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER audit_event_guard ON audit_event")
        op.execute("DROP FUNCTION audit_event_guard()")
    with op.batch_alter_table('audit_event', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('uq_audit_event_seq'), type_='unique')
        batch_op.drop_column('hash')
        batch_op.drop_column('prev_hash')
        batch_op.drop_column('seq')
    op.drop_table('audit_anchor')
