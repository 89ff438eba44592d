"""The clinic manager's attendance figures: per site and London month, how many appointments were
booked, attended, missed, and cancelled early or late (inside the patients' cut-off), and how many
freed times were refilled from the waitlist, and how many reminders were sent and failed.

Plain functions taking plain arguments (no Flask request, session or app). One read of the
months' appointments (five columns each), one of their taken offers and one of their reminders,
counted here by London month.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone

from sqlalchemy import select

from intake.appointments.models import Appointment
from intake.platform.extensions import db
from intake.platform.timeutil import LONDON
from intake.reminders.figures import reminder_outcomes
from intake.waitlist.listing import refilled_times

FIGURES = ("booked", "attended", "no_show", "cancelled_early", "cancelled_late", "refilled", "reminders_sent", "reminders_failed")
FIGURE_WORDS = {
    "booked": "Booked", "attended": "Attended", "no_show": "Did not attend",
    "cancelled_early": "Cancelled in good time", "cancelled_late": "Cancelled late", "refilled": "Refilled from the waitlist",
    "reminders_sent": "Reminders sent", "reminders_failed": "Reminders that failed",
}


@dataclass(frozen=True)
class Month:
    """One site's figures for one London month."""

    site_code: str
    month: date  # its first day
    booked: int
    attended: int
    no_show: int
    cancelled_early: int
    cancelled_late: int
    refilled: int  # freed times a patient on the waitlist took
    reminders_sent: int
    reminders_failed: int  # refused, out of attempts, or too late to be of use

    @property
    def attendance_rate(self) -> float | None:
        """Attended out of those marked (attended or not), as a share; None before any is marked."""
        marked = self.attended + self.no_show
        return self.attended / marked if marked else None


def months_ending(last: date, count: int) -> list[date]:
    """The first days of `count` London months, oldest first, ending with `last`'s month."""
    first = last.replace(day=1)
    found = []
    for _ in range(count):
        found.append(first)
        first = (first - timedelta(days=1)).replace(day=1)
    return found[::-1]


def _start_of(month: date) -> datetime:
    return datetime.combine(month, time(0), LONDON).astimezone(timezone.utc)


def monthly_figures(site_codes: list[str], months: list[date], *, cutoff_hours: int) -> list[Month]:
    """Each site's figures for each month (sites in the order given, months oldest first).

    An appointment counts in the London month it was (or would have been) held. Booked counts
    every appointment made for that month, cancelled or not; a cancellation is late when it came
    after the patients' cut-off (`cutoff_hours` before the start). A time refilled from the
    waitlist counts in the month it is held, and so does a reminder (sent, or failed: given up on)."""
    first, end = _start_of(months[0]), _start_of((months[-1] + timedelta(days=32)).replace(day=1))
    index = {month: position for position, month in enumerate(months)}
    counts = {(site, month): [0] * len(FIGURES) for site in site_codes for month in months}
    cutoff = timedelta(hours=cutoff_hours)
    rows = db.session.execute(
        select(Appointment.site_code, Appointment.starts_at, Appointment.cancelled, Appointment.cancelled_at, Appointment.outcome)
        .where(Appointment.starts_at >= first, Appointment.starts_at < end, Appointment.site_code.in_(site_codes))
    )
    for site, starts_at, cancelled, cancelled_at, outcome in rows:
        month = starts_at.astimezone(LONDON).date().replace(day=1)
        if month not in index:
            continue
        figures = counts[(site, month)]
        figures[0] += 1
        if cancelled:
            figures[4 if cancelled_at is not None and cancelled_at > starts_at - cutoff else 3] += 1
        elif outcome == "attended":
            figures[1] += 1
        elif outcome == "no_show":
            figures[2] += 1
    for site, starts_at in refilled_times(site_codes, first, end):
        month = starts_at.astimezone(LONDON).date().replace(day=1)
        if month in index:
            counts[(site, month)][5] += 1
    for site, starts_at, outcome in reminder_outcomes(site_codes, first, end):
        month = starts_at.astimezone(LONDON).date().replace(day=1)
        if month in index:
            counts[(site, month)][6 if outcome == "sent" else 7] += 1
    return [Month(site, month, *counts[(site, month)]) for site in site_codes for month in months]
