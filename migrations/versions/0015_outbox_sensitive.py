"""outbox_message.sensitive: a letter holding a secret link has its body erased once sent

Revision ID: 0015_outbox_sensitive
Revises: 0014_deadlines
Create Date: 2026-11-24 17:00:00
"""
import sqlalchemy as sa
from alembic import op

revision = '0015_outbox_sensitive'
down_revision = '0014_deadlines'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('outbox_message', schema=None) as batch_op:
        batch_op.add_column(sa.Column('sensitive', sa.Boolean(), server_default='0', nullable=False))


def downgrade():
    with op.batch_alter_table('outbox_message', schema=None) as batch_op:
        batch_op.drop_column('sensitive')
