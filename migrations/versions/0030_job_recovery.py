"""jobs whose worker died: a heartbeat, the task and arguments to hand them out again, a checkpoint and
the run number; letters: the Message-ID chosen when the letter is written (filled for existing ones)

Revision ID: 0030_job_recovery
Revises: 0027_official_lists
Create Date: 2026-12-04 16:00:00
"""
import sqlalchemy as sa
from alembic import op

from certapp.db import UTCDateTime

revision = '0030_job_recovery'
down_revision = '0028_normalised_identifiers'
branch_labels = None
depends_on = None


def upgrade():
    op.add_column('job', sa.Column('heartbeat_at', UTCDateTime(timezone=True), nullable=True))
    op.add_column('job', sa.Column('task', sa.String(length=200), nullable=True))
    op.add_column('job', sa.Column('arguments', sa.JSON(), nullable=True))
    op.add_column('job', sa.Column('checkpoint', sa.JSON(), nullable=True))
    op.add_column('job', sa.Column('attempt', sa.Integer(), server_default='0', nullable=False))
    op.add_column('outbox_message', sa.Column('message_id', sa.String(length=255), nullable=True))
    # the letters already written: one id each, from the row's id (a resend of those is then recognised too)
    op.execute("UPDATE outbox_message SET message_id = '<certapp-outbox-' || CAST(id AS VARCHAR(20)) || '@certapp>'")
    with op.batch_alter_table('outbox_message') as batch_op:
        batch_op.alter_column('message_id', existing_type=sa.String(length=255), nullable=False)
        batch_op.create_unique_constraint('uq_outbox_message_message_id', ['message_id'])


def downgrade():
    with op.batch_alter_table('outbox_message') as batch_op:
        batch_op.drop_constraint('uq_outbox_message_message_id', type_='unique')
        batch_op.drop_column('message_id')
    with op.batch_alter_table('job') as batch_op:
        batch_op.drop_column('attempt')
        batch_op.drop_column('checkpoint')
        batch_op.drop_column('arguments')
        batch_op.drop_column('task')
        batch_op.drop_column('heartbeat_at')
