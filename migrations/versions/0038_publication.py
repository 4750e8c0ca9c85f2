"""publication of open data: a published version of a set, its data frozen as published, never changed

Revision ID: 0038_publication
Revises: 0036_notification_settled
Create Date: 2026-12-04 19:05:00

The database refuses to change a published version whatever the code does: on PostgreSQL a trigger
refuses UPDATE and DELETE; on SQLite a trigger refuses UPDATE (the tests empty every table between
tests with DELETE, which SQLite cannot exempt; the model refuses deletes there).
"""
import sqlalchemy as sa
from alembic import op

import certapp.db

revision = '0038_publication'
down_revision = '0036_notification_settled'
branch_labels = None
depends_on = None

#: the one source of the publication guard (certapp.publication.models says so and holds no copy)
PG_GUARD = """
CREATE FUNCTION publication_guard() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION 'publication % is published: % refused', OLD.id, lower(TG_OP);
END $$;
CREATE TRIGGER publication_guard BEFORE UPDATE OR DELETE ON publication
  FOR EACH ROW EXECUTE FUNCTION publication_guard();
"""
SQLITE_GUARD = ("CREATE TRIGGER publication_guard BEFORE UPDATE ON publication "
                "BEGIN SELECT RAISE(ABORT, 'publication is published: update refused'); END")


def upgrade():
    op.create_table(
        'publication',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('kind', sa.String(length=32), nullable=False),
        sa.Column('dataset', sa.String(length=64), nullable=False),
        sa.Column('version', sa.Integer(), nullable=False),
        sa.Column('source_id', sa.Integer(), nullable=True),
        sa.Column('title', sa.String(length=500), nullable=False),
        sa.Column('published_on', sa.Date(), nullable=False),
        sa.Column('published_at', certapp.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column('published_by_id', sa.Integer(), nullable=False),
        sa.Column('snapshot', sa.JSON(), nullable=False),
        sa.Column('municipality_id', sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(['municipality_id'], ['municipality.id'],
                                name=op.f('fk_publication_municipality_id_municipality')),
        sa.ForeignKeyConstraint(['published_by_id'], ['user.id'], name=op.f('fk_publication_published_by_id_user')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_publication')),
        sa.UniqueConstraint('municipality_id', 'dataset', 'version', name='uq_publication_dataset_version'),
        sa.UniqueConstraint('municipality_id', 'kind', 'source_id', name='uq_publication_source'),
    )
    op.create_index(op.f('ix_publication_municipality_id'), 'publication', ['municipality_id'], unique=False)
    op.execute(PG_GUARD if op.get_bind().dialect.name == "postgresql" else SQLITE_GUARD)


def downgrade():
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER publication_guard ON publication")
        op.execute("DROP FUNCTION publication_guard()")
    else:
        op.execute("DROP TRIGGER publication_guard")
    op.drop_index(op.f('ix_publication_municipality_id'), table_name='publication')
    op.drop_table('publication')
