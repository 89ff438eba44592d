"""Mass assignment: extra fields posted to any form (status, urgency, role, ids...) change nothing.

Every form reads only the fields it declares, and every stored value the patient or a member of
staff did not type is set by the server. These tests post the fields an attacker would try.
"""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from tests.factories import Patient, booking_form, free_slot, new_practitioner, valid_answers

from intake.journey.models import AssessmentRequest, Draft
from intake.platform.extensions import db
from intake.staff import accounts as staff_accounts
from intake.appointments.models import Appointment
from intake.appointments.slots import Slot, slot_value
from intake.staff.models import AuditEvent, RequestNote, StaffUser

# What an attacker would add to a patient's post, named after the columns they would like to set.
PATIENT_EXTRAS = {
    "id": "999",
    "reference": "HACKED22",
    "submission_key": "chosen-key",
    "status": "booked",
    "urgency": "emergency",
    "urgency_rank": "0",
    "urgency_reasons": "forged",
    "soft_flags": "forged",
    "safety_answers": "forged",
    "consent_given_at": "2000-01-01T00:00:00",
    "created_at": "2000-01-01T00:00:00",
    "expires_at": "2999-01-01T00:00:00",
    "answers": "{}",
    "draft_id": "someone-elses-draft",
    "role": "admin",
    "site_code": "elsewhere",
}
STAFF_EXTRAS = {
    "id": "1",
    "role": "admin",
    "active": "y",
    "session_version": "99",
    "urgency": "routine",
    "urgency_rank": "2",
    "reference": "HACKED22",
    "request_id": "1",
    "author_id": "1",
    "booked_by_id": "1",
    "staff_id": "1",
    "staff_email": "someone@else.example",
    "minutes": "600",
    "cancelled": "y",
    "created_at": "2000-01-01T00:00:00",
    "at": "2000-01-01T00:00:00",
}


def stored_request(app, reference: str) -> AssessmentRequest:
    with app.app_context():
        stored = db.session.scalar(db.select(AssessmentRequest).where(AssessmentRequest.reference == reference))
        db.session.expunge(stored)
        return stored


def test_a_patient_cannot_set_status_urgency_reference_or_ids(app, client):
    """Extra fields on every page and on the final post: the request is stored as the server decides."""
    patient = Patient(client)
    patient.start()
    for slug, data in valid_answers().items():
        response = patient.answer(slug, {**data, **PATIENT_EXTRAS})
        assert response.status_code == 303, response.get_data(as_text=True)
    response = patient.post("/book/check", {"consent": "y", **PATIENT_EXTRAS})
    assert response.status_code == 303
    reference = response.headers["Location"].rsplit("/", 1)[1]

    stored = stored_request(app, reference)
    assert reference != PATIENT_EXTRAS["reference"]
    assert stored.id != int(PATIENT_EXTRAS["id"])
    assert stored.submission_key != PATIENT_EXTRAS["submission_key"]
    assert (stored.status, stored.urgency, stored.urgency_rank) == ("new", "routine", 2)
    assert stored.urgency_reasons == [] and stored.soft_flags == []
    assert stored.site_code == "riverside"
    assert stored.consent_given_at.year == datetime.now().year
    assert stored.created_at.year == datetime.now().year
    assert all(value is False for value in stored.safety_answers.values())


def test_a_patient_cannot_write_answers_beyond_the_page_they_post(app, patient):
    """The draft keeps only the declared fields of each page, under that page's own key."""
    patient.start()
    forged = {**valid_answers()["about-you"], "where_it_hurts": "forged", "region": "back", **PATIENT_EXTRAS}
    assert patient.answer("about-you", forged).status_code == 303
    with app.app_context():
        draft = db.session.scalars(db.select(Draft)).one()
        assert list(draft.answers) == ["about_you"]
        saved = draft.answers["about_you"]
        assert not set(saved) & ({"region", "where_it_hurts"} | set(PATIENT_EXTRAS))
        assert draft.expires_at.year < 2999


def test_reception_changing_a_status_cannot_change_anything_else(app, patient, staff_client):
    reference = patient.complete()
    reception = staff_client("reception")
    response = reception.post(f"/staff/requests/{reference}/status", {"status": "contacted", **STAFF_EXTRAS, "urgency": "emergency"})
    assert response.status_code == 303
    stored = stored_request(app, reference)
    assert (stored.reference, stored.status, stored.urgency, stored.urgency_rank) == (reference, "contacted", "routine", 2)
    assert_roles_unchanged(app)


