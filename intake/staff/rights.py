"""Patients' rights to have their contact details corrected and their personal data erased (UK GDPR
Articles 16 and 17), and the anonymising that erasure and the retention purge share.

Plain functions taking plain arguments (no Flask request, session or app); the caller commits.
An erased request keeps its reference, dates, site, urgency and status, so the clinic's counts
stay true; its names, contact details, answers and free text go, its notes' bodies are emptied,
emails still queued for it are dropped and those already sent lose their address and bodies.
The audit log is never changed: the erasure's own entry says who, why and what kinds of data
went, never the data itself.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete, func, select, update

from intake.appointments import services as appointments
from intake.appointments.models import Appointment
from intake.appointments.statuses import can_become
from intake.journey.models import (
    BLANK_WHEN_ERASED, EMPTY_LISTS_WHEN_ERASED, EMPTY_MAPPINGS_WHEN_ERASED, NULL_WHEN_ERASED, AssessmentRequest,
)
from intake.mail.models import OutboxMessage
from intake.platform.extensions import db
from intake.platform.timeutil import LONDON
from intake.staff.audit import audit
from intake.staff.errors import StaffError
from intake.staff.models import AuditEvent, RequestNote, StaffLogin
from intake.waitlist import services as waitlist
from intake.triage.back_risk import NOT_SCREENED_RANK

APPOINTMENTS = Appointment.__table__
OUTBOX = OutboxMessage.__table__
NOTES = RequestNote.__table__
# Emails not yet sent (waiting, or given up on but retryable): erasure drops them.
QUEUED = ("pending", "dead")
# What erasure takes away, in the words the audit log and the result page use.
ERASED_KINDS = ("names", "date of birth", "contact details", "answers", "free text", "note bodies", "email addresses and bodies")
PATIENT_ASKED = "patient_request"
CANCEL_REASON = "Personal data erased at the patient's request"


class ErasureRefused(StaffError):
    """The request cannot be erased (already erased, or a record of care); the message says why."""


@dataclass(frozen=True)
class Anonymised:
    """What anonymising one request took away."""

    notes_erased: int
    messages_dropped: int
    messages_emptied: int


def anonymise(stored: AssessmentRequest, now: datetime, because: str) -> Anonymised:
    """Take every piece of the patient's personal data out of the request, its notes and its emails."""
    for column in BLANK_WHEN_ERASED:
        setattr(stored, column, "")
    for column in NULL_WHEN_ERASED:
        setattr(stored, column, None)
    for column in EMPTY_LISTS_WHEN_ERASED:
        setattr(stored, column, [])
    for column in EMPTY_MAPPINGS_WHEN_ERASED:
        setattr(stored, column, {})
    stored.marketing_opt_in = False
    # The red flags found in the patient's own words quote those words. (The database's check on an
    # erased request, migration 0015, predates this column, so the rule is kept here.)
    stored.free_text_flags = []
    # The back-pain screen's answers and score (migration 0019's check refuses an erased request that keeps them).
    stored.back_screen, stored.back_screen_total, stored.back_screen_psychological, stored.back_risk = {}, None, None, None
    stored.back_risk_rank = NOT_SCREENED_RANK
    stored.erased_at, stored.erased_because, stored.updated_at = now, because, now
    # The one change the database lets anyone make to a note (migration 0015): its body emptied.
    notes = db.session.execute(update(NOTES).where(NOTES.c.request_id == stored.id, NOTES.c.body != "").values(body="")).rowcount
    # The reasons given for cancelling (typed by the patient or by staff) may say who they are.
    db.session.execute(update(APPOINTMENTS).where(APPOINTMENTS.c.request_id == stored.id, APPOINTMENTS.c.cancel_reason.not_in(("", CANCEL_REASON)))
                       .values(cancel_reason=""))
    dropped = db.session.execute(delete(OUTBOX).where(OUTBOX.c.request_id == stored.id, OUTBOX.c.status.in_(QUEUED))).rowcount
    emptied = db.session.execute(
        update(OUTBOX).where(OUTBOX.c.request_id == stored.id, OUTBOX.c.recipient != "")
        .values(recipient="", text_body="", html_body="", attachment_body=None, last_error=None,
                body_removed_at=func.coalesce(OUTBOX.c.body_removed_at, now))
    ).rowcount
    db.session.flush()
    return Anonymised(notes or 0, dropped or 0, emptied or 0)


