"""The patient's manage link: what it shows and to whom, moving and cancelling up to the cut-off,
a time freed at once, every use audited, and links that are hard to guess and die with the appointment."""

from __future__ import annotations

import html
import re
from datetime import timedelta
from urllib.parse import urlencode

import pytest
from sqlalchemy import select

from intake.appointments import diary, manage_links
from intake.appointments.slots import slot_value
from intake.appointments.models import Appointment, ManageLink
from intake.journey.models import AssessmentRequest
from intake.platform.extensions import db, limiter
from intake.platform.timeutil import utcnow
from intake.self_service import routes
from intake.staff.models import AuditEvent
from tests.factories import CSRF_PATTERN, Patient, book_appointment, free_slot, new_practitioner, new_request, new_staff, outbox, sign_in

TOKEN_IN_EMAIL = re.compile(r"/appointment\?token=([A-Za-z0-9_-]+)")


@pytest.fixture
def booked(app, make_staff):
    """Grace's request, booked by reception with Clara at Riverside; her manage token from the email."""
    reception = make_staff("reception")
    new_practitioner(app, "Clara Clinician")
    reference = new_request(app, first="Grace", last="Hopper", email="grace@example.com", phone="07400 111222")
    slot = free_slot(app, index=40)  # a few days on: outside the cut-off
    appointment_id = book_appointment(app, reference, reception, slot)
    [email] = [message for message in outbox(app) if message.kind == "patient_booking_confirmation"]
    return {"reference": reference, "appointment": appointment_id, "token": TOKEN_IN_EMAIL.search(email.text_body).group(1), "slot": slot}


def page(client, token: str, path: str = "", **query):
    return client.get(f"/appointment{path}?" + urlencode({"token": token, **query}))


def text(response) -> str:
    return html.unescape(response.get_data(as_text=True))


def form_fields(response) -> dict[str, str]:
    body = response.get_data(as_text=True)
    fields = dict(re.findall(r'name="(token|seen|slot)" type="hidden" value="([^"]*)"', body))
    return {**fields, "csrf_token": CSRF_PATTERN.search(body).group(1)}


def appointment(app, appointment_id: int) -> Appointment:
    with app.app_context():
        found = db.session.get(Appointment, appointment_id)
        db.session.expunge(found)
        return found


def free_times(app) -> list[str]:
    with app.app_context():
        return [slot_value(slot) for slot in diary.free_times(utcnow(), default_minutes=app.config["APPOINTMENT_MINUTES"], for_staff=True)]


def audit_actions(app) -> list[tuple[str, str]]:
    with app.app_context():
        return [(event.action, event.staff_email) for event in db.session.execute(select(AuditEvent).order_by(AuditEvent.id)).scalars()]


def test_the_link_shows_only_the_first_name_time_site_and_practitioner(app, booked):
    body = text(page(app.test_client(), booked["token"]))
    assert "Your appointment, Grace" in body
    assert "Riverside, 3 Ferry Lane, London SE1 9ZZ" in body and "Clara Clinician" in body and "(UK time)" in body
    for private in ("Hopper", "grace@example.com", "07400 111222", booked["reference"]):
        assert private not in body
    assert "Cancel my appointment" in body and "Choose a new time" in body


def test_the_token_is_long_random_bound_to_one_appointment_and_not_stored(app, booked, make_staff):
    token = booked["token"]
    assert len(token) == 43 and manage_links.TOKEN_PATTERN.fullmatch(token)  # 256 bits of URL-safe base64
    other = book_appointment(app, new_request(app, first="Alan", email="alan@example.com"), make_staff("reception", email="r2@example.com"))
    with app.app_context():
        assert manage_links.appointment_for(token).id == booked["appointment"]
        other_token = manage_links.token_for(other, app.secret_key, utcnow())
        assert other_token != token and manage_links.appointment_for(other_token).id == other
        stored = db.session.execute(select(ManageLink.nonce, ManageLink.token_digest)).all()
        assert all(token not in row and other_token not in row for row in stored)
        assert manage_links.appointment_for(token[:-1] + ("A" if token[-1] != "A" else "B")) is None


