"""Each appointment can have a manage link: the nonce its token is made from, and the token's digest

Revision ID: 0013
Revises: 0012
Create Date: 2026-11-30 07:40:00
"""
import sqlalchemy as sa
from alembic import op


revision = '0013'
down_revision = '0012'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('manage_links',
        sa.Column('appointment_id', sa.Integer(), nullable=False),
        sa.Column('nonce', sa.String(length=32), nullable=False),
        sa.Column('token_digest', sa.String(length=64), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['appointment_id'], ['appointments.id'], name=op.f('fk_manage_links_appointment_id_appointments')),
        sa.PrimaryKeyConstraint('appointment_id', name=op.f('pk_manage_links')),
        sa.UniqueConstraint('token_digest', name=op.f('uq_manage_links_token_digest')),
    )


def downgrade():
    op.drop_table('manage_links')
