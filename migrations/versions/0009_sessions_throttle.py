"""revocable sessions and the login throttle by address and account

Revision ID: 0009_sessions_throttle
Revises: 0008_staff_requests
Create Date: 2026-11-24 10:50:00

The per-account lock-out (failed_logins, locked_until) let anyone lock an account out at will;
it is replaced by login_throttle, keyed by address and account. session_version ends sessions.
"""
import sqlalchemy as sa
from alembic import op

import certapp.db

revision = '0009_sessions_throttle'
down_revision = '0008_staff_requests'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('login_throttle',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('key', sa.String(length=64), nullable=False),
    sa.Column('failures', sa.Integer(), nullable=False),
    sa.Column('last_failure_at', certapp.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('wait_until', certapp.db.UTCDateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_login_throttle')),
    sa.UniqueConstraint('key', name=op.f('uq_login_throttle_key'))
    )
    with op.batch_alter_table('user', schema=None) as batch_op:
        batch_op.add_column(sa.Column('session_version', sa.Integer(), server_default='0', nullable=False))
        batch_op.drop_column('locked_until')
        batch_op.drop_column('failed_logins')


def downgrade():
    with op.batch_alter_table('user', schema=None) as batch_op:
        batch_op.add_column(sa.Column('failed_logins', sa.Integer(), server_default='0', nullable=False))
        batch_op.add_column(sa.Column('locked_until', certapp.db.UTCDateTime(timezone=True), nullable=True))
        batch_op.drop_column('session_version')
    op.drop_table('login_throttle')
