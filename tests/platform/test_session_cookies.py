"""Signed session cookies and form tokens (Flask's and Flask-WTF's own): forged or expired ones
are refused, each browser's are its own, and both last at least as long as a draft."""

from __future__ import annotations

import itsdangerous.timed
import pytest

from tests.factories import CSRF_PATTERN, Patient, valid_answers


def token_on(client, path: str = "/book/about-you") -> str:
    return CSRF_PATTERN.search(client.get(path).get_data(as_text=True)).group(1)


@pytest.fixture
def clock(monkeypatch):
    """Move the clock that signed cookies and tokens are dated and checked by."""
    real_time = itsdangerous.timed.time.time

    class Clock:
        offset = 0.0

        @staticmethod
        def time() -> float:
            return real_time() + Clock.offset

    monkeypatch.setattr(itsdangerous.timed, "time", Clock)
    return Clock


def test_a_cookie_past_the_session_lifetime_is_refused(app, clock):
    patient = Patient(app.test_client())
    patient.start()
    assert patient.client.get("/book/about-you").status_code == 200
    clock.offset = app.permanent_session_lifetime.total_seconds() + 5
    # Expired: the browser is treated as new, with no draft.
    response = patient.client.get("/book/about-you")
    assert response.status_code == 303 and "/book/" in response.headers["Location"]


def test_a_changed_cookie_opens_an_empty_session(app):
    patient = Patient(app.test_client())
    patient.start()
    cookie = patient.client.get_cookie("session").value
    assert patient.client.get("/book/about-you").status_code == 200
    payload, timestamp, signature = cookie.rsplit(".", 2)
    forged = f"{payload}.{timestamp}.{signature[:-2]}{'AA' if signature[-2:] != 'AA' else 'BB'}"
    stranger = app.test_client()
    stranger.set_cookie("session", forged)
    assert stranger.get("/book/about-you").status_code == 303  # no draft


def test_a_new_secret_key_refuses_every_cookie_signed_with_the_old(app):
    patient = Patient(app.test_client())
    patient.start()
    assert patient.client.get("/book/about-you").status_code == 200
    app.secret_key = app.config["SECRET_KEY"] = "another-secret-key-of-enough-length-0123456789"
    assert patient.client.get("/book/about-you").status_code == 303


def test_each_browser_gets_its_own_token_which_works_only_for_it(app):
    first, second = Patient(app.test_client()), Patient(app.test_client())
    first.start(), second.start()
    token = token_on(first.client)
    assert token_on(second.client) != token
    answers = valid_answers()["about-you"]
    assert second.client.post("/book/about-you", data={**answers, "csrf_token": token}).status_code == 400
    assert first.client.post("/book/about-you", data={**answers, "csrf_token": token}).status_code == 303


def test_a_page_left_open_for_nearly_a_draft_lifetime_can_still_be_sent(app, clock):
    patient = Patient(app.test_client())
    patient.start()
    token = token_on(patient.client)
    clock.offset = app.config["DRAFT_LIFETIME_MINUTES"] * 60 - 1
    answers = valid_answers()["about-you"]
    assert patient.client.post("/book/about-you", data={**answers, "csrf_token": token}).status_code == 303
