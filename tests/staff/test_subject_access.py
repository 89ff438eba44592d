"""A patient's right of access: an admin finds their requests and gets everything held, as a page
or as JSON, and the export is audited; nobody else can, and bad searches get a message."""

from __future__ import annotations

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import select

from intake.journey.models import AssessmentRequest
from intake.staff.models import AuditEvent
from tests.factories import CSRF_PATTERN, book_appointment, free_slot, new_practitioner, new_request, sign_in
from intake.platform.extensions import db
from tests.support.fuzz import FUZZ, assert_no_server_error, hostile


@pytest.fixture
def held(app, make_staff):
    """Grace has two requests (one booked, with a note); Alan, who shares nothing with her, has one."""
    reception = make_staff("reception")
    new_practitioner(app, "Clara Clinician")
    first = new_request(app, first="Grace", last="Hopper", email="grace@example.com", phone="07400 111222")
    second = new_request(app, first="Grace", last="Hopper", email="Grace@Example.com", phone="07400 999888")
    other = new_request(app, first="Alan", last="Turing", email="alan@example.com", phone="07400 333444")
    book_appointment(app, first, reception, free_slot(app))
    desk = sign_in(app, reception)
    page = desk.client.get(f"/staff/requests/{first}").get_data(as_text=True)
    desk.client.post(f"/staff/requests/{first}/notes", data={"body": "Prefers mornings", "csrf_token": CSRF_PATTERN.search(page).group(1)})
    admin = sign_in(app, make_staff("admin"))
    return {"first": first, "second": second, "other": other, "admin": admin, "reception": desk}


def export(client, query: str, references: list[str], format_: str = "json"):
    page = client.get("/staff/subject-access", query_string={"q": query}).get_data(as_text=True)
    return client.post(f"/staff/subject-access?q={query}", data={
        "references": references, "format": format_, "csrf_token": CSRF_PATTERN.search(page).group(1),
    })


@pytest.mark.parametrize("query", ["grace@example.com", "GRACE@example.com ", "07400 111222", "+447400111222"])
def test_an_admin_finds_a_patients_requests_by_email_or_phone(held, query):
    page = held["admin"].client.get("/staff/subject-access", query_string={"q": query}).get_data(as_text=True)
    assert held["first"] in page and held["other"] not in page


def test_finding_by_reference_lists_that_request(held):
    page = held["admin"].client.get("/staff/subject-access", query_string={"q": held["second"].lower()}).get_data(as_text=True)
    assert held["second"] in page and held["first"] not in page and held["other"] not in page


def test_the_json_holds_every_request_chosen_with_answers_appointments_emails_notes_and_history(app, held):
    response = export(held["admin"].client, "grace@example.com", [held["first"], held["second"]])
    assert response.status_code == 200 and "attachment" in response.headers["Content-Disposition"]
    record = json.loads(response.get_data(as_text=True))
    first, second = record["requests"]
    assert {first["request"]["reference"], second["request"]["reference"]} == {held["first"], held["second"]}
    booked = next(item for item in record["requests"] if item["request"]["reference"] == held["first"])
    assert booked["request"]["first_name"] == "Grace" and booked["request"]["safety_answers"]
    assert booked["appointments"][0]["practitioner"] == "Clara Clinician"
    assert {message["status"] for message in booked["messages"]} and all(message["text"] for message in booked["messages"])
    assert booked["notes"][0]["note"] == "Prefers mornings"
    assert {"view_request", "book", "add_note"} <= {event["action"] for event in booked["history"]}
    assert "Alan" not in response.get_data(as_text=True) and "id" not in booked["request"]


def test_the_page_shows_the_same_and_every_export_is_audited_against_each_request(app, held):
    response = export(held["admin"].client, "grace@example.com", [held["first"]], "html")
    page = response.get_data(as_text=True)
    assert response.status_code == 200 and "Prefers mornings" in page and "Clara Clinician" in page and held["second"] not in page
    with app.app_context():
        audited = db.session.execute(
            select(AuditEvent.action, AssessmentRequest.reference).join(AssessmentRequest, AssessmentRequest.id == AuditEvent.request_id)
            .where(AuditEvent.action == "subject_access")
        ).all()
    assert [tuple(row) for row in audited] == [("subject_access", held["first"])]


def test_only_admins_may_search_or_export(held):
    assert held["reception"].client.get("/staff/subject-access?q=grace@example.com").status_code == 403
    assert export(held["admin"].client, "grace@example.com", [held["first"]]).status_code == 200


@pytest.mark.parametrize("query", ["", "   ", "x" * 300, "\x1b[31m"])
def test_a_bad_search_gets_a_message_next_to_the_box_and_no_500(held, query):
    response = held["admin"].client.get("/staff/subject-access", query_string={"q": query})
    assert response.status_code == 400 and 'class="error-message" id="q-error"' in response.get_data(as_text=True)
    assert held["admin"].client.get("/staff/subject-access", query_string={"q": "a\x00b"}).status_code == 400


def test_a_request_that_was_not_found_cannot_be_exported_through_a_forged_choice(held):
    response = export(held["admin"].client, "grace@example.com", [held["other"]])
    assert response.status_code == 400 and "Alan" not in response.get_data(as_text=True)
    assert "Select from the requests found" in response.get_data(as_text=True)


def test_any_search_or_forged_export_answers_without_a_server_error(held):
    """Whatever is searched for or posted (junk, control characters, long text, repeated keys)."""
    client = held["admin"].client
    page = client.get("/staff/subject-access").get_data(as_text=True)
    token = CSRF_PATTERN.search(page).group(1)

    @FUZZ
    @given(query=hostile(300, ["grace@example.com", "07400 111222", held["first"]]),
           references=st.lists(hostile(20, [held["first"], held["other"]]), max_size=4),
           format_=hostile(10, ["html", "json"]))
    def check(query, references, format_):
        assert_no_server_error(client.get("/staff/subject-access", query_string={"q": query}))
        answer = client.post("/staff/subject-access", query_string={"q": query},
                             data={"references": references, "format": format_, "csrf_token": token})
        assert_no_server_error(answer)
        assert held["other"] not in answer.get_data(as_text=True) or query.strip().upper() == held["other"]

    check()


def test_the_record_holds_the_patients_times_on_the_waitlist(app, held):
    from intake.appointments.models import Appointment
    from intake.platform.timeutil import utcnow
    from intake.waitlist import services as waitlist

    with app.app_context():
        request_id = db.session.execute(select(AssessmentRequest.id).where(AssessmentRequest.reference == held["first"])).scalar_one()
        waitlist.join(db.session.execute(select(Appointment).where(Appointment.request_id == request_id)).scalar_one(), utcnow())
        db.session.commit()
    record = json.loads(export(held["admin"].client, "grace@example.com", [held["first"]]).get_data(as_text=True))
    [entry] = record["requests"][0]["waitlist"]
    assert entry["asked_at"] and entry["ended_at"] is None and entry["offers"] == []
    page = export(held["admin"].client, "grace@example.com", [held["first"]], "html").get_data(as_text=True)
    assert "Asked for an earlier time" in page
