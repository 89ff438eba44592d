"""Who may use each back-office page: every role reaches only what its job needs, anonymous
visitors are sent to sign in, and every view declares its roles (a view without any is refused)."""

from __future__ import annotations

import html

import pytest

import intake.staff.routes as staff_routes
from intake.appointments.services import active_appointments
from intake.mail.models import OutboxMessage
from intake.platform.extensions import db
from intake.staff import services as staff_services
from intake.staff.models import ROLES
from tests.factories import (
    CSRF_PATTERN, begun_appointment, book_appointment, booking_form, free_slot, give_up_on_an_email, new_practitioner, new_request, new_staff,
    sign_in,
)
from tests.support.back_office import ALL_ROLES, CORRECTED_CONTACT_DETAILS, ERASURE_REASON, ROLE_CASES, build_url, location_path, role_case_path, snapshot, staff_rules, url_values

# What would identify the patient of valid_answers() on a page that should show nothing.
PATIENT_DETAILS = ("Lovelace", "ada@example.com", "123456")

def shows_patient(body: str, reference: str) -> list[str]:
    """The patient details (and reference) that appear in a page's body."""
    return [detail for detail in (reference, *PATIENT_DETAILS) if detail in body]


# --- 1. roles -----------------------------------------------------------------------------

@pytest.mark.parametrize("role", ROLES)
def test_each_role_reaches_only_the_pages_its_job_needs(role, app, patient, make_staff, staff_client):
    """Allowed pages work for the role; refused ones are a 403 showing no patient data and changing nothing."""
    reference = patient.complete()
    message_id = give_up_on_an_email(app, attempts=8)
    practitioner = new_practitioner(app)
    booked = new_request(app, first="Grace", last="Hopper", email="grace@example.com")
    appointment = book_appointment(app, booked, make_staff("reception"))
    begun = begun_appointment(app, new_request(app, first="Alan", email="alan@example.com"), practitioner)
    staff = staff_client(role)
    data = {
        "add a note": {"body": "Rang, left a message."},
        "change status": {"status": "contacted"},
        "book": booking_form(free_slot(app)),
        "move an appointment": {**booking_form(free_slot(app, index=8)), "sequence": "0"},
        "cancel an appointment": {"reason": "Rang to cancel", "then": "contacted", "sequence": "1"},
        "prepare a patient's record": {"references": reference, "format": "json"},
        "mark attended or not": {"outcome": "attended"},
        "save corrected contact details": CORRECTED_CONTACT_DETAILS,
        "confirm erasing personal data": ERASURE_REASON,
    }
    answered_at_once = {"prepare a patient's record"}  # a download: the answer is the file, not a redirect
    problems = []
    for what, method, template, allowed in ROLE_CASES:
        path = role_case_path(template, reference, message_id, booked, appointment, practitioner, begun)
        before = snapshot(app)
        if method == "GET":
            response = staff.client.get(path)
        else:
            response = staff.post(path, data.get(what, {}))
        body = response.get_data(as_text=True)
        if role in allowed:
            expected = 200 if method == "GET" or what in answered_at_once else 303
            if response.status_code != expected:
                problems.append(f"{what}: {role} got {response.status_code}, expected {expected}")
            elif method == "POST" and snapshot(app) == before:
                problems.append(f"{what}: {role} was allowed but nothing changed")
        else:
            if response.status_code != 403:
                problems.append(f"{what}: {role} got {response.status_code}, expected 403")
            if shown := shows_patient(body, reference):
                problems.append(f"{what}: refusal shows {shown}")
            if snapshot(app) != before:
                problems.append(f"{what}: refused {method} still changed something")
    assert problems == []


