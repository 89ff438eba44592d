"""Queueing reminders as they come due, and withdrawing them when an appointment changes.

A scan of the appointments starting in the next few days (`queue_due_reminders`), run by the
outbox worker every REMINDER_SCAN_SECONDS or from cron (`flask reminders queue`). Each
appointment's reminders are planned as it stands now, from when it was booked or last moved
(`reminders.plan`), and those due within the look-ahead go into the outbox, not to be sent
before their time nor after the last sending time before the appointment.

Never twice: a reminder's message id names the appointment, the kind and the start time, and
the outbox refuses a second message with the same id, so two scans at once, or one run twice,
queue it once; a moved appointment has a new start, so it is reminded of its new time. Reminders
already queued are skipped before their words are written, and on PostgreSQL each batch of
appointments is locked by the worker that reads it (others skip to the next batch), so two
workers share a scan rather than both doing all of it. Never for a cancelled or moved
appointment: the database withdraws what is still waiting when an appointment is cancelled or
moved (intake.reminders.withdrawal), and the lock means a cancellation cannot slip in between a
scan's reading an appointment and queueing its reminder.

Plain functions taking plain arguments (no Flask request, session or app).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.dialects import postgresql, sqlite

from intake.appointments import manage_links
from intake.appointments.models import Appointment, ManageLink, Practitioner
from intake.reminders.plan import LAST_SENDING, REMINDER_KINDS, Reminder, ReminderRules, plan
from intake.clinic.sites import Site, site_by_code
from intake.journey.models import AssessmentRequest
from intake.mail.models import OutboxMessage
from intake.mail.notifications import MailSettings
from intake.reminders.messages import ReminderFor, message_ids, reminder_columns
from intake.platform.extensions import db

BATCH_SIZE = 1000


@dataclass(frozen=True)
class ReminderSettings:
    """When reminders go (the clinic's rules), how far ahead the scan queues them, and the
    manage link's cut-off (a reminder read inside it says to phone instead)."""

    rules: ReminderRules
    lookahead: timedelta
    cutoff: timedelta

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> ReminderSettings:
        morning = config["REMINDER_MORNING_TEXT_AT"]
        return cls(
            rules=ReminderRules(
                days_before=int(config["REMINDER_DAYS_BEFORE"]), at=time.fromisoformat(config["REMINDER_AT"]),
                morning_text_at=time.fromisoformat(morning) if morning else None,
            ),
            lookahead=timedelta(minutes=int(config["REMINDER_LOOKAHEAD_MINUTES"])),
            cutoff=timedelta(hours=int(config["MANAGE_CUTOFF_HOURS"])),
        )

    @property
    def reach(self) -> timedelta:
        """How far ahead an appointment can have a reminder due within the look-ahead."""
        return timedelta(days=self.rules.days_before + 1, hours=14) + self.lookahead


def _upcoming(now: datetime, settings: ReminderSettings, after_id: int, batch_size: int):
    query = (
        select(
            Appointment.id, Appointment.request_id, Appointment.starts_at, Appointment.updated_at, Appointment.minutes,
            Appointment.site_code, Practitioner.name, AssessmentRequest.reference, AssessmentRequest.first_name,
            AssessmentRequest.email, AssessmentRequest.phone, AssessmentRequest.contact_method, ManageLink.nonce,
        )
        .join(Practitioner, Practitioner.id == Appointment.practitioner_id)
        .join(AssessmentRequest, AssessmentRequest.id == Appointment.request_id)
        .outerjoin(ManageLink, ManageLink.appointment_id == Appointment.id)
        .where(
            Appointment.cancelled.is_(False), Appointment.starts_at > now + LAST_SENDING,
            Appointment.starts_at <= now + settings.reach, Appointment.id > after_id,
        )
        .order_by(Appointment.id)
        .limit(batch_size)
    )
    if db.engine.dialect.name == "postgresql":
        # Each batch is this worker's alone until committed: another worker skips to the next,
        # and a cancellation or move of these rows waits for their reminders to be queued.
        query = query.with_for_update(skip_locked=True, key_share=True, of=Appointment)
    return db.session.execute(query).all()


def _already_queued(appointment_ids: list[int]) -> set[str]:
    """The message ids of the reminders already in the outbox for these appointments."""
    return set(db.session.execute(select(OutboxMessage.message_id).where(
        OutboxMessage.appointment_id.in_(appointment_ids), OutboxMessage.kind.in_(REMINDER_KINDS),
    )).scalars())


def _manage_url(row, due_at: datetime, settings: ReminderSettings, mail: MailSettings, now: datetime) -> str:
    """The manage link, when it will still move or cancel the appointment as the reminder arrives."""
    if due_at >= row.starts_at - settings.cutoff:
        return ""
    if row.nonce is None:  # booked before manage links existed
        return manage_links.manage_url(row.id, secret=mail.link_secret, base_url=mail.public_base_url, now=now)
    return manage_links.address(mail.public_base_url, manage_links.token_of(row.nonce, mail.link_secret))


def _latest_due(row, by: datetime, rules: ReminderRules) -> Reminder | None:
    """The appointment's latest reminder due by `by`: after a pause (the worker was down), the
    patient gets the one that matters now, not every one missed."""
    due = [reminder for reminder in plan(row.starts_at, now=row.updated_at, contact_method=row.contact_method or "", rules=rules)
           if reminder.due_at <= by]
    return max(due, key=lambda reminder: reminder.due_at, default=None)


def _insert_new(rows: list[dict[str, Any]]) -> int:
    """Insert the messages whose ids are not in the outbox yet (one prepared statement, sent
    for every row); return how many were new."""
    dialect = postgresql if db.engine.dialect.name == "postgresql" else sqlite
    statement = dialect.insert(OutboxMessage.__table__).on_conflict_do_nothing(index_elements=["message_id"])
    return db.session.execute(statement.execution_options(preserve_rowcount=True), rows).rowcount


def queue_due_reminders(now: datetime, *, settings: ReminderSettings, mail: MailSettings, sites: list[Site],
                        batch_size: int = BATCH_SIZE) -> int:
    """Queue every reminder due by `now` plus the look-ahead for appointments still to come, a
    batch of appointments at a time (each batch committed, so a scan stopped half-way loses
    nothing and the next one carries on); return how many reminders were new."""
    queued, after_id = 0, 0
    while rows := _upcoming(now, settings, after_id, batch_size):
        messages, queued_before = [], _already_queued([row.id for row in rows])
        for row in rows:
            reminder = _latest_due(row, now + settings.lookahead, settings.rules)
            if reminder is None or queued_before & message_ids(reminder, row.id, row.starts_at, mail):
                continue
            about = ReminderFor(
                row.id, row.request_id, row.reference, row.first_name, row.email, row.phone, row.starts_at, row.minutes,
                row.name, site_by_code(sites, row.site_code), _manage_url(row, reminder.due_at, settings, mail, now),
            )
            columns = reminder_columns(reminder, about, mail, now=now, send_before=row.starts_at - LAST_SENDING)
            if columns is not None:
                messages.append(columns)
        if messages:
            queued += _insert_new(messages)
        db.session.commit()
        after_id = rows[-1].id
    return queued
