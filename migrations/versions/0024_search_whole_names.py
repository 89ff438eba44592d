"""The back office's search finds a whole surname, name or email address through B-tree indexes in the list's order

Revision ID: 0024_search_whole_names
Revises: 0023_appointments_blocked_until
Create Date: 2026-11-30 13:10:00

A search typed whole is matched whole first (intake.staff.listing.resolve_search), so a common
surname shared by a thousand requests costs one page of index entries, not a thousand rows read
and sorted:
- `lower(last_name)` and `lower(first_name || ' ' || last_name)`, each followed by the list's
  order (urgency rank, back-pain risk rank, newest first, id), with the names included on
  PostgreSQL so that counting the matches reads the index alone;
- `lower(email)`, for a whole email address (the trigram index reads long lists for the parts
  every address shares).
"""
from alembic import op
import sqlalchemy as sa

revision = '0024_search_whole_names'
down_revision = '0023_appointments_blocked_until'
branch_labels = None
depends_on = None

# Frozen copy of intake.journey.models.WHOLE_NAME_INDEXES at this revision.
WHOLE_NAME_INDEXES = {
    'ix_assessment_requests_surname_rank': 'lower(last_name)',
    'ix_assessment_requests_name_rank': "lower(first_name || ' ' || last_name)",
}


def upgrade():
    for name, expression in WHOLE_NAME_INDEXES.items():
        op.create_index(
            name, 'assessment_requests',
            [sa.text(expression), 'urgency_rank', 'back_risk_rank', sa.text('created_at DESC'), sa.text('id DESC')],
            postgresql_include=['first_name', 'last_name'],
        )
    op.create_index('ix_assessment_requests_email_lower', 'assessment_requests', [sa.text('lower(email)')])


def downgrade():
    op.drop_index('ix_assessment_requests_email_lower', table_name='assessment_requests')
    for name in WHOLE_NAME_INDEXES:
        op.drop_index(name, table_name='assessment_requests')
