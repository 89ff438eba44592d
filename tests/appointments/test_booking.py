"""Booking, moving and cancelling an assessment from the back office, by choosing a free time:
London times stored in UTC, calendar invites that keep their UID and raise their SEQUENCE, no
double booking, refusals that explain themselves and store nothing, missed appointments."""

from __future__ import annotations

import html
import re
from datetime import date, datetime, time, timedelta

import pytest
from icalendar import Calendar
from sqlalchemy import func, select

from intake.appointments import diary
from intake.appointments.models import Appointment, Practitioner
from intake.journey.models import AssessmentRequest
from intake.mail.models import OutboxMessage
from intake.platform.extensions import db
from intake.appointments.slots import slot_value
from intake.platform.timeutil import LONDON, today_in_london, utcnow
from tests.factories import UTC, book_appointment, booking_form, free_slot, new_practitioner, new_request, update_request
from tests.support.back_office import audit_events, error_messages, request_value

RIVERSIDE_ADDRESS = "3 Ferry Lane, London SE1 9ZZ"
STAMP = re.compile(r"\.(\d{8}T\d{4}Z)$")


def appointments(app, reference: str) -> list[tuple[datetime, int, str, bool, int]]:
    with app.app_context():
        rows = db.session.execute(
            select(Appointment).join(AssessmentRequest, AssessmentRequest.id == Appointment.request_id)
            .where(AssessmentRequest.reference == reference).order_by(Appointment.id)
        ).scalars()
        return [(row.starts_at, row.practitioner_id, row.site_code, row.cancelled, row.sequence) for row in rows]


def outbox_count(app) -> int:
    with app.app_context():
        return db.session.execute(select(func.count()).select_from(OutboxMessage)).scalar_one()


def calendar_emails(app, reference: str) -> list[OutboxMessage]:
    """The patient's emails about their appointment (booked, moved, cancelled), oldest first (detached copies)."""
    with app.app_context():
        messages = list(db.session.execute(
            select(OutboxMessage).join(AssessmentRequest, AssessmentRequest.id == OutboxMessage.request_id)
            .where(AssessmentRequest.reference == reference, OutboxMessage.attachment_type == "text/calendar")
            .order_by(OutboxMessage.id)
        ).scalars())
        db.session.expunge_all()
        return messages


def the_event(ics: str):
    events = Calendar.from_ical(ics).walk("VEVENT")
    assert len(events) == 1
    return events[0]


def starts_of(slot: str) -> datetime:
    return datetime.strptime(STAMP.search(slot).group(1), "%Y%m%dT%H%MZ").replace(tzinfo=UTC)


def next_monday_with_offset(offset: timedelta) -> date:
    """The first Monday (not a bank holiday) from two days on whose London time is `offset` ahead of UTC (GMT or BST)."""
    day = today_in_london() + timedelta(days=2)
    day += timedelta(days=-day.weekday() % 7)
    while datetime.combine(day, time(12), LONDON).utcoffset() != offset or diary.closed_days("england", day, day):
        day += timedelta(days=7)
    return day


@pytest.fixture
def far_ahead(monkeypatch):
    """Reception may book 400 days ahead, so both a GMT and a BST day can always be booked."""
    monkeypatch.setattr(diary, "STAFF_HORIZON_DAYS", 400)


def appointment_id(app, reference: str) -> int:
    with app.app_context():
        return db.session.execute(
            select(Appointment.id).join(AssessmentRequest, AssessmentRequest.id == Appointment.request_id)
            .where(AssessmentRequest.reference == reference, Appointment.cancelled.is_(False))
        ).scalar_one()


# --- booking ------------------------------------------------------------------------------

