"""notice of termination: a contract ends at the end of the month in which notice was given;
prolongation: a contract continued in the next period names the one it continues

Revision ID: 0019_contract_notice
Revises: 0018_certificate_categories
Create Date: 2026-11-30 10:30:00

Contracts terminated before keep their data (no notice date, no grounds).
"""
import sqlalchemy as sa
from alembic import op

revision = '0019_contract_notice'
down_revision = '0018_certificate_categories'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('contract') as batch:
        batch.add_column(sa.Column('notice_given_on', sa.Date(), nullable=True))
        batch.add_column(sa.Column('termination_grounds', sa.String(length=32), nullable=True))
        batch.create_index(batch.f('ix_contract_terminated_from'), ['terminated_from'], unique=False)
        batch.add_column(sa.Column('prolonged_from_id', sa.Integer(), nullable=True))
        batch.create_unique_constraint(batch.f('uq_contract_prolonged_from_id'), ['prolonged_from_id'])
        batch.create_foreign_key(batch.f('fk_contract_prolonged_from_id_contract'), 'contract',
                                 ['prolonged_from_id'], ['id'])


def downgrade():
    with op.batch_alter_table('contract') as batch:
        batch.drop_constraint(batch.f('fk_contract_prolonged_from_id_contract'), type_='foreignkey')
        batch.drop_constraint(batch.f('uq_contract_prolonged_from_id'), type_='unique')
        batch.drop_column('prolonged_from_id')
        batch.drop_index(batch.f('ix_contract_terminated_from'))
        batch.drop_column('termination_grounds')
        batch.drop_column('notice_given_on')
