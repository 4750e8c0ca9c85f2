"""enrollment index: pending requests only

Revision ID: 0007_enrollment_index
Revises: 0006_reporting
Create Date: 2026-11-22 17:20:53.120017

"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = '0007_enrollment_index'
down_revision = '0006_reporting'
branch_labels = None
depends_on = None


# A rejected or ended contract must let the child enrol in the group again: the unique index now
# covers only pending requests; a contract in force is checked by contracts.enrollments.


def _recreate(statuses: str) -> None:
    with op.batch_alter_table('enrollment', schema=None) as batch_op:
        batch_op.drop_index('uq_enrollment_child_group')
        batch_op.create_index('uq_enrollment_child_group', ['child_id', 'group_id'], unique=True,
                              sqlite_where=sa.text(f"status IN ({statuses})"),
                              postgresql_where=sa.text(f"status IN ({statuses})"))


def upgrade():
    _recreate("'requested'")


def downgrade():
    _recreate("'requested', 'accepted'")
