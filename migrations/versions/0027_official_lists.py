"""an official's lists of requests and contracts, newest first: indexed by municipality and id, so that a
page does not walk the region's rows backwards to find one municipality's

Revision ID: 0027_official_lists
Revises: 0026_catalog_order
Create Date: 2026-11-30 18:00:00
"""
from alembic import op

revision = '0027_official_lists'
down_revision = '0026_catalog_order'
branch_labels = None
depends_on = None


def upgrade():
    op.create_index('ix_contract_municipality_newest', 'contract', ['municipality_id', 'id'])
    op.create_index('ix_enrollment_municipality_newest', 'enrollment', ['municipality_id', 'id'])


def downgrade():
    op.drop_index('ix_enrollment_municipality_newest', table_name='enrollment')
    op.drop_index('ix_contract_municipality_newest', table_name='contract')
