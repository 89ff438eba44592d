"""Setting up the clinic's diary: practitioners, weekly working hours, exceptions and booking rules.

Plain functions taking plain arguments (no Flask request, session or app). Each refuses what the
diary cannot hold with a `SetupError` naming the form field it is about, and returns what changed
so the caller can audit it. The caller commits.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone

import holidays
from sqlalchemy import select

from intake.appointments import diary
from intake.appointments.models import (
    BANK_HOLIDAY_REGIONS,
    Appointment,
    DiaryException,
    Practitioner,
    PractitionerSite,
    WorkingHours,
)
from intake.platform.extensions import db
from intake.platform.timeutil import LONDON

WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
# Exceptions are for the diary ahead: far enough for a year's leave, near enough to stay sensible.
EXCEPTION_YEARS_AHEAD = 3
# The limits the database's CHECK constraints keep (models.py), with the words shown for each.
RULE_LIMITS = {
    "notice_working_days": (0, 20, "working days"),
    "horizon_days": (1, 366, "days"),
    "step_minutes": (5, 120, "minutes"),
    "minutes": (5, 480, "minutes"),
    "buffer_minutes": (0, 120, "minutes"),
}


class SetupError(Exception):
    """A change the diary cannot take; the message is shown next to `field` on the form."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


# --- practitioners --------------------------------------------------------------------------

def find_practitioner(practitioner_id: int) -> Practitioner | None:
    return db.session.get(Practitioner, practitioner_id)


def linked_staff_ids() -> dict[int, int]:
    """Staff account id -> the practitioner it is linked to."""
    rows = db.session.execute(select(Practitioner.staff_user_id, Practitioner.id).where(Practitioner.staff_user_id.is_not(None)))
    return {staff_id: practitioner_id for staff_id, practitioner_id in rows}


def save_practitioner(
    practitioner: Practitioner | None, *, name: str, site_codes: Collection[str], active: bool,
    staff_user_id: int | None, known_sites: Collection[str], linkable_staff_ids: Collection[int],
) -> tuple[Practitioner, dict[str, list]]:
    """Add a practitioner (None) or change one; return it and what changed, as {field: [before, after]}.

    A site they stop working at must have no weekly hours left there; a staff account can be
    linked to one practitioner only, and only one the caller lists as linkable (a clinician's).
    """
    name = name.strip()
    if not name or len(name) > 100:
        raise SetupError("name", "Enter a name of 100 characters or fewer")
    sites = sorted(set(site_codes))
    if not sites:
        raise SetupError("sites", "Select at least one site they work at")
    if set(sites) - set(known_sites):
        raise SetupError("sites", "Select sites from the list")
    if staff_user_id is not None:
        linked_to = linked_staff_ids().get(staff_user_id)
        if staff_user_id not in linkable_staff_ids or (linked_to is not None and (practitioner is None or linked_to != practitioner.id)):
            raise SetupError("staff_account", "Select a clinician account that is not linked to someone else")
    before = _practitioner_facts(practitioner) if practitioner else {}
    if practitioner is None:
        practitioner = Practitioner(name=name)
        db.session.add(practitioner)
    else:
        _refuse_dropping_sites_with_hours(practitioner, sites)
    practitioner.name, practitioner.active, practitioner.staff_user_id = name, active, staff_user_id
    kept = {site.site_code: site for site in practitioner.sites}
    practitioner.sites = [kept.get(code) or PractitionerSite(site_code=code) for code in sites]
    db.session.flush()
    after = _practitioner_facts(practitioner)
    return practitioner, {key: [before.get(key), value] for key, value in after.items() if before.get(key) != value}


def _practitioner_facts(practitioner: Practitioner) -> dict:
    return {"name": practitioner.name, "sites": practitioner.site_codes, "active": practitioner.active,
            "staff_user_id": practitioner.staff_user_id}


def _refuse_dropping_sites_with_hours(practitioner: Practitioner, sites: list[str]) -> None:
    dropped = set(practitioner.site_codes) - set(sites)
    if not dropped:
        return
    still_there = db.session.execute(
        select(WorkingHours.site_code).where(WorkingHours.practitioner_id == practitioner.id, WorkingHours.site_code.in_(dropped))
    ).scalars().first()
    if still_there:
        raise SetupError("sites", f"They still have weekly hours at {still_there}: remove those hours before taking the site away")


def future_appointments(practitioner_id: int, now: datetime) -> list[Appointment]:
    """Their appointments from now on (not cancelled), earliest first: what reception must move."""
    return list(db.session.execute(
        select(Appointment).where(
            Appointment.practitioner_id == practitioner_id, Appointment.cancelled.is_(False), Appointment.blocked_until > now,
        ).order_by(Appointment.starts_at)
    ).scalars())