def erasure_refusal(stored: AssessmentRequest, now: datetime) -> str | None:
    """Why the request cannot be erased, in words for the admin; None when it can."""
    if stored.erased:
        return "This request's personal data has already been erased."
    if stored.status == "attended":
        return ("The patient attended an assessment from this request, so it is a record of care. It is kept under "
                "the health-record retention rules and cannot be erased here.")
    started = [
        appointment for appointment in appointments.active_appointments(stored.id) if appointment.starts_at <= now and appointment.outcome is None
    ]
    if started:
        return (f"This request's appointment on {started[0].starts_at.astimezone(LONDON):%-d %B %Y at %H:%M} has already "
                "started. Record whether the patient attended first: if they did, the request is a record of care and is kept.")
    return None


def erase(stored: AssessmentRequest, *, reason: str, user: StaffLogin, now: datetime,
          offers: waitlist.WaitlistRules | None = None) -> list[int]:
    """Erase the patient's personal data from a request at their request (the caller commits).

    A future appointment is cancelled with it, so its time is free again; the patient is not
    emailed (their address is among what goes), so the admin tells them when confirming the
    erasure; it leaves the waitlist, and its time is offered to those waiting (given the `offers`
    rules). Returns the ids of the offers' messages (the caller commits, then sends them).
    """
    refusal = erasure_refusal(stored, now)
    if refusal:
        raise ErasureRefused(refusal)
    reason = reason.strip()
    if not reason:
        raise StaffError("Give the reason for erasing this request's personal data", field="reason")
    cancelled = appointments.cancel_appointments(stored.id, now, reason=CANCEL_REASON)
    offered = waitlist.after_cancelling(cancelled, offers, now)
    earlier_status = stored.status
    if cancelled and can_become(stored.status, "cancelled"):
        stored.status = "cancelled"
    done = anonymise(stored, now, PATIENT_ASKED)
    detail = {
        "reason": reason[:500], "erased": list(ERASED_KINDS), "appointments_cancelled": len(cancelled),
        "notes_erased": done.notes_erased, "emails_dropped": done.messages_dropped, "emails_emptied": done.messages_emptied,
        "from": earlier_status, "to": stored.status,
    }
    audit(user, "erase_personal_data", stored.id, now, **detail)
    return offered


def last_erasure(stored: AssessmentRequest) -> dict[str, object] | None:
    """The audit entry of the request's erasure (who, when, why, what), if an admin erased it."""
    event = db.session.execute(
        select(AuditEvent).where(AuditEvent.request_id == stored.id, AuditEvent.action == "erase_personal_data")
        .order_by(AuditEvent.id.desc()).limit(1)
    ).scalar_one_or_none()
    return None if event is None else {"at": event.at, "by": event.staff_email, **event.detail}


@dataclass(frozen=True)
class ContactDetails:
    """Checked contact details: the email address normalised, the phone in E.164 and as shown."""

    email: str
    phone: str
    phone_display: str


def correct_contact_details(stored: AssessmentRequest, details: ContactDetails, *, user: StaffLogin, now: datetime) -> list[str]:
    """Put right the request's email address and phone number; return which changed (the caller
    commits). Emails still waiting to go to the old address go to the new one. The audit entry
    names the fields, never the old or new values."""
    if stored.erased:
        raise StaffError("This request's personal data has been erased, so there is nothing to correct.", field="email")
    changed = []
    if details.email != stored.email:
        db.session.execute(
            update(OUTBOX).where(OUTBOX.c.request_id == stored.id, OUTBOX.c.status.in_(QUEUED), OUTBOX.c.recipient == stored.email)
            .values(recipient=details.email)
        )
        stored.email = details.email
        changed.append("email")
    if details.phone != stored.phone:
        stored.phone, stored.phone_display = details.phone, details.phone_display
        changed.append("phone")
    if not changed:
        raise StaffError("These are the details already held. Change the email address or the phone number.", field="email")
    stored.updated_at = now
    audit(user, "correct_contact_details", stored.id, now, fields=changed)
    return changed
