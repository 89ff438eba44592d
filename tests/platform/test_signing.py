"""Cookies checked once and form tokens signed once (intake.platform.signing) must stay exactly as safe:
tampered or expired cookies refused, tokens still the browser's own and still timed."""

from __future__ import annotations

import itsdangerous.timed
import pytest
from flask import request
from itsdangerous import URLSafeTimedSerializer

from tests.factories import CSRF_PATTERN, Patient, valid_answers
from intake.platform import signing


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


@pytest.fixture
def cookie_checks(monkeypatch) -> list[str]:
    """Every cookie whose signature is checked the long way."""
    checked: list[str] = []
    real_loads = URLSafeTimedSerializer.loads

    def counting_loads(self, value, *args, **kwargs):
        if self.salt == b"cookie-session":
            checked.append(value)
        return real_loads(self, value, *args, **kwargs)

    monkeypatch.setattr(URLSafeTimedSerializer, "loads", counting_loads)
    return checked


def test_a_cookie_is_checked_once_and_then_read_from_memory(app, cookie_checks):
    patient = Patient(app.test_client())
    patient.start()  # sets the cookie: remembered as it is signed
    for _ in range(3):
        assert patient.client.get("/book/about-you").status_code == 200
    assert cookie_checks == []
    # Another server process has not seen it, and checks it once.
    app.session_interface = signing.RememberingSessionInterface()
    for _ in range(3):
        assert patient.client.get("/book/about-you").status_code == 200
    assert len(cookie_checks) == 1


def test_a_remembered_cookie_still_expires_with_the_session(app, clock):
    patient = Patient(app.test_client())
    patient.start()
    assert patient.client.get("/book/about-you").status_code == 200
    clock.offset = app.permanent_session_lifetime.total_seconds() + 5
    # Expired: the browser is treated as new, with no draft.
    response = patient.client.get("/book/about-you")
    assert response.status_code == 303 and "/book/" in response.headers["Location"]


def test_a_changed_cookie_is_not_taken_for_a_remembered_one(app):
    patient = Patient(app.test_client())
    patient.start()
    cookie = patient.client.get_cookie("session").value
    assert patient.client.get("/book/about-you").status_code == 200
    payload, timestamp, signature = cookie.rsplit(".", 2)
    forged = f"{payload}.{timestamp}.{signature[:-2]}{'AA' if signature[-2:] != 'AA' else 'BB'}"
    stranger = app.test_client()
    stranger.set_cookie("session", forged)
    response = stranger.get("/book/about-you")
    assert response.status_code == 303  # no draft: the forged cookie opened an empty session


def test_changing_a_session_in_one_request_does_not_change_what_the_next_one_reads(app):
    """The remembered contents are copied out, so a page that changes a list in place changes
    only its own session."""
    interface = app.session_interface
    patient = Patient(app.test_client())
    reference = patient.complete()  # the session now holds a list of references
    cookie = patient.client.get_cookie("session").value
    for _ in range(2):  # checked the long way, then read from memory
        with app.test_request_context(headers={"Cookie": f"session={cookie}"}):
            opened = interface.open_session(app, request)
            assert opened["submitted_references"] == [reference]
            opened["submitted_references"].append("ABCDEFGH")
            opened["draft_id"] = "changed"


def test_a_new_secret_key_forgets_every_cookie_checked_with_the_old(app):
    patient = Patient(app.test_client())
    patient.start()
    assert patient.client.get("/book/about-you").status_code == 200
    app.secret_key = app.config["SECRET_KEY"] = "another-secret-key-of-enough-length-0123456789"
    assert patient.client.get("/book/about-you").status_code == 303


def test_pages_shown_moments_apart_carry_the_same_working_token(app):
    patient = Patient(app.test_client())
    patient.start()
    tokens = {token_on(patient.client) for _ in range(3)}
    assert len(tokens) == 1
    answers = valid_answers()["about-you"]
    assert patient.client.post("/book/about-you", data={**answers, "csrf_token": tokens.pop()}).status_code == 303


def test_a_token_is_signed_afresh_once_the_reuse_window_has_passed(app, clock):
    patient = Patient(app.test_client())
    patient.start()
    first = token_on(patient.client)
    clock.offset = signing.FORM_TOKEN_REUSE_MAX_SECONDS + 2
    second = token_on(patient.client)
    assert second != first
    assert token_on(patient.client) == second


def test_each_browser_still_gets_its_own_token(app):
    first, second = Patient(app.test_client()), Patient(app.test_client())
    first.start(), second.start()
    token = token_on(first.client)
    assert token_on(second.client) != token
    answers = valid_answers()["about-you"]
    assert second.client.post("/book/about-you", data={**answers, "csrf_token": token}).status_code == 400


def test_a_short_time_limit_shortens_the_reuse_window(make_app, clock):
    """With a one-minute limit a token is reused for a second at most, so a page never carries
    one that has all but run out."""
    client = make_app(WTF_CSRF_TIME_LIMIT=60).test_client()
    Patient(client).start()
    first = token_on(client)
    clock.offset = 3
    assert token_on(client) != first