# --- weekly working hours -------------------------------------------------------------------

def weekly_hours(practitioner_id: int | None = None) -> list[WorkingHours]:
    """Weekly sessions (of one practitioner, when given) by weekday and start."""
    query = select(WorkingHours).order_by(WorkingHours.weekday, WorkingHours.starts, WorkingHours.practitioner_id)
    if practitioner_id is not None:
        query = query.where(WorkingHours.practitioner_id == practitioner_id)
    return list(db.session.execute(query).scalars())


def add_working_hours(practitioner: Practitioner, *, weekday: int, site_code: str, starts: time, ends: time) -> WorkingHours:
    """Add a weekly session; refuse one at a site they do not work at, ending before it starts,
    or overlapping another of their sessions that day at any site (nobody is in two places)."""
    if not 0 <= weekday <= 6:
        raise SetupError("weekday", "Select a day of the week")
    if site_code not in practitioner.site_codes:
        raise SetupError("site", "Select a site they work at")
    if ends <= starts:
        raise SetupError("ends", "The end time must be after the start time")
    clash = db.session.execute(
        select(WorkingHours).where(
            WorkingHours.practitioner_id == practitioner.id, WorkingHours.weekday == weekday,
            WorkingHours.starts < ends, WorkingHours.ends > starts,
        ).order_by(WorkingHours.starts)  # the earliest clash, on every database
    ).scalars().first()
    if clash is not None:
        raise SetupError("starts", f"This overlaps their {WEEKDAYS[weekday]} session from {clash.starts:%H:%M} to {clash.ends:%H:%M} at {clash.site_code}")
    session = WorkingHours(practitioner_id=practitioner.id, site_code=site_code, weekday=weekday, starts=starts, ends=ends)
    db.session.add(session)
    db.session.flush()
    return session


def remove_working_hours(practitioner: Practitioner, session_id: int) -> WorkingHours:
    """Remove one of the practitioner's weekly sessions (another's is refused as unknown)."""
    session = db.session.get(WorkingHours, session_id)
    if session is None or session.practitioner_id != practitioner.id:
        raise SetupError("remove", "That session is not one of theirs: it may have been removed already")
    db.session.delete(session)
    return session


def hours_facts(session: WorkingHours) -> dict:
    """A session as the audit log keeps it."""
    return {"practitioner_id": session.practitioner_id, "site": session.site_code, "weekday": WEEKDAYS[session.weekday],
            "starts": f"{session.starts:%H:%M}", "ends": f"{session.ends:%H:%M}"}


# --- exceptions -------------------------------------------------------------------------------

@dataclass(frozen=True)
class Moment:
    """A London wall-clock time as UTC, and a note when the wall clock was ambiguous."""

    utc: datetime
    note: str = ""


def london_moment(day: date, wall: time, field: str) -> Moment:
    """The UTC instant of a London date and time: a time the clocks skip (spring) is refused; one
    they show twice (autumn) is taken as the first, in British Summer Time, and said so."""
    local = datetime.combine(day, wall, LONDON)
    utc = local.astimezone(timezone.utc)
    if utc.astimezone(LONDON).replace(tzinfo=None) != local.replace(tzinfo=None):
        raise SetupError(field, f"{wall:%H:%M} on {day:%-d %B %Y} does not exist in London: the clocks go forward an hour at 01:00. Enter 02:00 or later")
    later = local.replace(fold=1).astimezone(timezone.utc)
    if later != utc:
        return Moment(utc, f"{wall:%H:%M} on {day:%-d %B %Y} happens twice in London (the clocks go back): taken as the first, in British Summer Time")
    return Moment(utc)


def _check_span(first: date, last: date, today: date, field: str, past: str) -> None:
    if last < today:
        raise SetupError(field, past)
    limit = today + timedelta(days=365 * EXCEPTION_YEARS_AHEAD)
    if first > limit or last > limit:
        raise SetupError(field, f"Dates must be within the next {EXCEPTION_YEARS_AHEAD} years")