def test_a_note_is_always_by_the_signed_in_author_at_the_real_time(app, patient, staff_client):
    reference = patient.complete()
    admin_id = account_id(app, staff_client("admin"))
    clinician = staff_client("clinician")
    response = clinician.post(f"/staff/requests/{reference}/notes", {"body": "Called, no answer.", **STAFF_EXTRAS, "author_id": str(admin_id)})
    assert response.status_code == 303
    with app.app_context():
        note = db.session.scalars(db.select(RequestNote)).one()
        assert note.author.role == "clinician"
        assert note.created_at.year == datetime.now().year
        assert note.request_id == stored_request(app, reference).id
        event = db.session.scalars(db.select(AuditEvent).where(AuditEvent.action == "add_note")).one()
        assert event.staff_id == note.author_id and event.staff_email != STAFF_EXTRAS["staff_email"]
    assert_roles_unchanged(app)


def test_booking_takes_its_length_booker_and_state_from_the_server(app, patient, make_staff, staff_client):
    """Only the slot value is read: the practitioner, site and time it names; the length, buffer,
    booker, version and state come from the server, whatever else is posted."""
    reference = patient.complete()
    chosen = new_practitioner(app, "Clara Clinician")
    other = new_practitioner(app, "Dev Physio", sites=("west-green",))
    slot = free_slot(app, practitioner=chosen)
    reception = staff_client("reception")
    extras = {**STAFF_EXTRAS, "practitioner_id": str(other), "site_code": "west-green", "starts_at": "2000-01-01T00:00:00",
              "blocked_until": "2999-01-01T00:00:00", "buffer_minutes": "0", "sequence": "7"}
    response = reception.post(f"/staff/requests/{reference}/book", {**booking_form(slot), **extras})
    assert response.status_code == 303, response.get_data(as_text=True)
    with app.app_context():
        appointment = db.session.scalars(db.select(Appointment)).one()
        assert (appointment.practitioner_id, appointment.site_code) == (chosen, "riverside")
        assert slot_value(Slot(chosen, "riverside", appointment.starts_at, appointment.starts_at)) == slot
        assert appointment.minutes == app.config["APPOINTMENT_MINUTES"]
        assert appointment.buffer_minutes == 15 and appointment.sequence == 0
        assert appointment.blocked_until == appointment.starts_at + timedelta(minutes=appointment.minutes + 15)
        assert appointment.cancelled is False
        assert db.session.get(StaffUser, appointment.booked_by_id).role == "reception"
        assert appointment.request_id == stored_request(app, reference).id
    assert_roles_unchanged(app)


def test_signing_in_with_a_role_field_does_not_grant_it(app, make_staff, staff_client):
    reception = staff_client("reception")
    assert reception.client.get("/staff/audit").status_code == 403, "reception may not read the audit log"
    email = make_staff("reception")
    fresh = type(reception)(app.test_client())
    response = fresh.client.post(
        "/staff/login",
        data={"email": email, "password": "a long test passphrase", "csrf_token": fresh.csrf_token(), **STAFF_EXTRAS},
    )
    assert response.status_code == 303
    assert fresh.client.get("/staff/audit").status_code == 403
    assert_roles_unchanged(app)


@pytest.mark.parametrize("extra", ["role", "active", "session_version"])
def test_no_back_office_form_changes_an_account(app, patient, staff_client, extra):
    """Posting account fields to the staff forms leaves every account as it was (signing out
    rightly moves the session version on, so it is checked in the role test above)."""
    reference = patient.complete()
    reception = staff_client("reception")
    before = accounts(app)
    for path, data in [
        (f"/staff/requests/{reference}/status", {"status": "contacted"}),
        (f"/staff/requests/{reference}/notes", {"body": "A note"}),
    ]:
        reception.post(path, {**data, extra: STAFF_EXTRAS[extra]})
    assert accounts(app) == before


def account_id(app, staff) -> int:
    """The id of the account a signed-in Staff client belongs to (its most recent sign-in)."""
    with app.app_context():
        event = db.session.scalars(db.select(AuditEvent).where(AuditEvent.action == "login").order_by(AuditEvent.id.desc())).first()
        return event.staff_id


def accounts(app) -> list[tuple]:
    with app.app_context():
        return sorted(db.session.execute(db.select(StaffUser.email, StaffUser.role, StaffUser.active, StaffUser.session_version)).all())


def assert_roles_unchanged(app) -> None:
    """Each account still has the role it was created with (the role is in the test email)."""
    with app.app_context():
        for user in db.session.scalars(db.select(StaffUser)):
            assert user.email.startswith(f"{user.role}."), (user.email, user.role)
            assert user.active and user.session_version == 1
            assert staff_accounts.find_staff(user.email).role == user.role
