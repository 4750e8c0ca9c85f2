"""signed documents: the parent's application signed at submission (and one application for both the
certificate and an enrollment); the execution report formed as a document; the provider's report on
the execution of its agreement

Revision ID: 0021_documents
Revises: 0020_invoices
Create Date: 2026-11-30 11:40:00

Applications filed before stay unsigned (verification says so).
"""
import sqlalchemy as sa
from alembic import op

import certapp.db

revision = '0021_documents'
down_revision = '0020_invoices'
branch_labels = None
depends_on = None


def _owned(name: str) -> list:
    return [sa.Column('municipality_id', sa.Integer(), nullable=False),
            sa.ForeignKeyConstraint(['municipality_id'], ['municipality.id'],
                                    name=op.f(f'fk_{name}_municipality_id_municipality'))]


def upgrade():
    with op.batch_alter_table('certificate_application') as batch:
        batch.add_column(sa.Column('signature', sa.String(length=200), nullable=True))
        batch.add_column(sa.Column('wanted_group_id', sa.Integer(), nullable=True))
        batch.create_foreign_key(batch.f('fk_certificate_application_wanted_group_id_study_group'), 'study_group',
                                 ['wanted_group_id'], ['id'])
    op.create_table(
        'formed_execution_report',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('number', sa.String(length=32), nullable=False),
        sa.Column('year', sa.Integer(), nullable=False),
        sa.Column('quarter', sa.Integer(), nullable=False),
        sa.Column('version', sa.Integer(), nullable=False),
        sa.Column('figures', sa.JSON(), nullable=False),
        sa.Column('formed_at', certapp.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column('formed_by_id', sa.Integer(), nullable=False),
        sa.Column('signature', sa.String(length=200), nullable=False),
        *_owned('formed_execution_report'),
        sa.CheckConstraint('quarter BETWEEN 0 AND 4', name=op.f('ck_formed_execution_report_quarter')),
        sa.ForeignKeyConstraint(['formed_by_id'], ['user.id'], name=op.f('fk_formed_execution_report_formed_by_id_user')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_formed_execution_report')),
        sa.UniqueConstraint('number', name=op.f('uq_formed_execution_report_number')),
        sa.UniqueConstraint('municipality_id', 'year', 'quarter', 'version', name='uq_formed_execution_report_version'),
    )
    with op.batch_alter_table('formed_execution_report') as batch:
        batch.create_index(batch.f('ix_formed_execution_report_municipality_id'), ['municipality_id'], unique=False)
    op.create_table(
        'agreement_report',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('number', sa.String(length=32), nullable=False),
        sa.Column('agreement_id', sa.Integer(), nullable=False),
        sa.Column('provider_id', sa.Integer(), nullable=False),
        sa.Column('year', sa.Integer(), nullable=False),
        sa.Column('quarter', sa.Integer(), nullable=False),
        sa.Column('status', sa.String(length=16), nullable=False),
        sa.Column('figures', sa.JSON(), nullable=False),
        sa.Column('formed_at', certapp.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column('formed_by_id', sa.Integer(), nullable=False),
        sa.Column('signature', sa.String(length=200), nullable=False),
        sa.Column('decided_at', certapp.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column('decided_by_id', sa.Integer(), nullable=True),
        sa.Column('return_reason', sa.Text(), nullable=True),
        *_owned('agreement_report'),
        sa.CheckConstraint("status IN ('submitted', 'accepted', 'returned')", name=op.f('ck_agreement_report_status')),
        sa.CheckConstraint('quarter BETWEEN 1 AND 4', name=op.f('ck_agreement_report_quarter')),
        sa.ForeignKeyConstraint(['agreement_id'], ['agreement.id'], name=op.f('fk_agreement_report_agreement_id_agreement')),
        sa.ForeignKeyConstraint(['provider_id'], ['provider.id'], name=op.f('fk_agreement_report_provider_id_provider')),
        sa.ForeignKeyConstraint(['formed_by_id'], ['user.id'], name=op.f('fk_agreement_report_formed_by_id_user')),
        sa.ForeignKeyConstraint(['decided_by_id'], ['user.id'], name=op.f('fk_agreement_report_decided_by_id_user')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_agreement_report')),
        sa.UniqueConstraint('number', name=op.f('uq_agreement_report_number')),
    )
    with op.batch_alter_table('agreement_report') as batch:
        for column in ('agreement_id', 'municipality_id', 'provider_id', 'status'):
            batch.create_index(batch.f(f'ix_agreement_report_{column}'), [column], unique=False)
    op.create_index('uq_agreement_report_quarter', 'agreement_report', ['agreement_id', 'year', 'quarter'], unique=True,
                    sqlite_where=sa.text("status <> 'returned'"), postgresql_where=sa.text("status <> 'returned'"))


def downgrade():
    op.drop_index('uq_agreement_report_quarter', table_name='agreement_report',
                  sqlite_where=sa.text("status <> 'returned'"), postgresql_where=sa.text("status <> 'returned'"))
    op.drop_table('agreement_report')
    op.drop_table('formed_execution_report')
    with op.batch_alter_table('certificate_application') as batch:
        batch.drop_constraint(batch.f('fk_certificate_application_wanted_group_id_study_group'), type_='foreignkey')
        batch.drop_column('wanted_group_id')
        batch.drop_column('signature')
