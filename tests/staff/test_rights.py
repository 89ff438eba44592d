"""A patient's rights to correction and erasure: an admin corrects contact details (audited by
field name only) and erases a request's personal data where no treatment followed (the request
keeps what the counts need; names, contact details, answers, free text, notes' text and emails go;
the audit says who, why and what kinds, never the data). Nobody else can, and no page breaks on an
erased request."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError

from intake.appointments import manage_links
from intake.appointments.models import Appointment
from intake.journey.models import AssessmentRequest, StatusCount
from intake.mail.models import OutboxMessage
from intake.platform.extensions import db
from intake.platform.timeutil import utcnow
from intake.staff.models import AuditEvent, RequestNote
from tests.factories import (
    CSRF_PATTERN, begun_appointment, book_appointment, free_slot, listed, new_practitioner, new_request, sign_in, update_request,
)
from tests.support.back_office import audit_events, csv_rows, request_value, snapshot
from tests.support.fuzz import FUZZ, assert_no_server_error, hostile

REASON = "Asked by phone on Monday, identity checked"


@pytest.fixture
def held(app, make_staff):
    """Grace's request is booked (a future time), has a note, a sent email and one waiting; Alan's is new."""
    reception = make_staff("reception")
    new_practitioner(app, "Clara Clinician")
    grace = new_request(app, first="Grace", last="Hopper", email="grace@example.com", phone="07400 111222",
                        how_it_feels={"description": "Sharp pain since the marathon"})
    alan = new_request(app, first="Alan", last="Turing", email="alan@example.com", phone="07400 333444")
    slot = free_slot(app)
    book_appointment(app, grace, reception, slot)
    desk = sign_in(app, reception)
    desk.post(f"/staff/requests/{grace}/notes", {"body": "Grace rang about parking"}, form_path=f"/staff/requests/{grace}")
    with app.app_context():
        first = db.session.execute(select(OutboxMessage).order_by(OutboxMessage.id)).scalars().first()
        first.status, first.sent_at = "sent", utcnow()
        db.session.commit()
    admin = sign_in(app, make_staff("admin", email="ada.admin@clinic.example"))
    return {"grace": grace, "alan": alan, "slot": slot, "admin": admin, "reception": desk}


def post(staff, path: str, data: dict):
    page = staff.client.get(path).get_data(as_text=True)
    return staff.client.post(path, data={**data, "csrf_token": CSRF_PATTERN.search(page).group(1)})


def erase(staff, reference: str, reason: str = REASON):
    return post(staff, f"/staff/requests/{reference}/erase", {"reason": reason})


def stored(app, reference: str) -> AssessmentRequest:
    with app.app_context():
        found = db.session.execute(select(AssessmentRequest).where(AssessmentRequest.reference == reference)).scalar_one()
        db.session.expunge(found)
        return found


def messages_of(app, reference: str) -> list[tuple]:
    with app.app_context():
        request_id = request_value(app, reference, "id")
        return [tuple(row) for row in db.session.execute(
            select(OutboxMessage.kind, OutboxMessage.status, OutboxMessage.recipient, OutboxMessage.text_body, OutboxMessage.html_body)
            .where(OutboxMessage.request_id == request_id).order_by(OutboxMessage.id)
        ).all()]


# --- erasure ----------------------------------------------------------------------------------

def test_erasing_keeps_what_the_counts_need_and_takes_everything_personal(app, held):
    before = stored(app, held["grace"])
    response = erase(held["admin"], held["grace"])
    assert response.status_code == 303 and response.headers["Location"].endswith(f"/staff/requests/{held['grace']}/erased")
    after = stored(app, held["grace"])
    kept = ("reference", "created_at", "site_code", "urgency", "urgency_rank", "consent_given_at", "privacy_notice_version")
    assert {name: getattr(after, name) for name in kept} == {name: getattr(before, name) for name in kept}
    assert after.erased_at is not None and after.erased_because == "patient_request" and after.status == "cancelled"
    assert (after.first_name, after.last_name, after.email, after.phone, after.phone_display, after.description, after.goals,
            after.availability_note) == ("",) * 8
    assert (after.date_of_birth, after.region, after.side, after.pain_now, after.contact_method, after.postcode) == (None,) * 6
    assert (after.safety_answers, after.sensations, after.urgency_reasons, after.available_days, after.marketing_opt_in) == ({}, [], [], [], False)
    with app.app_context():
        assert db.session.execute(select(RequestNote.body)).scalars().all() == [""]  # the note stays, emptied


def test_emails_waiting_are_dropped_and_sent_ones_keep_no_address_or_text(app, held):
    assert [status for _, status, *_ in messages_of(app, held["grace"])] == ["sent", "pending", "pending"]
    erase(held["admin"], held["grace"])
    assert messages_of(app, held["grace"]) == [("clinic_new_request", "sent", "", "", "")]
    assert [status for _, status, *_ in messages_of(app, held["alan"])] == ["pending", "pending"]  # others untouched


def test_erasing_cancels_a_future_appointment_frees_its_time_and_emails_nobody(app, held):
    emails_before = len(messages_of(app, held["grace"]))
    erase(held["admin"], held["grace"])
    with app.app_context():
        [appointment] = db.session.execute(select(Appointment)).scalars().all()
        assert appointment.cancelled and appointment.cancel_reason == "Personal data erased at the patient's request"
    assert free_slot(app) == held["slot"]
    assert len(messages_of(app, held["grace"])) < emails_before  # nothing new queued, the waiting ones dropped


def test_the_patients_manage_link_no_longer_opens_the_appointment(app, held):
    with app.app_context():
        [appointment_id] = db.session.execute(select(Appointment.id)).scalars().all()
        token = manage_links.existing_token(appointment_id, app.config["SECRET_KEY"])
    patient = app.test_client()
    assert patient.get("/appointment", query_string={"token": token}).status_code == 200
    erase(held["admin"], held["grace"])
    answer = patient.get("/appointment", query_string={"token": token})
    assert answer.status_code == 410 and "Grace" not in answer.get_data(as_text=True)


def test_the_audit_says_who_erased_what_and_why_without_the_erased_data(app, held):
    erase(held["admin"], held["grace"])
    [event] = audit_events(app, "erase_personal_data")
    assert event["staff_email"] == "ada.admin@clinic.example" and event["detail"]["reason"] == REASON
    assert "contact details" in event["detail"]["erased"] and event["detail"]["appointments_cancelled"] == 1
    everything_audited = json.dumps(audit_events(app), default=str)
    for erased in ("Grace", "Hopper", "grace@example.com", "111222", "marathon", "parking"):
        assert erased not in everything_audited


def test_the_result_page_says_what_was_done_and_the_patient_was_not_emailed(held):
    page = erase(held["admin"], held["grace"])
    result = held["admin"].client.get(page.headers["Location"]).get_data(as_text=True)
    assert "Personal data erased" in result and REASON in result and "Grace" not in result
    assert "was not emailed about the cancelled appointment" in result


def test_the_confirmation_page_names_the_appointment_it_will_cancel(held):
    page = held["admin"].client.get(f"/staff/requests/{held['grace']}/erase").get_data(as_text=True)
    assert "Erasing cancels this appointment" in page and "Clara Clinician" in page and "We do not email the patient" in page


@pytest.mark.parametrize("reason, message", [("", "Give the reason for erasing"), ("x" * 501, "500 characters or fewer"),
                                             ("a\x00b", "The reason")])
def test_erasing_needs_a_reason_of_plain_text(app, held, reason, message):
    before = snapshot(app)
    response = erase(held["admin"], held["alan"], reason)
    assert response.status_code == 400 and message in response.get_data(as_text=True)
    assert 'id="reason-error"' in response.get_data(as_text=True) and snapshot(app) == before


def test_a_request_the_patient_attended_is_a_record_of_care_and_is_not_erased(app, held):
    update_request(app, held["alan"], status="attended")
    page = held["admin"].client.get(f"/staff/requests/{held['alan']}/erase").get_data(as_text=True)
    assert "record of care" in page and "Erase their personal data" not in page
    before = snapshot(app)
    token = CSRF_PATTERN.search(held["admin"].client.get("/staff/").get_data(as_text=True)).group(1)
    response = held["admin"].client.post(f"/staff/requests/{held['alan']}/erase", data={"reason": REASON, "csrf_token": token})
    assert response.status_code == 409 and "record of care" in response.get_data(as_text=True) and snapshot(app) == before


def test_a_request_whose_appointment_has_started_waits_for_attendance_to_be_recorded(app, held):
    with app.app_context():
        started = utcnow() - timedelta(minutes=10)
        db.session.execute(update(Appointment).values(starts_at=started, blocked_until=started + timedelta(hours=1)))
        db.session.commit()
    token = CSRF_PATTERN.search(held["admin"].client.get("/staff/").get_data(as_text=True)).group(1)
    response = held["admin"].client.post(f"/staff/requests/{held['grace']}/erase", data={"reason": REASON, "csrf_token": token})
    assert response.status_code == 409 and "Record whether the patient attended first" in response.get_data(as_text=True)
    assert stored(app, held["grace"]).erased_at is None


def test_an_erased_request_cannot_be_erased_again_booked_corrected_or_noted(app, held):
    erase(held["admin"], held["alan"])
    admin = held["admin"]
    assert admin.client.get(f"/staff/requests/{held['alan']}/erase").status_code == 303
    assert admin.client.get(f"/staff/requests/{held['alan']}/contact-details").status_code == 404
    before = snapshot(app)
    token = CSRF_PATTERN.search(admin.client.get("/staff/").get_data(as_text=True)).group(1)
    note = admin.client.post(f"/staff/requests/{held['alan']}/notes", data={"body": "Alan rang", "csrf_token": token})
    booking = admin.client.post(f"/staff/requests/{held['alan']}/book", data={"slot": free_slot(app), "csrf_token": token})
    assert (note.status_code, booking.status_code) == (400, 400) and "has been erased" in note.get_data(as_text=True)
    assert snapshot(app) == before


def test_the_database_refuses_answers_missing_from_a_request_not_erased_and_data_kept_in_an_erased_one(app, held):
    with app.app_context():
        for change in ({"region": None}, {"pain_now": None}, {"date_of_birth": None},
                       {"erased_at": utcnow(), "erased_because": "patient_request"},  # erased, yet the name and answers stay
                       {"erased_because": "patient_request"}):
            with pytest.raises(IntegrityError):
                db.session.execute(update(AssessmentRequest).where(AssessmentRequest.reference == held["alan"]).values(**change))
                db.session.flush()
            db.session.rollback()
    erase(held["admin"], held["alan"])
    with app.app_context(), pytest.raises(IntegrityError):
        db.session.execute(update(AssessmentRequest).where(AssessmentRequest.reference == held["alan"]).values(first_name="Alan"))
        db.session.flush()


# --- an erased request everywhere -------------------------------------------------------------

def test_an_erased_request_shows_as_erased_everywhere_with_no_personal_data_and_no_error(app, held):
    erase(held["admin"], held["grace"])
    admin, grace = held["admin"].client, held["grace"]
    listing = admin.get("/staff/")
    assert listing.status_code == 200 and grace in listed(listing) and "Erased" in listing.get_data(as_text=True)
    assert "Grace" not in listing.get_data(as_text=True)
    page = admin.get(f"/staff/requests/{grace}")
    assert page.status_code == 200 and "Erased request" in page.get_data(as_text=True) and "Grace" not in page.get_data(as_text=True)
    assert "erased the patient's personal data" in page.get_data(as_text=True)
    rows = {row[0]: row for row in csv_rows(admin.get("/staff/export.csv"))}
    assert rows[grace][4:8] == ["(erased)", "", "", ""] and rows[grace][2] == "Cancelled"
    for path in ("/staff/diary", "/staff/diary/week", "/staff/audit", f"/staff/subject-access?q={grace}"):
        response = admin.get(path)
        assert response.status_code == 200 and "Grace" not in response.get_data(as_text=True), path
    for format_ in ("json", "html"):
        export = post(held["admin"], f"/staff/subject-access?q={grace}", {"references": grace, "format": format_})
        assert export.status_code == 200 and "Grace" not in export.get_data(as_text=True) and grace in export.get_data(as_text=True)


def test_the_counts_still_hold_an_erased_request(app, held):
    def counts() -> dict[str, int]:
        with app.app_context():
            return dict(db.session.execute(select(StatusCount.status, StatusCount.requests)).all())

    before = counts()
    erase(held["admin"], held["alan"])
    assert counts() == before
    assert held["alan"] in listed(held["admin"].client.get("/staff/?status=new"))


def test_the_patients_confirmation_page_is_gone_once_erased(app, patient, staff_client):
    reference = patient.complete()
    assert patient.client.get(f"/book/confirmation/{reference}").status_code == 200
    erase(staff_client("admin"), reference)
    assert patient.client.get(f"/book/confirmation/{reference}").status_code == 404


def test_the_subject_access_page_offers_correction_and_erasure_for_each_request_found(held):
    page = held["admin"].client.get("/staff/subject-access?q=grace@example.com").get_data(as_text=True)
    assert f"/staff/requests/{held['grace']}/contact-details" in page and f"/staff/requests/{held['grace']}/erase" in page


# --- correcting contact details ---------------------------------------------------------------

def test_an_admin_corrects_contact_details_and_the_audit_names_only_the_fields(app, held):
    path = f"/staff/requests/{held['alan']}/contact-details"
    form = held["admin"].client.get(path).get_data(as_text=True)
    assert 'value="alan@example.com"' in form and 'value="07400 333444"' in form
    response = post(held["admin"], path, {"email": "Alan.T@Example.org", "phone": "+44 7400 999000"})
    assert response.status_code == 303 and response.headers["Location"].endswith(f"/staff/requests/{held['alan']}")
    after = stored(app, held["alan"])
    assert (after.email, after.phone, after.phone_display) == ("Alan.T@example.org", "+447400999000", "07400 999000")
    [event] = audit_events(app, "correct_contact_details")
    assert event["detail"] == {"fields": ["email", "phone"]}
    assert not {"alan@example.com", "Alan.T@example.org", "333444", "999000"} & {str(value) for value in event["detail"].values()}
    assert "corrected the contact details: email, phone" in held["admin"].client.get(f"/staff/requests/{held['alan']}").get_data(as_text=True)


def test_emails_still_waiting_go_to_the_corrected_address(app, held):
    post(held["admin"], f"/staff/requests/{held['alan']}/contact-details", {"email": "alan.new@example.com", "phone": "07400 333444"})
    assert {recipient for kind, _, recipient, *_ in messages_of(app, held["alan"]) if kind.startswith("patient")} == {"alan.new@example.com"}
    assert [event["detail"] for event in audit_events(app, "correct_contact_details")] == [{"fields": ["email"]}]


@pytest.mark.parametrize("data, field, message", [
    ({"email": "not-an-address", "phone": "07400 333444"}, "email", "Enter an email address in the correct format"),
    ({"email": "alan@example.com", "phone": "12"}, "phone", "Enter a phone number"),
    ({"email": "a" * 250 + "@example.com", "phone": "07400 333444"}, "email", "254 characters or fewer"),
    ({"email": "", "phone": ""}, "email", "Enter the email address"),
    ({"email": "alan@example.com", "phone": "07400 333444"}, "email", "already held"),
])
def test_bad_or_unchanged_contact_details_get_a_message_next_to_the_field(app, held, data, field, message):
    before = snapshot(app)
    response = post(held["admin"], f"/staff/requests/{held['alan']}/contact-details", data)
    body = response.get_data(as_text=True)
    assert response.status_code == 400 and message in body and f'id="{field}-error"' in body and body.startswith("<!doctype html>")
    assert "<title>Error:" in body and snapshot(app) == before


def test_a_patient_who_asked_for_texts_keeps_a_mobile_number(app, held):
    update_request(app, held["alan"], contact_method="text")
    response = post(held["admin"], f"/staff/requests/{held['alan']}/contact-details", {"email": "alan@example.com", "phone": "020 7946 0000"})
    assert response.status_code == 400 and "enter a mobile number" in response.get_data(as_text=True)


@pytest.mark.parametrize("role", ["reception", "clinician"])
def test_only_admins_may_correct_or_erase(app, held, staff_client, role):
    staff = staff_client(role)
    token = CSRF_PATTERN.search(staff.client.get("/staff/").get_data(as_text=True)).group(1)
    before = snapshot(app)
    for path, data in ((f"/staff/requests/{held['alan']}/erase", {"reason": REASON}),
                       (f"/staff/requests/{held['alan']}/contact-details", {"email": "x@example.com", "phone": "07400 000111"})):
        assert staff.client.get(path).status_code == 403
        assert staff.client.post(path, data={**data, "csrf_token": token}).status_code == 403
    assert "Erase personal data" not in staff.client.get(f"/staff/requests/{held['alan']}").get_data(as_text=True)
    assert snapshot(app) == before


def test_any_post_to_the_rights_forms_answers_without_a_server_error(app, held):
    """Junk, control characters, long text and forged fields: a page or a refusal, never a 500."""
    client = held["admin"].client
    token = CSRF_PATTERN.search(client.get("/staff/").get_data(as_text=True)).group(1)

    @FUZZ
    @given(email=hostile(300, ["alan@example.com", "a@b.co"]), phone=hostile(40, ["07400 333444", "+12025550123"]),
           reason=st.one_of(hostile(600), st.just("")))
    def check(email, phone, reason):
        assert_no_server_error(client.post(f"/staff/requests/{held['alan']}/contact-details",
                                           data={"email": email, "phone": phone, "csrf_token": token}))
        assert_no_server_error(client.post(f"/staff/requests/{held['grace']}/erase", data={"reason": reason, "csrf_token": token}))

    check()


def test_erasing_empties_the_reasons_given_for_cancelling_and_a_missed_appointment_does_not_block_it(app, held, monkeypatch):
    """A reason for cancelling may say who the patient is ("my husband John is ill"); a request whose
    appointment was marked did not attend is not a record of care, so it can be erased."""
    with app.app_context():
        db.session.execute(update(Appointment).values(cancelled=True, cancel_reason="My husband John Smith is unwell"))
        db.session.commit()
    reference = new_request(app, first="Alan", last="Turing", email="alan@example.com")
    with app.app_context():
        practitioner = db.session.execute(select(Appointment.practitioner_id)).scalars().first()
    missed = begun_appointment(app, reference, practitioner, minutes_ago=600)
    with app.app_context():
        db.session.execute(update(Appointment).where(Appointment.id == missed).values(outcome="no_show"))
        db.session.execute(update(AssessmentRequest).where(AssessmentRequest.reference == reference).values(status="no_show"))
        db.session.commit()
    erase(held["admin"], held["grace"])
    erase(held["admin"], reference)
    with app.app_context():
        reasons = db.session.execute(select(Appointment.cancel_reason)).scalars().all()
        erased = db.session.execute(select(AssessmentRequest.erased_at).where(AssessmentRequest.reference == reference)).scalar_one()
    assert "My husband John Smith is unwell" not in reasons and erased is not None


def test_erasing_takes_the_red_flags_found_in_the_patients_own_words(app, held):
    """They quote what the patient wrote."""
    words = new_request(app, first="Ida", email="ida@example.com",
                        how_it_feels={"description": "I keep wetting myself since the back went"}, your_words={"bladder_change": "no"})
    with app.app_context():
        flags = db.session.execute(select(AssessmentRequest.free_text_flags).where(AssessmentRequest.reference == words)).scalar_one()
    assert flags and "wetting myself" in json.dumps(flags)
    assert erase(held["admin"], words).status_code == 303
    with app.app_context():
        assert db.session.execute(select(AssessmentRequest.free_text_flags).where(AssessmentRequest.reference == words)).scalar_one() == []


def test_a_reason_reception_gave_for_cancelling_is_shown_until_erasure_and_never_kept_in_the_audit_log(app, held):
    """The audit log cannot be changed, so it must not hold what erasure has to remove: it records
    that a reason was given, and the reason itself stays with the appointment."""
    reason = "Mrs Hopper is in hospital for her hip"
    with app.app_context():
        appointment = db.session.execute(select(Appointment.id)).scalar_one()
    page = f"/staff/requests/{held['grace']}"
    cancelled = held["reception"].post(f"{page}/appointments/{appointment}/cancel", {"reason": reason, "then": "contacted", "sequence": "0"},
                                       form_path=page)
    assert cancelled.status_code == 303
    history = held["reception"].client.get(page).get_data(as_text=True)
    assert "cancelled the appointment on" in history and f"({reason})" in history
    [event] = audit_events(app, "cancel_appointment", held["grace"])
    assert event["detail"]["reason_given"] is True and reason not in str(event["detail"])
    erase(held["admin"], held["grace"])
    assert not [event for event in audit_events(app) if reason in str(event["detail"])]
    with app.app_context():
        assert reason not in db.session.execute(select(Appointment.cancel_reason)).scalars().all()
