"""the service's scope (Приложение 1 к 458-п): registry numbers of the service, those each municipality's
order finances, the programs' «адаптированная программа» mark, a child's health statuses (encrypted, with
their own consent)

Revision ID: 0041_service_scope
Revises: 0040_monitoring
Create Date: 2026-12-04 22:30:00

A database that holds data: when the directions are loaded, the registry numbers are inserted and every
municipality finances the six of 458-п (the «за исключением обучающихся с ОВЗ и детей-инвалидов» ones);
every program stays not adapted, every child without health statuses. An empty database gets the numbers
from `flask reference load`.
"""
import sqlalchemy as sa
from alembic import op

import certapp.db

revision = '0041_service_scope'
down_revision = '0040_monitoring'
branch_labels = None
depends_on = None

_NOT_OVZ = "очная, обучающиеся за исключением обучающихся с ОВЗ и детей-инвалидов"
_ADAPTED = "очная, адаптированная программа для обучающихся с ОВЗ и детей-инвалидов"
#: frozen here as in certapp.reference.service_scope.SERVICE_CODES
SERVICE_CODES = (
    ("technical", False, "804200\u041e.99.0.\u0411\u041152\u0410\u041504000", _NOT_OVZ),
    ("natural_science", False, "804200\u041e.99.0.\u0411\u041152\u0410\u041528000", _NOT_OVZ),
    ("sport", False, "804200\u041e.99.0.\u0411\u041152\u0410\u041552000", _NOT_OVZ),
    ("arts", False, "804200\u041e.99.0.\u0411\u041152\u0410\u041576000", _NOT_OVZ),
    ("tourism_local_history", False, "804200\u041e.99.0.\u0411\u041152\u0410\u041600000", _NOT_OVZ),
    ("social_humanitarian", False, "804200\u041e.99.0.\u0411\u041152\u0410\u041624000", _NOT_OVZ),
    ("technical", True, "804200\u041e.99.0.\u0411\u041152\u0410\u041648000", _ADAPTED),
    ("natural_science", True, "804200\u041e.99.0.\u0411\u041152\u0410\u041672000", _ADAPTED),
    ("sport", True, "804200\u041e.99.0.\u0411\u041152\u0410\u041696000", _ADAPTED),
    ("arts", True, "804200\u041e.99.0.\u0411\u041152\u0410\u041720000", _ADAPTED),
    ("tourism_local_history", True, "804200\u041e.99.0.\u0411\u041152\u0410\u041744000", _ADAPTED),
    ("social_humanitarian", True, "804200\u041e.99.0.\u0411\u041152\u0410\u041768000", _ADAPTED),
)

#: frozen here as in 0035_catalog_stemming
_INSERT = ("INSERT INTO program_search (rowid, title, description) "
           "VALUES (new.id, ru_stem(new.title), ru_stem(new.description));")
SQLITE_SEARCH_TRIGGERS = (
    f"CREATE TRIGGER program_search_insert AFTER INSERT ON program BEGIN {_INSERT} END",
    "CREATE TRIGGER program_search_delete AFTER DELETE ON program BEGIN "
    "DELETE FROM program_search WHERE rowid = old.id; END",
    "CREATE TRIGGER program_search_update AFTER UPDATE OF title, description ON program BEGIN "
    f"DELETE FROM program_search WHERE rowid = old.id; {_INSERT} END",
)


def upgrade():
    service_code = op.create_table(
        'service_code',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('registry_number', sa.String(length=32), nullable=False),
        sa.Column('direction_id', sa.Integer(), nullable=False),
        sa.Column('adapted', sa.Boolean(), nullable=False),
        sa.Column('name', sa.String(length=500), nullable=False),
        sa.ForeignKeyConstraint(['direction_id'], ['direction.id'], name=op.f('fk_service_code_direction_id_direction')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_service_code')),
        sa.UniqueConstraint('registry_number', name=op.f('uq_service_code_registry_number')),
        sa.UniqueConstraint('direction_id', 'adapted', name='uq_service_code_direction_adapted'),
    )
    op.create_table(
        'financed_service_code',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('service_code_id', sa.Integer(), nullable=False),
        sa.Column('municipality_id', sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(['municipality_id'], ['municipality.id'],
                                name=op.f('fk_financed_service_code_municipality_id_municipality')),
        sa.ForeignKeyConstraint(['service_code_id'], ['service_code.id'],
                                name=op.f('fk_financed_service_code_service_code_id_service_code')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_financed_service_code')),
        sa.UniqueConstraint('municipality_id', 'service_code_id', name='uq_financed_service_code'),
    )
    op.create_index(op.f('ix_financed_service_code_municipality_id'), 'financed_service_code', ['municipality_id'],
                    unique=False)
    # ADD COLUMN in place on both databases: a batch rebuild of `program` on SQLite would drop the catalog
    # search's triggers (0035)
    op.add_column('program', sa.Column('adapted', sa.Boolean(), server_default=sa.false(), nullable=False))
    op.add_column('child', sa.Column('health_encrypted', sa.Text(), nullable=True))
    op.add_column('child', sa.Column('health_consent_at', certapp.db.UTCDateTime(timezone=True), nullable=True))

    conn = op.get_bind()
    directions = dict(conn.execute(sa.text("SELECT code, id FROM direction")).all())
    rows = [{"registry_number": number, "direction_id": directions[code], "adapted": adapted, "name": name}
            for code, adapted, number, name in SERVICE_CODES if code in directions]
    if rows:
        op.bulk_insert(service_code, rows)
        conn.execute(sa.text(
            "INSERT INTO financed_service_code (municipality_id, service_code_id) "
            "SELECT m.id, s.id FROM municipality m CROSS JOIN service_code s WHERE s.adapted = :no"), {"no": False})


def downgrade():
    with op.batch_alter_table('child') as batch:
        batch.drop_column('health_consent_at')
        batch.drop_column('health_encrypted')
    with op.batch_alter_table('program') as batch:
        batch.drop_column('adapted')
    if op.get_bind().dialect.name == "sqlite":  # the rebuilt table lost the catalog search's triggers
        for trigger in SQLITE_SEARCH_TRIGGERS:
            op.execute(trigger)
    op.drop_index(op.f('ix_financed_service_code_municipality_id'), table_name='financed_service_code')
    op.drop_table('financed_service_code')
    op.drop_table('service_code')
