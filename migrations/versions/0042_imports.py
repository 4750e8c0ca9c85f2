"""imports: uploaded files of a district arriving from another system, the rows they wrote, and the
ledger's opening entry (what a carried-over certificate had spent before)

Revision ID: 0042_imports
Revises: 0041_service_scope
Create Date: 2026-12-04 22:50:00
"""
import sqlalchemy as sa
from alembic import op

import certapp.db

revision = '0042_imports'
down_revision = '0041_service_scope'
branch_labels = None
depends_on = None

OLD_KINDS = "kind IN ('issue', 'reserve', 'release', 'spend', 'advance', 'refund', 'expire', 'correction')"
NEW_KINDS = "kind IN ('issue', 'reserve', 'release', 'spend', 'advance', 'refund', 'expire', 'correction', 'opening')"


def upgrade():
    op.create_table(
        'import_batch',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('kind', sa.String(length=16), nullable=False),
        sa.Column('status', sa.String(length=16), nullable=False),
        sa.Column('dry_run', sa.Boolean(), nullable=False),
        sa.Column('filename', sa.String(length=255), nullable=False),
        sa.Column('sha256', sa.String(length=64), nullable=False),
        sa.Column('content', sa.LargeBinary(), nullable=True),
        sa.Column('rows', sa.Integer(), nullable=False),
        sa.Column('created', sa.Integer(), nullable=False),
        sa.Column('skipped', sa.Integer(), nullable=False),
        sa.Column('problems', sa.JSON(), nullable=True),
        sa.Column('problem_count', sa.Integer(), nullable=False),
        sa.Column('message', sa.Text(), nullable=True),
        sa.Column('job_id', sa.Integer(), nullable=True),
        sa.Column('created_by_id', sa.Integer(), nullable=True),
        sa.Column('created_at', certapp.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column('finished_at', certapp.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column('municipality_id', sa.Integer(), nullable=False),
        sa.CheckConstraint("kind IN ('providers', 'certificates', 'contracts')", name=op.f('ck_import_batch_kind')),
        sa.CheckConstraint("status IN ('checked', 'queued', 'imported', 'unchanged', 'failed')",
                           name=op.f('ck_import_batch_status')),
        sa.ForeignKeyConstraint(['created_by_id'], ['user.id'], name=op.f('fk_import_batch_created_by_id_user')),
        sa.ForeignKeyConstraint(['job_id'], ['job.id'], name=op.f('fk_import_batch_job_id_job')),
        sa.ForeignKeyConstraint(['municipality_id'], ['municipality.id'],
                                name=op.f('fk_import_batch_municipality_id_municipality')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_import_batch')),
    )
    op.create_index(op.f('ix_import_batch_sha256'), 'import_batch', ['sha256'], unique=False)
    op.create_index(op.f('ix_import_batch_municipality_id'), 'import_batch', ['municipality_id'], unique=False)
    op.create_index('ix_import_batch_municipality_newest', 'import_batch', ['municipality_id', 'id'], unique=False)
    op.create_table(
        'imported_row',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('kind', sa.String(length=16), nullable=False),
        sa.Column('natural_key', sa.String(length=160), nullable=False),
        sa.Column('digest', sa.String(length=64), nullable=False),
        sa.Column('object_id', sa.Integer(), nullable=False),
        sa.Column('batch_id', sa.Integer(), nullable=False),
        sa.Column('created_at', certapp.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column('municipality_id', sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(['batch_id'], ['import_batch.id'], name=op.f('fk_imported_row_batch_id_import_batch')),
        sa.ForeignKeyConstraint(['municipality_id'], ['municipality.id'],
                                name=op.f('fk_imported_row_municipality_id_municipality')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_imported_row')),
        sa.UniqueConstraint('municipality_id', 'kind', 'natural_key', name='uq_imported_row_key'),
    )
    op.create_index(op.f('ix_imported_row_batch_id'), 'imported_row', ['batch_id'], unique=False)
    op.create_index(op.f('ix_imported_row_municipality_id'), 'imported_row', ['municipality_id'], unique=False)
    with op.batch_alter_table('ledger_entry') as batch:
        batch.drop_constraint(batch.f('ck_ledger_entry_kind'), type_='check')
        batch.create_check_constraint('kind', NEW_KINDS)


def downgrade():
    """Possible while no certificate was carried over with an opening entry: refused, before anything
    changes, when the ledger holds one (ledger entries are never deleted)."""
    opened = op.get_bind().execute(sa.text("SELECT COUNT(*) FROM ledger_entry WHERE kind = 'opening'")).scalar_one()
    if opened:
        raise RuntimeError(
            f"Downgrade below 0042_imports refused: the ledger holds {opened} opening entries (kind 'opening') of "
            "certificates carried over from another system, which the schema before it cannot hold. Restore a "
            "backup taken before 0042; nothing was changed.")
    with op.batch_alter_table('ledger_entry') as batch:
        batch.drop_constraint(batch.f('ck_ledger_entry_kind'), type_='check')
        batch.create_check_constraint('kind', OLD_KINDS)
    op.drop_index(op.f('ix_imported_row_municipality_id'), table_name='imported_row')
    op.drop_index(op.f('ix_imported_row_batch_id'), table_name='imported_row')
    op.drop_table('imported_row')
    op.drop_index('ix_import_batch_municipality_newest', table_name='import_batch')
    op.drop_index(op.f('ix_import_batch_municipality_id'), table_name='import_batch')
    op.drop_index(op.f('ix_import_batch_sha256'), table_name='import_batch')
    op.drop_table('import_batch')
