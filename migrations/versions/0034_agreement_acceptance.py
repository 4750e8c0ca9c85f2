"""the agreement concluded by both parties: its content (volume, money terms), its versions as
signed, and the provider's signature

Revision ID: 0034_agreement_acceptance
Revises: 0027_official_lists
Create Date: 2026-12-04 16:20:00

Agreements concluded before this revision were concluded when the system did not yet ask the provider
to sign: they are taken as signed by both (their current version, on their current term), so that
registers and invoices go on being paid under them; they have no version rows (their signature is over
the content as it was then, which /documents/verify still checks).
"""
import sqlalchemy as sa
from alembic import op

import certapp.db

revision = '0034_agreement_acceptance'
down_revision = '0033_child_corrections'
branch_labels = None
depends_on = None

COLUMNS = (('volume_children', sa.Integer()), ('amount_limit', sa.BigInteger()), ('advance_percent', sa.Integer()),
           ('payment_day', sa.Integer()), ('provider_signed_version', sa.Integer()), ('in_force_from', sa.Date()),
           ('in_force_to', sa.Date()))


def upgrade():
    for name, type_ in COLUMNS:
        op.add_column('agreement', sa.Column(name, type_, nullable=True))
    op.execute("UPDATE agreement SET provider_signed_version = version, in_force_from = valid_from, "
               "in_force_to = valid_to WHERE status IN ('concluded', 'ended')")
    op.create_table(
        'agreement_version',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('agreement_id', sa.Integer(), nullable=False),
        sa.Column('version', sa.Integer(), nullable=False),
        sa.Column('content', sa.JSON(), nullable=False),
        sa.Column('valid_from', sa.Date(), nullable=False),
        sa.Column('valid_to', sa.Date(), nullable=True),
        sa.Column('signature', sa.String(length=200), nullable=False),
        sa.Column('signed_at', certapp.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column('signed_by_id', sa.Integer(), nullable=True),
        sa.Column('provider_signature', sa.String(length=200), nullable=True),
        sa.Column('provider_signed_at', certapp.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column('provider_signed_by_id', sa.Integer(), nullable=True),
        sa.Column('municipality_id', sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(['agreement_id'], ['agreement.id'],
                                name=op.f('fk_agreement_version_agreement_id_agreement')),
        sa.ForeignKeyConstraint(['municipality_id'], ['municipality.id'],
                                name=op.f('fk_agreement_version_municipality_id_municipality')),
        sa.ForeignKeyConstraint(['signed_by_id'], ['user.id'], name=op.f('fk_agreement_version_signed_by_id_user')),
        sa.ForeignKeyConstraint(['provider_signed_by_id'], ['user.id'],
                                name=op.f('fk_agreement_version_provider_signed_by_id_user')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_agreement_version')),
        sa.UniqueConstraint('agreement_id', 'version', name='uq_agreement_version'),
    )
    with op.batch_alter_table('agreement_version') as batch:
        batch.create_index(batch.f('ix_agreement_version_agreement_id'), ['agreement_id'], unique=False)
        batch.create_index(batch.f('ix_agreement_version_municipality_id'), ['municipality_id'], unique=False)


def downgrade():
    op.drop_table('agreement_version')
    with op.batch_alter_table('agreement') as batch:
        for name, _ in reversed(COLUMNS):
            batch.drop_column(name)
