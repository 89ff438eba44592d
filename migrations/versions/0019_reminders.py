"""Reminders: an outbox message may belong to an appointment and have a time after which it is too late

Revision ID: 0019_reminders
Revises: 0018_sms_texts
Create Date: 2026-11-30 10:00:00

`appointment_id` lets a cancellation or a move withdraw the reminders still waiting for the
appointment (a trigger does it: intake.reminders.withdrawal); `send_before` makes a message that could not go out in time die instead of arriving
after the appointment. The reminder scan reads upcoming appointments by start time alone, hence
the index on `starts_at`.
"""
from alembic import op
import sqlalchemy as sa

# As intake.reminders.withdrawal says, frozen here as this revision made it.
SHOWN_IN_REMINDERS = ("starts_at", "site_code", "practitioner_id", "cancelled")
WITHDRAW = ("DELETE FROM outbox_messages WHERE appointment_id = NEW.id AND status = 'pending' "
            "AND kind IN ('reminder_before', 'reminder_morning')")

revision = '0019_reminders'
down_revision = '0018_sms_texts'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('outbox_messages', schema=None) as batch_op:
        batch_op.add_column(sa.Column('appointment_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('send_before', sa.DateTime(timezone=True), nullable=True))
        batch_op.create_foreign_key(batch_op.f('fk_outbox_messages_appointment_id_appointments'), 'appointments', ['appointment_id'], ['id'])
        batch_op.create_index(batch_op.f('ix_outbox_messages_appointment_id'), ['appointment_id'], unique=False)
    with op.batch_alter_table('appointments', schema=None) as batch_op:
        batch_op.create_index('ix_appointments_starts', ['starts_at'], unique=False)
    columns = ", ".join(SHOWN_IN_REMINDERS)
    if op.get_bind().dialect.name == 'postgresql':
        changed = " OR ".join(f"OLD.{column} IS DISTINCT FROM NEW.{column}" for column in SHOWN_IN_REMINDERS)
        op.execute(f"CREATE OR REPLACE FUNCTION withdraw_reminders() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN {WITHDRAW}; RETURN NULL; END $$")
        op.execute(f"CREATE TRIGGER appointments_withdraw_reminders AFTER UPDATE OF {columns} ON appointments "
                   f"FOR EACH ROW WHEN ({changed}) EXECUTE FUNCTION withdraw_reminders()")
    else:
        changed = " OR ".join(f"OLD.{column} IS NOT NEW.{column}" for column in SHOWN_IN_REMINDERS)
        op.execute(f"CREATE TRIGGER appointments_withdraw_reminders AFTER UPDATE OF {columns} ON appointments "
                   f"WHEN {changed} BEGIN {WITHDRAW}; END")


def downgrade():
    if op.get_bind().dialect.name == 'postgresql':
        op.execute("DROP TRIGGER appointments_withdraw_reminders ON appointments")
        op.execute("DROP FUNCTION withdraw_reminders()")
    else:
        op.execute("DROP TRIGGER appointments_withdraw_reminders")
    with op.batch_alter_table('appointments', schema=None) as batch_op:
        batch_op.drop_index('ix_appointments_starts')
    with op.batch_alter_table('outbox_messages', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_outbox_messages_appointment_id'))
        batch_op.drop_constraint(batch_op.f('fk_outbox_messages_appointment_id_appointments'), type_='foreignkey')
        batch_op.drop_column('send_before')
        batch_op.drop_column('appointment_id')
