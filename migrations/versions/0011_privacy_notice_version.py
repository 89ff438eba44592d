"""Each request keeps the version of the privacy notice the patient agreed to

Revision ID: 0011
Revises: 0010
Create Date: 2026-11-30 05:30:00

Requests stored before keep none (NULL): nobody recorded which wording they saw.
"""
import sqlalchemy as sa
from alembic import op

revision = '0011'
down_revision = '0010'
branch_labels = None
depends_on = None


def upgrade():
    # Plain ALTER TABLE, not batch mode: SQLite's batch mode rebuilds the table, and with it would
    # go the triggers that keep the status counts (migration 0007).
    op.add_column("assessment_requests", sa.Column("privacy_notice_version", sa.String(length=20), nullable=True))


def downgrade():
    op.execute("ALTER TABLE assessment_requests DROP COLUMN privacy_notice_version")  # SQLite 3.35+ and PostgreSQL alike
