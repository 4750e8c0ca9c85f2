"""indexes for the department's counters: certificates by issue time, contracts by signing time

Revision ID: 0012_dashboard_indexes
Revises: 0011_child_anonymised
Create Date: 2026-11-24 15:40:00
"""
from alembic import op

revision = '0012_dashboard_indexes'
down_revision = '0011_child_anonymised'
branch_labels = None
depends_on = None


def upgrade():
    op.create_index(op.f('ix_certificate_issued_at'), 'certificate', ['issued_at'], unique=False)
    op.create_index(op.f('ix_contract_signed_at'), 'contract', ['signed_at'], unique=False)


def downgrade():
    op.drop_index(op.f('ix_contract_signed_at'), table_name='contract')
    op.drop_index(op.f('ix_certificate_issued_at'), table_name='certificate')
