"""reconciliation runs: the reconciliation as last computed, which the page and the API answer at once;
an index of a municipality's balances by certificate

Revision ID: 0022_reconciliation_runs
Revises: 0021_documents
Create Date: 2026-11-30 12:30:00
"""
import sqlalchemy as sa
from alembic import op

import certapp.db

revision = '0022_reconciliation_runs'
down_revision = '0021_documents'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'reconciliation_run',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('computed_at', certapp.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column('duration_ms', sa.BigInteger(), nullable=False),
        sa.Column('created_by_id', sa.Integer(), nullable=True),
        sa.Column('result', sa.JSON(), nullable=False),
        sa.Column('municipality_id', sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(['created_by_id'], ['user.id'], name=op.f('fk_reconciliation_run_created_by_id_user')),
        sa.ForeignKeyConstraint(['municipality_id'], ['municipality.id'],
                                name=op.f('fk_reconciliation_run_municipality_id_municipality')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_reconciliation_run')),
    )
    op.create_index('ix_reconciliation_run_latest', 'reconciliation_run', ['municipality_id', 'computed_at'])
    op.create_index(op.f('ix_reconciliation_run_municipality_id'), 'reconciliation_run', ['municipality_id'])
    # a municipality's certificates by id: the reconciliation walks them part by part
    op.create_index('ix_ledger_balance_municipality_certificate', 'ledger_balance', ['municipality_id', 'certificate_id'])


def downgrade():
    op.drop_index('ix_ledger_balance_municipality_certificate', table_name='ledger_balance')
    op.drop_index(op.f('ix_reconciliation_run_municipality_id'), table_name='reconciliation_run')
    op.drop_index('ix_reconciliation_run_latest', table_name='reconciliation_run')
    op.drop_table('reconciliation_run')
