"""deadlines: the production calendar (2026 and 2027), deadline rules, due dates, lapsed offers

Revision ID: 0014_deadlines
Revises: 0013_jobs_notifications
Create Date: 2026-11-24 16:40:00

The calendar's days (2026 and 2027) are reference data: `flask reference load`, which follows every
upgrade, fills them (certapp.deadlines.calendar.PRODUCTION_CALENDAR). Documents already waiting get
their due dates counted from when they were filed.
"""
from datetime import date, datetime, timedelta

import sqlalchemy as sa
from alembic import op

import certapp.db

revision = '0014_deadlines'
down_revision = '0013_jobs_notifications'
branch_labels = None
depends_on = None

#: the defaults of certapp.deadlines.models.DEADLINE_KINDS, in working days
DEFAULT_DAYS = {"registry_review": 10, "certificate_review": 5, "program_review": 10, "offer": 10}


def _add_working_days(start: date, days: int, off: set[date]) -> date:
    day, counted = start, 0
    while counted < days:
        day += timedelta(days=1)
        if day.weekday() < 5 and day not in off:
            counted += 1
    return day


def _as_date(value) -> date:
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    return value.date() if isinstance(value, datetime) else value


def upgrade():
    op.create_table('holiday',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('day', sa.Date(), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('name', sa.String(length=255), nullable=False),
    sa.CheckConstraint("kind IN ('holiday', 'workday')", name=op.f('ck_holiday_kind')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_holiday')),
    sa.UniqueConstraint('day', name=op.f('uq_holiday_day'))
    )
    op.create_table('deadline_rule',
    sa.Column('kind', sa.String(length=32), nullable=False),
    sa.Column('days', sa.Integer(), nullable=False),
    sa.Column('updated_at', certapp.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_by_id', sa.Integer(), nullable=True),
    sa.CheckConstraint('days >= 1 AND days <= 60', name=op.f('ck_deadline_rule_days_range')),
    sa.ForeignKeyConstraint(['updated_by_id'], ['user.id'], name=op.f('fk_deadline_rule_updated_by_id_user')),
    sa.PrimaryKeyConstraint('kind', name=op.f('pk_deadline_rule'))
    )
    with op.batch_alter_table('certificate_application', schema=None) as batch_op:
        batch_op.add_column(sa.Column('due_on', sa.Date(), nullable=True))
        batch_op.create_index(batch_op.f('ix_certificate_application_due_on'), ['due_on'], unique=False)
    with op.batch_alter_table('contract', schema=None) as batch_op:
        batch_op.add_column(sa.Column('offer_expires_on', sa.Date(), nullable=True))
        batch_op.create_index(batch_op.f('ix_contract_offer_expires_on'), ['offer_expires_on'], unique=False)
        batch_op.drop_constraint(op.f('ck_contract_status'), type_='check')
        batch_op.create_check_constraint(
            'status', "status IN ('offered', 'active', 'rejected', 'terminated', 'completed', 'lapsed')")
    with op.batch_alter_table('program', schema=None) as batch_op:
        batch_op.add_column(sa.Column('review_due_on', sa.Date(), nullable=True))
        batch_op.create_index(batch_op.f('ix_program_review_due_on'), ['review_due_on'], unique=False)
    with op.batch_alter_table('registry_application', schema=None) as batch_op:
        batch_op.add_column(sa.Column('due_on', sa.Date(), nullable=True))
        batch_op.create_index(batch_op.f('ix_registry_application_due_on'), ['due_on'], unique=False)

    # what waits now gets its due date from when it was filed (the few rows of today's queues),
    # counting weekends only: the calendar's holidays arrive with `flask reference load`
    off = set()
    conn = op.get_bind()
    for table, column, start, status, kind in (
            ("certificate_application", "due_on", "created_at", "submitted", "certificate_review"),
            ("registry_application", "due_on", "submitted_at", "submitted", "registry_review"),
            ("program", "review_due_on", "created_at", "submitted", "program_review"),
            ("contract", "offer_expires_on", "created_at", "offered", "offer")):
        columns = {c["name"] for c in sa.inspect(conn).get_columns(table)}
        start = start if start in columns else None
        rows = conn.execute(sa.text(f"SELECT id{', ' + start if start else ''} FROM {table} WHERE status = :status"),
                            {"status": status}).all()
        for row in rows:
            filed = _as_date(row[1]) if start and row[1] else date.today()
            conn.execute(sa.text(f"UPDATE {table} SET {column} = :due WHERE id = :id"),
                         {"due": _add_working_days(filed, DEFAULT_DAYS[kind], off), "id": row[0]})


def downgrade():
    op.execute("UPDATE contract SET status = 'rejected' WHERE status = 'lapsed'")
    with op.batch_alter_table('registry_application', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_registry_application_due_on'))
        batch_op.drop_column('due_on')
    with op.batch_alter_table('program', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_program_review_due_on'))
        batch_op.drop_column('review_due_on')
    with op.batch_alter_table('contract', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('ck_contract_status'), type_='check')
        batch_op.create_check_constraint('status', "status IN ('offered', 'active', 'rejected', 'terminated', 'completed')")
        batch_op.drop_index(batch_op.f('ix_contract_offer_expires_on'))
        batch_op.drop_column('offer_expires_on')
    with op.batch_alter_table('certificate_application', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_certificate_application_due_on'))
        batch_op.drop_column('due_on')
    op.drop_table('deadline_rule')
    op.drop_table('holiday')
