"""Everything the clinic holds about a patient, for their right of access (UK GDPR Article 15).

Plain functions taking plain arguments (no Flask request, session or app). An admin finds the
patient's requests by reference, email or phone, checks who is asking, picks the requests that
are theirs (a family may share an email address), and gets every request with its answers, its
appointments, its times on the waitlist with the offers made, the emails and texts sent about it
with their status, its notes, and who looked at or changed it and when.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, datetime
from typing import Any

import phonenumbers
from sqlalchemy import func, or_, select

from intake.appointments.models import Appointment, Practitioner
from intake.journey.forms import possible_phone_number
from intake.journey.models import AssessmentRequest
from intake.mail.models import OutboxMessage
from intake.platform.extensions import db
from intake.platform.timeutil import LONDON
from intake.staff.models import AuditEvent, RequestNote, StaffUser
from intake.waitlist.models import WaitlistEntry, WaitlistOffer

# Columns that are the app's own bookkeeping, not information about the patient.
INTERNAL_COLUMNS = {"id", "submission_key", "urgency_rank", "back_risk_rank"}
MOST_REQUESTS = 50


def find_requests(query: str) -> list[AssessmentRequest]:
    """Requests whose reference, email address or phone number is the one given, newest first."""
    text = query.strip()
    # Email addresses match whatever their case: a patient may type theirs differently each time.
    matches = [AssessmentRequest.reference == text.upper(), func.lower(AssessmentRequest.email) == text.lower()]
    number = possible_phone_number(text)
    if number is not None:
        matches.append(AssessmentRequest.phone == phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164))
    return list(db.session.execute(
        select(AssessmentRequest).where(or_(*matches)).order_by(AssessmentRequest.created_at.desc()).limit(MOST_REQUESTS)
    ).scalars())


def requests_by_reference(references: list[str]) -> list[AssessmentRequest]:
    """The requests with these references, oldest first."""
    return list(db.session.execute(
        select(AssessmentRequest).where(AssessmentRequest.reference.in_(references)).order_by(AssessmentRequest.created_at)
    ).scalars())


def record_of(request_ids: list[int], now: datetime) -> dict[str, Any]:
    """Everything held about the requests with these ids, as plain values (JSON-ready, times in UTC ISO 8601).

    The requests, and each one's appointments, emails, notes and history, are generators that
    read from the database as they are consumed (a few rows at a time), so a patient with much
    on record is written out without holding it all: consume it once, in an app context (a
    streamed response's, after the view's session has gone).
    """
    return {"prepared_at": _plain(now), "requests": _request_records(request_ids)}


def _request_records(request_ids: list[int]) -> Iterator[dict[str, Any]]:
    staff_names = dict(db.session.execute(select(StaffUser.id, StaffUser.name)).all())
    for request_id in request_ids:
        stored = db.session.execute(select(AssessmentRequest).where(AssessmentRequest.id == request_id)).scalar_one()
        yield _request_record(stored, staff_names)


# Rows read from the database at a time for each part of a request's record.
READ_BATCH = 100


def _rows(query):
    """The query's rows, read `READ_BATCH` at a time (a server-side cursor on PostgreSQL)."""
    return db.session.execute(query.execution_options(yield_per=READ_BATCH))


def _request_record(stored: AssessmentRequest, staff_names: dict[int, str]) -> dict[str, Any]:
    details = {
        column.key: _plain(getattr(stored, column.key))
        for column in AssessmentRequest.__table__.columns if column.key not in INTERNAL_COLUMNS
    }
    return {
        "request": details,
        "appointments": _appointments(stored.id, staff_names),
        "waitlist": _waitlist(stored.id),
        "messages": _messages(stored.id),
        "notes": _notes(stored.id, staff_names),
        "history": _history(stored.id, staff_names),
    }


def _appointments(request_id: int, staff_names: dict[int, str]) -> Iterator[dict[str, Any]]:
    for appointment, practitioner in _rows(
        select(Appointment, Practitioner.name).join(Practitioner, Practitioner.id == Appointment.practitioner_id)
        .where(Appointment.request_id == request_id).order_by(Appointment.starts_at)
    ):
        yield {
            "starts_at": _plain(appointment.starts_at),
            "starts_at_london": appointment.starts_at.astimezone(LONDON).strftime("%A %-d %B %Y, %H:%M"),
            "minutes": appointment.minutes,
            "site": appointment.site_code,
            "practitioner": practitioner,
            "booked_by": staff_names.get(appointment.booked_by_id, "") if appointment.booked_by_id else "the patient, online",
            "cancelled": appointment.cancelled,
            "cancelled_at": _plain(appointment.cancelled_at),
            "cancel_reason": appointment.cancel_reason,
            "booked_at": _plain(appointment.created_at),
        }


def _waitlist(request_id: int) -> Iterator[dict[str, Any]]:
    """Each time the patient asked for an earlier appointment, with the times offered and what became of each."""
    for entry in _rows(select(WaitlistEntry).where(WaitlistEntry.request_id == request_id).order_by(WaitlistEntry.asked_at)).scalars():
        offers = db.session.execute(select(WaitlistOffer).where(WaitlistOffer.entry_id == entry.id).order_by(WaitlistOffer.offered_at)).scalars()
        yield {
            "asked_at": _plain(entry.asked_at), "ended_at": _plain(entry.ended_at), "ended_because": entry.ended_because,
            "offers": [{"starts_at": _plain(offer.starts_at), "site": offer.site_code, "by": offer.channel, "offered_at": _plain(offer.offered_at),
                        "expires_at": _plain(offer.expires_at), "outcome": offer.outcome, "answered_at": _plain(offer.answered_at)}
                       for offer in offers],
        }


def _messages(request_id: int) -> Iterator[dict[str, Any]]:
    for message in _rows(
        select(OutboxMessage).where(OutboxMessage.request_id == request_id).order_by(OutboxMessage.created_at, OutboxMessage.id)
    ).scalars():
        yield {
            "kind": message.kind, "to": message.recipient, "subject": message.subject, "status": message.status,
            "attempts": message.attempts, "queued_at": _plain(message.created_at), "sent_at": _plain(message.sent_at),
            "text": message.text_body,
        }


def _notes(request_id: int, staff_names: dict[int, str]) -> Iterator[dict[str, Any]]:
    for note in _rows(select(RequestNote).where(RequestNote.request_id == request_id).order_by(RequestNote.created_at)).scalars():
        yield {"written_at": _plain(note.created_at), "by": staff_names.get(note.author_id, ""), "note": note.body}


def _history(request_id: int, staff_names: dict[int, str]) -> Iterator[dict[str, Any]]:
    for event in _rows(
        select(AuditEvent).where(AuditEvent.request_id == request_id).order_by(AuditEvent.at, AuditEvent.id)
    ).scalars():
        yield {"at": _plain(event.at), "by": staff_names.get(event.staff_id, event.staff_email) if event.staff_id else event.staff_email,
               "action": event.action, "detail": event.detail}


def _plain(value: Any) -> Any:
    """A value as JSON can hold it: times and dates as ISO 8601 text."""
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    return value
