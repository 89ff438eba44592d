"""Each appointment can be marked attended or did not attend

Revision ID: 0014
Revises: 0013
Create Date: 2026-11-30 07:55:00

Plain ALTER TABLE on both databases: SQLite's batch mode would rebuild the table and lose the
triggers that refuse overlaps and raise the diary's version. The check names the two outcomes.
"""
import sqlalchemy as sa
from alembic import op

revision = '0014'
down_revision = '0013'
branch_labels = None
depends_on = None


def upgrade():
    if op.get_bind().dialect.name == 'postgresql':
        op.add_column('appointments', sa.Column('outcome', sa.String(length=16), nullable=True))
        op.create_check_constraint(op.f('ck_appointments_outcome_known'), 'appointments', "outcome IS NULL OR outcome IN ('attended', 'no_show')")
    else:
        op.execute("ALTER TABLE appointments ADD COLUMN outcome VARCHAR(16) "
                   "CONSTRAINT ck_appointments_outcome_known CHECK (outcome IS NULL OR outcome IN ('attended', 'no_show'))")


def downgrade():
    if op.get_bind().dialect.name == 'postgresql':
        op.drop_constraint(op.f('ck_appointments_outcome_known'), 'appointments')
    op.drop_column('appointments', 'outcome')
