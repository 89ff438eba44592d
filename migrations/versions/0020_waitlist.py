"""The waitlist: patients asking for an earlier time, and the freed times offered to them

Revision ID: 0020_waitlist
Revises: 0019_reminders
Create Date: 2026-11-30 10:30:00

One waiting entry per appointment (a partial unique index); an offer keeps only its link's digest.
"""
from alembic import op
import sqlalchemy as sa

revision = '0020_waitlist'
down_revision = '0019_reminders'
branch_labels = None
depends_on = None

WAITING = sa.text('ended_at IS NULL')


def upgrade():
    op.create_table('waitlist_entries',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('request_id', sa.Integer(), nullable=False),
        sa.Column('appointment_id', sa.Integer(), nullable=False),
        sa.Column('asked_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('ended_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('ended_because', sa.String(length=24), nullable=True),
        sa.CheckConstraint("ended_because IS NULL OR ended_because IN ('left', 'offer_taken', 'appointment_cancelled')",
                           name=op.f('ck_waitlist_entries_ending_known')),
        sa.CheckConstraint('(ended_at IS NULL) = (ended_because IS NULL)', name=op.f('ck_waitlist_entries_ending_recorded')),
        sa.ForeignKeyConstraint(['appointment_id'], ['appointments.id'], name=op.f('fk_waitlist_entries_appointment_id_appointments')),
        sa.ForeignKeyConstraint(['request_id'], ['assessment_requests.id'], name=op.f('fk_waitlist_entries_request_id_assessment_requests')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_waitlist_entries')),
    )
    op.create_index(op.f('ix_waitlist_entries_request_id'), 'waitlist_entries', ['request_id'])
    op.create_index('ix_waitlist_entries_one_waiting', 'waitlist_entries', ['appointment_id'], unique=True,
                    sqlite_where=WAITING, postgresql_where=WAITING)
    op.create_index('ix_waitlist_entries_waiting_asked', 'waitlist_entries', ['asked_at', 'id'],
                    sqlite_where=WAITING, postgresql_where=WAITING)
    op.create_table('waitlist_offers',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('entry_id', sa.Integer(), nullable=False),
        sa.Column('practitioner_id', sa.Integer(), nullable=False),
        sa.Column('site_code', sa.String(length=40), nullable=False),
        sa.Column('starts_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('token_digest', sa.String(length=64), nullable=False),
        sa.Column('channel', sa.String(length=8), nullable=False),
        sa.Column('offered_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('expires_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('outcome', sa.String(length=12), nullable=True),
        sa.Column('answered_at', sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint("outcome IS NULL OR outcome IN ('taken', 'gone', 'declined', 'withdrawn')", name=op.f('ck_waitlist_offers_outcome_known')),
        sa.CheckConstraint("channel IN ('email', 'sms')", name=op.f('ck_waitlist_offers_channel_known')),
        sa.CheckConstraint('(outcome IS NULL) = (answered_at IS NULL)', name=op.f('ck_waitlist_offers_answer_recorded')),
        sa.CheckConstraint('expires_at > offered_at', name=op.f('ck_waitlist_offers_expires_after_offered')),
        sa.ForeignKeyConstraint(['entry_id'], ['waitlist_entries.id'], name=op.f('fk_waitlist_offers_entry_id_waitlist_entries')),
        sa.ForeignKeyConstraint(['practitioner_id'], ['practitioners.id'], name=op.f('fk_waitlist_offers_practitioner_id_practitioners')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_waitlist_offers')),
        sa.UniqueConstraint('token_digest', name=op.f('uq_waitlist_offers_token_digest')),
    )
    op.create_index(op.f('ix_waitlist_offers_entry_id'), 'waitlist_offers', ['entry_id'])
    op.create_index('ix_waitlist_offers_time', 'waitlist_offers', ['practitioner_id', 'starts_at'])
    op.create_index('ix_waitlist_offers_site_starts', 'waitlist_offers', ['site_code', 'starts_at'])


def downgrade():
    op.drop_table('waitlist_offers')
    op.drop_table('waitlist_entries')
