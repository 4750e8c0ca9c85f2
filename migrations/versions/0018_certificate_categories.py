"""certificate categories with funded limits; certificates of financing and of accounting; the
waiting queue

Revision ID: 0018_certificate_categories
Revises: 0017_municipal_ownership
Create Date: 2026-11-30 09:40:00

Every existing period gets the category it implicitly had: every child of 5 to 17, the period's
nominal, no limit. Existing applications and certificates are of that category, and every existing
certificate is one of financing.
"""
import sqlalchemy as sa
from alembic import op

revision = '0018_certificate_categories'
down_revision = '0017_municipal_ownership'
branch_labels = None
depends_on = None

CERTIFICATE_UNIQUE = ('uq_certificate_child_period', ['snils_key', 'period_code'], "status <> 'revoked'")
APPLICATION_UNIQUE = ('uq_certificate_application_child_period', ['snils_key', 'period_code'],
                      "status IN ('submitted', 'confirmed')")


def upgrade():
    op.create_table(
        'certificate_category',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('period_id', sa.Integer(), nullable=False),
        sa.Column('name', sa.String(length=100), nullable=False),
        sa.Column('age_from', sa.Integer(), nullable=False),
        sa.Column('age_to', sa.Integer(), nullable=False),
        sa.Column('needs_document', sa.Boolean(), nullable=False),
        sa.Column('nominal', sa.BigInteger(), nullable=True),
        sa.Column('funded_limit', sa.Integer(), nullable=True),
        sa.Column('position', sa.Integer(), nullable=False),
        sa.Column('municipality_id', sa.Integer(), nullable=False),
        sa.CheckConstraint('age_from >= 5 AND age_to <= 17 AND age_from <= age_to',
                           name=op.f('ck_certificate_category_ages')),
        sa.CheckConstraint('funded_limit IS NULL OR funded_limit >= 0',
                           name=op.f('ck_certificate_category_limit_not_negative')),
        sa.CheckConstraint('nominal IS NULL OR nominal > 0', name=op.f('ck_certificate_category_nominal_positive')),
        sa.ForeignKeyConstraint(['municipality_id'], ['municipality.id'],
                                name=op.f('fk_certificate_category_municipality_id_municipality')),
        sa.ForeignKeyConstraint(['period_id'], ['period.id'], name=op.f('fk_certificate_category_period_id_period')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_certificate_category')),
        sa.UniqueConstraint('period_id', 'name', name='uq_certificate_category_name'),
    )
    with op.batch_alter_table('certificate_category') as batch:
        batch.create_index(batch.f('ix_certificate_category_municipality_id'), ['municipality_id'], unique=False)
        batch.create_index(batch.f('ix_certificate_category_period_id'), ['period_id'], unique=False)
    op.execute("INSERT INTO certificate_category (period_id, name, age_from, age_to, needs_document, nominal, "
               "funded_limit, position, municipality_id) SELECT id, 'Дети от 5 до 17 лет', 5, 17, false, NULL, NULL, 0, "
               "municipality_id FROM period")
    category_of = "(SELECT id FROM certificate_category WHERE certificate_category.period_id = {0}.period_id)"

    index, columns, where = APPLICATION_UNIQUE
    op.drop_index(index, table_name='certificate_application')
    with op.batch_alter_table('certificate_application') as batch:
        batch.add_column(sa.Column('category_id', sa.Integer(), nullable=True))
    op.execute(f"UPDATE certificate_application SET category_id = {category_of.format('certificate_application')}")
    with op.batch_alter_table('certificate_application') as batch:
        batch.alter_column('category_id', existing_type=sa.Integer(), nullable=False)
        batch.create_index(batch.f('ix_certificate_application_category_id'), ['category_id'], unique=False)
        batch.create_foreign_key(batch.f('fk_certificate_application_category_id_certificate_category'),
                                 'certificate_category', ['category_id'], ['id'])
    op.create_index(index, 'certificate_application', columns, unique=True, sqlite_where=sa.text(where),
                    postgresql_where=sa.text(where))

    index, columns, where = CERTIFICATE_UNIQUE
    op.drop_index(index, table_name='certificate')
    with op.batch_alter_table('certificate') as batch:
        batch.add_column(sa.Column('category_id', sa.Integer(), nullable=True))
        batch.add_column(sa.Column('kind', sa.String(length=16), nullable=False, server_default='financing'))
        batch.add_column(sa.Column('queued_at', sa.DateTime(timezone=True), nullable=True))
    op.execute(f"UPDATE certificate SET category_id = {category_of.format('certificate')}")
    with op.batch_alter_table('certificate') as batch:
        batch.alter_column('category_id', existing_type=sa.Integer(), nullable=False)
        batch.alter_column('kind', existing_type=sa.String(length=16), server_default=None)
        batch.create_foreign_key(batch.f('fk_certificate_category_id_certificate_category'),
                                 'certificate_category', ['category_id'], ['id'])
        batch.create_index('ix_certificate_category_queue', ['category_id', 'kind', 'queued_at'], unique=False)
        batch.drop_constraint(batch.f('ck_certificate_nominal_positive'), type_='check')
        batch.create_check_constraint('kind', "kind IN ('financing', 'accounting')")
        batch.create_check_constraint(
            'kind_nominal', "(kind = 'financing' AND nominal > 0) OR (kind = 'accounting' AND nominal = 0)")
    op.create_index(index, 'certificate', columns, unique=True, sqlite_where=sa.text(where),
                    postgresql_where=sa.text(where))


def downgrade():
    """Possible while every certificate is one of financing (no queue): refused, before anything changes,
    when a certificate of accounting exists."""
    accounting = op.get_bind().execute(sa.text(
        "SELECT COUNT(*) FROM certificate WHERE kind <> 'financing' OR nominal <= 0")).scalar_one()
    if accounting:
        raise RuntimeError(
            f"Downgrade below 0018_certificate_categories refused: {accounting} certificates are certificates of "
            "accounting (kind 'accounting', nominal 0, some waiting in a category's queue); the schema before it "
            "knows only certificates of financing with a nominal above zero. Fund or revoke-and-remove those "
            "certificates first (or restore a backup taken before 0018); nothing was changed.")
    index, columns, where = CERTIFICATE_UNIQUE
    op.drop_index(index, table_name='certificate')
    with op.batch_alter_table('certificate') as batch:
        batch.drop_constraint(batch.f('ck_certificate_kind_nominal'), type_='check')
        batch.drop_constraint(batch.f('ck_certificate_kind'), type_='check')
        batch.create_check_constraint('nominal_positive', 'nominal > 0')
        batch.drop_index('ix_certificate_category_queue')
        batch.drop_constraint(batch.f('fk_certificate_category_id_certificate_category'), type_='foreignkey')
        batch.drop_column('queued_at')
        batch.drop_column('kind')
        batch.drop_column('category_id')
    op.create_index(index, 'certificate', columns, unique=True, sqlite_where=sa.text(where),
                    postgresql_where=sa.text(where))
    index, columns, where = APPLICATION_UNIQUE
    op.drop_index(index, table_name='certificate_application')
    with op.batch_alter_table('certificate_application') as batch:
        batch.drop_constraint(batch.f('fk_certificate_application_category_id_certificate_category'),
                              type_='foreignkey')
        batch.drop_index(batch.f('ix_certificate_application_category_id'))
        batch.drop_column('category_id')
    op.create_index(index, 'certificate_application', columns, unique=True, sqlite_where=sa.text(where),
                    postgresql_where=sa.text(where))
    op.drop_table('certificate_category')
