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
# Free times kept, by diary version, day and question: the most recently used this many.
KEEP_FREE_TIMES = 256
DIARY_VERSION = select(DiaryVersion.token, DiaryVersion.version).where(DiaryVersion.id == 1)
_kept: OrderedDict[tuple, list[slots.Slot]] = OrderedDict()
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


def engine_rules(rules: BookingRules, kind: AppointmentType, *, for_staff: bool = False) -> slots.BookingRules:
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
) -> list[slots.Slot]:
    """The free times of active practitioners, within the booking rules and the given days
    (as if the appointment `ignoring`, being moved, were not there), starting after `now`.

    They are worked out once per version of the diary and day (see DiaryVersion): the day's
    times from its start, of which those still to come are returned. One read when they are
    kept already.
    """
    stamp = db.session.execute(DIARY_VERSION).first()
    day_start = _start_of(now.astimezone(LONDON).date())
    arguments = dict(
        default_minutes=default_minutes, for_staff=for_staff, site_code=site_code, first_day=first_day, last_day=last_day,
        practitioner_ids=None if practitioner_ids is None else tuple(sorted(practitioner_ids)), ignoring=ignoring,
    )
    key = None if stamp is None else (stamp.token, stamp.version, day_start, tuple(arguments.items()))
    with _kept_lock:
        found = _kept.get(key)
        if found is not None:
            _kept.move_to_end(key)
    if found is None:
        found = _worked_out(day_start, **arguments)
        if key is not None:
            with _kept_lock:
                _kept[key] = found
                while len(_kept) > KEEP_FREE_TIMES:
                    _kept.popitem(last=False)
    return found[bisect_right(found, now, key=_start):]


def _start(slot: slots.Slot) -> datetime:
    return slot.starts_at


def _worked_out(
    now: datetime,
    *,
    default_minutes: int,
    for_staff: bool,
    site_code: str | None,
    practitioner_ids: Collection[int] | None,
    first_day: date | None,
    last_day: date | None,
    ignoring: int | None,
) -> list[slots.Slot]:
    """The free times from the database, by the slot engine: the rules, the working hours of
    active practitioners at the sites they work at, the exceptions and the appointments that
    reach into the window."""
    rules = booking_rules()
    engine = engine_rules(rules, assessment_type(default_minutes), for_staff=for_staff)
    today = now.astimezone(LONDON).date()
    window_first = max(first_day or today, today)
    window_last = min(last_day or today + timedelta(days=engine.horizon_days), today + timedelta(days=engine.horizon_days))
    if window_last < window_first:
        return []
    starts, ends = _start_of(window_first), _start_of(window_last + timedelta(days=1))
    hours = select(WorkingHours).join(Practitioner, Practitioner.id == WorkingHours.practitioner_id).join(
        PractitionerSite,
        (PractitionerSite.practitioner_id == WorkingHours.practitioner_id) & (PractitionerSite.site_code == WorkingHours.site_code),
    ).where(Practitioner.active.is_(True))
    busy = select(Appointment.practitioner_id, Appointment.starts_at, Appointment.blocked_until).where(
        Appointment.cancelled.is_(False), Appointment.starts_at < ends, Appointment.blocked_until > starts
    )
    if ignoring is not None:
        busy = busy.where(Appointment.id != ignoring)
    if site_code is not None:
        hours = hours.where(WorkingHours.site_code == site_code)
    if practitioner_ids is not None:
        hours = hours.where(WorkingHours.practitioner_id.in_(list(practitioner_ids)))
        busy = busy.where(Appointment.practitioner_id.in_(list(practitioner_ids)))
    sessions = [
        slots.WorkingSession(row.practitioner_id, row.site_code, row.weekday, row.starts, row.ends)
        for row in db.session.execute(hours).scalars()
    ]
    if not sessions and not _has_extra_sessions(starts, ends):
        return []
    return slots.free_slots(
        sessions=sessions,
        exceptions=_exceptions(starts, ends),
        busy=[slots.Busy(row.practitioner_id, row.starts_at, row.blocked_until) for row in db.session.execute(busy)],
        rules=engine,
        now=now,
        closed_days=closed_days(rules.bank_holidays, window_first, window_last),
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


def weekly_hours(*, site_code: str | None = None, practitioner_id: int | None = None) -> list[tuple[int, str, int, time, time]]:
    """Weekly working hours as plain (practitioner, site, weekday, starts, ends) rows, in that order."""
    query = select(WorkingHours.practitioner_id, WorkingHours.site_code, WorkingHours.weekday, WorkingHours.starts, WorkingHours.ends).order_by(
        WorkingHours.practitioner_id, WorkingHours.weekday, WorkingHours.starts
    )
    if site_code is not None:
        query = query.where(WorkingHours.site_code == site_code)
    if practitioner_id is not None:
        query = query.where(WorkingHours.practitioner_id == practitioner_id)
    return [tuple(row) for row in db.session.execute(query)]


def practitioner_for_staff(staff_user_id: int) -> Practitioner | None:
    """The practitioner a staff sign-in is linked to, if any (a clinician's own diary)."""
    return db.session.execute(select(Practitioner).where(Practitioner.staff_user_id == staff_user_id)).scalar_one_or_none()
