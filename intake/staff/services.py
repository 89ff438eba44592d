"""Handling a request in the back office: finding it, moving its status on, booking it, notes.

Plain functions taking plain arguments; the caller (a view) commits. They never touch the
Flask request, session or app.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta

from sqlalchemy import select

from intake.appointments import diary, manage_links, services as appointments
from intake.appointments.models import Appointment, Practitioner
from intake.appointments.statuses import APPOINTMENT_ENDING, STATUS_WORDS, THROUGH_CANCELLING, TRANSITIONS, can_become, refusal
from intake.clinic.sites import Site, site_by_code
from intake.journey.models import REQUEST_STATUSES, AssessmentRequest
from intake.mail.notifications import AppointmentDetails, MailSettings, RequestDetails, queue_appointment_email
from intake.platform.extensions import db
from intake.platform.timeutil import LONDON
from intake.staff.audit import audit
from intake.staff.errors import StaffError
from intake.staff.models import RequestNote, StaffLogin
from intake.waitlist import services as waitlist

__all__ = ["STATUS_WORDS", "TRANSITIONS", "StaffError", "add_note", "allowed_next", "audit", "book", "cancel", "change_status", "find_appointment", "find_request",
           "move", "notes"]


def find_request(reference: str) -> AssessmentRequest | None:
    """The request with this reference, if any."""
    return db.session.execute(select(AssessmentRequest).where(AssessmentRequest.reference == reference)).scalar_one_or_none()


def allowed_next(status: str) -> list[str]:
    """The statuses a request may move to next, in a sensible order (booking excluded)."""
    return [
        candidate for candidate in REQUEST_STATUSES
        if can_become(status, candidate) and candidate != "booked" and (status, candidate) not in THROUGH_CANCELLING
    ]


def change_status(request: AssessmentRequest, new_status: str, user: StaffLogin, now: datetime,
                  offers: waitlist.WaitlistRules | None = None) -> list[int]:
    """Move a request on, if the rules allow it (booking goes through `book`). An appointment this
    ends leaves the waitlist, and its time is offered to those waiting (given the `offers` rules);
    returns the ids of the offers' messages (the caller commits, then sends them)."""
    if new_status == "booked":
        raise StaffError("To book, choose one of the free times.")
    if (request.status, new_status) in THROUGH_CANCELLING:
        raise StaffError("To give the patient a new time, cancel the appointment (the patient is emailed).")
    if not can_become(request.status, new_status):
        raise StaffError(refusal(request.status, new_status))
    if new_status == "cancelled" and any(appointment.starts_at > now for appointment in appointments.active_appointments(request.id)):
        # The patient must hear of it, and their calendar event must go: only the cancel form does both.
        raise StaffError("To cancel a booked assessment, cancel the appointment with a reason (the patient is emailed).")
    offered = []
    if new_status in APPOINTMENT_ENDING:
        # The appointment is not going ahead (or was missed): it no longer counts as booked.
        ended = appointments.cancel_appointments(request.id, now, reason=f"Request marked {STATUS_WORDS[new_status].lower()}")
        offered = waitlist.after_cancelling(ended, offers, now)
    audit(user, "change_status", request.id, now, **{"from": request.status, "to": new_status})
    request.status = new_status
    request.updated_at = now
    return offered


