"""Signing in to the back office: one message for every failure, nothing written back into the
page, a new session, safe returns, and throttling per account and per address."""

from __future__ import annotations

import re
from urllib.parse import urlsplit

import pytest
from sqlalchemy import func, select

from intake.platform.extensions import db
from intake.staff.models import AuditEvent
from tests.factories import CSRF_PATTERN, STAFF_PASSWORD, login, new_staff
from tests.support.back_office import cli, is_signed_in, location_path

LOGIN_ERROR = "Enter a correct email address and password"


# --- 3. signing in ------------------------------------------------------------------------

PASSWORD_VALUE = re.compile(r'(type="password"[^>]*?) value="[^"]*"|value="[^"]*"(?=[^>]*type="password")')


def _without_token_and_email(body: str, email: str) -> str:
    """The page as any visitor would see it, minus the token, the typed email and any echoed password."""
    return PASSWORD_VALUE.sub(r"\1", CSRF_PATTERN.sub("", body)).replace(email, "EMAIL")


def test_unknown_email_and_wrong_password_get_the_same_message(app, make_staff):
    """Nobody can learn from the sign-in page whether an email has an account."""
    email = make_staff("reception")
    unknown = login(app.test_client(), "nobody@clinic.example")
    wrong = login(app.test_client(), email, "not the right password")
    assert unknown.status_code == wrong.status_code == 200
    assert LOGIN_ERROR in unknown.get_data(as_text=True)
    assert _without_token_and_email(unknown.get_data(as_text=True), "nobody@clinic.example") == \
        _without_token_and_email(wrong.get_data(as_text=True), email)


def test_a_failed_sign_in_never_writes_the_password_back_into_the_page(app, make_staff):
    """After a refused sign-in the password box is empty: the typed password is not in the HTML."""
    email = make_staff("reception")
    wrong = login(app.test_client(), email, "a guess close to the real one").get_data(as_text=True)
    assert LOGIN_ERROR in wrong
    assert "a guess close to the real one" not in wrong
    assert cli(app, "staff", "disable", email).exit_code == 0
    disabled = login(app.test_client(), email).get_data(as_text=True)  # the right password, refused
    assert LOGIN_ERROR in disabled
    assert STAFF_PASSWORD not in disabled


@pytest.mark.parametrize("email", ["\x00", "reception\x00@clinic.example", "a\u202eb@clinic.example"])
def test_an_email_with_control_characters_is_refused_next_to_the_box_not_looked_up(app, make_staff, email):
    """A NUL cannot be compared with PostgreSQL's text: it must be refused before any lookup."""
    make_staff("reception")
    response = login(app.test_client(), email, "a long test passphrase")
    assert response.status_code == 200
    assert "Email address must not contain special control characters" in response.get_data(as_text=True)
    with app.app_context():
        assert db.session.execute(select(func.count()).select_from(AuditEvent)).scalar_one() == 0


def test_a_disabled_account_cannot_sign_in_and_gets_the_same_message(app, make_staff):
    """After `flask staff disable`, the right password gives the same refusal as a wrong one."""
    email = make_staff("reception")
    assert cli(app, "staff", "disable", email).exit_code == 0
    client = app.test_client()
    refused = login(client, email)
    wrong = login(app.test_client(), email, "not the right password")
    assert refused.status_code == 200
    assert _without_token_and_email(refused.get_data(as_text=True), email) == _without_token_and_email(wrong.get_data(as_text=True), email)
    assert not is_signed_in(client)


def test_signing_in_starts_a_new_session(app, make_staff):
    """Sign-in redirects (303), issues a new session cookie and drops whatever the session held before."""
    email = make_staff("reception")
    client = app.test_client()
    with client.session_transaction() as session:
        session["draft_id"] = "left over from before"
        session["planted"] = "by someone else"
    token = CSRF_PATTERN.search(client.get("/staff/login").get_data(as_text=True)).group(1)
    pre_login_cookie = client.get_cookie("session").value

    response = client.post("/staff/login", data={"email": email, "password": STAFF_PASSWORD, "csrf_token": token})

    assert response.status_code == 303
    assert location_path(response) == "/staff/"
    assert client.get_cookie("session").value != pre_login_cookie
    with client.session_transaction() as session:
        assert "draft_id" not in session and "planted" not in session
        assert "_user_id" in session
    fixated = app.test_client()
    fixated.set_cookie("session", pre_login_cookie)
    assert not is_signed_in(fixated)