def test_the_patient_cancels_with_a_reason_the_time_is_free_at_once_and_it_is_audited(app, booked):
    client = app.test_client()
    shown = page(client, booked["token"])
    response = client.post("/appointment/cancel", data={**form_fields(shown), "reason": "Feeling much better"})
    assert response.status_code == 303 and response.headers["Location"].endswith("/appointment/cancelled")
    assert "Your appointment is cancelled" in text(client.get("/appointment/cancelled"))
    cancelled = appointment(app, booked["appointment"])
    assert cancelled.cancelled and cancelled.cancel_reason == "Feeling much better"
    with app.app_context():
        assert db.session.execute(select(AssessmentRequest.status)).scalar_one() == "cancelled"
    assert booked["slot"] in free_times(app)  # free again at once
    assert ("patient_cancel", "The patient (manage link)") in audit_actions(app)
    assert [message.kind for message in outbox(app)][-1] == "patient_appointment_cancelled"
    assert page(client, booked["token"]).status_code == 410  # the link is now useless
    assert client.post("/appointment/cancel", data={**form_fields(shown), "reason": ""}).status_code == 410


def test_the_patient_moves_to_another_free_time_and_the_link_follows_the_appointment(app, booked):
    client = app.test_client()
    times = page(client, booked["token"], "/move")
    assert times.status_code == 200
    offered = re.findall(r'name="slot" type="radio" value="([^"]+)"', times.get_data(as_text=True))
    new_time = offered[3]
    confirm = page(client, booked["token"], "/move/confirm", slot=new_time)
    assert confirm.status_code == 200 and "Confirm your new time" in text(confirm)
    response = client.post("/appointment/move", data=form_fields(confirm))
    assert response.status_code == 303 and "moved=1" in response.headers["Location"]
    moved = appointment(app, booked["appointment"])
    assert moved.sequence == 1 and not moved.cancelled
    assert "Your appointment has moved" in text(client.get(response.headers["Location"]))
    assert booked["slot"] in free_times(app)  # the old time is free again
    email = outbox(app)[-1]
    assert email.kind == "patient_booking_confirmation" and "has moved" in email.subject
    assert TOKEN_IN_EMAIL.search(email.text_body).group(1) == booked["token"]
    assert "patient_move" in [action for action, _ in audit_actions(app)]


def test_inside_the_cut_off_the_page_says_to_phone_and_nothing_can_change(app, booked, monkeypatch):
    starts = appointment(app, booked["appointment"]).starts_at
    client = app.test_client()
    shown = page(client, booked["token"])
    monkeypatch.setattr(routes, "utcnow", lambda: starts - timedelta(hours=23))
    body = text(page(client, booked["token"]))
    assert "can no longer be changed online" in body and app.config["CLINIC_PHONE"] in body and "Cancel my appointment" not in body
    refused = client.post("/appointment/cancel", data={**form_fields(shown), "reason": ""})
    assert refused.status_code == 409 and "can no longer be changed online" in text(refused)
    assert not appointment(app, booked["appointment"]).cancelled
    monkeypatch.setattr(routes, "utcnow", lambda: starts + timedelta(minutes=1))
    assert page(client, booked["token"]).status_code == 410  # over: the link no longer works


def test_the_cut_off_is_a_setting(make_app, monkeypatch):
    """With a 60-day cut-off, an appointment a few days away can no longer be changed online."""
    app = make_app(MANAGE_CUTOFF_HOURS=24 * 60)
    new_practitioner(app, "Clara Clinician")
    reception = new_staff(app, "reception")
    book_appointment(app, new_request(app), reception, free_slot(app, index=40))
    [email] = [message for message in outbox(app) if message.kind == "patient_booking_confirmation"]
    body = text(page(app.test_client(), TOKEN_IN_EMAIL.search(email.text_body).group(1)))
    assert "can no longer be changed online" in body and "Cancel my appointment" not in body


@pytest.mark.parametrize("token", ["", "x", "A" * 43, "A" * 5000, "../../etc/passwd", "%00", "é" * 43])
def test_a_link_that_opens_nothing_gets_a_clear_page_never_a_server_error(app, booked, token):
    client = app.test_client()
    for path in ("", "/move", "/move/confirm"):
        response = page(client, token, path, slot="nonsense")
        assert response.status_code == 404 and "We could not find that appointment" in text(response), path
    assert client.post("/appointment/cancel", data={"token": token, "csrf_token": form_fields(page(client, booked["token"]))["csrf_token"]}).status_code == 404


def test_guessing_links_is_slowed_per_address(make_app):
    app = make_app(MANAGE_LINK_LIMIT_PER_ADDRESS="3 per hour")
    limiter.reset()
    client = app.test_client()
    assert [page(client, "B" * 43).status_code for _ in range(4)] == [404, 404, 404, 429]


