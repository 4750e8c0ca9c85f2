"""region reports: the regional report of a year as last computed, which the page and the API answer at once

Revision ID: 0025_region_reports
Revises: 0024_group_seats
Create Date: 2026-11-30 16:00:00
"""
import sqlalchemy as sa
from alembic import op

import certapp.db

revision = '0025_region_reports'
down_revision = '0024_group_seats'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'region_report',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('year', sa.Integer(), nullable=False),
        sa.Column('computed_at', certapp.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column('duration_ms', sa.BigInteger(), nullable=False),
        sa.Column('created_by_id', sa.Integer(), nullable=True),
        sa.Column('result', sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(['created_by_id'], ['user.id'], name=op.f('fk_region_report_created_by_id_user')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_region_report')),
    )
    op.create_index('ix_region_report_latest', 'region_report', ['year', 'computed_at'])


def downgrade():
    op.drop_index('ix_region_report_latest', table_name='region_report')
    op.drop_table('region_report')
