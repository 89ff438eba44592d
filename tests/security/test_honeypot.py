"""The honeypot: a box people never see, which form-filling robots give themselves away by filling."""

from __future__ import annotations

import logging
import re

import pytest
from tests.factories import LOWER_BACK, STAFF_PASSWORD, Patient, Staff, valid_answers

from intake.journey.models import AssessmentRequest, Draft
from intake.platform.extensions import db
from intake.platform.security import HONEYPOT_FIELD
from intake.staff.models import AuditEvent

PUBLIC_FORMS = ["/book/", *(f"/book/{slug}" for slug in valid_answers()), "/book/check", "/staff/login"]
HONEYPOT_INPUT = re.compile(
    rf'<div class="trap" aria-hidden="true">\s*<label for="{HONEYPOT_FIELD}">[^<]+</label>\s*'
    rf'<input type="text" id="{HONEYPOT_FIELD}" name="{HONEYPOT_FIELD}" value="" autocomplete="off" tabindex="-1">'
)
ROBOT_TEXT = "http://spam.example/cheap-pills"


def count(app, model) -> int:
    with app.app_context():
        return db.session.scalar(db.select(db.func.count()).select_from(model))


def draft_answers(app) -> list[dict]:
    with app.app_context():
        return [draft.answers for draft in db.session.scalars(db.select(Draft))]


@pytest.mark.parametrize("path", PUBLIC_FORMS)
def test_every_public_form_carries_an_empty_hidden_honeypot(client, patient, path):
    patient.answer_all(**(LOWER_BACK if path == "/book/back-pain" else {}))  # the back-pain page is only for a lower back
    body = client.get(path).get_data(as_text=True)
    assert len(HONEYPOT_INPUT.findall(body)) == 1, body


def test_the_honeypot_is_off_screen_in_the_stylesheet(client):
    css = client.get("/static/css/app.css").get_data(as_text=True)
    assert re.search(r"\.trap \{[^}]*position: absolute;[^}]*left: -10000px;", css)


def test_a_robot_filling_it_cannot_start_a_request(app, client, caplog):
    patient = Patient(client)
    response = patient.post("/book/start", {HONEYPOT_FIELD: ROBOT_TEXT}, form_path="/book/")
    assert response.status_code == 422
    assert "We could not accept this form" in response.get_data(as_text=True)
    assert count(app, Draft) == 0
    assert "honeypot" in caplog.text and ROBOT_TEXT not in caplog.text


@pytest.mark.parametrize("slug", list(valid_answers()))
def test_a_robot_filling_it_on_a_question_page_saves_nothing(app, patient, slug):
    patient.answer_all(**(LOWER_BACK if slug == "back-pain" else {}))
    before = draft_answers(app)
    changed = {**valid_answers()[slug], "first_name": "Robot", "description": "Robot text", "note": "Robot text"}
    response = patient.answer(slug, {**changed, HONEYPOT_FIELD: ROBOT_TEXT})
    assert response.status_code == 422
    assert draft_answers(app) == before


def test_a_robot_filling_it_cannot_send_a_request(app, patient):
    patient.answer_all()
    response = patient.post("/book/check", {"consent": "y", HONEYPOT_FIELD: ROBOT_TEXT})
    assert response.status_code == 422
    assert count(app, AssessmentRequest) == 0
    assert patient.submit().status_code == 303, "a person on the same draft can still send it"
    assert count(app, AssessmentRequest) == 1


def test_a_robot_filling_it_cannot_sign_in_even_with_the_right_password(app, make_staff):
    email = make_staff("reception")
    staff = Staff(app.test_client())
    response = staff.client.post(
        "/staff/login",
        data={"email": email, "password": STAFF_PASSWORD, "csrf_token": staff.csrf_token(), HONEYPOT_FIELD: ROBOT_TEXT},
    )
    assert response.status_code == 422
    assert staff.client.get("/staff/").status_code == 303
    with app.app_context():
        assert db.session.scalars(db.select(AuditEvent.action)).all() == []


def test_people_who_leave_it_empty_are_not_affected(app, patient):
    patient.answer_all(about_you={HONEYPOT_FIELD: ""})
    response = patient.post("/book/check", {"consent": "y", HONEYPOT_FIELD: ""})
    assert response.status_code == 303
    assert count(app, AssessmentRequest) == 1


def test_the_refusal_is_logged_as_a_warning_without_what_was_typed(patient, caplog):
    patient.start()
    with caplog.at_level(logging.WARNING):
        patient.answer("about-you", {**valid_answers()["about-you"], HONEYPOT_FIELD: ROBOT_TEXT})
    refusals = [record for record in caplog.records if "honeypot" in record.getMessage()]
    assert [record.levelno for record in refusals] == [logging.WARNING]
    assert "/book/about-you" in refusals[0].getMessage()
    assert ROBOT_TEXT not in caplog.text and "Lovelace" not in caplog.text
