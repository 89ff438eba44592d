"""The free times a request's page offers to book or move to: a week at one site, grouped by day.

The site and the first day come from the query string (`?site=canal-side&day=2026-12-07`),
checked by `DiaryQuery`: by default the patient's chosen site, from today. Reception never types
a date or a time; they choose one of these.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from flask import current_app, request

from intake.appointments import diary
from intake.appointments.diary_view import parse_day
from intake.appointments.slots import Slot, slot_value
from intake.clinic.sites import Site, site_by_code
from intake.platform.timeutil import LONDON
from intake.staff.forms import DiaryQuery

DAYS_SHOWN = 7


@dataclass
class FreeTimes:
    """One week of free times at one site, as the booking and moving forms offer them."""

    query: DiaryQuery
    site: Site
    first_day: date
    groups: list[tuple[str, list[tuple[str, str]]]] = field(default_factory=list)
    nearest: list[tuple[str, str]] = field(default_factory=list)
    earlier: date | None = None
    later: date | None = None

    @property
    def args(self) -> dict[str, str]:
        """The query string that shows these times again (after a refused booking, say)."""
        return {"site": self.site.code, "day": self.first_day.isoformat()}

    @property
    def choices(self) -> list[tuple[str, str]]:
        return self.nearest + [choice for _, times in self.groups for choice in times]


def free_times_for(patient_site: str, now: datetime, *, moving: int | None = None, nearest: list[Slot] = ()) -> FreeTimes:
    """The week of free times the query string asks for (the patient's site from today, by
    default), as if the appointment `moving` were not booked; `nearest` are offered first."""
    sites = current_app.config["CLINIC_SITES"]
    query = DiaryQuery(request.args, sites)
    query.validate()
    today = now.astimezone(LONDON).date()
    last_day = today + timedelta(days=diary.STAFF_HORIZON_DAYS)
    chosen = parse_day(query.day.data) if not query.day.errors else None
    first_day = min(max(chosen or today, today), last_day)
    site_code = query.site.data if query.site.data and not query.site.errors else patient_site
    site = site_by_code(sites, site_code) or sites[0]
    setup = diary.clinic(current_app.config["APPOINTMENT_MINUTES"])
    found = diary.free_times(
        now, default_minutes=current_app.config["APPOINTMENT_MINUTES"], for_staff=True, site_code=site.code,
        first_day=first_day, last_day=first_day + timedelta(days=DAYS_SHOWN - 1), ignoring=moving, setup=setup,
    )
    names = setup.names()
    groups: dict[date, list[tuple[str, str]]] = {}
    for slot in found:
        groups.setdefault(slot.local.date(), []).append((slot_value(slot), f"{slot.local:%H:%M} with {names.get(slot.practitioner_id, '')}"))
    return FreeTimes(
        query, site, first_day,
        groups=[(f"{day:%A} {day.day} {day:%B %Y}", times) for day, times in groups.items()],
        nearest=[(slot_value(slot), f"{slot.local:%a} {slot.local.day} {slot.local:%b}, {slot.local:%H:%M} with {names.get(slot.practitioner_id, '')}")
                 for slot in nearest if slot.site_code == site.code],
        earlier=max(first_day - timedelta(days=DAYS_SHOWN), today) if first_day > today else None,
        later=first_day + timedelta(days=DAYS_SHOWN) if first_day + timedelta(days=DAYS_SHOWN) <= last_day else None,
    )
