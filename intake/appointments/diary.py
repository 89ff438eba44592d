"""Reading the diary: the clinic's rules, who works when, and the free times the slot engine finds.

Plain functions taking plain arguments; they read through `db.session` and never touch the
Flask request, session or app. The arithmetic of free times is the slot engine's (slots.py,
pure); this module only gathers its inputs from the database.
"""

from __future__ import annotations

import threading
from bisect import bisect_right
from collections import OrderedDict
from collections.abc import Collection
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone
from functools import lru_cache

import holidays
from sqlalchemy import select

from intake.appointments import slots
from intake.appointments.models import (
    BANK_HOLIDAY_REGIONS,
    INITIAL_ASSESSMENT,
    Appointment,
    AppointmentType,
    BookingRules,
    DiaryException,
    DiaryVersion,
    Practitioner,
    PractitionerSite,
    WorkingHours,
)
from intake.platform.extensions import db
from intake.platform.timeutil import LONDON

# Reception may book any free time from now on, further ahead than patients may.
STAFF_HORIZON_DAYS = 183
# Set-ups and free times kept, by diary version (and day and question): the most recently used this many.
KEEP_FREE_TIMES = 256
# Read on every page that shows the diary: a plain Core read of the table (not the mapped class).
_VERSION = DiaryVersion.__table__
DIARY_VERSION = select(_VERSION.c.token, _VERSION.c.version).where(_VERSION.c.id == 1)
_kept: OrderedDict[tuple, object] = OrderedDict()
_kept_lock = threading.Lock()


def booking_rules() -> BookingRules:
    """The clinic's booking rules (the defaults until an admin changes them)."""
    return db.session.get(BookingRules, 1) or BookingRules(
        id=1, notice_working_days=1, horizon_days=42, step_minutes=15, bank_holidays="england", patients_choose_times=True
    )


def assessment_type(default_minutes: int) -> AppointmentType:
    """The free initial assessment: as the admin set it, else APPOINTMENT_MINUTES long with a 15-minute buffer."""
    found = db.session.execute(select(AppointmentType).where(AppointmentType.code == INITIAL_ASSESSMENT)).scalar_one_or_none()
    return found or AppointmentType(code=INITIAL_ASSESSMENT, name="Free initial assessment", minutes=default_minutes, buffer_minutes=15)


@dataclass(frozen=True)
class Rules:
    """The booking rules as one version of the diary had them (a plain copy of the BookingRules row)."""

    notice_working_days: int
    horizon_days: int
    step_minutes: int
    bank_holidays: str
    patients_choose_times: bool


@dataclass(frozen=True)
class Kind:
    """The initial assessment's length and the buffer after it, in minutes."""

    minutes: int
    buffer_minutes: int


@dataclass(frozen=True)
class Person:
    """A practitioner as the diary shows them."""

    id: int
    name: str
    active: bool
    site_codes: frozenset[str]


# Weekly working hours: (practitioner, site, weekday, starts, ends) in London wall-clock time.
HoursRow = tuple[int, str, int, time, time]


@dataclass(frozen=True)
class Clinic:
    """The diary's set-up at one version: the rules, the assessment, the practitioners (by name)
    and their weekly hours (by practitioner, weekday and start). `stamp` is the version (None in
    a database without one, then nothing is kept)."""

    stamp: tuple[str, int] | None
    rules: Rules
    kind: Kind
    people: tuple[Person, ...]
    hours: tuple[HoursRow, ...]

    def practitioners(self, site_code: str | None = None, *, include_inactive: bool = False) -> list[Person]:
        """Practitioners (working at a site, when given), by name."""
        return [
            person for person in self.people
            if (include_inactive or person.active) and (site_code is None or site_code in person.site_codes)
        ]

    def names(self) -> dict[int, str]:
        """Every practitioner's name, by id."""
        return {person.id: person.name for person in self.people}

    def weekly_hours(self, *, site_code: str | None = None, practitioner_id: int | None = None) -> list[HoursRow]:
        """Weekly working hours, by practitioner, weekday and start."""
        return [
            row for row in self.hours
            if (site_code is None or row[1] == site_code) and (practitioner_id is None or row[0] == practitioner_id)
        ]

    def sessions(self, site_code: str | None, practitioner_ids: Collection[int] | None) -> list[slots.WorkingSession]:
        """The weekly sessions the slot engine books into: active practitioners at sites they work at."""
        bookable = {person.id: person.site_codes for person in self.people if person.active}
        return [
            slots.WorkingSession(pid, site, weekday, starts, ends) for pid, site, weekday, starts, ends in self.hours
            if site in bookable.get(pid, ()) and (site_code is None or site == site_code)
            and (practitioner_ids is None or pid in practitioner_ids)
        ]


