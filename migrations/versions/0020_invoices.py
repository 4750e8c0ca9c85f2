"""advance and final invoices; lessons planned/held in month reports; the ledger's advance and
refund movements

Revision ID: 0020_invoices
Revises: 0019_contract_notice
Create Date: 2026-11-30 11:00:00

Reports filed before keep no lesson counts (they were for whole months) and no advance.
"""
import sqlalchemy as sa
from alembic import op

import certapp.db

revision = '0020_invoices'
down_revision = '0019_contract_notice'
branch_labels = None
depends_on = None

OLD_KINDS = "kind IN ('issue', 'reserve', 'release', 'spend', 'expire', 'correction')"
NEW_KINDS = "kind IN ('issue', 'reserve', 'release', 'spend', 'advance', 'refund', 'expire', 'correction')"


def _owned(name: str) -> list:
    return [sa.Column('municipality_id', sa.Integer(), nullable=False),
            sa.ForeignKeyConstraint(['municipality_id'], ['municipality.id'],
                                    name=op.f(f'fk_{name}_municipality_id_municipality'))]


def upgrade():
    op.create_table(
        'invoice',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('number', sa.String(length=32), nullable=False),
        sa.Column('kind', sa.String(length=16), nullable=False),
        sa.Column('provider_id', sa.Integer(), nullable=False),
        sa.Column('agreement_id', sa.Integer(), nullable=False),
        sa.Column('month', sa.Date(), nullable=False),
        sa.Column('status', sa.String(length=16), nullable=False),
        sa.Column('share_percent', sa.Integer(), nullable=True),
        sa.Column('total', sa.BigInteger(), nullable=False),
        sa.Column('approved_at', certapp.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column('approved_by_id', sa.Integer(), nullable=True),
        sa.Column('rejection_reason', sa.Text(), nullable=True),
        sa.Column('signature', sa.String(length=200), nullable=True),
        sa.Column('created_at', certapp.db.UTCDateTime(timezone=True), nullable=False),
        *_owned('invoice'),
        sa.CheckConstraint("kind IN ('advance', 'final')", name=op.f('ck_invoice_kind')),
        sa.CheckConstraint("status IN ('draft', 'approved', 'rejected')", name=op.f('ck_invoice_status')),
        sa.ForeignKeyConstraint(['agreement_id'], ['agreement.id'], name=op.f('fk_invoice_agreement_id_agreement')),
        sa.ForeignKeyConstraint(['approved_by_id'], ['user.id'], name=op.f('fk_invoice_approved_by_id_user')),
        sa.ForeignKeyConstraint(['provider_id'], ['provider.id'], name=op.f('fk_invoice_provider_id_provider')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_invoice')),
        sa.UniqueConstraint('number', name=op.f('uq_invoice_number')),
    )
    with op.batch_alter_table('invoice') as batch:
        for column in ('month', 'municipality_id', 'provider_id', 'status'):
            batch.create_index(batch.f(f'ix_invoice_{column}'), [column], unique=False)
    op.create_index('uq_invoice_provider_month_kind', 'invoice', ['provider_id', 'municipality_id', 'month', 'kind'],
                    unique=True, sqlite_where=sa.text("status <> 'rejected'"),
                    postgresql_where=sa.text("status <> 'rejected'"))
    op.create_table(
        'invoice_line',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('invoice_id', sa.Integer(), nullable=False),
        sa.Column('contract_id', sa.Integer(), nullable=False),
        sa.Column('certificate_number', sa.String(length=32), nullable=False),
        sa.Column('child_initials', sa.String(length=120), nullable=False),
        sa.Column('program_title', sa.String(length=255), nullable=False),
        sa.Column('month_amount', sa.BigInteger(), nullable=False),
        sa.Column('lessons_planned', sa.Integer(), nullable=True),
        sa.Column('lessons_held', sa.Integer(), nullable=True),
        sa.Column('due', sa.BigInteger(), nullable=True),
        sa.Column('advance', sa.BigInteger(), nullable=False),
        sa.Column('amount', sa.BigInteger(), nullable=False),
        sa.Column('ledger_entry_id', sa.Integer(), nullable=True),
        *_owned('invoice_line'),
        sa.ForeignKeyConstraint(['contract_id'], ['contract.id'], name=op.f('fk_invoice_line_contract_id_contract')),
        sa.ForeignKeyConstraint(['invoice_id'], ['invoice.id'], name=op.f('fk_invoice_line_invoice_id_invoice')),
        sa.ForeignKeyConstraint(['ledger_entry_id'], ['ledger_entry.id'],
                                name=op.f('fk_invoice_line_ledger_entry_id_ledger_entry')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_invoice_line')),
    )
    with op.batch_alter_table('invoice_line') as batch:
        for column in ('contract_id', 'invoice_id', 'municipality_id'):
            batch.create_index(batch.f(f'ix_invoice_line_{column}'), [column], unique=False)

    with op.batch_alter_table('service_report') as batch:
        batch.add_column(sa.Column('lessons_planned', sa.Integer(), nullable=True))
        batch.add_column(sa.Column('lessons_held', sa.Integer(), nullable=True))
        batch.add_column(sa.Column('advance', sa.BigInteger(), nullable=False, server_default='0'))
        batch.create_check_constraint('lessons_held_within_planned',
                                      'lessons_held IS NULL OR (lessons_held >= 0 AND lessons_held <= lessons_planned)')
    with op.batch_alter_table('service_report') as batch:
        batch.alter_column('advance', existing_type=sa.BigInteger(), server_default=None)
    with op.batch_alter_table('ledger_entry') as batch:
        batch.drop_constraint(batch.f('ck_ledger_entry_kind'), type_='check')
        batch.create_check_constraint('kind', NEW_KINDS)


def downgrade():
    """Possible while no advance has been paid (no advance or refund entries): refused, before anything
    changes, when the ledger holds one."""
    moved = op.get_bind().execute(sa.text(
        "SELECT COUNT(*) FROM ledger_entry WHERE kind IN ('advance', 'refund')")).scalar_one()
    if moved:
        raise RuntimeError(
            f"Downgrade below 0020_invoices refused: the ledger holds {moved} advance or refund entries "
            "(kind 'advance'/'refund'), which the schema before it cannot hold, and ledger entries are never "
            "deleted. Restore a backup taken before 0020, or remove those entries first (with the advance "
            "invoices whose lines name them, and the certificates' balances they moved); nothing was changed.")
    with op.batch_alter_table('ledger_entry') as batch:
        batch.drop_constraint(batch.f('ck_ledger_entry_kind'), type_='check')
        batch.create_check_constraint('kind', OLD_KINDS)
    with op.batch_alter_table('service_report') as batch:
        batch.drop_constraint(batch.f('ck_service_report_lessons_held_within_planned'), type_='check')
        batch.drop_column('advance')
        batch.drop_column('lessons_held')
        batch.drop_column('lessons_planned')
    op.drop_table('invoice_line')
    op.drop_index('uq_invoice_provider_month_kind', table_name='invoice', sqlite_where=sa.text("status <> 'rejected'"),
                  postgresql_where=sa.text("status <> 'rejected'"))
    op.drop_table('invoice')
