"""Per-status request counts, and indexes in the exact orders the back-office list uses

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-24 16:15:00

"""
from alembic import op
import sqlalchemy as sa

revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None

STATUSES = ('new', 'contacted', 'booked', 'attended', 'no_show', 'cancelled', 'declined')


def upgrade():
    op.create_table(
        'request_status_counts',
        sa.Column('status', sa.String(length=16), nullable=False),
        sa.Column('requests', sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint('status', name=op.f('pk_request_status_counts')),
    )
    for status in STATUSES:
        op.execute(
            f"INSERT INTO request_status_counts (status, requests) "
            f"SELECT '{status}', COUNT(*) FROM assessment_requests WHERE status = '{status}'"
        )
    with op.batch_alter_table('assessment_requests', schema=None) as batch_op:
        batch_op.drop_index('ix_assessment_requests_rank_created')
        batch_op.drop_index('ix_assessment_requests_status_rank_created')
        batch_op.drop_index('ix_assessment_requests_created_at')
        batch_op.create_index('ix_assessment_requests_rank_created', ['urgency_rank', sa.text('created_at DESC'), sa.text('id DESC')], unique=False)
        batch_op.create_index('ix_assessment_requests_status_rank_created', ['status', 'urgency_rank', sa.text('created_at DESC'), sa.text('id DESC')], unique=False)
        batch_op.create_index('ix_assessment_requests_created_id', ['created_at', 'id'], unique=False)


def downgrade():
    with op.batch_alter_table('assessment_requests', schema=None) as batch_op:
        batch_op.drop_index('ix_assessment_requests_created_id')
        batch_op.drop_index('ix_assessment_requests_status_rank_created')
        batch_op.drop_index('ix_assessment_requests_rank_created')
        batch_op.create_index('ix_assessment_requests_created_at', ['created_at'], unique=False)
        batch_op.create_index('ix_assessment_requests_status_rank_created', ['status', 'urgency_rank', 'created_at'], unique=False)
        batch_op.create_index('ix_assessment_requests_rank_created', ['urgency_rank', 'created_at'], unique=False)
    op.drop_table('request_status_counts')