def clinic(default_minutes: int) -> Clinic:
    """The diary's set-up now: one read of the diary's version; the rest is read once per version."""
    stamp = db.session.execute(DIARY_VERSION).first()
    key = None if stamp is None else ("clinic", stamp.token, stamp.version, default_minutes)
    found = _kept_value(key)
    if found is None:
        found = _read_clinic(None if stamp is None else (stamp.token, stamp.version), default_minutes)
        _keep(key, found)
    return found


def _read_clinic(stamp: tuple[str, int] | None, default_minutes: int) -> Clinic:
    rules, kind = booking_rules(), assessment_type(default_minutes)
    sites: dict[int, set[str]] = {}
    for pid, site_code in db.session.execute(select(PractitionerSite.practitioner_id, PractitionerSite.site_code)):
        sites.setdefault(pid, set()).add(site_code)
    people = tuple(
        Person(row.id, row.name, row.active, frozenset(sites.get(row.id, ())))
        for row in db.session.execute(select(Practitioner.id, Practitioner.name, Practitioner.active).order_by(Practitioner.name, Practitioner.id))
    )
    return Clinic(
        stamp,
        Rules(rules.notice_working_days, rules.horizon_days, rules.step_minutes, rules.bank_holidays, rules.patients_choose_times),
        Kind(kind.minutes, kind.buffer_minutes),
        people,
        tuple(tuple(row) for row in db.session.execute(select(
            WorkingHours.practitioner_id, WorkingHours.site_code, WorkingHours.weekday, WorkingHours.starts, WorkingHours.ends
        ).order_by(WorkingHours.practitioner_id, WorkingHours.weekday, WorkingHours.starts))),
    )


def _kept_value(key: tuple | None):
    """What was kept under `key` (marked as just used), or None."""
    if key is None:
        return None
    with _kept_lock:
        found = _kept.get(key)
        if found is not None:
            _kept.move_to_end(key)
    return found


def _keep(key: tuple | None, value: object) -> None:
    """Keep a value, forgetting the least recently used beyond KEEP_FREE_TIMES."""
    if key is None:
        return
    with _kept_lock:
        _kept[key] = value
        while len(_kept) > KEEP_FREE_TIMES:
            _kept.popitem(last=False)


@lru_cache(maxsize=64)
def _bank_holidays(subdivision: str, year: int) -> frozenset[date]:
    return frozenset(holidays.country_holidays("GB", subdiv=subdivision, years=year).keys())


def closed_days(region: str, first: date, last: date) -> frozenset[date]:
    """The bank holidays of the clinic's part of the UK between two days (none if it opens on them)."""
    subdivision = BANK_HOLIDAY_REGIONS.get(region, "")
    if not subdivision:
        return frozenset()
    found: set[date] = set()
    for year in range(first.year, last.year + 1):
        found |= {day for day in _bank_holidays(subdivision, year) if first <= day <= last}
    return frozenset(found)


def engine_rules(rules: Rules, kind: Kind, *, for_staff: bool = False) -> slots.BookingRules:
    """The rules as the slot engine takes them; staff book from now on and further ahead."""
    return slots.BookingRules(
        notice_working_days=0 if for_staff else rules.notice_working_days,
        horizon_days=max(rules.horizon_days, STAFF_HORIZON_DAYS) if for_staff else rules.horizon_days,
        step_minutes=rules.step_minutes,
        minutes=kind.minutes,
        buffer_minutes=kind.buffer_minutes,
    )


def _start_of(day: date) -> datetime:
    return datetime.combine(day, time(0), LONDON).astimezone(timezone.utc)


def free_times(
    now: datetime,
    *,
    default_minutes: int,
    for_staff: bool = False,
    site_code: str | None = None,
    practitioner_ids: Collection[int] | None = None,
    first_day: date | None = None,
    last_day: date | None = None,
    ignoring: int | None = None,
    setup: Clinic | None = None,
) -> list[slots.Slot]:
    """The free times of active practitioners, within the booking rules and the given days
    (as if the appointment `ignoring`, being moved, were not there), starting after `now`.

    They are worked out once per version of the diary and day (see DiaryVersion): the day's
    times from its start, of which those still to come are returned. `setup` is the diary's
    set-up when the caller has it already (read now when not); with it, no read at all when
    the times are kept already.
    """
    setup = setup or clinic(default_minutes)
    day_start = _start_of(now.astimezone(LONDON).date())
    arguments = dict(
        for_staff=for_staff, site_code=site_code, first_day=first_day, last_day=last_day,
        practitioner_ids=None if practitioner_ids is None else tuple(sorted(practitioner_ids)), ignoring=ignoring,
    )
    key = None if setup.stamp is None else ("free", *setup.stamp, default_minutes, day_start, tuple(arguments.items()))
    found = _kept_value(key)
    if found is None:
        found = _worked_out(setup, day_start, **arguments)
        _keep(key, found)
    return found[bisect_right(found, now, key=_start):]


def _start(slot: slots.Slot) -> datetime:
    return slot.starts_at


