"""a notification names the matter it asks to act on (subject) and says when and how that matter was
decided (settled_at, settled_text): a settled notification no longer counts as waiting

Revision ID: 0036_notification_settled
Revises: 0035_catalog_stemming
Create Date: 2026-12-04 19:20:00

Notifications written before have no subject: they are settled as they were (never). Nullable columns
added with ALTER TABLE on both databases (no table rebuild on SQLite).
"""
import sqlalchemy as sa
from alembic import op

from certapp.db import UTCDateTime

revision = '0036_notification_settled'
down_revision = '0035_catalog_stemming'
branch_labels = None
depends_on = None


def upgrade():
    op.add_column('notification', sa.Column('subject', sa.String(length=64), nullable=True))
    op.add_column('notification', sa.Column('settled_at', UTCDateTime(timezone=True), nullable=True))
    op.add_column('notification', sa.Column('settled_text', sa.String(length=255), nullable=True))
    op.create_index(op.f('ix_notification_subject'), 'notification', ['subject'], unique=False)


def downgrade():
    op.drop_index(op.f('ix_notification_subject'), table_name='notification')
    with op.batch_alter_table('notification') as batch_op:
        batch_op.drop_column('settled_text')
        batch_op.drop_column('settled_at')
        batch_op.drop_column('subject')
