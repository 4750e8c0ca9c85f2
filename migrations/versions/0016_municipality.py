"""municipality: the district becomes a municipality with its authorised body, order and own
exclusions; officials belong to one

Revision ID: 0016_municipality
Revises: 0015_outbox_sensitive
Create Date: 2026-11-24 17:20:00

The district's row is copied (same id) into the new table; Karatuz's authorised body and order
458-п of 16.05.2023 are filled in. Existing department and bookkeeping officials become Karatuz's.
"""
from datetime import date

import sqlalchemy as sa
from alembic import op

revision = '0016_municipality'
down_revision = '0015_outbox_sensitive'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('municipality',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=255), nullable=False),
    sa.Column('oktmo', sa.String(length=11), nullable=False),
    sa.Column('number_code', sa.String(length=4), nullable=False),
    sa.Column('authority', sa.String(length=500), nullable=True),
    sa.Column('order_number', sa.String(length=64), nullable=True),
    sa.Column('order_date', sa.Date(), nullable=True),
    sa.Column('extra_exclusions', sa.JSON(), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_municipality')),
    sa.UniqueConstraint('name', name=op.f('uq_municipality_name')),
    sa.UniqueConstraint('oktmo', name=op.f('uq_municipality_oktmo'))
    )
    op.execute("INSERT INTO municipality (id, name, oktmo, number_code) SELECT id, name, oktmo, number_code FROM district")
    op.get_bind().execute(sa.text(
        "UPDATE municipality SET authority = :authority, order_number = '458-п', order_date = :order_date "
        "WHERE oktmo = '04624000'"),
        {"authority": "Управление образования администрации Каратузского района", "order_date": date(2023, 5, 16)})
    if op.get_bind().dialect.name == "postgresql":
        op.execute("SELECT setval(pg_get_serial_sequence('municipality', 'id'), "
                   "COALESCE((SELECT MAX(id) FROM municipality), 0) + 1, false)")
    op.drop_table('district')
    with op.batch_alter_table('user', schema=None) as batch_op:
        batch_op.add_column(sa.Column('municipality_id', sa.Integer(), nullable=True))
        batch_op.create_index(batch_op.f('ix_user_municipality_id'), ['municipality_id'], unique=False)
        batch_op.create_foreign_key(batch_op.f('fk_user_municipality_id_municipality'), 'municipality',
                                    ['municipality_id'], ['id'])
    op.execute("UPDATE \"user\" SET municipality_id = (SELECT MIN(id) FROM municipality) "
               "WHERE role IN ('department', 'bookkeeping')")


def downgrade():
    with op.batch_alter_table('user', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_user_municipality_id_municipality'), type_='foreignkey')
        batch_op.drop_index(batch_op.f('ix_user_municipality_id'))
        batch_op.drop_column('municipality_id')
    op.create_table('district',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=255), nullable=False),
    sa.Column('oktmo', sa.String(length=11), nullable=False),
    sa.Column('number_code', sa.String(length=4), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_district')),
    sa.UniqueConstraint('name', name=op.f('uq_district_name')),
    sa.UniqueConstraint('oktmo', name=op.f('uq_district_oktmo'))
    )
    op.execute("INSERT INTO district (id, name, oktmo, number_code) SELECT id, name, oktmo, number_code FROM municipality")
    op.drop_table('municipality')
