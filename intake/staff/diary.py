"""The reception diary's data: appointments with their patients, who works when, and free times,
gathered in a handful of queries and laid out by the pure `appointments.diary_view`.

Plain functions taking plain arguments (no Flask request, session or app). The join of an
appointment to its request lives here, in the back office, because the appointments package
knows nothing of requests.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import NamedTuple

from sqlalchemy import bindparam, select

from intake.appointments import diary
from intake.appointments.slots import Slot
from intake.appointments.diary_view import Away, Column, Entry, Row, WeekDay, changes_clocks, day_rows, day_span, sessions_on, week_days
from intake.appointments.models import Appointment, Practitioner
from intake.journey.models import AssessmentRequest
from intake.platform.extensions import db


class Booked(NamedTuple):
    """What the diary and the day list show of an appointment's patient."""

    reference: str
    first_name: str
    last_name: str
    phone: str
    urgency: str
    site_code: str
    appointment_id: int
    outcome: str | None  # attended or no_show, once reception has marked it


# Appointments (not cancelled) starting in a span of time, with their patients, earliest first:
# built once, on the tables' columns (plain Core reads), for a site's diary or a practitioner's day list.
_APPOINTMENTS, _REQUESTS = Appointment.__table__, AssessmentRequest.__table__
_BOOKED = (
    select(
        _APPOINTMENTS.c.practitioner_id, _APPOINTMENTS.c.site_code, _APPOINTMENTS.c.starts_at, _APPOINTMENTS.c.minutes,
        _APPOINTMENTS.c.blocked_until, _APPOINTMENTS.c.id, _APPOINTMENTS.c.outcome, _REQUESTS.c.reference, _REQUESTS.c.first_name, _REQUESTS.c.last_name,
        _REQUESTS.c.phone_display, _REQUESTS.c.phone, _REQUESTS.c.urgency,
    )
    .join(_REQUESTS, _REQUESTS.c.id == _APPOINTMENTS.c.request_id)
    .where(_APPOINTMENTS.c.cancelled.is_(False), _APPOINTMENTS.c.starts_at >= bindparam("starts"),
           _APPOINTMENTS.c.starts_at < bindparam("ends"))
    .order_by(_APPOINTMENTS.c.starts_at, _APPOINTMENTS.c.practitioner_id)
)
BOOKED_AT_SITE = _BOOKED.where(_APPOINTMENTS.c.site_code == bindparam("site_code"))
BOOKED_WITH = _BOOKED.where(_APPOINTMENTS.c.practitioner_id == bindparam("practitioner_id"))


def booked_at_site(starts: datetime, ends: datetime, site_code: str) -> list[Entry]:
    """A site's appointments starting in a span, with their patients."""
    return _entries(db.session.execute(BOOKED_AT_SITE, {"starts": starts, "ends": ends, "site_code": site_code}))


def booked_with(starts: datetime, ends: datetime, practitioner_id: int) -> list[Entry]:
    """A practitioner's appointments starting in a span, at every site, with their patients."""
    return _entries(db.session.execute(BOOKED_WITH, {"starts": starts, "ends": ends, "practitioner_id": practitioner_id}))


def _entries(rows) -> list[Entry]:
    return [
        Entry(row.practitioner_id, row.starts_at, row.starts_at + timedelta(minutes=row.minutes), row.blocked_until, Booked(
            row.reference, row.first_name, row.last_name, row.phone_display or row.phone, row.urgency, row.site_code, row.id, row.outcome,
        ))
        for row in rows
    ]


def columns(setup: diary.Clinic, site_code: str, entries: list[Entry]) -> list[Column]:
    """The site's active practitioners, and anyone with an appointment shown (deactivated or moved away since)."""
    booked = {entry.practitioner_id for entry in entries}
    found = [
        Column(person.id, person.name, person.active)
        for person in setup.practitioners(site_code, include_inactive=True) if person.active or person.id in booked
    ]
    shown = {column.practitioner_id for column in found}
    names = setup.names()
    return found + [Column(pid, names.get(pid, ""), False) for pid in sorted(booked - shown, key=lambda pid: names.get(pid, ""))]


@dataclass
class DayView:
    """A site's day: practitioners as columns, rows of time, each practitioner's hours."""

    day: date
    columns: list[Column]
    rows: list[Row]
    hours: dict[int, list[str]]
    closed: bool
    entries: list[Entry]
    clocks_change: bool


def day_view(site_code: str, day: date, now: datetime, *, default_minutes: int) -> DayView:
    """One site's day in the diary."""
    starts, ends = day_span(day)
    setup = diary.clinic(default_minutes)
    entries = booked_at_site(starts, ends, site_code)
    shown = columns(setup, site_code, entries)
    active = {column.practitioner_id for column in shown if column.active}
    free = diary.free_times(
        now, default_minutes=default_minutes, for_staff=True, site_code=site_code, first_day=day, last_day=day, setup=setup
    )
    rules = setup.rules
    closed = day in diary.closed_days(rules.bank_holidays, day, day)
    weekly = [] if closed else [
        (pid, begins, finishes) for pid, _, weekday, begins, finishes in setup.weekly_hours(site_code=site_code)
        if weekday == day.weekday() and pid in active
    ]
    hours: dict[int, list[str]] = {}
    for pid, begins, finishes in weekly:
        hours.setdefault(pid, []).append(f"{begins:%H:%M}–{finishes:%H:%M}")
    away = [] if closed else [Away(row.practitioner_id, row.starts_at, row.ends_at, row.note) for row in diary.time_away(starts, ends, site_code)]
    rows = day_rows(day, shown, sessions_on(day, weekly), entries, free, rules.step_minutes, away)
    return DayView(day, shown, rows, hours, closed, entries, changes_clocks(day))


@dataclass
class WeekView:
    """A site's week: a row per day, a column per practitioner."""

    monday: date
    columns: list[Column]
    days: list[WeekDay]


def week_free_times(site_code: str, monday: date, now: datetime, *, default_minutes: int) -> tuple[diary.Clinic, list[Slot]]:
    """The diary's set-up and a site's free times in the week from `monday`: read once per version
    of the diary, so seen again they cost one read (of the version)."""
    setup = diary.clinic(default_minutes)
    free = diary.free_times(
        now, default_minutes=default_minutes, for_staff=True, site_code=site_code, first_day=monday, last_day=monday + timedelta(days=6),
        setup=setup,
    )
    return setup, free


def week_view(site_code: str, monday: date, setup: diary.Clinic, free: list[Slot]) -> WeekView:
    """One site's week in the diary, from the set-up and free times `week_free_times` gave."""
    entries = booked_at_site(day_span(monday)[0], day_span(monday + timedelta(days=6))[1], site_code)
    shown = columns(setup, site_code, entries)
    active = {column.practitioner_id for column in shown if column.active}
    hours = [(pid, weekday, begins, finishes) for pid, _, weekday, begins, finishes in setup.weekly_hours(site_code=site_code) if pid in active]
    return WeekView(monday, shown, week_days(monday, shown, hours, entries, free))


def practitioner_day(practitioner_id: int, day: date) -> list[Entry]:
    """A practitioner's appointments on a day, at every site, earliest first."""
    return booked_with(*day_span(day), practitioner_id)


def practitioner(practitioner_id: int) -> Practitioner | None:
    """A practitioner by id (deactivated ones too: their day list still prints)."""
    return db.session.get(Practitioner, practitioner_id)
