"""Booking an assessment from the back office: London times stored in UTC, calendar invites, no double
booking, refusals that explain themselves, rescheduling and missed appointments."""

from __future__ import annotations

import html
from datetime import date, datetime, timedelta

import pytest
from icalendar import Calendar
from sqlalchemy import func, select

from intake.appointments.models import Appointment
from intake.journey.models import AssessmentRequest
from intake.mail.models import OutboxMessage
from intake.platform.extensions import db
from intake.platform.timeutil import LONDON, today_in_london
from tests.factories import UTC, booking_form, new_request, sign_in, staff_id
from tests.support.back_office import audit_events, error_messages, request_value

RIVERSIDE_ADDRESS = "3 Ferry Lane, London SE1 9ZZ"

def appointments(app, reference: str) -> list[tuple[datetime, int, str, bool]]:
    with app.app_context():
        rows = db.session.execute(
            select(Appointment).join(AssessmentRequest, AssessmentRequest.id == Appointment.request_id)
            .where(AssessmentRequest.reference == reference).order_by(Appointment.id)
        ).scalars()
        return [(row.starts_at, row.clinician_id, row.site_code, row.cancelled) for row in rows]

def outbox_count(app) -> int:
    with app.app_context():
        return db.session.execute(select(func.count()).select_from(OutboxMessage)).scalar_one()

def invites(app, reference: str) -> list[OutboxMessage]:
    """The booking confirmations queued for a request (detached copies)."""
    with app.app_context():
        messages = list(db.session.execute(
            select(OutboxMessage).join(AssessmentRequest, AssessmentRequest.id == OutboxMessage.request_id)
            .where(AssessmentRequest.reference == reference, OutboxMessage.kind == "patient_booking_confirmation")
            .order_by(OutboxMessage.id)
        ).scalars())
        db.session.expunge_all()
        return messages

def the_event(ics: str):
    events = Calendar.from_ical(ics).walk("VEVENT")
    assert len(events) == 1
    return events[0]

def next_year(month: int, day: int) -> date:
    return date(today_in_london().year + 1, month, day)


# --- 4. booking ---------------------------------------------------------------------------

@pytest.mark.parametrize(("day", "utc_hour", "offset"), [
    (next_year(1, 15), 14, timedelta(0)),        # GMT
    (next_year(7, 15), 13, timedelta(hours=1)),  # BST
], ids=["winter-GMT", "summer-BST"])
def test_booking_stores_the_london_time_in_utc_and_emails_a_calendar_invite(app, patient, make_staff, staff_client, day, utc_hour, offset):
    """14:30 typed in winter (GMT) or summer (BST) is stored as the right UTC instant and the patient
    is emailed an .ics invite for 14:30 London time, 45 minutes long, at the site's address."""
    reference = patient.complete()
    clinician = staff_id(app, make_staff("clinician", name="Clara Clinician"))
    email = make_staff("reception")
    staff = sign_in(app, email)
    response = staff.post(f"/staff/requests/{reference}/book", booking_form(day, "14:30", clinician))
    assert response.status_code == 303, error_messages(response.get_data(as_text=True))
    assert request_value(app, reference, "status") == "booked"
    starts_at = datetime(day.year, day.month, day.day, utc_hour, 30, tzinfo=UTC)
    assert starts_at == datetime(day.year, day.month, day.day, 14, 30, tzinfo=LONDON)
    assert appointments(app, reference) == [(starts_at, clinician, "riverside", False)]

    [invite] = invites(app, reference)
    assert invite.recipient == "ada@example.com"
    assert invite.status == "pending"
    assert invite.attachment_name.endswith(".ics") and invite.attachment_type == "text/calendar"
    event = the_event(invite.attachment_body)
    start, end = event["DTSTART"].dt, event["DTEND"].dt
    assert start == starts_at
    assert (start.hour, start.minute, start.utcoffset()) == (14, 30, offset)  # written as London wall time
    assert end - start == timedelta(minutes=45)
    assert RIVERSIDE_ADDRESS in str(event["LOCATION"])
    assert str(event["UID"])

    [entry] = audit_events(app, "book", reference)
    assert entry["detail"]["starts_at"] == starts_at.isoformat()
    assert entry["detail"]["clinician"] == "Clara Clinician"
    assert entry["detail"]["site"] == "riverside"
    assert entry["staff_email"] == email
    page = html.unescape(staff.client.get(f"/staff/requests/{reference}").get_data(as_text=True))
    assert f"{day.day} {day.strftime('%b %Y')}, 14:30 with Clara Clinician" in page


