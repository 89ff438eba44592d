"""The rules for booking, moving and cancelling an appointment.

Plain functions taking plain arguments; they never touch the Flask request, session or app,
and know nothing of requests beyond their id (the caller moves the request's status on).
A time is booked only if the slot engine offers it now; two bookings racing for one time
are settled by the database (the exclusion constraint, or SQLite's triggers), and the loser
gets `SlotTaken`, with the transaction rolled back.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from intake.appointments import diary, slots
from intake.appointments.diary_view import FIRST_DAY
from intake.appointments.models import Appointment, Practitioner
from intake.platform.extensions import db
from intake.platform.timeutil import LONDON

# The largest id an integer column holds.
MAX_ROW_ID = 2**31 - 1
# How many free times a refusal suggests instead.
NEAREST_SUGGESTIONS = 6


class BookingError(Exception):
    """A booking the rules do not allow; the message is shown next to `field` on the form."""

    def __init__(self, message: str, field: str = "slot") -> None:
        super().__init__(message)
        self.field = field


class SlotTaken(BookingError):
    """The time was free when the page was shown but is not now. The transaction has been
    rolled back; `nearest` holds the closest free times to offer instead."""

    def __init__(self, message: str, nearest: list[slots.Slot]) -> None:
        super().__init__(message)
        self.nearest = nearest


@dataclass(frozen=True)
class Choice:
    """A time chosen on a form: with whom, where and when (UTC), as the slot value names it."""

    practitioner_id: int
    site_code: str
    starts_at: datetime

    @classmethod
    def parse(cls, value: str | None) -> Choice:
        """Read a slot value from a form; refuse anything that is not one."""
        parsed = slots.parse_slot_value(value or "")
        # An id past the database's integers would be a server error on PostgreSQL, not a refusal;
        # a time in year 1 has no London time (its day before does not exist), so no rule could read it.
        if parsed is None or parsed[0] > MAX_ROW_ID or parsed[2].year < FIRST_DAY.year:
            raise BookingError("Choose one of the times shown.")
        return cls(*parsed)


def active_appointments(request_id: int) -> list[Appointment]:
    """The request's appointments that have not been cancelled, earliest first."""
    return list(db.session.execute(
        select(Appointment).where(Appointment.request_id == request_id, Appointment.cancelled.is_(False)).order_by(Appointment.starts_at)
    ).scalars())


def all_appointments(request_id: int) -> list[Appointment]:
    """Every appointment the request has had, cancelled ones too, earliest first: its history."""
    return list(db.session.execute(
        select(Appointment).where(Appointment.request_id == request_id).order_by(Appointment.starts_at, Appointment.id)
    ).scalars())


def cancel_appointments(request_id: int, now: datetime, reason: str = "") -> list[Appointment]:
    """Cancel every appointment the request still has; return them."""
    appointments = active_appointments(request_id)
    for appointment in appointments:
        _cancel(appointment, now, reason)
    return appointments


def _cancel(appointment: Appointment, now: datetime, reason: str) -> None:
    appointment.cancelled = True
    appointment.cancelled_at = now
    appointment.cancel_reason = reason[:200]
    appointment.updated_at = now


def _offered(choice: Choice, now: datetime, *, default_minutes: int, for_staff: bool, moving: int | None = None) -> slots.Slot:
    """The free slot the choice names, or a clear refusal of why it cannot be booked."""
    practitioner = db.session.get(Practitioner, choice.practitioner_id)
    if practitioner is None or choice.site_code not in practitioner.site_codes:
        raise BookingError("Choose one of the times shown.")
    if not practitioner.active:
        raise BookingError(f"{practitioner.name} is no longer taking appointments. Choose another time.")
    if choice.starts_at <= now:
        raise BookingError("That time has passed. Choose a time in the future.")
    day = choice.starts_at.astimezone(LONDON).date()
    for slot in diary.free_times(
        now, default_minutes=default_minutes, for_staff=for_staff, site_code=choice.site_code,
        practitioner_ids=[choice.practitioner_id], first_day=day, last_day=day, ignoring=moving,
    ):
        if slot.starts_at == choice.starts_at:
            return slot
    raise _taken(choice, now, default_minutes=default_minutes, for_staff=for_staff)


def offered(choice: Choice, now: datetime, *, default_minutes: int, for_staff: bool = False) -> slots.Slot:
    """The free slot a choice names, checked as `book` checks it but writing nothing: for a page
    that shows a time to confirm before booking it. Raises BookingError or SlotTaken as `book` does."""
    return _offered(choice, now, default_minutes=default_minutes, for_staff=for_staff)


