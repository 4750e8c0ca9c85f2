"""data versions of the public pages: one random stamp per scope of public data (catalog, registry,
open data), set anew by every commit that writes one of the scope's tables (certapp.pagecache)

Revision ID: 0043_data_version
Revises: 0042_imports
Create Date: 2026-12-04 22:30:00
"""
import sqlalchemy as sa
from alembic import op

revision = '0043_data_version'
down_revision = '0042_imports'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'data_version',
        sa.Column('name', sa.String(length=32), nullable=False),
        sa.Column('stamp', sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint('name', name=op.f('pk_data_version')),
    )
    # no rows: a scope never written reads 0 (certapp.pagecache.versions.stamps); the first write inserts it


def downgrade():
    op.drop_table('data_version')
