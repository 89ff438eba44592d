"""Signing in to the back office: one message for every failure, nothing written back into the
page, a new session, safe returns, and throttling per account and per address."""

from __future__ import annotations

import json
import os
import re
import socket
import subprocess
import sys
from pathlib import Path
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


def test_guessing_one_account_from_one_address_is_refused_after_the_limit_with_a_retry_time(throttled_app):
    """Three failures for an account from one address: the fourth try from there is refused, even
    with the right password, and the page says when to try again; other accounts are unaffected."""
    app = throttled_app
    target = new_staff(app, "reception", email="target@clinic.example")
    other = new_staff(app, "admin", email="other@clinic.example")
    for _ in range(3):
        assert login(client_from(app), target, "a wrong guess at it").status_code == 200
    refused = login(client_from(app), target)
    assert refused.status_code == 429
    assert 0 < int(refused.headers["Retry-After"]) <= 60
    assert login(client_from(app), other).status_code == 303


def test_a_stranger_guessing_cannot_lock_a_member_of_staff_out(throttled_app):
    """A dozen wrong passwords for an account from one address do not stop its owner signing in from theirs."""
    app = throttled_app
    target = new_staff(app, "reception", email="target@clinic.example")
    answers = [login(client_from(app, "203.0.113.9"), target, "a wrong guess at it").status_code for _ in range(12)]
    assert answers[:3] == [200] * 3 and set(answers[3:]) == {429}
    assert login(client_from(app, "10.0.0.2"), target).status_code == 303


def test_unknown_and_known_accounts_are_throttled_alike(throttled_app):
    """The limits never tell whether an email has an account: the same answers, in the same order."""
    app = throttled_app
    known = new_staff(app, "reception", email="known@clinic.example")
    answers = {email: [login(client_from(app, address), email, "a wrong guess at it").status_code for _ in range(4)]
               for email, address in ((known, "10.0.0.4"), ("unknown@clinic.example", "10.0.0.5"))}
    assert answers == {known: [200, 200, 200, 429], "unknown@clinic.example": [200, 200, 200, 429]}


def test_guessing_one_account_from_many_addresses_meets_a_larger_ceiling(make_app):
    """Failures for one account from everywhere are capped too, far above what one address may try."""
    app = make_app(LOGIN_LIMIT_PER_ACCOUNT="3 per minute", LOGIN_LIMIT_PER_ADDRESS="6 per minute", LOGIN_LIMIT_PER_ACCOUNT_ANYWHERE="8 per minute")
    target = new_staff(app, "reception", email="target@clinic.example")
    for address in ("10.0.1.1", "10.0.1.2", "10.0.1.3"):
        for _ in range(3):
            login(client_from(app, address), target, "a wrong guess at it")
    assert login(client_from(app, "10.0.1.4"), target).status_code == 429


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


# Another process (a second gunicorn worker) posting wrong passwords against the same Redis.
OTHER_WORKER = """
import json, sys
from intake import create_app
from tests.factories import login
settings, email, address, tries = json.loads(sys.argv[1])
client = create_app(settings).test_client()
client.environ_base["REMOTE_ADDR"] = address
print(json.dumps([login(client, email, "a wrong guess at it").status_code for _ in range(tries)]))
"""


def test_with_redis_storage_failures_in_one_worker_count_in_every_other(make_app, database_url, tmp_path):
    """Failures counted by one worker process limit the next try in another, with the limits in Redis."""
    redis = pytest.importorskip("redis")
    try:
        socket.create_connection(("127.0.0.1", 6379), timeout=1).close()
    except OSError:
        pytest.skip("no Redis server on 127.0.0.1:6379")
    # The limiter keeps the first key prefix a process gives it: the same one as every Redis test here.
    prefix = f"intake-tests-{os.environ.get('PYTEST_XDIST_WORKER', 'main')}"
    limits = {"RATELIMIT_STORAGE_URI": "redis://127.0.0.1:6379/5", "RATELIMIT_KEY_PREFIX": prefix,
              "LOGIN_LIMIT_PER_ACCOUNT": "3 per minute", "LOGIN_LIMIT_PER_ADDRESS": "6 per minute"}
    server = redis.Redis(host="127.0.0.1", port=6379, db=5)
    server.delete(*server.keys(f"*{prefix}*") or ["none"])
    try:
        make_app()  # a process's first test app also builds the schema template's, with limits in memory
        app = make_app(**limits)
        email = new_staff(app, "reception", email="target@clinic.example")
        other = {**limits, "SQLALCHEMY_DATABASE_URI": database_url, "INSTANCE_PATH": str(tmp_path / "other-worker")}
        worker = subprocess.run([sys.executable, "-c", OTHER_WORKER, json.dumps([other, email, "10.0.0.8", 3])],
                                cwd=Path(__file__).resolve().parents[2], capture_output=True, text=True, timeout=120)
        assert json.loads(worker.stdout.strip().splitlines()[-1]) == [200, 200, 200], worker.stderr
        assert login(client_from(app, "10.0.0.8"), email).status_code == 429
        assert login(client_from(app, "10.0.0.9"), email).status_code == 303
    finally:
        server.delete(*server.keys(f"*{prefix}*") or ["none"])
