"""Each request keeps the red flags found in the patient's own words

Revision ID: 0017_free_text_flags
Revises: 0016_two_factor
Create Date: 2026-11-30 07:00:00

Requests stored before hold an empty list: their words were never read for red flags.
"""
import sqlalchemy as sa
from alembic import op

revision = '0017_free_text_flags'
down_revision = '0016_two_factor'
branch_labels = None
depends_on = None


def upgrade():
    # Plain ALTER TABLE, not batch mode: SQLite's batch mode rebuilds the table, and with it would
    # go the triggers that keep the status counts (migration 0007).
    op.add_column("assessment_requests", sa.Column("free_text_flags", sa.JSON(), nullable=False, server_default="[]"))


def downgrade():
    op.execute("ALTER TABLE assessment_requests DROP COLUMN free_text_flags")  # SQLite 3.35+ and PostgreSQL alike
