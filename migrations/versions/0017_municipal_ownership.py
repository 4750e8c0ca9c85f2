"""municipal ownership: every document a municipality owns carries its municipality; providers are
admitted per municipality; programs are offered in municipalities; the `region` role

Revision ID: 0017_municipal_ownership
Revises: 0016_municipality
Create Date: 2026-11-24 18:40:00

Everything already in the database was the one district's, so it becomes the first (default)
municipality's: documents, money, officials' notifications, jobs, letters and the audit events
(municipality_id is an annotation outside the sealed hash; on PostgreSQL the guard trigger is
paused for this one update). Certificate and application uniqueness moves from the period row to
its school-year code, so that it holds across municipalities; per-municipality uniqueness for
periods, social orders, indicators, open agreements and registers; the certificate number counter
keys carry the municipality's code. Approved providers are admitted in the default municipality and
their programs offered there.
"""
import sqlalchemy as sa
from alembic import op

revision = '0017_municipal_ownership'
down_revision = '0016_municipality'
branch_labels = None
depends_on = None

OWNED = ("period", "certificate_application", "certificate", "enrollment", "contract", "contract_month",
         "service_report", "ledger_balance", "ledger_entry", "social_order", "indicator_value", "feedback",
         "agreement", "payment_register", "payment_register_line", "registry_application")
TAGGED = ("notification", "outbox_message", "audit_event", "job")
DEFAULT = "(SELECT MIN(id) FROM municipality)"
HOLDING_APP = "status IN ('submitted', 'confirmed')"




