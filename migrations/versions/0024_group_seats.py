"""the seats each study group's contracts hold, kept by triggers on contract: the catalog's «free seats»
filter reads a column instead of counting a region's contracts per group

Revision ID: 0024_group_seats
Revises: 0023_catalog_search
Create Date: 2026-11-30 13:20:00

A contract holds a seat while offered or in force (certapp.contracts.models.SEAT_HOLDING_STATUSES:
the triggers name the same two statuses). A later batch migration that rebuilds the contract table on
SQLite drops its triggers: recreate them there (SQLITE_TRIGGERS below).
"""
import sqlalchemy as sa
from alembic import op

revision = '0024_group_seats'
down_revision = '0023_catalog_search'
branch_labels = None
depends_on = None

HOLDING = "('offered', 'active')"
COUNT = ("UPDATE study_group SET seats_taken = (SELECT count(*) FROM contract WHERE contract.group_id = "
         f"study_group.id AND contract.status IN {HOLDING})")
POSTGRES_FUNCTION = f"""
CREATE FUNCTION contract_group_seats() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP IN ('UPDATE', 'DELETE') AND OLD.status IN {HOLDING} THEN
        UPDATE study_group SET seats_taken = seats_taken - 1 WHERE id = OLD.group_id;
    END IF;
    IF TG_OP IN ('INSERT', 'UPDATE') AND NEW.status IN {HOLDING} THEN
        UPDATE study_group SET seats_taken = seats_taken + 1 WHERE id = NEW.group_id;
    END IF;
    RETURN NULL;
END $$"""
SQLITE_TRIGGERS = (
    f"CREATE TRIGGER contract_seats_insert AFTER INSERT ON contract WHEN new.status IN {HOLDING} BEGIN "
    "UPDATE study_group SET seats_taken = seats_taken + 1 WHERE id = new.group_id; END",
    f"CREATE TRIGGER contract_seats_delete AFTER DELETE ON contract WHEN old.status IN {HOLDING} BEGIN "
    "UPDATE study_group SET seats_taken = seats_taken - 1 WHERE id = old.group_id; END",
    "CREATE TRIGGER contract_seats_update AFTER UPDATE OF status, group_id ON contract BEGIN "
    f"UPDATE study_group SET seats_taken = seats_taken - 1 WHERE id = old.group_id AND old.status IN {HOLDING}; "
    f"UPDATE study_group SET seats_taken = seats_taken + 1 WHERE id = new.group_id AND new.status IN {HOLDING}; "
    "END",
)


def upgrade():
    with op.batch_alter_table('study_group') as batch:
        batch.add_column(sa.Column('seats_taken', sa.Integer(), server_default='0', nullable=False))
    op.execute(COUNT)
    if op.get_bind().dialect.name == "postgresql":
        op.execute(POSTGRES_FUNCTION)
        op.execute("CREATE TRIGGER contract_group_seats AFTER INSERT OR DELETE OR UPDATE OF status, group_id "
                   "ON contract FOR EACH ROW EXECUTE FUNCTION contract_group_seats()")
    else:
        for trigger in SQLITE_TRIGGERS:
            op.execute(trigger)


def downgrade():
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER contract_group_seats ON contract")
        op.execute("DROP FUNCTION contract_group_seats()")
    else:
        for name in ("insert", "delete", "update"):
            op.execute(f"DROP TRIGGER contract_seats_{name}")
    with op.batch_alter_table('study_group') as batch:
        batch.drop_column('seats_taken')