def test_a_clinician_cannot_be_double_booked_and_each_invite_has_its_own_uid(app, patient, make_staff, staff_client):
    """A 45-minute slot blocks overlapping starts for the same clinician; back-to-back is fine."""
    first = patient.complete()
    second = new_request(app, first="Grace", last="Hopper", email="grace@example.com")
    clinician = staff_id(app, make_staff("clinician", name="Clara Clinician"))
    staff = staff_client("reception")
    day = today_in_london() + timedelta(days=10)
    assert staff.post(f"/staff/requests/{first}/book", booking_form(day, "14:30", clinician)).status_code == 303
    outbox_before = outbox_count(app)
    for clash in ("14:30", "15:00", "14:00", "15:14"):
        response = staff.post(f"/staff/requests/{second}/book", booking_form(day, clash, clinician))
        assert response.status_code == 400, clash
        assert any("already has an appointment at that time" in message for message in error_messages(response.get_data(as_text=True)))
        assert appointments(app, second) == []
        assert request_value(app, second, "status") == "new"
        assert outbox_count(app) == outbox_before
        assert audit_events(app, "book", second) == []
    assert staff.post(f"/staff/requests/{second}/book", booking_form(day, "15:15", clinician)).status_code == 303
    uids = [str(the_event(message.attachment_body)["UID"]) for reference in (first, second) for message in invites(app, reference)]
    assert len(uids) == 2 and len(set(uids)) == 2


BOOKING_REFUSALS = {
    "time in the past": ("new", -1, "10:00", "clinician", "must be in the future"),
    "malformed time": ("new", 7, "25:99", "clinician", "like 14:30"),
    "not a clinician": ("new", 7, "10:00", "receptionist", "clinician"),
    "cancelled request": ("cancelled", 7, "10:00", "clinician", "cannot be booked"),
    "attended request": ("attended", 7, "10:00", "clinician", "cannot be booked"),
}


@pytest.mark.parametrize("case", BOOKING_REFUSALS)
def test_a_refused_booking_explains_itself_and_stores_nothing(desk, case):
    """Past time, malformed time, non-clinician, closed request: 400, a clear message, no appointment, no email, no audit."""
    status, days, start, who, message = BOOKING_REFUSALS[case]
    desk.set_status(status)
    outbox_before, audit_before = outbox_count(desk.app), audit_events(desk.app, "book")
    day = today_in_london() + timedelta(days=days)
    response = desk.staff.post(desk.path("book"), booking_form(day, start, getattr(desk, who)))
    assert response.status_code == 400
    assert any(message in shown for shown in error_messages(response.get_data(as_text=True))), error_messages(response.get_data(as_text=True))
    assert appointments(desk.app, desk.reference) == []
    assert desk.status() == status
    assert outbox_count(desk.app) == outbox_before
    assert audit_events(desk.app, "book") == audit_before


def test_booking_again_reschedules_and_keeps_one_active_appointment(app, patient, make_staff, staff_client):
    """Moving a booked assessment to another time cancels the old slot and sends a new invite."""
    reference = patient.complete()
    clinician = staff_id(app, make_staff("clinician", name="Clara Clinician"))
    staff = staff_client("reception")
    day = today_in_london() + timedelta(days=10)
    assert staff.post(f"/staff/requests/{reference}/book", booking_form(day, "09:00", clinician)).status_code == 303
    assert "Change the appointment" in staff.client.get(f"/staff/requests/{reference}").get_data(as_text=True)
    assert staff.post(f"/staff/requests/{reference}/book", booking_form(day, "09:30", clinician)).status_code == 303
    booked = appointments(app, reference)
    assert [cancelled for *_, cancelled in booked] == [True, False]
    assert len(invites(app, reference)) == 2
    assert audit_events(app, "book", reference)[-1]["detail"]["rescheduled"] is True
    assert request_value(app, reference, "status") == "booked"


def test_a_missed_appointment_is_no_longer_listed_as_booked(app, patient, make_staff, staff_client):
    reference = patient.complete()
    clinician = staff_id(app, make_staff("clinician", name="Clara Clinician"))
    staff = staff_client("reception")
    day = today_in_london() + timedelta(days=3)
    staff.post(f"/staff/requests/{reference}/book", booking_form(day, "11:00", clinician))
    assert staff.post(f"/staff/requests/{reference}/status", {"status": "no_show"}).status_code == 303
    assert [cancelled for *_, cancelled in appointments(app, reference)] == [True]
    page = staff.client.get(f"/staff/requests/{reference}").get_data(as_text=True)
    assert "Did not attend" in page and "Book the assessment" in page


def test_the_history_shows_booking_times_in_london_time(app, patient, make_staff, staff_client):
    reference = patient.complete()
    clinician = staff_id(app, make_staff("clinician", name="Clara Clinician"))
    staff = staff_client("reception")
    day = next_year(7, 15)
    staff.post(f"/staff/requests/{reference}/book", booking_form(day, "14:30", clinician))
    page = staff.client.get(f"/staff/requests/{reference}").get_data(as_text=True)
    assert f"booked {day.day} Jul {day.year}, 14:30 with Clara Clinician" in page