def test_reception_moves_a_request_on_books_it_and_retries_its_email(app, patient, make_staff, staff_client):
    """The allowed actions really take effect: status, appointment, note and retried email."""
    reference = patient.complete()
    message_id = give_up_on_an_email(app, attempts=8)
    new_practitioner(app)
    staff = staff_client("reception")
    assert staff.post(f"/staff/requests/{reference}/status", {"status": "contacted"}).status_code == 303
    assert staff.post(f"/staff/requests/{reference}/book", booking_form(free_slot(app))).status_code == 303
    assert staff.post(f"/staff/requests/{reference}/notes", {"body": "Booked by phone."}).status_code == 303
    assert staff.post(f"/staff/outbox/{message_id}/retry").status_code == 303
    with app.app_context():
        stored = staff_services.find_request(reference)
        assert stored.status == "booked"
        assert len(active_appointments(stored.id)) == 1
        assert [note.body for note in staff_services.notes(stored)] == ["Booked by phone."]
        assert db.session.get(OutboxMessage, message_id).status == "pending"


# --- 2. the URL map -----------------------------------------------------------------------

def test_every_back_office_url_sends_anonymous_visitors_to_sign_in(app, patient):
    """Each staff URL (but the sign-in page), by GET or by a properly tokened POST, redirects to sign-in and shows nothing."""
    reference = patient.complete()
    values = url_values(reference, give_up_on_an_email(app, attempts=8))
    rules = staff_rules(app)
    assert len(rules) >= 9
    before = snapshot(app)
    problems = []
    for rule in rules:
        url = build_url(app, rule, values)
        for method in sorted(rule.methods & {"GET", "POST"}):
            anonymous = app.test_client()
            if method == "GET":
                response = anonymous.get(url)
            else:
                token = CSRF_PATTERN.search(anonymous.get("/staff/login").get_data(as_text=True)).group(1)
                response = anonymous.post(url, data={"csrf_token": token, "status": "cancelled", "body": "x"})
            # The redirect's own text repeats its target (next=<the URL asked for>): the visitor's URL, not data.
            location = response.headers.get("Location", "")
            body = response.get_data(as_text=True).replace(html.escape(location), "").replace(location, "")
            if response.status_code not in (302, 303) or location_path(response) != "/staff/login":
                problems.append(f"{method} {rule.rule}: {response.status_code} {response.headers.get('Location')}")
            if shown := shows_patient(body, reference):
                problems.append(f"{method} {rule.rule}: shows {shown}")
    assert problems == []
    assert snapshot(app) == before


def test_every_back_office_view_declares_the_roles_that_may_use_it(app):
    """A staff view without @roles(...) (or with an unknown role) fails here."""
    problems = []
    for rule in staff_rules(app):
        roles = getattr(app.view_functions[rule.endpoint], "staff_roles", None)
        if not roles:
            problems.append(f"{rule.endpoint} ({rule.rule}) has no staff_roles")
        elif not set(roles) <= ALL_ROLES:
            problems.append(f"{rule.endpoint} names unknown roles {sorted(set(roles) - ALL_ROLES)}")
    assert problems == []


def test_every_url_under_staff_is_guarded_by_the_back_office_blueprint(app):
    """A /staff/ page registered outside the staff blueprint would skip the sign-in check."""
    outside = [rule.rule for rule in app.url_map.iter_rules() if rule.rule.startswith("/staff") and not rule.endpoint.startswith("staff.")]
    assert outside == []


def test_a_back_office_view_added_without_roles_is_refused_to_everyone(make_app):
    """A view added later under the staff endpoint prefix but without @roles is a 403 even for an admin."""
    app = make_app()
    app.add_url_rule("/staff/extra", endpoint="staff.extra", view_func=lambda: "unprotected data")
    app.add_url_rule("/staff/extra-admin", endpoint="staff.extra_admin", view_func=staff_routes.roles("admin")(lambda: "admin data"))
    admin = sign_in(app, new_staff(app, "admin"))

    response = admin.client.get("/staff/extra")
    assert response.status_code == 403
    assert "unprotected data" not in response.get_data(as_text=True)
    assert admin.client.get("/staff/extra-admin").get_data(as_text=True) == "admin data"  # the control
    anonymous = app.test_client().get("/staff/extra")
    assert anonymous.status_code == 303 and location_path(anonymous) == "/staff/login"
