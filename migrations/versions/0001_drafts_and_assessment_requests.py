"""Drafts and assessment requests

Revision ID: 0001
Revises: 
Create Date: 2026-11-24 15:22:09.484596

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0001'
down_revision = None
branch_labels = None
depends_on = None


def upgrade():
    
    op.create_table('assessment_requests',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('reference', sa.String(length=8), nullable=False),
    sa.Column('submission_key', sa.String(length=64), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('urgency', sa.String(length=16), nullable=False),
    sa.Column('urgency_reasons', sa.JSON(), nullable=False),
    sa.Column('soft_flags', sa.JSON(), nullable=False),
    sa.Column('first_name', sa.String(length=100), nullable=False),
    sa.Column('last_name', sa.String(length=100), nullable=False),
    sa.Column('date_of_birth', sa.Date(), nullable=False),
    sa.Column('email', sa.String(length=254), nullable=False),
    sa.Column('phone', sa.String(length=20), nullable=False),
    sa.Column('contact_method', sa.String(length=16), nullable=False),
    sa.Column('postcode', sa.String(length=10), nullable=True),
    sa.Column('region', sa.String(length=32), nullable=False),
    sa.Column('side', sa.String(length=16), nullable=False),
    sa.Column('duration', sa.String(length=32), nullable=False),
    sa.Column('onset', sa.String(length=32), nullable=False),
    sa.Column('pain_now', sa.Integer(), nullable=False),
    sa.Column('pain_worst', sa.Integer(), nullable=False),
    sa.Column('sensations', sa.JSON(), nullable=False),
    sa.Column('description', sa.Text(), nullable=False),
    sa.Column('goals', sa.Text(), nullable=False),
    sa.Column('safety_answers', sa.JSON(), nullable=False),
    sa.Column('site_code', sa.String(length=40), nullable=False),
    sa.Column('available_days', sa.JSON(), nullable=False),
    sa.Column('available_times', sa.JSON(), nullable=False),
    sa.Column('earliest_date', sa.Date(), nullable=True),
    sa.Column('availability_note', sa.Text(), nullable=False),
    sa.Column('consent_given_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('marketing_opt_in', sa.Boolean(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint("status IN ('new', 'contacted', 'booked', 'attended', 'no_show', 'cancelled', 'declined')", name=op.f('ck_assessment_requests_status_known')),
    sa.CheckConstraint("urgency IN ('routine', 'urgent', 'emergency')", name=op.f('ck_assessment_requests_urgency_known')),
    sa.CheckConstraint('pain_now BETWEEN 0 AND 10', name=op.f('ck_assessment_requests_pain_now_range')),
    sa.CheckConstraint('pain_worst BETWEEN 0 AND 10', name=op.f('ck_assessment_requests_pain_worst_range')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_assessment_requests')),
    sa.UniqueConstraint('reference', name=op.f('uq_assessment_requests_reference')),
    sa.UniqueConstraint('submission_key', name=op.f('uq_assessment_requests_submission_key'))
    )
    with op.batch_alter_table('assessment_requests', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_assessment_requests_created_at'), ['created_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_assessment_requests_site_code'), ['site_code'], unique=False)
        batch_op.create_index('ix_assessment_requests_status_created', ['status', 'created_at'], unique=False)
        batch_op.create_index('ix_assessment_requests_urgency_created', ['urgency', 'created_at'], unique=False)

    op.create_table('drafts',
    sa.Column('id', sa.String(length=64), nullable=False),
    sa.Column('answers', sa.JSON(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('expires_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_drafts'))
    )
    with op.batch_alter_table('drafts', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_drafts_expires_at'), ['expires_at'], unique=False)




def downgrade():
    
    with op.batch_alter_table('drafts', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_drafts_expires_at'))

    op.drop_table('drafts')
    with op.batch_alter_table('assessment_requests', schema=None) as batch_op:
        batch_op.drop_index('ix_assessment_requests_urgency_created')
        batch_op.drop_index('ix_assessment_requests_status_created')
        batch_op.drop_index(batch_op.f('ix_assessment_requests_site_code'))
        batch_op.drop_index(batch_op.f('ix_assessment_requests_created_at'))

    op.drop_table('assessment_requests')