NEXT_CASES = {  # next=..., where sign-in must land
    "/staff/audit": "/staff/audit",
    "https://evil.example": "/staff/",
    "https://evil.example/staff/": "/staff/",
    "//evil.example/staff/": "/staff/",
    "/\\evil.example/staff/": "/staff/",
    "/book/": "/staff/",
    "/staff/\r\nSet-Cookie:x=y": "/staff/",  # a header split: once a 500 after signing in
    "/staff/\nLocation: https://evil.example": "/staff/",
    "/staff/\t/audit": "/staff/",
    "/staff/../book/": "/staff/",
    "": "/staff/",
}


def test_sign_in_only_returns_to_a_back_office_page(app, make_staff):
    """`next` is followed only for /staff/ paths; anything else (an open redirect attempt, a header
    split) lands on the list, never on an error page."""
    email = make_staff("admin")
    landed = {}
    for next_path in NEXT_CASES:
        response = login(app.test_client(), email, next_path=next_path)
        target = urlsplit(response.headers.get("Location", ""))
        landed[next_path] = (response.status_code, target.netloc or "localhost", target.path)
    assert landed == {next_path: (303, "localhost", landing) for next_path, landing in NEXT_CASES.items()}


# --- 4. throttling ------------------------------------------------------------------------

@pytest.fixture
def throttled_app(make_app):
    return make_app(LOGIN_LIMIT_PER_ACCOUNT="3 per minute", LOGIN_LIMIT_PER_ADDRESS="6 per minute")


def client_from(app, address: str = "127.0.0.1"):
    client = app.test_client()
    client.environ_base["REMOTE_ADDR"] = address
    return client


def test_the_fourth_failed_attempt_on_an_account_is_refused_even_with_the_right_password(throttled_app):
    """Three failures lock the account for the window, from any address; other accounts are unaffected."""
    app = throttled_app
    target = new_staff(app, "reception", email="target@clinic.example")
    other = new_staff(app, "admin", email="other@clinic.example")
    for _ in range(3):
        assert login(client_from(app), target, "a wrong guess at it").status_code == 200
    assert login(client_from(app), target).status_code == 429
    assert login(client_from(app, "10.0.0.2"), target).status_code == 429  # per account, whatever the address
    assert login(client_from(app, "10.0.0.2"), other).status_code == 303


def test_a_different_account_from_the_same_address_works_until_the_address_limit(throttled_app):
    """Per-address limit: six failures from one address block every account from it, but not from elsewhere."""
    app = throttled_app
    first, second, third = (new_staff(app, "reception", email=f"person{n}@clinic.example") for n in range(3))
    for _ in range(3):
        assert login(client_from(app), first, "a wrong guess at it").status_code == 200
    for _ in range(2):
        assert login(client_from(app), second, "a wrong guess at it").status_code == 200
    assert login(client_from(app), second).status_code == 303  # 5 failures so far: still allowed
    assert login(client_from(app), third, "a wrong guess at it").status_code == 200  # the sixth failure
    assert login(client_from(app), third).status_code == 429
    assert login(client_from(app, "10.0.0.3"), third).status_code == 303


def test_successful_sign_ins_do_not_count_towards_the_limits(throttled_app):
    """Staff who sign in many times a minute are never locked out; failures are still counted after."""
    app = throttled_app
    email = new_staff(app, "reception")
    for _ in range(7):
        assert login(client_from(app), email).status_code == 303
    for _ in range(3):
        assert login(client_from(app), email, "a wrong guess at it").status_code == 200
    assert login(client_from(app), email).status_code == 429


def test_the_too_many_attempts_page_is_friendly(throttled_app):
    """The 429 page says what happened and what to do, with no technical detail and no caching."""
    app = throttled_app
    email = new_staff(app, "reception")
    for _ in range(3):
        login(client_from(app), email, "a wrong guess at it")
    response = login(client_from(app), email)
    body = response.get_data(as_text=True)
    assert response.status_code == 429
    assert "Too many attempts" in body and "try again" in body
    assert "Traceback" not in body and "per minute" not in body
    assert "no-store" in response.headers.get("Cache-Control", "")
