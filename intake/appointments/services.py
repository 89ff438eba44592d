"""The rules for booking an assessment: who can be booked, when, and what a booking changes.

Plain functions taking plain arguments (the caller commits); they never touch the Flask
request, session or app. The clinician arrives as a small `Clinician`, so this package
needs nothing from the back office.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

from sqlalchemy import select

from intake.appointments.models import Appointment
from intake.appointments.statuses import STATUS_WORDS, can_become
from intake.journey.models import AssessmentRequest
from intake.platform.extensions import db
from intake.platform.timeutil import LONDON

# Longer than any appointment: how far back a clash is looked for.
LONGEST_APPOINTMENT = timedelta(hours=12)


class BookingError(Exception):
    """A booking the rules do not allow; the message is shown next to `field` on the form."""

    def __init__(self, message: str, field: str = "") -> None:
        super().__init__(message)
        self.field = field


@dataclass(frozen=True)
class Clinician:
    """The member of staff chosen to see the patient, as the booking rules need them."""

    id: int
    name: str
    role: str
    active: bool


@dataclass(frozen=True)
class Booking:
    """A new appointment, and whether it replaced one the request had already."""

    appointment: Appointment
    rescheduled: bool


def active_appointments(request_id: int) -> list[Appointment]:
    """The request's appointments that have not been cancelled, earliest first."""
    return list(db.session.execute(
        select(Appointment).where(Appointment.request_id == request_id, Appointment.cancelled.is_(False)).order_by(Appointment.starts_at)
    ).scalars())


def cancel_appointments(request_id: int) -> int:
    """Cancel every appointment the request still has; return how many there were."""
    appointments = active_appointments(request_id)
    for appointment in appointments:
        appointment.cancelled = True
    return len(appointments)


def _check_free(clinician: Clinician, starts_at: datetime, ends_at: datetime, request_id: int) -> None:
    """Refuse a time that overlaps another of the clinician's appointments (not this request's)."""
    for other in db.session.execute(
        select(Appointment).where(
            Appointment.clinician_id == clinician.id,
            Appointment.cancelled.is_(False),
            Appointment.starts_at < ends_at,
            Appointment.starts_at > starts_at - LONGEST_APPOINTMENT,
            Appointment.request_id != request_id,
        )
    ).scalars():
        if other.starts_at + timedelta(minutes=other.minutes) > starts_at:
            raise BookingError(f"{clinician.name} already has an appointment at that time.", field="start_time")


def book_appointment(
    request: AssessmentRequest,
    *,
    local_start: datetime,
    minutes: int,
    clinician: Clinician | None,
    site_code: str,
    booked_by_id: int,
    now: datetime,
) -> Booking:
    """Book the assessment: the time is entered in Europe/London and stored in UTC.

    Refuses an unknown clinician or one who is not an active clinician, a request whose
    status cannot be booked, a time in the past, and a clash with the clinician's other
    appointments. An earlier appointment of the request is cancelled (a reschedule).
    """
    if clinician is None:
        raise BookingError("Choose a clinician who is working here.", field="clinician")
    if not can_become(request.status, "booked"):
        raise BookingError(f"A request that is {STATUS_WORDS[request.status].lower()} cannot be booked.")
    if clinician.role != "clinician" or not clinician.active:
        raise BookingError("Choose a clinician who is working here.", field="clinician")
    starts_at = local_start.replace(tzinfo=LONDON).astimezone(timezone.utc)
    if starts_at <= now:
        raise BookingError("The appointment must be in the future.", field="day")
    _check_free(clinician, starts_at, starts_at + timedelta(minutes=minutes), request.id)
    rescheduled = cancel_appointments(request.id)
    appointment = Appointment(
        request_id=request.id, starts_at=starts_at, minutes=minutes, clinician_id=clinician.id,
        site_code=site_code, booked_by_id=booked_by_id, created_at=now,
    )
    db.session.add(appointment)
    request.status = "booked"
    request.updated_at = now
    db.session.flush()
    return Booking(appointment, rescheduled=bool(rescheduled))