def upgrade():
    postgres = op.get_bind().dialect.name == "postgresql"
    for table in OWNED + TAGGED:
        with op.batch_alter_table(table) as batch:
            batch.add_column(sa.Column('municipality_id', sa.Integer(), nullable=True))
    for table in OWNED:
        op.execute(f"UPDATE {table} SET municipality_id = {DEFAULT}")
    op.execute(f"UPDATE notification SET municipality_id = {DEFAULT} WHERE role IN ('department', 'bookkeeping')")
    op.execute(f"UPDATE job SET municipality_id = {DEFAULT}")
    if postgres:
        op.execute("ALTER TABLE audit_event DISABLE TRIGGER audit_event_guard")
    op.execute(f"UPDATE audit_event SET municipality_id = {DEFAULT}")
    if postgres:
        op.execute("ALTER TABLE audit_event ENABLE TRIGGER audit_event_guard")
    for table in OWNED + TAGGED:
        with op.batch_alter_table(table) as batch:
            if table in OWNED:
                batch.alter_column('municipality_id', existing_type=sa.Integer(), nullable=False)
            batch.create_index(f'ix_{table}_municipality_id', ['municipality_id'], unique=False)
            batch.create_foreign_key(f'fk_{table}_municipality_id_municipality', 'municipality',
                                     ['municipality_id'], ['id'])

    # periods: the code is unique within a municipality
    with op.batch_alter_table('period') as batch:
        batch.drop_constraint('uq_period_code', type_='unique')
        batch.create_unique_constraint('uq_period_municipality_code', ['municipality_id', 'code'])

    # one certificate / pending application per child and school year in the whole region
    for table, index, where in (
            ('certificate_application', 'uq_certificate_application_child_period', HOLDING_APP),
            ('certificate', 'uq_certificate_child_period', "status <> 'revoked'")):
        with op.batch_alter_table(table) as batch:
            batch.add_column(sa.Column('period_code', sa.String(length=16), nullable=True))
        op.execute(f"UPDATE {table} SET period_code = (SELECT code FROM period WHERE period.id = {table}.period_id)")
        with op.batch_alter_table(table) as batch:
            batch.alter_column('period_code', existing_type=sa.String(length=16), nullable=False)
        op.drop_index(index, table_name=table)
        op.create_index(index, table, ['snils_key', 'period_code'], unique=True,
                        sqlite_where=sa.text(where), postgresql_where=sa.text(where))

    _per_municipality_indexes(with_municipality=True)
    with op.batch_alter_table('social_order') as batch:
        batch.drop_constraint('uq_social_order_year_version', type_='unique')
        batch.create_unique_constraint('uq_social_order_year_version', ['municipality_id', 'year', 'version'])
    with op.batch_alter_table('indicator_value') as batch:
        batch.drop_constraint('uq_indicator_value_code_year', type_='unique')
        batch.create_unique_constraint('uq_indicator_value_code_year', ['municipality_id', 'code', 'year'])

    # certificate numbers: one sequence per municipality and school year
    op.execute("UPDATE document_counter SET kind = 'certificate:' || (SELECT number_code FROM municipality "
               f"WHERE id = {DEFAULT}) || ':' || SUBSTR(kind, 13) WHERE kind LIKE 'certificate:%'")

    op.create_table('admission',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('provider_id', sa.Integer(), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('reason', sa.Text(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('decided_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('decided_by_id', sa.Integer(), nullable=True),
    sa.Column('municipality_id', sa.Integer(), nullable=False),
    sa.CheckConstraint("status IN ('requested', 'active', 'refused', 'suspended', 'ended')",
                       name=op.f('ck_admission_status')),
    sa.ForeignKeyConstraint(['decided_by_id'], ['user.id'], name=op.f('fk_admission_decided_by_id_user')),
    sa.ForeignKeyConstraint(['municipality_id'], ['municipality.id'],
                            name=op.f('fk_admission_municipality_id_municipality')),
    sa.ForeignKeyConstraint(['provider_id'], ['provider.id'], name=op.f('fk_admission_provider_id_provider')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_admission'))
    )
    with op.batch_alter_table('admission') as batch:
        batch.create_index('ix_admission_municipality_id', ['municipality_id'], unique=False)
        batch.create_index('ix_admission_provider_id', ['provider_id'], unique=False)
        batch.create_index('uq_admission_provider_municipality', ['provider_id', 'municipality_id'], unique=True,
                           sqlite_where=sa.text("status IN ('requested', 'active', 'suspended')"),
                           postgresql_where=sa.text("status IN ('requested', 'active', 'suspended')"))
    # a provider in the registry was working in the district: it is admitted there
    op.execute(f"INSERT INTO admission (provider_id, status, created_at, decided_at, municipality_id) "
               f"SELECT provider.id, 'active', registry_entry.entered_on, registry_entry.entered_on, {DEFAULT} "
               f"FROM provider JOIN registry_entry ON registry_entry.provider_id = provider.id")
    op.create_table('program_municipality',
    sa.Column('program_id', sa.Integer(), nullable=False),
    sa.Column('municipality_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['municipality_id'], ['municipality.id'],
                            name=op.f('fk_program_municipality_municipality_id_municipality')),
    sa.ForeignKeyConstraint(['program_id'], ['program.id'], name=op.f('fk_program_municipality_program_id_program')),
    sa.PrimaryKeyConstraint('program_id', 'municipality_id', name=op.f('pk_program_municipality'))
    )
    with op.batch_alter_table('program_municipality') as batch:
        batch.create_index('ix_program_municipality_municipality_id', ['municipality_id'], unique=False)
    op.execute(f"INSERT INTO program_municipality (program_id, municipality_id) SELECT id, {DEFAULT} FROM program")

    with op.batch_alter_table('user') as batch:
        batch.drop_constraint(op.f('ck_user_role'), type_='check')
        batch.create_check_constraint('role', "role IN ('parent', 'provider', 'department', 'bookkeeping', 'region')")

    # deadlines are set by each municipality's order: the rules set so far are the default one's
    with op.batch_alter_table('deadline_rule') as batch:
        batch.add_column(sa.Column('municipality_id', sa.Integer(), nullable=True))
    op.execute(f"UPDATE deadline_rule SET municipality_id = {DEFAULT}")
    with op.batch_alter_table('deadline_rule') as batch:
        batch.alter_column('municipality_id', existing_type=sa.Integer(), nullable=False)
        batch.drop_constraint('pk_deadline_rule', type_='primary')
        batch.create_primary_key('pk_deadline_rule', ['municipality_id', 'kind'])
        batch.create_index('ix_deadline_rule_municipality_id', ['municipality_id'], unique=False)
        batch.create_foreign_key('fk_deadline_rule_municipality_id_municipality', 'municipality',
                                 ['municipality_id'], ['id'])


def _per_municipality_indexes(*, with_municipality: bool):
    lead = ['municipality_id'] if with_municipality else []
    for table, index, columns, where in (
            ('social_order', 'uq_social_order_year_approved', lead + ['year'], "status = 'approved'"),
            ('social_order', 'uq_social_order_year_draft', lead + ['year'], "status = 'draft'"),
            ('agreement', 'uq_agreement_provider_open', ['provider_id'] + lead, "status IN ('draft', 'concluded')"),
            ('payment_register', 'uq_payment_register_provider_month', ['provider_id'] + lead + ['month'],
             "status <> 'rejected'")):
        op.drop_index(index, table_name=table)
        op.create_index(index, table, columns, unique=True, sqlite_where=sa.text(where),
                        postgresql_where=sa.text(where))


def downgrade():
    """Possible only while the installation holds one municipality's data."""
    with op.batch_alter_table('deadline_rule') as batch:
        batch.drop_constraint('fk_deadline_rule_municipality_id_municipality', type_='foreignkey')
        batch.drop_index('ix_deadline_rule_municipality_id')
        batch.drop_constraint('pk_deadline_rule', type_='primary')
        batch.create_primary_key('pk_deadline_rule', ['kind'])
        batch.drop_column('municipality_id')
    with op.batch_alter_table('user') as batch:
        batch.drop_constraint(op.f('ck_user_role'), type_='check')
        batch.create_check_constraint('role', "role IN ('parent', 'provider', 'department', 'bookkeeping')")
    op.drop_table('program_municipality')
    op.drop_table('admission')
    op.execute("UPDATE document_counter SET kind = 'certificate:' || SUBSTR(kind, 13 + LENGTH((SELECT number_code "
               f"FROM municipality WHERE id = {DEFAULT})) + 1) WHERE kind LIKE 'certificate:%'")
    with op.batch_alter_table('indicator_value') as batch:
        batch.drop_constraint('uq_indicator_value_code_year', type_='unique')
        batch.create_unique_constraint('uq_indicator_value_code_year', ['code', 'year'])
    with op.batch_alter_table('social_order') as batch:
        batch.drop_constraint('uq_social_order_year_version', type_='unique')
        batch.create_unique_constraint('uq_social_order_year_version', ['year', 'version'])
    _per_municipality_indexes(with_municipality=False)
    for table, index, where in (
            ('certificate_application', 'uq_certificate_application_child_period', HOLDING_APP),
            ('certificate', 'uq_certificate_child_period', "status <> 'revoked'")):
        op.drop_index(index, table_name=table)
        op.create_index(index, table, ['snils_key', 'period_id'], unique=True,
                        sqlite_where=sa.text(where), postgresql_where=sa.text(where))
        with op.batch_alter_table(table) as batch:
            batch.drop_column('period_code')
    with op.batch_alter_table('period') as batch:
        batch.drop_constraint('uq_period_municipality_code', type_='unique')
        batch.create_unique_constraint('uq_period_code', ['code'])
    for table in OWNED + TAGGED:
        with op.batch_alter_table(table) as batch:
            batch.drop_constraint(f'fk_{table}_municipality_id_municipality', type_='foreignkey')
            batch.drop_index(f'ix_{table}_municipality_id')
            batch.drop_column('municipality_id')
