"""The database itself refuses changes to audit entries and notes

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-24 16:40:00

"""
from alembic import op

revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None

TABLES = ('audit_events', 'request_notes')


def upgrade():
    if op.get_bind().dialect.name == 'postgresql':
        op.execute(
            "CREATE FUNCTION refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$ "
            "BEGIN RAISE EXCEPTION '% rows cannot be changed or deleted', TG_TABLE_NAME; END $$"
        )
        for table in TABLES:
            op.execute(f"CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON {table} "
                       f"FOR EACH ROW EXECUTE FUNCTION refuse_change()")
    else:
        for table in TABLES:
            for event in ('UPDATE', 'DELETE'):
                op.execute(f"CREATE TRIGGER {table}_no_{event.lower()} BEFORE {event} ON {table} "
                           f"BEGIN SELECT RAISE(ABORT, '{table} rows cannot be changed or deleted'); END")


def downgrade():
    if op.get_bind().dialect.name == 'postgresql':
        for table in TABLES:
            op.execute(f"DROP TRIGGER {table}_append_only ON {table}")
        op.execute("DROP FUNCTION refuse_change()")
    else:
        for table in TABLES:
            for event in ('update', 'delete'):
                op.execute(f"DROP TRIGGER {table}_no_{event}")