@pytest.mark.parametrize("offset", [timedelta(0), timedelta(hours=1)], ids=["winter-GMT", "summer-BST"])
def test_booking_stores_the_london_time_in_utc_and_emails_a_calendar_invite(app, patient, staff_client, far_ahead, offset):
    """14:30 chosen in winter (GMT) or summer (BST) is stored as the right UTC instant and the patient
    is emailed an .ics invite for 14:30 London time, 45 minutes long, at the site's address."""
    reference = patient.complete()
    clara = new_practitioner(app, "Clara Clinician")
    day = next_monday_with_offset(offset)
    starts_at = datetime.combine(day, time(14, 30), LONDON).astimezone(UTC)
    slot = next(value for value in _free_on(app, day, clara) if starts_of(value) == starts_at)
    staff = staff_client("reception")
    response = staff.post(f"/staff/requests/{reference}/book", booking_form(slot))
    assert response.status_code == 303, error_messages(response.get_data(as_text=True))
    assert request_value(app, reference, "status") == "booked"
    assert starts_at.hour == 14 - offset.seconds // 3600
    assert appointments(app, reference) == [(starts_at, clara, "riverside", False, 0)]

    [invite] = calendar_emails(app, reference)
    assert (invite.kind, invite.recipient, invite.status) == ("patient_booking_confirmation", "ada@example.com", "pending")
    event = the_event(invite.attachment_body)
    start, end = event["DTSTART"].dt, event["DTEND"].dt
    assert start == starts_at
    assert (start.hour, start.minute, start.utcoffset()) == (14, 30, offset)  # written as London wall time
    assert end - start == timedelta(minutes=45)
    assert RIVERSIDE_ADDRESS in str(event["LOCATION"])

    [entry] = audit_events(app, "book", reference)
    assert entry["detail"]["starts_at"] == starts_at.isoformat()
    assert (entry["detail"]["clinician"], entry["detail"]["site"]) == ("Clara Clinician", "riverside")
    page = html.unescape(staff.client.get(f"/staff/requests/{reference}").get_data(as_text=True))
    assert f"{day.day} {day.strftime('%b %Y')}, 14:30 with Clara Clinician at Riverside" in page


def _free_on(app, day: date, practitioner: int) -> list[str]:
    found, index = [], 0
    while True:
        try:
            found.append(free_slot(app, practitioner=practitioner, day=day, index=index))
        except IndexError:
            return found
        index += 1


def test_the_request_page_offers_free_times_grouped_by_day_at_the_chosen_site_and_any_other(app, patient, staff_client):
    """By default the patient's site from today; ?site= and ?day= show another site and a later week."""
    reference = patient.complete()
    new_practitioner(app, "Clara Clinician")
    new_practitioner(app, "Dev Physio", sites=("west-green",))
    staff = staff_client("reception")
    page = staff.client.get(f"/staff/requests/{reference}").get_data(as_text=True)
    assert "Free time at Riverside" in page and "with Clara Clinician" in page and "with Dev Physio" not in page
    assert re.search(r'<optgroup label="\w+day \d+ \w+ \d{4}">', page)
    later = today_in_london() + timedelta(days=21)
    page = staff.client.get(f"/staff/requests/{reference}?site=west-green&day={later}").get_data(as_text=True)
    assert "Free time at West Green" in page and "with Dev Physio" in page and "with Clara Clinician" not in page
    first_offered = re.search(r'<option value="(\d+\.west-green\.\d{8}T\d{4}Z)"', page).group(1)
    assert starts_of(first_offered).astimezone(LONDON).date() >= later


def test_a_practitioner_cannot_be_double_booked_and_each_invite_has_its_own_uid(app, patient, staff_client):
    """A time taken between showing the page and pressing the button: 409 with the nearest free
    times, nothing stored; the next time is fine."""
    first = patient.complete()
    second = new_request(app, first="Grace", last="Hopper", email="grace@example.com")
    new_practitioner(app, "Clara Clinician")
    staff = staff_client("reception")
    slot = free_slot(app)
    assert staff.post(f"/staff/requests/{first}/book", booking_form(slot)).status_code == 303
    outbox_before = outbox_count(app)
    response = staff.post(f"/staff/requests/{second}/book", booking_form(slot))
    body = response.get_data(as_text=True)
    assert response.status_code == 409
    assert error_messages(body) == ["Sorry, that time has just been taken."]
    assert "The nearest free times" in body and '<optgroup label="Nearest free times">' in body
    assert appointments(app, second) == [] and request_value(app, second, "status") == "new"
    assert outbox_count(app) == outbox_before and audit_events(app, "book", second) == []
    assert staff.post(f"/staff/requests/{second}/book", booking_form(free_slot(app))).status_code == 303
    uids = [str(the_event(message.attachment_body)["UID"]) for reference in (first, second) for message in calendar_emails(app, reference)]
    assert len(uids) == 2 and len(set(uids)) == 2


