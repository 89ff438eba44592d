"""The back office's search by part of a name, email or phone number reads trigram indexes on PostgreSQL

Revision ID: 0022_search_trigrams
Revises: 0021_back_pain_risk
Create Date: 2026-11-30 11:00:00

- PostgreSQL: the pg_trgm extension (contrib, shipped with PostgreSQL) and three GIN indexes with
  its operator class, on exactly the expressions intake.staff.listing searches:
  `lower(first_name || ' ' || last_name)`, `lower(email)` and `phone`. A `LIKE '%part%'` of three
  characters or more then reads the index instead of every request.
- Both: a B-tree index on `phone` (E.164), for a whole number typed in: digits have few trigrams,
  each in many numbers, so the exact lookup is far cheaper than the trigram index.
- SQLite: no trigram index. A one-machine trial's search by part of a name or email scans the
  table (about a tenth of a second at 100,000 requests); see benchmarks/README.md.
"""
from alembic import op

revision = '0022_search_trigrams'
down_revision = '0021_back_pain_risk'
branch_labels = None
depends_on = None

# Frozen copy of intake.journey.models.TRIGRAM_INDEXES at this revision.
TRIGRAM_INDEXES = {
    'ix_assessment_requests_name_trgm': "lower(first_name || ' ' || last_name)",
    'ix_assessment_requests_email_trgm': 'lower(email)',
    'ix_assessment_requests_phone_trgm': 'phone',
}


def upgrade():
    op.create_index('ix_assessment_requests_phone', 'assessment_requests', ['phone'])
    if op.get_bind().dialect.name != 'postgresql':
        return
    op.execute('CREATE EXTENSION IF NOT EXISTS pg_trgm')
    for name, expression in TRIGRAM_INDEXES.items():
        op.execute(f'CREATE INDEX {name} ON assessment_requests USING gin ({expression} gin_trgm_ops)')


def downgrade():
    op.drop_index('ix_assessment_requests_phone', table_name='assessment_requests')
    if op.get_bind().dialect.name != 'postgresql':
        return
    for name in TRIGRAM_INDEXES:
        op.execute(f'DROP INDEX {name}')
    # The extension stays: dropping it could break anything else that came to use it.
