"""The database's rule that an appointment's waiting reminders go when it is cancelled or moved.

Kept by a trigger, not by each caller, so no way of cancelling or moving an appointment (reception,
the patient's link, erasure, a waitlist offer taken) can leave a reminder of a time that no longer
holds. It runs in the same transaction as the change. A reminder already sent stays on record; one
being sent at that very moment is beyond recall. The scan queues reminders of the new time.
Migration 0019 runs the same statements.
"""

from __future__ import annotations

from sqlalchemy import event

from intake.platform.extensions import db
from intake.reminders.plan import REMINDER_KINDS

_KINDS = ", ".join(f"'{kind}'" for kind in REMINDER_KINDS)
_WITHDRAW = f"DELETE FROM outbox_messages WHERE appointment_id = NEW.id AND status = 'pending' AND kind IN ({_KINDS})"
# What a reminder says of an appointment: a change to any of these (or a cancellation) withdraws it.
SHOWN_IN_REMINDERS = ("starts_at", "site_code", "practitioner_id", "cancelled")


def withdrawal_ddl(dialect: str) -> list[str]:
    """The trigger (and on PostgreSQL its function) that withdraws an appointment's waiting reminders."""
    columns = ", ".join(SHOWN_IN_REMINDERS)
    if dialect == "postgresql":
        changed = " OR ".join(f"OLD.{column} IS DISTINCT FROM NEW.{column}" for column in SHOWN_IN_REMINDERS)
        return [
            f"CREATE OR REPLACE FUNCTION withdraw_reminders() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN {_WITHDRAW}; RETURN NULL; END $$",
            f"CREATE OR REPLACE TRIGGER appointments_withdraw_reminders AFTER UPDATE OF {columns} ON appointments "
            f"FOR EACH ROW WHEN ({changed}) EXECUTE FUNCTION withdraw_reminders()",
        ]
    if dialect == "sqlite":
        changed = " OR ".join(f"OLD.{column} IS NOT NEW.{column}" for column in SHOWN_IN_REMINDERS)
        return [f"CREATE TRIGGER IF NOT EXISTS appointments_withdraw_reminders AFTER UPDATE OF {columns} ON appointments "
                f"WHEN {changed} BEGIN {_WITHDRAW}; END"]
    return []


@event.listens_for(db.metadata, "after_create")
def _withdraw_reminders_on_change(metadata, connection, tables=(), **kw) -> None:
    """With the tables built from the models (tests): the trigger, once both its tables exist."""
    if {"appointments", "outbox_messages"} <= {table.name for table in tables}:
        for statement in withdrawal_ddl(connection.dialect.name):
            connection.exec_driver_sql(statement)
