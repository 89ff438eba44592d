"""The back office over HTTP: responses never cached, GET never changes state, and every POST needs
this session's CSRF token."""

from __future__ import annotations


import pytest
from sqlalchemy import select
from werkzeug.exceptions import MethodNotAllowed

from intake.platform.extensions import db
from intake.staff.models import StaffUser
from tests.factories import CSRF_PATTERN, Patient, free_slot, give_up_on_an_email, new_practitioner
from tests.support.back_office import build_url, is_signed_in, post_rules, snapshot, url_values, valid_post_data


# --- 7. caching ---------------------------------------------------------------------------

def _read(response):
    """Consume a streamed response (an unread stream keeps its request context alive in the test client)."""
    response.get_data()
    return response


def test_back_office_responses_are_never_cached(app, patient, staff_client):
    """List, request page, export, audit, outbox, sign-in, refusals and redirects all say no-store."""
    reference = patient.complete()
    admin = staff_client("admin")
    clinician = staff_client("clinician")
    responses = {
        "list": admin.client.get("/staff/"),
        "request page": admin.client.get(f"/staff/requests/{reference}"),
        "export": _read(admin.client.get("/staff/export.csv")),
        "audit": admin.client.get("/staff/audit"),
        "outbox": admin.client.get("/staff/outbox"),
        "sign-in page": app.test_client().get("/staff/login"),
        "refusal": clinician.client.get("/staff/audit"),
        "sign-in redirect": app.test_client().get(f"/staff/requests/{reference}"),
        "note redirect": admin.post(f"/staff/requests/{reference}/notes", {"body": "Called."}),
    }
    assert {name: r.status_code for name, r in responses.items()} == {
        "list": 200, "request page": 200, "export": 200, "audit": 200, "outbox": 200,
        "sign-in page": 200, "refusal": 403, "sign-in redirect": 303, "note redirect": 303,
    }
    assert [name for name, r in responses.items() if "no-store" not in r.headers.get("Cache-Control", "")] == []


# --- 8. GET never changes state -----------------------------------------------------------

def _admin_with_everything(app, patient, make_staff, staff_client):
    """A request, a dead email, a free time to book, and an admin whose browser also has a complete draft."""
    reference = patient.complete()
    message_id = give_up_on_an_email(app, attempts=8)
    new_practitioner(app)
    slot = free_slot(app)
    admin = staff_client("admin")
    Patient(admin.client).answer_all()
    return reference, message_id, slot, admin


def test_get_never_changes_state_on_any_url_that_accepts_post(app, patient, make_staff, staff_client):
    """For every POST route in the app, a GET is a 405 or a plain page render, and changes nothing."""
    reference, message_id, _, admin = _admin_with_everything(app, patient, make_staff, staff_client)
    values = url_values(reference, message_id)
    before = snapshot(app)
    problems = []
    adapter = app.url_map.bind("localhost")
    for rule in post_rules(app):
        url = build_url(app, rule, values)
        response = admin.client.get(url)
        try:
            get_endpoint, _ = adapter.match(url, method="GET")
        except MethodNotAllowed:
            get_endpoint = None
        # A POST-only URL must answer GET with 405, unless the map sends that GET to another
        # (read-only) view, as /book/<slug> does for /book/start: then that view's page or 404.
        allowed = {405} if get_endpoint is None else {200, 302, 303, 404}
        if response.status_code not in allowed:
            problems.append(f"GET {rule.rule}: {response.status_code}")
    assert problems == []
    assert snapshot(app) == before
    assert is_signed_in(admin.client)


GET_REFUSALS = {
    "/staff/logout": {405},
    "/staff/requests/{ref}/status": {405},
    "/staff/requests/{ref}/book": {405},
    "/staff/requests/{ref}/appointments/1/move": {405},
    "/staff/requests/{ref}/appointments/1/cancel": {405},
    "/staff/requests/{ref}/notes": {405},
    "/staff/outbox/{msg}/retry": {405},
    # GET /book/start is routed to the question view (/book/<slug>), which has no page "start".
    "/book/start": {404, 405},
}


def test_state_changing_urls_refuse_get(app, patient, make_staff, staff_client):
    """Following a link (GET) to an action never performs it: refused, nothing changed, still signed in."""
    reference, message_id, _, admin = _admin_with_everything(app, patient, make_staff, staff_client)
    before = snapshot(app)
    answers = {}
    for path, refusal in GET_REFUSALS.items():
        response = admin.client.get(path.format(ref=reference, msg=message_id), query_string={"status": "cancelled", "body": "x"})
        answers[path] = response.status_code if response.status_code not in refusal else "refused"
    assert answers == dict.fromkeys(GET_REFUSALS, "refused")
    assert snapshot(app) == before
    assert is_signed_in(admin.client)


# --- 9. CSRF ------------------------------------------------------------------------------

@pytest.mark.parametrize("token", ["missing", "from another session"])
def test_every_post_needs_this_sessions_csrf_token(token, app, patient, make_staff, staff_client):
    """A POST to any route without a valid token is a 400 that changes nothing (not even signing out)."""
    reference, message_id, slot, admin = _admin_with_everything(app, patient, make_staff, staff_client)
    with app.app_context():
        admin_email = db.session.execute(select(StaffUser.email).where(StaffUser.role == "admin")).scalar_one()
    extra = {}
    if token == "from another session":
        stranger = app.test_client()
        extra["csrf_token"] = CSRF_PATTERN.search(stranger.get("/staff/login").get_data(as_text=True)).group(1)
    values = url_values(reference, message_id)
    before = snapshot(app)
    problems = []
    for rule in post_rules(app):
        url = build_url(app, rule, values)
        response = admin.client.post(url, data={**valid_post_data(rule.endpoint, admin_email, slot), **extra})
        if response.status_code != 400:
            problems.append(f"POST {rule.rule}: {response.status_code}")
    assert problems == []
    assert snapshot(app) == before
    assert is_signed_in(admin.client)
