"""child.anonymised_at: personal data removed after the retention period

Revision ID: 0011_child_anonymised
Revises: 0010_audit_chain
Create Date: 2026-11-24 11:10:00
"""
import sqlalchemy as sa
from alembic import op

import certapp.db

revision = '0011_child_anonymised'
down_revision = '0010_audit_chain'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('child', schema=None) as batch_op:
        batch_op.add_column(sa.Column('anonymised_at', certapp.db.UTCDateTime(timezone=True), nullable=True))


def downgrade():
    with op.batch_alter_table('child', schema=None) as batch_op:
        batch_op.drop_column('anonymised_at')