def _refusals(desk) -> dict[str, tuple[str, str, str]]:
    """case: (the request's status, the slot value posted, what the message says)."""
    with desk.app.app_context():  # a free time two or more days ahead: its day's 03:00 is to come, whatever the hour now
        later = [slot for slot in diary.free_times(utcnow(), default_minutes=45, for_staff=True, site_code="riverside")
                 if slot.local.date() >= today_in_london() + timedelta(days=2)]
    free = slot_value(later[0])
    clara, site, stamp = free.split(".")
    return {
        "time in the past": ("new", f"{clara}.{site}.20200106T1000Z", "That time has passed"),
        "outside working hours": ("new", f"{clara}.{site}.{stamp[:9]}0300Z", "has no free time then"),
        "a clock-change Sunday night": ("new", f"{clara}.{site}.20270328T0130Z", "has no free time then"),
        "year 9999": ("new", f"{clara}.{site}.99991231T2345Z", "too far ahead"),
        "year 1": ("new", f"{clara}.{site}.00010101T0000Z", "Choose one of the times shown"),  # no London time: was a 500
        "1999": ("new", f"{clara}.{site}.19991231T2359Z", "Choose one of the times shown"),
        "another site's practitioner": ("new", f"{clara}.west-green.{stamp}", "Choose one of the times shown"),
        "forged value": ("new", "1.riverside.2026-12-03T10:00", "Choose one of the times shown"),
        "nothing chosen": ("new", "", "Choose a free time"),
        "cancelled request": ("cancelled", free, "cannot be booked"),
        "attended request": ("attended", free, "cannot be booked"),
    }


CASES = ["time in the past", "outside working hours", "a clock-change Sunday night", "year 9999", "year 1", "1999", "another site's practitioner",
         "forged value", "nothing chosen", "cancelled request", "attended request"]


@pytest.mark.parametrize("case", CASES)
def test_a_refused_booking_explains_itself_and_stores_nothing(desk, case):
    """400, the message next to the field, no appointment, no email, no audit entry, status unchanged."""
    status, slot, message = _refusals(desk)[case]
    desk.set_status(status)
    outbox_before, audit_before = outbox_count(desk.app), audit_events(desk.app, "book")
    response = desk.staff.post(desk.path("book"), booking_form(slot))
    body = response.get_data(as_text=True)
    assert response.status_code == 400
    assert any(message in shown for shown in error_messages(body)), error_messages(body)
    assert 'id="slot-error"' in body or case in ("cancelled request", "attended request")
    assert appointments(desk.app, desk.reference) == []
    assert desk.status() == status
    assert outbox_count(desk.app) == outbox_before
    assert audit_events(desk.app, "book") == audit_before


def test_a_deactivated_practitioner_keeps_their_booked_patients_but_gets_no_new_ones(app, patient, make_staff, staff_client):
    """Deactivated after booking: the appointment stays in the diary, no free times are offered,
    and a page still showing one of their times gets a clear refusal."""
    reference = patient.complete()
    clara = new_practitioner(app, "Clara Clinician")
    booked = new_request(app, first="Grace", last="Hopper", email="grace@example.com")
    book_appointment(app, booked, make_staff("reception"))
    stale_slot = free_slot(app)
    with app.app_context():
        db.session.get(Practitioner, clara).active = False
        db.session.commit()
    staff = staff_client("reception")
    response = staff.post(f"/staff/requests/{reference}/book", booking_form(stale_slot))
    assert response.status_code == 400
    assert error_messages(response.get_data(as_text=True)) == ["Clara Clinician is no longer taking appointments. Choose another time."]
    assert appointments(app, reference) == []
    assert "with Clara Clinician" not in staff.client.get(f"/staff/requests/{reference}").get_data(as_text=True)
    day = appointments(app, booked)[0][0].astimezone(LONDON).date()
    diary = staff.client.get(f"/staff/diary?site=riverside&day={day}").get_data(as_text=True)
    assert "Grace Hopper" in diary and "(not taking new appointments)" in diary and ">Free<" not in diary


