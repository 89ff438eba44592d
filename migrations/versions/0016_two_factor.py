"""Two-step sign-in for staff: each account's authenticator secret and its recovery codes

Revision ID: 0016_two_factor
Revises: 0015_erasure_retention
Create Date: 2026-11-30 07:00:00

New tables only: no account has two-step sign-in until its owner sets it up.
"""
import sqlalchemy as sa
from alembic import op

revision = '0016_two_factor'
down_revision = '0015_erasure_retention'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'staff_second_factors',
        sa.Column('staff_id', sa.Integer(), nullable=False),
        sa.Column('secret', sa.String(length=64), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('enrolled_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('last_step', sa.BigInteger(), nullable=True),
        sa.CheckConstraint('length(secret) >= 16', name=op.f('ck_staff_second_factors_secret_long_enough')),
        sa.CheckConstraint('last_step IS NULL OR last_step >= 0', name=op.f('ck_staff_second_factors_last_step_not_negative')),
        sa.CheckConstraint('last_step IS NULL OR enrolled_at IS NOT NULL', name=op.f('ck_staff_second_factors_used_only_once_enrolled')),
        sa.ForeignKeyConstraint(['staff_id'], ['staff_users.id'], name=op.f('fk_staff_second_factors_staff_id_staff_users'), ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('staff_id', name=op.f('pk_staff_second_factors')),
    )
    op.create_table(
        'staff_recovery_codes',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('staff_id', sa.Integer(), nullable=False),
        sa.Column('code_hash', sa.String(length=255), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('used_at', sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(['staff_id'], ['staff_users.id'], name=op.f('fk_staff_recovery_codes_staff_id_staff_users'), ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_staff_recovery_codes')),
    )
    op.create_index(op.f('ix_staff_recovery_codes_staff_id'), 'staff_recovery_codes', ['staff_id'], unique=False)


def downgrade():
    op.drop_index(op.f('ix_staff_recovery_codes_staff_id'), table_name='staff_recovery_codes')
    op.drop_table('staff_recovery_codes')
    op.drop_table('staff_second_factors')