def _taken(choice: Choice, now: datetime, *, default_minutes: int, for_staff: bool) -> SlotTaken:
    """The refusal for a time that is not free, with the nearest free times at the same site."""
    nearby = diary.free_times(now, default_minutes=default_minutes, for_staff=for_staff, site_code=choice.site_code)
    return SlotTaken("Sorry, that time has just been taken.", slots.nearest(nearby, choice.starts_at, NEAREST_SUGGESTIONS))


def book(
    request_id: int, choice: Choice, *, now: datetime, default_minutes: int, booked_by_id: int | None = None
) -> Appointment:
    """Book a free time for a request (the caller commits and moves the request's status on).

    `booked_by_id` is the member of staff booking; None means the patient chose the time,
    and then the patients' notice and horizon rules apply.
    """
    for_staff = booked_by_id is not None
    slot = _offered(choice, now, default_minutes=default_minutes, for_staff=for_staff)
    kind = diary.assessment_type(default_minutes)
    appointment = Appointment(
        request_id=request_id, practitioner_id=slot.practitioner_id, site_code=slot.site_code, starts_at=slot.starts_at,
        minutes=kind.minutes, buffer_minutes=kind.buffer_minutes,
        blocked_until=slot.starts_at + timedelta(minutes=kind.minutes + kind.buffer_minutes),
        booked_by_id=booked_by_id, created_at=now, updated_at=now,
    )
    db.session.add(appointment)
    _flush_or_taken(choice, now, default_minutes=default_minutes, for_staff=for_staff)
    return appointment


def move(
    appointment: Appointment, choice: Choice, *, now: datetime, default_minutes: int, seen_sequence: int, for_staff: bool = True
) -> Appointment:
    """Move an appointment to another free time, keeping its row (and so its calendar UID)."""
    if appointment.cancelled:
        raise BookingError("This appointment has been cancelled, so it cannot be moved.")
    if appointment.sequence != seen_sequence:
        raise BookingError("This appointment was changed after the page was shown. Check it and choose again.")
    if appointment.starts_at <= now:
        raise BookingError("This appointment has already started, so it cannot be moved.")
    # The appointment's own time does not count against its move (to a slot overlapping it).
    slot = _offered(choice, now, default_minutes=default_minutes, for_staff=for_staff, moving=appointment.id)
    appointment.practitioner_id = slot.practitioner_id
    appointment.site_code = slot.site_code
    appointment.starts_at = slot.starts_at
    appointment.blocked_until = slot.starts_at + timedelta(minutes=appointment.minutes + appointment.buffer_minutes)
    appointment.sequence += 1
    appointment.updated_at = now
    _flush_or_taken(choice, now, default_minutes=default_minutes, for_staff=for_staff)
    return appointment


def cancel(appointment: Appointment, *, now: datetime, reason: str, seen_sequence: int | None = None) -> Appointment:
    """Cancel one appointment; its time is free again at once."""
    if appointment.cancelled:
        raise BookingError("This appointment has already been cancelled.")
    if seen_sequence is not None and appointment.sequence != seen_sequence:
        raise BookingError("This appointment was changed after the page was shown. Check it and try again.")
    _cancel(appointment, now, reason)
    db.session.flush()
    return appointment


def _flush_or_taken(choice: Choice, now: datetime, *, default_minutes: int, for_staff: bool) -> None:
    """Write now: if the database refuses an overlap (another booking won), roll back and say so."""
    try:
        db.session.flush()
    except IntegrityError as refused:
        db.session.rollback()
        if "appointments_no_overlap" not in str(refused.orig):
            raise
        raise _taken(choice, now, default_minutes=default_minutes, for_staff=for_staff) from None


def clashes(choice: Choice, *, default_minutes: int, moving: int | None = None) -> bool:
    """Whether another appointment of the practitioner takes (part of) the chosen time now: a
    refused time that clashes was taken; one that does not was never on offer (a forged value,
    outside working hours, off the grid). Only for times within reach (no overflow near year 9999)."""
    kind = diary.assessment_type(default_minutes)
    query = select(Appointment.id).where(
        Appointment.practitioner_id == choice.practitioner_id, Appointment.cancelled.is_(False),
        Appointment.starts_at < choice.starts_at + timedelta(minutes=kind.minutes + kind.buffer_minutes),
        Appointment.blocked_until > choice.starts_at,
    )
    if moving is not None:
        query = query.where(Appointment.id != moving)
    return db.session.execute(query.limit(1)).first() is not None
