"""Back-office sessions end when they should: signing out, disabling an account, a new password, and idleness."""

from __future__ import annotations

from datetime import timedelta
from urllib.parse import parse_qs, urlsplit


import intake.staff.routes as staff_routes
from intake.platform.timeutil import utcnow
from tests.factories import login, new_staff, sign_in
from tests.support.back_office import cli, copy_session, is_signed_in, location_path

IDLE_MESSAGE = "You were signed out because you had not used the back office for a while"


# --- 5. sessions end ----------------------------------------------------------------------

def test_signing_out_makes_the_old_session_cookie_useless(app, staff_client):
    """A copy of the cookie taken before sign-out no longer reaches the back office."""
    staff = staff_client("reception")
    copy = copy_session(app, staff)
    assert is_signed_in(copy)
    response = staff.post("/staff/logout")
    assert response.status_code == 303 and location_path(response) == "/staff/login"
    assert not is_signed_in(copy)
    assert not is_signed_in(staff.client)


def test_signing_out_ends_every_session_of_that_user_only(app, make_staff):
    """Two browsers signed in as one person are both signed out; a colleague stays signed in."""
    email = make_staff("reception")
    desk, phone = sign_in(app, email), sign_in(app, email)
    colleague = sign_in(app, make_staff("admin"))
    assert desk.post("/staff/logout").status_code == 303
    assert not is_signed_in(desk.client)
    assert not is_signed_in(phone.client)
    assert is_signed_in(colleague.client)


def test_disabling_an_account_ends_its_session_at_once(app, make_staff):
    """`flask staff disable` signs the person out on their next click."""
    email = make_staff("reception")
    staff = sign_in(app, email)
    result = cli(app, "staff", "disable", email)
    assert result.exit_code == 0, result.output
    assert not is_signed_in(staff.client)
    assert login(app.test_client(), email).status_code == 200


def test_setting_a_new_password_ends_other_sessions(app, make_staff):
    """`flask staff set-password` signs out existing sessions; only the new password works after."""
    email = make_staff("reception")
    staff = sign_in(app, email)
    new_password = "a brand new passphrase"
    result = cli(app, "staff", "set-password", email, input=f"{new_password}\n{new_password}\n")
    assert result.exit_code == 0, result.output
    assert not is_signed_in(staff.client)
    assert login(app.test_client(), email).status_code == 200
    assert login(app.test_client(), email, new_password).status_code == 303


def test_an_idle_session_is_signed_out_and_told_why(make_app):
    """With STAFF_IDLE_MINUTES=0 the next request goes to sign-in with idle=1, which explains itself."""
    app = make_app(STAFF_IDLE_MINUTES=0)
    staff = sign_in(app, new_staff(app, "reception"))
    response = staff.client.get("/staff/")
    assert response.status_code == 303
    assert location_path(response) == "/staff/login"
    assert parse_qs(urlsplit(response.headers["Location"]).query).get("idle") == ["1"]
    page = staff.client.get(response.headers["Location"]).get_data(as_text=True)
    assert IDLE_MESSAGE in page


def test_the_idle_limit_counts_from_the_last_request_and_defaults_to_30_minutes(app, make_staff, monkeypatch):
    """29 minutes between clicks is fine; 31 minutes after the last click signs the user out."""
    assert app.config["STAFF_IDLE_MINUTES"] == 30
    offset = [timedelta(0)]
    monkeypatch.setattr(staff_routes, "utcnow", lambda: utcnow() + offset[0])
    staff = sign_in(app, make_staff("reception"))
    offset[0] = timedelta(minutes=29)
    assert staff.client.get("/staff/").status_code == 200
    offset[0] = timedelta(minutes=29 + 31)
    response = staff.client.get("/staff/")
    assert response.status_code == 303 and "idle=1" in response.headers["Location"]
    assert not is_signed_in(staff.client)


def test_the_session_cookie_is_sent_again_only_when_the_last_seen_time_moves_on_a_minute(app, make_staff, monkeypatch):
    offset = [timedelta(0)]
    monkeypatch.setattr(staff_routes, "utcnow", lambda: utcnow() + offset[0])
    staff = sign_in(app, make_staff("reception"))
    staff.client.get("/staff/")  # the first page's forms put a form token in the session
    offset[0] = timedelta(seconds=30)
    assert "Set-Cookie" not in staff.client.get("/staff/").headers
    offset[0] = timedelta(seconds=61)
    assert "session=" in staff.client.get("/staff/").headers["Set-Cookie"]
