"""What became of reminders, for the manager's dashboard: sent or failed, by appointment."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select

from intake.appointments.models import Appointment
from intake.mail.models import OutboxMessage
from intake.platform.extensions import db
from intake.reminders.plan import REMINDER_KINDS

# The outbox's final states a reminder can reach: delivered, or given up on (refused by the
# provider, out of attempts, or too late to be of use).
OUTCOMES = {"sent": "sent", "dead": "failed"}


def reminder_outcomes(site_codes: list[str], starts: datetime, ends: datetime) -> list[tuple[str, datetime, str]]:
    """(site, the appointment's start, "sent" or "failed") of every reminder, sent or given up
    on, for appointments starting in [starts, ends); reminders still waiting are not counted."""
    rows = db.session.execute(
        select(Appointment.site_code, Appointment.starts_at, OutboxMessage.status)
        .join(OutboxMessage, OutboxMessage.appointment_id == Appointment.id)
        .where(OutboxMessage.kind.in_(REMINDER_KINDS), OutboxMessage.status.in_(list(OUTCOMES)),
               Appointment.site_code.in_(site_codes), Appointment.starts_at >= starts, Appointment.starts_at < ends)
    )
    return [(site, starts_at, OUTCOMES[status]) for site, starts_at, status in rows]