# --- moving and cancelling ----------------------------------------------------------------

def test_moving_keeps_the_row_and_the_uid_raises_the_sequence_and_cancelling_sends_a_cancel(app, patient, staff_client):
    """Book, move, cancel: one appointment row; three emails whose events share a UID, with SEQUENCE
    0, 1 and 2 (the last METHOD:CANCEL, STATUS:CANCELLED); audited with from/to and the reason; the
    request goes back to contacted, ready for a new time."""
    reference = patient.complete()
    new_practitioner(app, "Clara Clinician")
    new_practitioner(app, "Dev Physio", sites=("riverside", "west-green"))
    staff = staff_client("reception")
    first = free_slot(app)
    assert staff.post(f"/staff/requests/{reference}/book", booking_form(first)).status_code == 303
    appointment = appointment_id(app, reference)
    later = free_slot(app, "west-green")
    response = staff.post(f"/staff/requests/{reference}/appointments/{appointment}/move", {**booking_form(later), "sequence": "0"})
    assert response.status_code == 303, error_messages(response.get_data(as_text=True))
    [(starts_at, practitioner, site, cancelled, sequence)] = appointments(app, reference)
    assert (starts_at, site, cancelled, sequence) == (starts_of(later), "west-green", False, 1)
    assert request_value(app, reference, "status") == "booked"
    response = staff.post(f"/staff/requests/{reference}/appointments/{appointment}/cancel",
                          {"reason": "Patient rang: away that week", "then": "contacted", "sequence": "1"})
    assert response.status_code == 303, error_messages(response.get_data(as_text=True))
    assert [row[3] for row in appointments(app, reference)] == [True]
    assert request_value(app, reference, "status") == "contacted"

    booked, moved, cancelled_email = calendar_emails(app, reference)
    assert (booked.kind, moved.kind, cancelled_email.kind) == ("patient_booking_confirmation", "patient_booking_confirmation", "patient_appointment_cancelled")
    assert "has moved" in moved.subject and "is cancelled" in cancelled_email.subject
    events = [the_event(message.attachment_body) for message in (booked, moved, cancelled_email)]
    assert len({str(event["UID"]) for event in events}) == 1
    assert [int(event["SEQUENCE"]) for event in events] == [0, 1, 2]
    assert events[1]["DTSTART"].dt == starts_of(later)
    assert Calendar.from_ical(cancelled_email.attachment_body)["METHOD"] == "CANCEL" and str(events[2]["STATUS"]) == "CANCELLED"

    [move] = audit_events(app, "move", reference)
    assert move["detail"]["from"]["starts_at"] == starts_of(first).isoformat()
    assert move["detail"]["to"] == {"starts_at": starts_of(later).isoformat(), "clinician": "Dev Physio", "site": "west-green"}
    [cancel] = audit_events(app, "cancel_appointment", reference)
    assert (cancel["detail"]["reason_given"], cancel["detail"]["from"], cancel["detail"]["to"]) == (True, "booked", "contacted")
    assert "reason" not in cancel["detail"]  # kept with the appointment, where erasure can reach it
    page = staff.client.get(f"/staff/requests/{reference}").get_data(as_text=True)
    assert "Book the assessment" in page and "Patient rang: away that week" in page


def test_cancelling_because_the_patient_no_longer_wants_an_assessment_closes_the_request(desk):
    update_request(desk.app, desk.reference, status="new")
    appointment = book_appointment(desk.app, desk.reference, desk.email)
    response = desk.staff.post(desk.path(f"appointments/{appointment}/cancel"),
                               {"reason": "Feeling better", "then": "cancelled", "sequence": "0"})
    assert response.status_code == 303
    assert desk.status() == "cancelled"
    assert [row[3] for row in appointments(desk.app, desk.reference)][-1] is True


