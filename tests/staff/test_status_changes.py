"""Moving a request on: which status changes the rules allow, and why a refused one is refused."""

from __future__ import annotations

from urllib.parse import urlsplit

import pytest

from intake.journey.models import REQUEST_STATUSES
from intake.platform.extensions import db
from intake.platform.timeutil import utcnow
from intake.staff import accounts as staff_accounts, services as staff_services
from tests.factories import book_appointment, new_practitioner, new_request, outbox, sign_in
from tests.support.back_office import audit_events, error_messages, request_id, request_value


# --- 3. status transitions ----------------------------------------------------------------

STATUS_PAIRS = [(current, target) for current in REQUEST_STATUSES for target in REQUEST_STATUSES]


@pytest.mark.parametrize(("current", "target"), STATUS_PAIRS, ids=[f"{a}-to-{b}" for a, b in STATUS_PAIRS])
def test_a_status_change_happens_only_when_the_rules_allow_it(desk, current, target):
    """Allowed moves redirect, change the status and are audited with from/to; every other
    move is a 400 with an error, changes nothing and writes no audit entry."""
    # Booking, and sending a booked request back to "contacted", go through the appointment's own forms.
    allowed = target in staff_services.TRANSITIONS[current] and target != "booked" and (current, target) != ("booked", "contacted")
    desk.set_status(current)
    before = audit_events(desk.app, "change_status", desk.reference)
    response = desk.staff.post(desk.path("status"), {"status": target})
    after = audit_events(desk.app, "change_status", desk.reference)
    if allowed:
        assert response.status_code == 303
        assert urlsplit(response.headers["Location"]).path == desk.path()
        assert desk.status() == target
        assert len(after) == len(before) + 1
        entry = after[-1]
        assert entry["detail"] == {"from": current, "to": target}
        assert entry["staff_email"] == desk.email
        assert entry["request_id"] == request_id(desk.app, desk.reference)
    else:
        assert response.status_code == 400
        assert desk.status() == current
        assert after == before
        assert error_messages(response.get_data(as_text=True)), "no error shown"
        with desk.app.app_context():
            stored = staff_services.find_request(desk.reference)
            with pytest.raises(staff_services.StaffError):
                staff_services.change_status(stored, target, staff_accounts.find_staff(desk.email), utcnow())
            db.session.rollback()
        assert desk.status() == current


@pytest.mark.parametrize(("current", "target", "explanation"), [
    ("attended", "new", "cannot become new"),
    ("declined", "contacted", "cannot become contacted"),
    ("new", "booked", "To book, choose one of the free times"),
    ("booked", "contacted", "cancel the appointment (the patient is emailed)"),
])
def test_a_refused_status_change_says_why(desk, current, target, explanation):
    """Staff with an out-of-date page are told why the move is refused, not just 'invalid'."""
    desk.set_status(current)
    response = desk.staff.post(desk.path("status"), {"status": target})
    assert response.status_code == 400
    assert any(explanation in message for message in error_messages(response.get_data(as_text=True))), error_messages(response.get_data(as_text=True))


def test_a_booked_assessment_still_to_come_is_cancelled_through_its_appointment_so_the_patient_hears(app, make_staff):
    """Marking it "cancelled" on the status form would leave the patient expecting it, with the event
    still in their calendar: reception is sent to the cancel form, which emails them."""
    reception = make_staff("reception")
    new_practitioner(app, "Clara Clinician")
    reference = new_request(app)
    book_appointment(app, reference, reception)
    emails_before = len(outbox(app))
    staff = sign_in(app, reception)
    response = staff.post(f"/staff/requests/{reference}/status", {"status": "cancelled"}, form_path=f"/staff/requests/{reference}")
    assert response.status_code == 400
    assert error_messages(response.get_data(as_text=True)) == [
        "To cancel a booked assessment, cancel the appointment with a reason (the patient is emailed)."]
    assert request_value(app, reference, "status") == "booked" and len(outbox(app)) == emails_before
