"""imports: an upload is checked by a job, its batch «checking» meanwhile

Revision ID: 0050_import_checking
Revises: 0045_certificate_state
Create Date: 2026-12-05 01:30:00

The batch's status gains `checking` (the file is kept on the batch while the job reads every row).
Batches already in the table keep their status. Downgrade: a batch still being checked cannot wait for
a job the older code does not know: it is marked failed (its file dropped) with the reason.
"""
from alembic import op

revision = '0050_import_checking'
down_revision = '0045_certificate_state'
branch_labels = None
depends_on = None

OLD_STATUSES = "status IN ('checked', 'queued', 'imported', 'unchanged', 'failed')"
NEW_STATUSES = "status IN ('checking', 'checked', 'queued', 'imported', 'unchanged', 'failed')"


def upgrade():
    with op.batch_alter_table('import_batch') as batch:
        batch.drop_constraint(batch.f('ck_import_batch_status'), type_='check')
        batch.create_check_constraint('status', NEW_STATUSES)


def downgrade():
    op.execute("UPDATE import_batch SET status = 'failed', content = NULL, finished_at = CURRENT_TIMESTAMP, "
               "message = 'Проверка прервана обновлением системы: загрузите файл ещё раз.' WHERE status = 'checking'")
    with op.batch_alter_table('import_batch') as batch:
        batch.drop_constraint(batch.f('ck_import_batch_status'), type_='check')
        batch.create_check_constraint('status', OLD_STATUSES)