def test_a_stale_or_bad_move_or_cancel_is_refused_and_changes_nothing(desk):
    """A page shown before another change, a cancelled appointment, another request's appointment,
    a missing reason or one over 200 characters: a message (or 404), nothing saved, nothing sent."""
    update_request(desk.app, desk.reference, status="new")
    appointment = book_appointment(desk.app, desk.reference, desk.email)
    other = new_request(desk.app, first="Grace", last="Hopper", email="grace@example.com")
    move, cancel = desk.path(f"appointments/{appointment}/move"), desk.path(f"appointments/{appointment}/cancel")
    before = (appointments(desk.app, desk.reference), outbox_count(desk.app), len(audit_events(desk.app)))

    def refused(path: str, data: dict, message: str, status: int = 400) -> None:
        response = desk.staff.post(path, data)
        assert response.status_code == status
        if message:
            assert any(message in shown for shown in error_messages(response.get_data(as_text=True))), error_messages(response.get_data(as_text=True))
        assert (appointments(desk.app, desk.reference), outbox_count(desk.app), len(audit_events(desk.app))) == before

    stale = "This appointment was changed after the page was shown"
    refused(move, {**booking_form(free_slot(desk.app, index=6)), "sequence": "3"}, stale)
    refused(move, {**booking_form(free_slot(desk.app, index=6)), "sequence": "x"}, stale)
    refused(cancel, {"reason": "Rang", "then": "contacted", "sequence": "1"}, stale)
    refused(cancel, {"reason": "", "then": "contacted", "sequence": "0"}, "Enter why the appointment is cancelled")
    refused(cancel, {"reason": "x" * 201, "then": "contacted", "sequence": "0"}, "200 characters or fewer")
    refused(cancel, {"reason": "Rang", "then": "declined", "sequence": "0"}, "Choose what happens next")
    refused(f"/staff/requests/{other}/appointments/{appointment}/cancel", {"reason": "Rang", "then": "contacted", "sequence": "0"}, "", 404)
    with desk.app.app_context():
        db.session.get(Appointment, appointment).cancelled = True
        db.session.commit()
    before = (appointments(desk.app, desk.reference), outbox_count(desk.app), len(audit_events(desk.app)))
    refused(move, {**booking_form(free_slot(desk.app, index=6)), "sequence": "0"}, "has been cancelled")
    refused(cancel, {"reason": "Rang", "then": "contacted", "sequence": "0"}, "already been cancelled")


# --- the request's story ------------------------------------------------------------------

def test_a_missed_appointment_is_no_longer_listed_as_booked(app, patient, make_staff, staff_client):
    reference = patient.complete()
    new_practitioner(app)
    staff = staff_client("reception")
    assert staff.post(f"/staff/requests/{reference}/book", booking_form(free_slot(app))).status_code == 303
    assert staff.post(f"/staff/requests/{reference}/status", {"status": "no_show"}).status_code == 303
    assert [row[3] for row in appointments(app, reference)] == [True]
    page = staff.client.get(f"/staff/requests/{reference}").get_data(as_text=True)
    assert "Did not attend" in page and "Book the assessment" in page


def test_the_history_shows_booking_times_in_london_time(app, patient, staff_client, far_ahead):
    reference = patient.complete()
    clara = new_practitioner(app, "Clara Clinician")
    day = next_monday_with_offset(timedelta(hours=1))
    slot = next(value for value in _free_on(app, day, clara) if starts_of(value).astimezone(LONDON).time() == time(14, 30))
    staff = staff_client("reception")
    assert staff.post(f"/staff/requests/{reference}/book", booking_form(slot)).status_code == 303
    page = staff.client.get(f"/staff/requests/{reference}").get_data(as_text=True)
    assert f"booked {day.day} {day:%b %Y}, 14:30 with Clara Clinician" in page