def book(
    request: AssessmentRequest,
    *,
    slot_value: str,
    sites: list[Site],
    default_minutes: int,
    user: StaffLogin,
    now: datetime,
    settings: MailSettings,
) -> list[int]:
    """Book the assessment at a free time chosen from the diary, audit it and queue the patient's
    confirmation with a calendar invite (the caller commits); return the id of the message queued.

    Raises appointments.BookingError (SlotTaken when another booking got there first). A
    request that already has an appointment is moved (`move`), not booked again.
    """
    if request.erased:
        raise StaffError("This request's personal data has been erased, so it cannot be booked.")
    if not can_become(request.status, "booked") or appointments.active_appointments(request.id):
        raise StaffError(f"A request that is {STATUS_WORDS[request.status].lower()} cannot be booked.")
    earlier_status = request.status
    appointment = _at_a_time_on_offer(slot_value, now, default_minutes, lambda choice: appointments.book(
        request.id, choice, now=now, default_minutes=default_minutes, booked_by_id=user.id,
    ))
    request.status = "booked"
    request.updated_at = now
    audit(
        user, "book", request.id, now, starts_at=appointment.starts_at.isoformat(), clinician=appointment.practitioner.name,
        site=appointment.site_code, **{"from": earlier_status},
    )
    return [queue_appointment_email(RequestDetails.of(request), appointment_details(appointment, now, settings), site_by_code(sites, appointment.site_code), settings)]


def _at_a_time_on_offer(slot_value: str, now: datetime, default_minutes: int, change: Callable[[appointments.Choice], Appointment],
                        moving: int | None = None) -> Appointment:
    """Book or move at the chosen time. A time never on offer (too far ahead, outside working
    hours, off the grid, forged) is refused in words; only a time another booking took is
    SlotTaken, with the nearest free times."""
    choice = appointments.Choice.parse(slot_value)
    horizon = diary.STAFF_HORIZON_DAYS
    if choice.starts_at.astimezone(LONDON).date() > now.astimezone(LONDON).date() + timedelta(days=horizon):
        raise StaffError(f"That time is too far ahead. Choose a time in the next {horizon} days.", field="slot")
    try:
        return change(choice)
    except appointments.SlotTaken:
        if appointments.clashes(choice, default_minutes=default_minutes, moving=moving):
            raise
        practitioner = db.session.get(Practitioner, choice.practitioner_id)
        raise StaffError(f"{practitioner.name} has no free time then. Choose one of the times shown.", field="slot") from None


def find_appointment(request: AssessmentRequest, appointment_id: int) -> Appointment | None:
    """One of the request's appointments (None for another request's, or none at all)."""
    appointment = db.session.get(Appointment, appointment_id)
    return appointment if appointment is not None and appointment.request_id == request.id else None


def move(
    request: AssessmentRequest, appointment: Appointment, *, slot_value: str, seen_sequence: int, sites: list[Site],
    default_minutes: int, user: StaffLogin, now: datetime, settings: MailSettings, offers: waitlist.WaitlistRules,
) -> list[int]:
    """Move an appointment to another free time (same row, same calendar UID, SEQUENCE one higher),
    audit where from and to, and queue the patient's email (the caller commits). The old time is
    offered to those waiting; a patient on the waitlist stays on it, for times earlier than the
    new one. Returns the ids of the messages queued: the patient's email and the offers."""
    freed = waitlist.FreedTime.of(appointment)
    earlier = {"starts_at": appointment.starts_at.isoformat(), "clinician": appointment.practitioner.name, "site": appointment.site_code}
    _at_a_time_on_offer(slot_value, now, default_minutes, lambda choice: appointments.move(
        appointment, choice, now=now, default_minutes=default_minutes, seen_sequence=seen_sequence,
    ), moving=appointment.id)
    db.session.refresh(appointment, ["practitioner"])
    later = {"starts_at": appointment.starts_at.isoformat(), "clinician": appointment.practitioner.name, "site": appointment.site_code}
    audit(user, "move", request.id, now, appointment_id=appointment.id, **{"from": earlier, "to": later})
    request.updated_at = now
    offered = waitlist.offer_freed(freed, offers, now)
    return [queue_appointment_email(
        RequestDetails.of(request), appointment_details(appointment, now, settings), site_by_code(sites, appointment.site_code), settings,
        change="moved",
    ), *offered]


