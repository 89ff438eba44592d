"""The rules of the manage link: what it shows, until when the patient may move or cancel online,
and doing either, audited, with the patient told by email.

Plain functions taking plain arguments (no Flask request, session or app); the caller commits.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from intake.appointments import manage_links, services as appointments
from intake.appointments.models import Appointment
from intake.appointments.statuses import can_become
from intake.clinic.sites import Site, site_by_code
from intake.journey.models import AssessmentRequest
from intake.mail.notifications import MailSettings, RequestDetails, queue_appointment_email
from intake.platform.extensions import db
from intake.platform.timeutil import LONDON
from intake.staff.audit import audit
from intake.staff.services import appointment_details
from intake.waitlist import services as waitlist

# Who the audit log says acted, for what patients do through their link.
PATIENT_ACTOR = "The patient (manage link)"


class LinkUnknown(Exception):
    """The token opens no appointment: mistyped, forged, or never given."""


class LinkEnded(Exception):
    """The token's appointment was cancelled or is over: the link no longer does anything."""


class TooLate(Exception):
    """Inside the cut-off: the patient must phone to change or cancel."""


@dataclass(frozen=True)
class Managed:
    """All the manage page shows: the first name, when, where and with whom, and whether it can still change online."""

    appointment: Appointment
    first_name: str
    starts: datetime  # London time
    site: Site | None
    practitioner: str
    changeable_until: datetime  # London time
    changeable: bool


def open_link(token: str, *, now: datetime, cutoff_hours: int, sites: list[Site]) -> Managed:
    """What the link opens now. Raises LinkUnknown or LinkEnded."""
    appointment = manage_links.appointment_for(token)
    if appointment is None:
        raise LinkUnknown()
    if appointment.cancelled or appointment.starts_at <= now:
        raise LinkEnded()
    request = db.session.get(AssessmentRequest, appointment.request_id)
    until = appointment.starts_at - timedelta(hours=cutoff_hours)
    return Managed(
        appointment, request.first_name, appointment.starts_at.astimezone(LONDON), site_by_code(sites, appointment.site_code),
        appointment.practitioner.name, until.astimezone(LONDON), now < until,
    )


def _changeable(token: str, seen: int | None, *, now: datetime, cutoff_hours: int, sites: list[Site]) -> Managed:
    managed = open_link(token, now=now, cutoff_hours=cutoff_hours, sites=sites)
    if not managed.changeable:
        raise TooLate()
    if seen is None or managed.appointment.sequence != seen:
        raise appointments.BookingError("Your appointment changed after this page was shown. Check the details and try again.")
    return managed


def cancel(token: str, *, seen: int | None, reason: str, now: datetime, cutoff_hours: int, sites: list[Site], settings: MailSettings,
           offers: waitlist.WaitlistRules) -> list[int]:
    """Cancel the appointment: its time is free at once (and offered to those waiting), the
    request is cancelled, the patient is emailed (and leaves the waitlist); return the messages'
    ids. Raises LinkUnknown, LinkEnded, TooLate or BookingError."""
    managed = _changeable(token, seen, now=now, cutoff_hours=cutoff_hours, sites=sites)
    appointment = appointments.cancel(managed.appointment, now=now, reason=reason.strip())
    offered = waitlist.after_cancelling([appointment], offers, now)
    request = db.session.get(AssessmentRequest, appointment.request_id)
    # Whether a reason was given, not the reason: the patient's words stay with the appointment,
    # where erasure can reach them; the audit log cannot be changed.
    audit(None, "patient_cancel", request.id, now, email=PATIENT_ACTOR, appointment_id=appointment.id,
          starts_at=appointment.starts_at.isoformat(), reason_given=bool(appointment.cancel_reason), **{"from": request.status})
    if can_become(request.status, "cancelled"):
        request.status = "cancelled"
    request.updated_at = now
    return [queue_appointment_email(RequestDetails.of(request), appointment_details(appointment, now), managed.site, settings, change="cancelled"),
            *offered]


def move(
    token: str, *, seen: int | None, slot_value: str, now: datetime, cutoff_hours: int, sites: list[Site], settings: MailSettings,
    default_minutes: int, offers: waitlist.WaitlistRules,
) -> list[int]:
    """Move the appointment to a free time patients may book (the old time is free at once, and
    offered to those waiting), and email the patient; return the messages' ids. A patient on the
    waitlist stays on it, for times earlier than the new one. Raises LinkUnknown, LinkEnded,
    TooLate or BookingError (SlotTaken if the new time went meanwhile)."""
    managed = _changeable(token, seen, now=now, cutoff_hours=cutoff_hours, sites=sites)
    appointment = managed.appointment
    freed = waitlist.FreedTime.of(appointment)
    earlier = {"starts_at": appointment.starts_at.isoformat(), "clinician": managed.practitioner, "site": appointment.site_code}
    appointments.move(appointment, appointments.Choice.parse(slot_value), now=now, default_minutes=default_minutes,
                      seen_sequence=appointment.sequence, for_staff=False)
    db.session.refresh(appointment, ["practitioner"])
    later = {"starts_at": appointment.starts_at.isoformat(), "clinician": appointment.practitioner.name, "site": appointment.site_code}
    request = db.session.get(AssessmentRequest, appointment.request_id)
    audit(None, "patient_move", request.id, now, email=PATIENT_ACTOR, appointment_id=appointment.id, **{"from": earlier, "to": later})
    request.updated_at = now
    email = queue_appointment_email(
        RequestDetails.of(request), appointment_details(appointment, now, settings), site_by_code(sites, appointment.site_code), settings,
        change="moved",
    )
    return [email, *waitlist.offer_freed(freed, offers, now)]
