"""When to remind a patient of their appointment, and how: pure Python (no Flask, no database).

Reminders are set in London wall-clock time, so "two days before at 10:00" is 10:00 on that day
whether or not the clocks change in between; every instant given and returned is aware UTC.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo

LONDON = ZoneInfo("Europe/London")
# A text on the day goes at least this long before the appointment (for an early one).
MORNING_TEXT_LEAD = timedelta(hours=1)
# No reminder goes later than this before the appointment: one that could not be sent by then
# (the provider was down) is given up, never sent as the patient should be setting off.
LAST_SENDING = timedelta(minutes=30)


@dataclass(frozen=True)
class ReminderRules:
    """The clinic's reminder settings: the first reminder `days_before` the appointment's day at
    `at` (London time), by the patient's channel; and, for those who chose texts, a text on the
    day at `morning_text_at` (None: no text on the day)."""

    days_before: int = 2
    at: time = time(10, 0)
    morning_text_at: time | None = time(7, 30)


REMINDER_KINDS = ("reminder_before", "reminder_morning")


@dataclass(frozen=True)
class Reminder:
    """One reminder to send: which, by what channel, and not before when (UTC)."""

    kind: str  # "reminder_before" or "reminder_morning"
    channel: str  # "email" or "sms"
    due_at: datetime


def wall_time(day: date, moment: time) -> datetime:
    """A London wall-clock time on a day, as UTC. In the hour the clocks skip, the time an hour
    later (what a clock that was not changed would show); in the hour they repeat, the first."""
    return datetime.combine(day, moment, LONDON).astimezone(timezone.utc)


def plan(starts_at: datetime, *, now: datetime, contact_method: str, rules: ReminderRules) -> list[Reminder]:
    """The reminders still to come for an appointment starting at `starts_at`, booked or moved at
    `now`: none that would be due already, or at or after the start."""
    day = starts_at.astimezone(LONDON).date()
    found = []
    if rules.days_before > 0:
        due = wall_time(day - timedelta(days=rules.days_before), rules.at)
        found.append(Reminder("reminder_before", "sms" if contact_method == "text" else "email", due))
    if rules.morning_text_at is not None and contact_method == "text":
        found.append(Reminder("reminder_morning", "sms", min(wall_time(day, rules.morning_text_at), starts_at - MORNING_TEXT_LEAD)))
    return [reminder for reminder in found if now < reminder.due_at < starts_at]
