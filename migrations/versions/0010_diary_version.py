"""The database raises a diary version on every change to the diary, so free times can be reused

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-30 03:05:00

Working out a site's free times reads the hours, exceptions and bookings and runs the slot
engine: about ten milliseconds. They change only when the diary does, so the app keeps them for
the diary's version, which triggers raise after every insert, update and delete of the diary's
tables (in the same transaction as the change).
"""
import secrets

import sqlalchemy as sa
from alembic import op

revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None

DIARY_TABLES = (
    "practitioners", "practitioner_sites", "working_hours", "diary_exceptions", "appointment_types", "booking_rules", "appointments",
)
BUMP = "UPDATE diary_version SET version = version + 1"


def upgrade():
    op.create_table('diary_version',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('token', sa.String(length=32), nullable=False),
        sa.Column('version', sa.BigInteger(), nullable=False),
        sa.CheckConstraint('id = 1', name=op.f('ck_diary_version_single_row')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_diary_version')),
    )
    op.execute(f"INSERT INTO diary_version (id, token, version) VALUES (1, '{secrets.token_hex(16)}', 0)")
    if op.get_bind().dialect.name == 'postgresql':
        op.execute(f"CREATE OR REPLACE FUNCTION bump_diary_version() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN {BUMP}; RETURN NULL; END $$")
        for table in DIARY_TABLES:
            op.execute(f"CREATE TRIGGER {table}_bump_diary_version AFTER INSERT OR UPDATE OR DELETE ON {table} "
                       "FOR EACH STATEMENT EXECUTE FUNCTION bump_diary_version()")
    else:
        for table in DIARY_TABLES:
            for event in ("insert", "update", "delete"):
                op.execute(f"CREATE TRIGGER {table}_bump_diary_version_{event} AFTER {event.upper()} ON {table} BEGIN {BUMP}; END")


def downgrade():
    if op.get_bind().dialect.name == 'postgresql':
        for table in DIARY_TABLES:
            op.execute(f"DROP TRIGGER {table}_bump_diary_version ON {table}")
        op.execute("DROP FUNCTION bump_diary_version()")
    else:
        for table in DIARY_TABLES:
            for event in ("insert", "update", "delete"):
                op.execute(f"DROP TRIGGER {table}_bump_diary_version_{event}")
    op.drop_table('diary_version')
