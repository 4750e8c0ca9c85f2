"""indicator rows: the facts of the indicators of Приложение № 3 that the department enters by hand
(a number or нет/есть), each with its source, who entered it and when

Revision ID: 0039_indicator_rows
Revises: 0038_publication
Create Date: 2026-12-04 22:30:00

The base and target values of every row stay in `indicator_value` (code, year, municipality): the new
rows' codes simply join the ones stored there, so nothing there is rewritten.
"""
import sqlalchemy as sa
from alembic import op

import certapp.db

revision = '0039_indicator_rows'
down_revision = '0038_publication'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'indicator_entry',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('code', sa.String(length=32), nullable=False),
        sa.Column('year', sa.Integer(), nullable=False),
        sa.Column('value', sa.Numeric(precision=12, scale=2), nullable=False),
        sa.Column('source', sa.String(length=500), nullable=False),
        sa.Column('source_date', sa.Date(), nullable=True),
        sa.Column('entered_by_id', sa.Integer(), nullable=False),
        sa.Column('entered_at', certapp.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column('municipality_id', sa.Integer(), nullable=False),
        sa.CheckConstraint('value >= 0', name=op.f('ck_indicator_entry_value_not_negative')),
        sa.ForeignKeyConstraint(['entered_by_id'], ['user.id'], name=op.f('fk_indicator_entry_entered_by_id_user')),
        sa.ForeignKeyConstraint(['municipality_id'], ['municipality.id'],
                                name=op.f('fk_indicator_entry_municipality_id_municipality')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_indicator_entry')),
        sa.UniqueConstraint('municipality_id', 'code', 'year', name='uq_indicator_entry_code_year'),
    )
    op.create_index(op.f('ix_indicator_entry_municipality_id'), 'indicator_entry', ['municipality_id'])


def downgrade():
    """Possible while nothing was entered: refused, before anything changes, when a fact is stored
    (the downgraded code could not show it)."""
    entered = op.get_bind().execute(sa.text("SELECT COUNT(*) FROM indicator_entry")).scalar_one()
    if entered:
        raise RuntimeError(f"Downgrade below 0039_indicator_rows refused: {entered} indicator facts entered by hand "
                           "(indicator_entry) would be lost; export them and delete them (DELETE FROM "
                           "indicator_entry) first")
    op.drop_index(op.f('ix_indicator_entry_municipality_id'), table_name='indicator_entry')
    op.drop_table('indicator_entry')