def test_bad_answers_on_the_manage_pages_get_a_message_and_change_nothing(app, booked):
    client = app.test_client()
    shown = page(client, booked["token"])
    too_long = client.post("/appointment/cancel", data={**form_fields(shown), "reason": "x" * 201})
    assert too_long.status_code == 400 and "200 characters or fewer" in text(too_long)
    stale = client.post("/appointment/cancel", data={**form_fields(shown), "seen": "7"})
    assert stale.status_code == 409 and "changed after this page was shown" in text(stale)
    forged = page(client, booked["token"], "/move/confirm", slot="1.riverside.20990101T0900Z")
    assert forged.status_code == 400 and "Choose one of the times shown" in text(forged)
    assert not appointment(app, booked["appointment"]).cancelled and appointment(app, booked["appointment"]).sequence == 0


def test_every_email_about_the_appointment_and_the_confirmation_page_carry_the_link(app, booked):
    [email] = [message for message in outbox(app) if message.kind == "patient_booking_confirmation"]
    assert f"/appointment?token={booked['token']}" in email.html_body.replace("&amp;", "&")
    assert f"{app.config['PUBLIC_BASE_URL']}/appointment?token={booked['token']}" in email.text_body


def test_a_patient_who_books_their_own_time_gets_the_link_on_the_confirmation_page_and_in_the_email(app):
    new_practitioner(app, "Clara Clinician")
    patient = Patient(app.test_client())
    patient.answer_all()
    assert patient.submit().headers["Location"].endswith("/book/time")
    first = re.search(r'name="slot" type="radio" value="([^"]+)"', patient.client.get("/book/time").get_data(as_text=True)).group(1)
    confirm = patient.client.get("/book/time/confirm?" + urlencode({"slot": first})).get_data(as_text=True)
    booked = patient.client.post("/book/time/confirm", data={
        "slot": first, "csrf_token": CSRF_PATTERN.search(confirm).group(1),
        "answers_seen": re.search(r'name="answers_seen" type="hidden" value="(\d+)"', confirm).group(1),
    })
    confirmation = text(patient.client.get(booked.headers["Location"]))
    token = TOKEN_IN_EMAIL.search(confirmation).group(1)
    assert "move or cancel your appointment online" in confirmation
    [email] = [message for message in outbox(app) if message.kind == "patient_booking_confirmation"]
    assert TOKEN_IN_EMAIL.search(email.text_body).group(1) == token
    assert page(app.test_client(), token).status_code == 200


def test_a_new_time_taken_meanwhile_is_explained_and_the_appointment_stays(app, booked, make_staff):
    client = app.test_client()
    offered = re.findall(r'name="slot" type="radio" value="([^"]+)"', page(client, booked["token"], "/move").get_data(as_text=True))
    confirm = page(client, booked["token"], "/move/confirm", slot=offered[0])
    book_appointment(app, new_request(app, first="Alan", email="alan@example.com"), make_staff("reception", email="r3@example.com"), offered[0])
    refused = client.post("/appointment/move", data=form_fields(confirm))
    assert refused.status_code == 409 and "someone else booked that time" in text(refused)
    assert appointment(app, booked["appointment"]).sequence == 0


def test_reception_sees_what_the_patient_did_in_the_requests_history(app, booked, make_staff):
    app.config["MANAGE_CUTOFF_HOURS"] = 1  # the new time may be tomorrow morning: still cancellable online
    client = app.test_client()
    confirm = page(client, booked["token"], "/move/confirm", slot=re.findall(
        r'name="slot" type="radio" value="([^"]+)"', page(client, booked["token"], "/move").get_data(as_text=True))[1])
    assert client.post("/appointment/move", data=form_fields(confirm)).status_code == 303
    shown = page(client, booked["token"])
    assert client.post("/appointment/cancel", data={**form_fields(shown), "reason": "Better now"}).status_code == 303
    staff = sign_in(app, make_staff("clinician", email="c@example.com"))
    history = re.sub(r"\s+", " ", text(staff.client.get(f"/staff/requests/{booked['reference']}")))
    assert "The patient (manage link) moved the appointment from" in history
    assert "The patient (manage link) cancelled the appointment on" in history and ", giving a reason" in history
    assert ": cancelled (Better now)" in history  # the reason itself is the appointment's, which erasure empties
    with app.app_context():
        assert "Better now" not in str(db.session.execute(select(AuditEvent.detail)).scalars().all())
