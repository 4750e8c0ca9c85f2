"""the catalog's order: published programs by title, so that a page stops after its rows

Revision ID: 0026_catalog_order
Revises: 0025_region_reports
Create Date: 2026-11-30 17:00:00
"""
import sqlalchemy as sa
from alembic import op

revision = '0026_catalog_order'
down_revision = '0025_region_reports'
branch_labels = None
depends_on = None


def upgrade():
    op.create_index('ix_program_catalog_order', 'program', ['title', 'id'],
                    postgresql_where=sa.text("status = 'published'"), sqlite_where=sa.text("status = 'published'"))


def downgrade():
    op.drop_index('ix_program_catalog_order', table_name='program')
