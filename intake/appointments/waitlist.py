"""Who on the waitlist a freed time should be offered to, and in what order: pure Python (no
Flask, no database).

A patient booked later than they would like asks to hear of an earlier time. A freed time suits
them when it is at their site, on a day and at a time of day they said they can come, earlier than
the appointment they have, and far enough ahead that they could still move to it (the patients'
own notice), while their own appointment is outside the cut-off (they could still move it online).
They are offered it in the order they asked.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from intake.appointments.slots import Slot, suits


@dataclass(frozen=True)
class Waiting:
    """A patient on the waitlist: their current appointment and when they can come."""

    entry_id: int
    site_code: str
    days: tuple[str, ...]
    times: tuple[str, ...]
    current_start: datetime
    asked_at: datetime


def matching(freed: Slot, waiting: list[Waiting], *, now: datetime, cutoff: timedelta, notice: timedelta) -> list[Waiting]:
    """Those a freed time suits, first to ask first."""
    if freed.starts_at < now + notice:
        return []
    found = [
        entry for entry in waiting
        if entry.site_code == freed.site_code and freed.starts_at < entry.current_start and entry.current_start - cutoff > now
        and suits(freed, entry.days, entry.times)
    ]
    return sorted(found, key=lambda entry: (entry.asked_at, entry.entry_id))
