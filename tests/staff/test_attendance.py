"""Reception marks each appointment attended or did not attend from the diary, once it has begun;
the request follows, the audit log says who marked it, and the request's page shows its history."""

from __future__ import annotations

import html
import re
from datetime import timedelta

import pytest
from sqlalchemy import select

from intake.appointments.models import Appointment
from intake.journey.models import AssessmentRequest
from intake.platform.extensions import db
from intake.platform.timeutil import LONDON
from intake.staff import diary_routes
from intake.staff.models import AuditEvent
from tests.factories import CSRF_PATTERN, book_appointment, free_slot, new_practitioner, new_request, sign_in


@pytest.fixture
def seen(app, make_staff, monkeypatch):
    """Grace booked with Clara; the clock set ten minutes into her appointment."""
    reception = make_staff("reception")
    new_practitioner(app, "Clara Clinician")
    reference = new_request(app, first="Grace", last="Hopper")
    appointment_id = book_appointment(app, reference, reception, free_slot(app))
    with app.app_context():
        starts = db.session.get(Appointment, appointment_id).starts_at
    monkeypatch.setattr(diary_routes, "utcnow", lambda: starts + timedelta(minutes=10))
    day = starts.astimezone(LONDON).date()
    return {"reception": reception, "reference": reference, "id": appointment_id, "path": f"/staff/diary?site=riverside&day={day}"}


def text(response) -> str:
    return re.sub(r"\s+", " ", html.unescape(response.get_data(as_text=True)))


def words_of(response) -> str:
    """The page's words, without its tags."""
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", "", html.unescape(response.get_data(as_text=True))))


def mark(staff, seen, outcome: str, token: str | None = None):
    page = staff.client.get(seen["path"]).get_data(as_text=True)
    token = token or CSRF_PATTERN.search(page).group(1)
    return staff.client.post(f"/staff/diary/appointments/{seen['id']}/outcome", data={"outcome": outcome, "csrf_token": token})


def stored(app, seen) -> tuple[str | None, str]:
    with app.app_context():
        return (db.session.get(Appointment, seen["id"]).outcome,
                db.session.execute(select(AssessmentRequest.status).where(AssessmentRequest.reference == seen["reference"])).scalar_one())


@pytest.mark.parametrize(("outcome", "words", "status"), [("attended", "Attended", "attended"), ("no_show", "Did not attend", "no_show")])
def test_reception_marks_a_begun_appointment_from_the_diary_and_the_request_follows(app, seen, outcome, words, status):
    staff = sign_in(app, seen["reception"])
    day = words_of(staff.client.get(seen["path"]))
    assert "Attended: Grace Hopper" in day and "Did not attend: Grace Hopper" in day
    response = mark(staff, seen, outcome)
    assert response.status_code == 303 and response.headers["Location"].endswith(seen["path"].removeprefix("/staff"))
    assert stored(app, seen) == (outcome, status)
    after = text(staff.client.get(seen["path"]))
    assert f'class="tag tag--{"done" if outcome == "attended" else "missed"}">{words}</strong>' in after
    assert "Attended: Grace Hopper" not in words_of(staff.client.get(seen["path"]))  # marked once
    with app.app_context():
        event = db.session.execute(select(AuditEvent).where(AuditEvent.action == "record_outcome")).scalar_one()
        assert event.staff_email == seen["reception"] and event.detail["outcome"] == outcome
    assert f": {words.lower()}" in words_of(staff.client.get(f"/staff/requests/{seen['reference']}"))


def test_an_appointment_not_yet_begun_or_marked_already_is_refused_with_a_message(app, seen, monkeypatch):
    staff = sign_in(app, seen["reception"])
    with app.app_context():
        starts = db.session.get(Appointment, seen["id"]).starts_at
    monkeypatch.setattr(diary_routes, "utcnow", lambda: starts - timedelta(minutes=5))
    assert "Attended: Grace Hopper" not in words_of(staff.client.get(seen["path"]))
    early = mark(staff, seen, "attended")
    assert early.status_code == 409 and "has not begun yet" in text(early)
    monkeypatch.setattr(diary_routes, "utcnow", lambda: starts + timedelta(minutes=5))
    assert mark(staff, seen, "attended").status_code == 303
    again = mark(staff, seen, "no_show")
    assert again.status_code == 409 and "marked already" in text(again)
    assert stored(app, seen) == ("attended", "attended")


@pytest.mark.parametrize("outcome", ["", "maybe", "attended' OR 1=1", "x" * 5000])
def test_a_forged_outcome_gets_a_message_not_a_server_error(app, seen, outcome):
    staff = sign_in(app, seen["reception"])
    refused = mark(staff, seen, outcome)
    assert refused.status_code == 409 and "Choose attended or did not attend" in text(refused)
    assert stored(app, seen) == (None, "booked")


def test_only_reception_and_admins_mark_and_only_with_the_forms_token(app, seen, make_staff):
    clinician = sign_in(app, make_staff("clinician", email="clin@example.com"))
    assert "Attended: Grace Hopper" not in words_of(clinician.client.get(seen["path"]))
    assert mark(clinician, seen, "attended").status_code == 403
    assert mark(sign_in(app, seen["reception"]), seen, "attended", token="forged").status_code == 400
    assert stored(app, seen) == (None, "booked")


def test_the_requests_page_shows_every_appointment_it_has_had(app, seen):
    staff = sign_in(app, seen["reception"])
    page = staff.client.get(f"/staff/requests/{seen['reference']}").get_data(as_text=True)
    data = {"reason": "Clinician off sick", "then": "contacted", "sequence": "0", "csrf_token": CSRF_PATTERN.search(page).group(1)}
    assert staff.client.post(f"/staff/requests/{seen['reference']}/appointments/{seen['id']}/cancel", data=data).status_code == 303
    book_appointment(app, seen["reference"], seen["reception"], free_slot(app, index=30))
    shown = words_of(staff.client.get(f"/staff/requests/{seen['reference']}"))
    assert "Appointments" in shown and ": cancelled (Clinician off sick)" in shown and ": booked" in shown
