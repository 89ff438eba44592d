"""Texts go through the outbox too: a channel on every message, and the provider's id once sent

Revision ID: 0018_sms_texts
Revises: 0017_free_text_flags
Create Date: 2026-11-30 07:40:00

Every message already queued is an email. A text's recipient is a number in E.164 form, which
always starts with "+"; the database refuses a text to anything else.
"""
from alembic import op
import sqlalchemy as sa

revision = '0018_sms_texts'
down_revision = '0017_free_text_flags'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('outbox_messages', schema=None) as batch_op:
        batch_op.add_column(sa.Column('channel', sa.String(length=8), server_default='email', nullable=False))
        batch_op.add_column(sa.Column('provider_id', sa.String(length=100), nullable=True))
        batch_op.create_check_constraint(batch_op.f('ck_outbox_messages_channel_known'), "channel IN ('email', 'sms')")
        batch_op.create_check_constraint(batch_op.f('ck_outbox_messages_sms_to_e164'), "channel <> 'sms' OR recipient LIKE '+%'")


def downgrade():
    with op.batch_alter_table('outbox_messages', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('ck_outbox_messages_sms_to_e164'), type_='check')
        batch_op.drop_constraint(batch_op.f('ck_outbox_messages_channel_known'), type_='check')
        batch_op.drop_column('provider_id')
        batch_op.drop_column('channel')