def cancel(
    request: AssessmentRequest, appointment: Appointment, *, reason: str, then: str, seen_sequence: int, sites: list[Site],
    user: StaffLogin, now: datetime, settings: MailSettings, offers: waitlist.WaitlistRules,
) -> list[int]:
    """Cancel an appointment with a reason; the request goes back to "contacted" (a new time is
    needed) or to "cancelled"; audit it and queue the patient's email (the caller commits). The
    appointment leaves the waitlist and its time is offered to those waiting. Returns the ids of
    the messages queued: the patient's email and the offers."""
    if not can_become(request.status, then):
        raise StaffError(refusal(request.status, then), field="then")
    appointments.cancel(appointment, now=now, reason=reason, seen_sequence=seen_sequence)
    offered = waitlist.after_cancelling([appointment], offers, now)
    audit(
        user, "cancel_appointment", request.id, now, appointment_id=appointment.id, starts_at=appointment.starts_at.isoformat(),
        # The reason stays with the appointment, where erasure can remove it; the audit log, which
        # nothing may change, records only that one was given.
        clinician=appointment.practitioner.name, reason_given=bool(appointment.cancel_reason), **{"from": request.status, "to": then},
    )
    request.status = then
    request.updated_at = now
    return [queue_appointment_email(
        RequestDetails.of(request), appointment_details(appointment, now), site_by_code(sites, appointment.site_code), settings, change="cancelled",
    ), *offered]


OUTCOME_STATUSES = {"attended": "attended", "no_show": "no_show"}


def record_outcome(appointment: Appointment, outcome: str, user: StaffLogin, now: datetime) -> None:
    """Mark an appointment that has begun as attended or not, and move its request on to match
    (the caller commits). Raises StaffError for one not begun, cancelled, or marked already."""
    if outcome not in OUTCOME_STATUSES:
        raise StaffError("Choose attended or did not attend.")
    if appointment.cancelled:
        raise StaffError("This appointment was cancelled.")
    if appointment.starts_at > now:
        raise StaffError("This appointment has not begun yet: mark it once it has.")
    if appointment.outcome is not None:
        raise StaffError("This appointment has been marked already.")
    request = db.session.get(AssessmentRequest, appointment.request_id)
    appointment.outcome = outcome
    appointment.updated_at = now
    earlier = request.status
    if can_become(request.status, OUTCOME_STATUSES[outcome]):
        request.status = OUTCOME_STATUSES[outcome]
        request.updated_at = now
    audit(user, "record_outcome", request.id, now, appointment_id=appointment.id, starts_at=appointment.starts_at.isoformat(),
          outcome=outcome, **{"from": earlier, "to": request.status})


def appointment_details(appointment, now: datetime, settings: MailSettings | None = None) -> AppointmentDetails:
    """What an email says about the appointment, as changed at `now`; with the mail `settings`, its
    manage link too (an email about a cancelled appointment has none: the link no longer works)."""
    manage = "" if settings is None else manage_links.manage_url(
        appointment.id, secret=settings.link_secret, base_url=settings.public_base_url, now=now,
    )
    return AppointmentDetails(
        appointment.id, appointment.starts_at, appointment.minutes, now, appointment.practitioner.name, appointment.sequence, manage,
    )


def add_note(request: AssessmentRequest, body: str, user: StaffLogin, now: datetime) -> RequestNote:
    """Add a note to a request (notes are never edited)."""
    if request.erased:
        raise StaffError("This request's personal data has been erased: notes can no longer be added to it.")
    text = body.strip()
    if not text:
        raise StaffError("Write a note before adding it.")
    note = RequestNote(request_id=request.id, author_id=user.id, body=text, created_at=now)
    db.session.add(note)
    audit(user, "add_note", request.id, now)
    return note


def notes(request: AssessmentRequest) -> list[RequestNote]:
    """A request's notes, oldest first."""
    return list(db.session.execute(
        select(RequestNote).where(RequestNote.request_id == request.id).order_by(RequestNote.created_at, RequestNote.id)
    ).scalars())
