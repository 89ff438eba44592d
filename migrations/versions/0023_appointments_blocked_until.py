"""Appointments are indexed by the end of the time they block, so the free times read only those reaching into their window

Revision ID: 0023_appointments_blocked_until
Revises: 0022_search_trigrams
Create Date: 2026-11-30 11:00:00

The free-time search reads appointments with `starts_at < window end AND blocked_until > window
start`. Only the first had an index, which bounds the read from above: with years of past
appointments on record every one of them was read to find the few in the coming weeks. With an
index on `blocked_until` the database reads the appointments still to come.
"""
from alembic import op

revision = '0023_appointments_blocked_until'
down_revision = '0022_search_trigrams'
branch_labels = None
depends_on = None


def upgrade():
    op.create_index('ix_appointments_blocked_until', 'appointments', ['blocked_until'])


def downgrade():
    op.drop_index('ix_appointments_blocked_until', table_name='appointments')
