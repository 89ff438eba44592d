"""Back office: staff, audit, notes, appointments

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-24 16:00:17.653456

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade():

    op.create_table('staff_users',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('email', sa.String(length=254), nullable=False),
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('role', sa.String(length=16), nullable=False),
    sa.Column('password_hash', sa.String(length=255), nullable=False),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('session_version', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('last_login_at', sa.DateTime(timezone=True), nullable=True),
    sa.CheckConstraint("role IN ('reception', 'clinician', 'admin')", name=op.f('ck_staff_users_role_known')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_staff_users')),
    sa.UniqueConstraint('email', name=op.f('uq_staff_users_email'))
    )
    op.create_table('appointments',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('request_id', sa.Integer(), nullable=False),
    sa.Column('starts_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('minutes', sa.Integer(), nullable=False),
    sa.Column('clinician_id', sa.Integer(), nullable=False),
    sa.Column('site_code', sa.String(length=40), nullable=False),
    sa.Column('booked_by_id', sa.Integer(), nullable=False),
    sa.Column('cancelled', sa.Boolean(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['booked_by_id'], ['staff_users.id'], name=op.f('fk_appointments_booked_by_id_staff_users')),
    sa.ForeignKeyConstraint(['clinician_id'], ['staff_users.id'], name=op.f('fk_appointments_clinician_id_staff_users')),
    sa.ForeignKeyConstraint(['request_id'], ['assessment_requests.id'], name=op.f('fk_appointments_request_id_assessment_requests')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_appointments'))
    )
    with op.batch_alter_table('appointments', schema=None) as batch_op:
        batch_op.create_index('ix_appointments_clinician_starts', ['clinician_id', 'starts_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_appointments_request_id'), ['request_id'], unique=False)

    op.create_table('audit_events',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('staff_id', sa.Integer(), nullable=True),
    sa.Column('staff_email', sa.String(length=254), nullable=False),
    sa.Column('action', sa.String(length=40), nullable=False),
    sa.Column('request_id', sa.Integer(), nullable=True),
    sa.Column('detail', sa.JSON(), nullable=False),
    sa.ForeignKeyConstraint(['request_id'], ['assessment_requests.id'], name=op.f('fk_audit_events_request_id_assessment_requests')),
    sa.ForeignKeyConstraint(['staff_id'], ['staff_users.id'], name=op.f('fk_audit_events_staff_id_staff_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_audit_events'))
    )
    with op.batch_alter_table('audit_events', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_audit_events_action'), ['action'], unique=False)
        batch_op.create_index(batch_op.f('ix_audit_events_at'), ['at'], unique=False)
        batch_op.create_index('ix_audit_events_request_at', ['request_id', 'at'], unique=False)

    op.create_table('request_notes',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('request_id', sa.Integer(), nullable=False),
    sa.Column('author_id', sa.Integer(), nullable=False),
    sa.Column('body', sa.Text(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['author_id'], ['staff_users.id'], name=op.f('fk_request_notes_author_id_staff_users')),
    sa.ForeignKeyConstraint(['request_id'], ['assessment_requests.id'], name=op.f('fk_request_notes_request_id_assessment_requests')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_request_notes'))
    )
    with op.batch_alter_table('request_notes', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_request_notes_request_id'), ['request_id'], unique=False)

    with op.batch_alter_table('assessment_requests', schema=None) as batch_op:
        batch_op.add_column(sa.Column('urgency_rank', sa.Integer(), nullable=False, server_default='2'))
    # Existing requests get their rank from their urgency: emergency 0, urgent 1, routine 2.
    op.execute("UPDATE assessment_requests SET urgency_rank = CASE urgency WHEN 'emergency' THEN 0 WHEN 'urgent' THEN 1 ELSE 2 END")
    with op.batch_alter_table('assessment_requests', schema=None) as batch_op:
        batch_op.alter_column('urgency_rank', server_default=None)
        batch_op.create_index('ix_assessment_requests_rank_created', ['urgency_rank', 'created_at'], unique=False)
        batch_op.create_index('ix_assessment_requests_status_rank_created', ['status', 'urgency_rank', 'created_at'], unique=False)

    with op.batch_alter_table('outbox_messages', schema=None) as batch_op:
        batch_op.add_column(sa.Column('attachment_name', sa.String(length=100), nullable=True))
        batch_op.add_column(sa.Column('attachment_type', sa.String(length=100), nullable=True))
        batch_op.add_column(sa.Column('attachment_body', sa.Text(), nullable=True))




def downgrade():

    with op.batch_alter_table('outbox_messages', schema=None) as batch_op:
        batch_op.drop_column('attachment_body')
        batch_op.drop_column('attachment_type')
        batch_op.drop_column('attachment_name')

    with op.batch_alter_table('assessment_requests', schema=None) as batch_op:
        batch_op.drop_index('ix_assessment_requests_status_rank_created')
        batch_op.drop_index('ix_assessment_requests_rank_created')
        batch_op.drop_column('urgency_rank')

    with op.batch_alter_table('request_notes', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_request_notes_request_id'))

    op.drop_table('request_notes')
    with op.batch_alter_table('audit_events', schema=None) as batch_op:
        batch_op.drop_index('ix_audit_events_request_at')
        batch_op.drop_index(batch_op.f('ix_audit_events_at'))
        batch_op.drop_index(batch_op.f('ix_audit_events_action'))

    op.drop_table('audit_events')
    with op.batch_alter_table('appointments', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_appointments_request_id'))
        batch_op.drop_index('ix_appointments_clinician_starts')

    op.drop_table('appointments')
    op.drop_table('staff_users')