def _worked_out(
    setup: Clinic,
    now: datetime,
    *,
    for_staff: bool,
    site_code: str | None,
    practitioner_ids: Collection[int] | None,
    first_day: date | None,
    last_day: date | None,
    ignoring: int | None,
) -> list[slots.Slot]:
    """The free times by the slot engine: the set-up's rules and the weekly hours of active
    practitioners at the sites they work at, with the exceptions and the appointments that reach
    into the window, read from the database."""
    engine = engine_rules(setup.rules, setup.kind, for_staff=for_staff)
    today = now.astimezone(LONDON).date()
    window_first = max(first_day or today, today)
    window_last = min(last_day or today + timedelta(days=engine.horizon_days), today + timedelta(days=engine.horizon_days))
    if window_last < window_first:
        return []
    starts, ends = _start_of(window_first), _start_of(window_last + timedelta(days=1))
    busy = select(Appointment.practitioner_id, Appointment.starts_at, Appointment.blocked_until).where(
        Appointment.cancelled.is_(False), Appointment.starts_at < ends, Appointment.blocked_until > starts
    )
    if ignoring is not None:
        busy = busy.where(Appointment.id != ignoring)
    if practitioner_ids is not None:
        busy = busy.where(Appointment.practitioner_id.in_(list(practitioner_ids)))
    sessions = setup.sessions(site_code, practitioner_ids)
    if not sessions and not _has_extra_sessions(starts, ends):
        return []
    return slots.free_slots(
        sessions=sessions,
        exceptions=_exceptions(starts, ends),
        busy=[slots.Busy(row.practitioner_id, row.starts_at, row.blocked_until) for row in db.session.execute(busy)],
        rules=engine,
        now=now,
        closed_days=closed_days(setup.rules.bank_holidays, window_first, window_last),
        first_day=window_first,
        last_day=window_last,
        site_code=site_code,
        practitioner_ids=practitioner_ids,
    )


def _has_extra_sessions(starts: datetime, ends: datetime) -> bool:
    return db.session.execute(
        select(DiaryException.id).where(DiaryException.kind == "extra", DiaryException.starts_at < ends, DiaryException.ends_at > starts).limit(1)
    ).first() is not None


def _exceptions(starts: datetime, ends: datetime) -> list[slots.DiaryException]:
    """Exceptions reaching into the window; extra sessions only of active practitioners."""
    rows = db.session.execute(
        select(DiaryException, Practitioner.active)
        .outerjoin(Practitioner, Practitioner.id == DiaryException.practitioner_id)
        .where(DiaryException.starts_at < ends, DiaryException.ends_at > starts)
    )
    return [
        slots.DiaryException(row.kind, row.starts_at, row.ends_at, row.practitioner_id, row.site_code)
        for row, active in rows
        if row.kind == "away" or active
    ]


def time_away(starts: datetime, ends: datetime, site_code: str) -> list[DiaryException]:
    """Time away (anyone's, or everyone's) reaching into a span at a site (or at every site)."""
    return list(db.session.execute(select(DiaryException).where(
        DiaryException.kind == "away", DiaryException.starts_at < ends, DiaryException.ends_at > starts,
        (DiaryException.site_code == site_code) | DiaryException.site_code.is_(None),
    ).order_by(DiaryException.starts_at)).scalars())


def practitioners(site_code: str | None = None, *, include_inactive: bool = False) -> list[Practitioner]:
    """Practitioners (working at a site, when given), by name."""
    query = select(Practitioner).order_by(Practitioner.name, Practitioner.id)
    if site_code is not None:
        query = query.where(Practitioner.id.in_(select(PractitionerSite.practitioner_id).where(PractitionerSite.site_code == site_code)))
    if not include_inactive:
        query = query.where(Practitioner.active.is_(True))
    return list(db.session.execute(query).scalars())


def appointments_between(starts: datetime, ends: datetime, *, site_code: str | None = None, practitioner_id: int | None = None) -> list[Appointment]:
    """Appointments (not cancelled) that start in a span of time, earliest first."""
    query = select(Appointment).where(
        Appointment.cancelled.is_(False), Appointment.starts_at >= starts, Appointment.starts_at < ends
    ).order_by(Appointment.starts_at, Appointment.practitioner_id)
    if site_code is not None:
        query = query.where(Appointment.site_code == site_code)
    if practitioner_id is not None:
        query = query.where(Appointment.practitioner_id == practitioner_id)
    return list(db.session.execute(query).scalars())


def day_bounds(day: date) -> tuple[datetime, datetime]:
    """A London day as a span of UTC time (23 or 25 hours long on the days the clocks change)."""
    return _start_of(day), _start_of(day + timedelta(days=1))


def practitioner_for_staff(staff_user_id: int) -> Practitioner | None:
    """The practitioner a staff sign-in is linked to, if any (a clinician's own diary)."""
    return db.session.execute(select(Practitioner).where(Practitioner.staff_user_id == staff_user_id)).scalar_one_or_none()