def add_away(
    *, practitioner_id: int | None, site_code: str | None, first_day: date, starts: time | None, last_day: date,
    ends: time | None, note: str, known_sites: Collection[str], today: date,
) -> tuple[DiaryException, list[str]]:
    """Mark someone (None: everyone) away at a site (None: every site), from a London date and time
    to another; a time left out means the whole day (from its start, or to its end)."""
    if practitioner_id is not None and find_practitioner(practitioner_id) is None:
        raise SetupError("practitioner", "Select someone from the list")
    if site_code is not None and site_code not in known_sites:
        raise SetupError("site", "Select a site from the list")
    _check_span(first_day, last_day, today, "ends_on", "The end must be today or later")
    start = london_moment(first_day, starts or time(0), "starts_at")
    end = london_moment(last_day, ends, "ends_at") if ends else Moment(diary.day_bounds(last_day)[1])
    if end.utc <= start.utc:
        raise SetupError("ends_on", "The end must be after the start")
    away = DiaryException(kind="away", practitioner_id=practitioner_id, site_code=site_code,
                          starts_at=start.utc, ends_at=end.utc, note=note.strip()[:200])
    db.session.add(away)
    db.session.flush()
    return away, [moment.note for moment in (start, end) if moment.note]


def add_extra(
    practitioner: Practitioner, *, site_code: str, day: date, starts: time, ends: time, note: str, today: date,
) -> tuple[DiaryException, list[str]]:
    """A one-off session of a practitioner at a site they work at, on a London date."""
    if not practitioner.active:
        raise SetupError("practitioner", "They are not taking appointments: make them active first")
    if site_code not in practitioner.site_codes:
        raise SetupError("site", "Select a site they work at")
    _check_span(day, day, today, "day", "The date must be today or later")
    if ends <= starts:
        raise SetupError("ends", "The end time must be after the start time")
    start, end = london_moment(day, starts, "starts"), london_moment(day, ends, "ends")
    if end.utc <= start.utc:
        raise SetupError("ends", "The end time must be after the start time")
    extra = DiaryException(kind="extra", practitioner_id=practitioner.id, site_code=site_code,
                           starts_at=start.utc, ends_at=end.utc, note=note.strip()[:200])
    db.session.add(extra)
    db.session.flush()
    return extra, [moment.note for moment in (start, end) if moment.note]


def upcoming_exceptions(now: datetime) -> list[DiaryException]:
    """Exceptions not yet over, soonest first."""
    return list(db.session.execute(
        select(DiaryException).where(DiaryException.ends_at > now).order_by(DiaryException.starts_at, DiaryException.id)
    ).scalars())


def delete_exception(exception_id: int) -> DiaryException:
    exception = db.session.get(DiaryException, exception_id)
    if exception is None:
        raise SetupError("delete", "That exception has been deleted already")
    db.session.delete(exception)
    return exception


def exception_facts(exception: DiaryException) -> dict:
    """An exception as the audit log keeps it (UTC, ISO 8601)."""
    return {"kind": exception.kind, "practitioner_id": exception.practitioner_id, "site": exception.site_code,
            "starts_at": exception.starts_at.isoformat(), "ends_at": exception.ends_at.isoformat(), "note": exception.note}


# --- booking rules ----------------------------------------------------------------------------

def save_rules(
    *, notice_working_days: int, horizon_days: int, step_minutes: int, bank_holidays: str, patients_choose_times: bool,
    minutes: int, buffer_minutes: int, default_minutes: int,
) -> dict[str, list]:
    """Store the booking rules and the initial assessment's length and buffer (creating their rows
    the first time); return what changed, as {field: [before, after]}."""
    numbers = {"notice_working_days": notice_working_days, "horizon_days": horizon_days, "step_minutes": step_minutes,
               "minutes": minutes, "buffer_minutes": buffer_minutes}
    for field, value in numbers.items():
        low, high, unit = RULE_LIMITS[field]
        if not low <= value <= high:
            raise SetupError(field, f"Enter a number from {low} to {high} {unit}")
    if bank_holidays not in BANK_HOLIDAY_REGIONS:
        raise SetupError("bank_holidays", "Select where the clinic's bank holidays come from")
    rules, kind = diary.booking_rules(), diary.assessment_type(default_minutes)
    db.session.add_all([rules, kind])  # the defaults become rows the first time they are saved
    wanted = {**numbers, "bank_holidays": bank_holidays, "patients_choose_times": patients_choose_times}
    changes = {}
    for field, value in wanted.items():
        row = kind if field in ("minutes", "buffer_minutes") else rules
        if getattr(row, field) != value:
            changes[field] = [getattr(row, field), value]
            setattr(row, field, value)
    db.session.flush()
    return changes


def next_bank_holidays(region: str, today: date, count: int = 6) -> list[tuple[date, str]]:
    """The next bank holidays the diary closes for, with their names."""
    subdivision = BANK_HOLIDAY_REGIONS.get(region, "")
    if not subdivision:
        return []
    found = holidays.country_holidays("GB", subdiv=subdivision, years=[today.year, today.year + 1])
    return sorted((day, name) for day, name in found.items() if day >= today)[:count]

