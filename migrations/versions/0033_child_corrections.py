"""child corrections: a parent's request to correct a child's record after a certificate was issued,
decided by the department of the certificate's municipality

Revision ID: 0033_child_corrections
Revises: 0027_official_lists
Create Date: 2026-12-04 16:00:00
"""
import sqlalchemy as sa
from alembic import op

import certapp.db

revision = '0033_child_corrections'
down_revision = '0030_job_recovery'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'child_correction',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('child_id', sa.Integer(), nullable=False),
        sa.Column('status', sa.String(length=16), nullable=False),
        sa.Column('last_name', sa.String(length=100), nullable=False),
        sa.Column('first_name', sa.String(length=100), nullable=False),
        sa.Column('patronymic', sa.String(length=100), nullable=True),
        sa.Column('birth_date', sa.Date(), nullable=False),
        sa.Column('snils_encrypted', sa.Text(), nullable=True),
        sa.Column('snils_key', sa.String(length=64), nullable=True),
        sa.Column('snils_last2', sa.String(length=2), nullable=True),
        sa.Column('birth_certificate', sa.String(length=32), nullable=False),
        sa.Column('address', sa.String(length=500), nullable=False),
        sa.Column('lives_in_district', sa.Boolean(), nullable=False),
        sa.Column('note', sa.Text(), nullable=True),
        sa.Column('requested_by_id', sa.Integer(), nullable=False),
        sa.Column('created_at', certapp.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column('decided_at', certapp.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column('decided_by_id', sa.Integer(), nullable=True),
        sa.Column('decision_reason', sa.Text(), nullable=True),
        sa.Column('municipality_id', sa.Integer(), nullable=False),
        sa.CheckConstraint("status IN ('requested', 'confirmed', 'refused')", name=op.f('ck_child_correction_status')),
        sa.ForeignKeyConstraint(['child_id'], ['child.id'], name=op.f('fk_child_correction_child_id_child')),
        sa.ForeignKeyConstraint(['decided_by_id'], ['user.id'], name=op.f('fk_child_correction_decided_by_id_user')),
        sa.ForeignKeyConstraint(['municipality_id'], ['municipality.id'],
                                name=op.f('fk_child_correction_municipality_id_municipality')),
        sa.ForeignKeyConstraint(['requested_by_id'], ['user.id'], name=op.f('fk_child_correction_requested_by_id_user')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_child_correction')),
    )
    op.create_index(op.f('ix_child_correction_child_id'), 'child_correction', ['child_id'])
    op.create_index(op.f('ix_child_correction_status'), 'child_correction', ['status'])
    op.create_index(op.f('ix_child_correction_created_at'), 'child_correction', ['created_at'])
    op.create_index(op.f('ix_child_correction_municipality_id'), 'child_correction', ['municipality_id'])
    op.create_index('uq_child_correction_pending', 'child_correction', ['child_id'], unique=True,
                    sqlite_where=sa.text("status = 'requested'"), postgresql_where=sa.text("status = 'requested'"))


def downgrade():
    op.drop_index('uq_child_correction_pending', table_name='child_correction')
    op.drop_index(op.f('ix_child_correction_municipality_id'), table_name='child_correction')
    op.drop_index(op.f('ix_child_correction_created_at'), table_name='child_correction')
    op.drop_index(op.f('ix_child_correction_status'), table_name='child_correction')
    op.drop_index(op.f('ix_child_correction_child_id'), table_name='child_correction')
    op.drop_table('child_correction')
