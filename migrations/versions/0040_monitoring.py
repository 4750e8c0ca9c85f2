"""monitoring: the municipal support centre's role (moc), its checklist of the service standard and its
visits to providers with each item's result (plan 6.1–6.2 of 458-п; Приложение 3, rows 4.4–4.5)

Revision ID: 0040_monitoring
Revises: 0039_indicator_rows
Create Date: 2026-12-04 22:10:00

A downgrade refuses while a support centre's account exists (its role would break the CHECK): remove those
accounts or give them another role first. The checklist and the visits go with the tables.
"""
import sqlalchemy as sa
from alembic import op

import certapp.db

revision = '0040_monitoring'
down_revision = '0039_indicator_rows'
branch_labels = None
depends_on = None

#: frozen here as in certapp.accounts.models.ROLES
ROLES_BEFORE = ('parent', 'provider', 'department', 'bookkeeping', 'region')
ROLES_AFTER = (*ROLES_BEFORE, 'moc')


def _roles_check(roles) -> str:
    return "role IN (" + ", ".join(f"'{role}'" for role in roles) + ")"


def upgrade():
    with op.batch_alter_table('user', schema=None) as batch:
        batch.drop_constraint(op.f('ck_user_role'), type_='check')
        batch.create_check_constraint('role', _roles_check(ROLES_AFTER))

    op.create_table(
        'checklist_item',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('title', sa.String(length=500), nullable=False),
        sa.Column('weight', sa.Integer(), nullable=False),
        sa.Column('created_at', certapp.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column('created_by_id', sa.Integer(), nullable=False),
        sa.Column('retired_at', certapp.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column('retired_by_id', sa.Integer(), nullable=True),
        sa.Column('municipality_id', sa.Integer(), nullable=False),
        sa.CheckConstraint('weight >= 1 AND weight <= 100', name=op.f('ck_checklist_item_weight_range')),
        sa.ForeignKeyConstraint(['created_by_id'], ['user.id'], name=op.f('fk_checklist_item_created_by_id_user')),
        sa.ForeignKeyConstraint(['municipality_id'], ['municipality.id'],
                                name=op.f('fk_checklist_item_municipality_id_municipality')),
        sa.ForeignKeyConstraint(['retired_by_id'], ['user.id'], name=op.f('fk_checklist_item_retired_by_id_user')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_checklist_item')),
    )
    op.create_index(op.f('ix_checklist_item_municipality_id'), 'checklist_item', ['municipality_id'], unique=False)

    op.create_table(
        'monitoring_visit',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('provider_id', sa.Integer(), nullable=False),
        sa.Column('visited_on', sa.Date(), nullable=False),
        sa.Column('score', sa.Numeric(precision=5, scale=2), nullable=False),
        sa.Column('comment', sa.Text(), nullable=True),
        sa.Column('created_at', certapp.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column('created_by_id', sa.Integer(), nullable=False),
        sa.Column('municipality_id', sa.Integer(), nullable=False),
        sa.CheckConstraint('score >= 0 AND score <= 100', name=op.f('ck_monitoring_visit_score_range')),
        sa.ForeignKeyConstraint(['created_by_id'], ['user.id'], name=op.f('fk_monitoring_visit_created_by_id_user')),
        sa.ForeignKeyConstraint(['municipality_id'], ['municipality.id'],
                                name=op.f('fk_monitoring_visit_municipality_id_municipality')),
        sa.ForeignKeyConstraint(['provider_id'], ['provider.id'], name=op.f('fk_monitoring_visit_provider_id_provider')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_monitoring_visit')),
    )
    op.create_index(op.f('ix_monitoring_visit_municipality_id'), 'monitoring_visit', ['municipality_id'], unique=False)
    op.create_index(op.f('ix_monitoring_visit_provider_id'), 'monitoring_visit', ['provider_id'], unique=False)
    op.create_index(op.f('ix_monitoring_visit_visited_on'), 'monitoring_visit', ['visited_on'], unique=False)

    op.create_table(
        'visit_result',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('visit_id', sa.Integer(), nullable=False),
        sa.Column('item_id', sa.Integer(), nullable=False),
        sa.Column('result', sa.String(length=16), nullable=False),
        sa.Column('weight', sa.Integer(), nullable=False),
        sa.Column('comment', sa.Text(), nullable=True),
        sa.CheckConstraint("result IN ('met', 'partial', 'not_met')", name=op.f('ck_visit_result_result')),
        sa.CheckConstraint('weight >= 1 AND weight <= 100', name=op.f('ck_visit_result_weight_range')),
        sa.ForeignKeyConstraint(['item_id'], ['checklist_item.id'], name=op.f('fk_visit_result_item_id_checklist_item')),
        sa.ForeignKeyConstraint(['visit_id'], ['monitoring_visit.id'],
                                name=op.f('fk_visit_result_visit_id_monitoring_visit')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_visit_result')),
        sa.UniqueConstraint('visit_id', 'item_id', name='uq_visit_result_item'),
    )
    op.create_index(op.f('ix_visit_result_item_id'), 'visit_result', ['item_id'], unique=False)
    op.create_index(op.f('ix_visit_result_visit_id'), 'visit_result', ['visit_id'], unique=False)


def downgrade():
    accounts = op.get_bind().execute(sa.text("SELECT count(*) FROM \"user\" WHERE role = 'moc'")).scalar_one()
    if accounts:
        raise RuntimeError(f"Downgrade below 0040_monitoring refused: {accounts} support centre (moc) accounts "
                           "exist; remove them or give them another role first (their role would break the CHECK).")
    op.drop_index(op.f('ix_visit_result_visit_id'), table_name='visit_result')
    op.drop_index(op.f('ix_visit_result_item_id'), table_name='visit_result')
    op.drop_table('visit_result')
    op.drop_index(op.f('ix_monitoring_visit_visited_on'), table_name='monitoring_visit')
    op.drop_index(op.f('ix_monitoring_visit_provider_id'), table_name='monitoring_visit')
    op.drop_index(op.f('ix_monitoring_visit_municipality_id'), table_name='monitoring_visit')
    op.drop_table('monitoring_visit')
    op.drop_index(op.f('ix_checklist_item_municipality_id'), table_name='checklist_item')
    op.drop_table('checklist_item')
    with op.batch_alter_table('user', schema=None) as batch:
        batch.drop_constraint(op.f('ck_user_role'), type_='check')
        batch.create_check_constraint('role', _roles_check(ROLES_BEFORE))
