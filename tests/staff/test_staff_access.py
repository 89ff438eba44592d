"""Who can reach the back office, and how: roles, sign-in, throttling, sessions, the CLI,
caching, GET safety and CSRF. Every test states a behaviour a clinic would notice."""

from __future__ import annotations

import html
import re
from datetime import timedelta
from urllib.parse import parse_qs, urlsplit

import pytest
from argon2 import PasswordHasher
from flask_migrate import upgrade
from sqlalchemy import func, select
from werkzeug.exceptions import MethodNotAllowed

import intake.staff.routes as staff_routes
from tests.factories import CSRF_PATTERN, STAFF_PASSWORD, Patient, booking_form, give_up_on_an_email, login, new_staff, sign_in, staff_id
from tests.support.database import reset_database
from intake.platform.extensions import db
from intake.mail.models import OutboxMessage
from intake.staff import services as staff_services
from intake.staff.models import ROLES, AuditEvent, StaffUser
from intake.platform.timeutil import utcnow
from tests.support.back_office import ALL_ROLES, ROLE_CASES, build_url, cli, copy_session, is_signed_in, location_path, post_rules, snapshot, staff_rules, url_values, valid_post_data

LOGIN_ERROR = "Enter a correct email address and password"
IDLE_MESSAGE = "You were signed out because you had not used the back office for a while"
# What would identify the patient of valid_answers() on a page that should show nothing.
PATIENT_DETAILS = ("Lovelace", "ada@example.com", "123456")


# --- helpers ------------------------------------------------------------------------------

def shows_patient(body: str, reference: str) -> list[str]:
    """The patient details (and reference) that appear in a page's body."""
    return [detail for detail in (reference, *PATIENT_DETAILS) if detail in body]


def staff_count(app) -> int:
    with app.app_context():
        return db.session.execute(select(func.count()).select_from(StaffUser)).scalar_one()


# --- 1. roles -----------------------------------------------------------------------------

@pytest.mark.parametrize("role", ROLES)
def test_each_role_reaches_only_the_pages_its_job_needs(role, app, patient, make_staff, staff_client):
    """Allowed pages work for the role; refused ones are a 403 showing no patient data and changing nothing."""
    reference = patient.complete()
    message_id = give_up_on_an_email(app, attempts=8)
    clinician = staff_id(app, make_staff("clinician"))
    staff = staff_client(role)
    data = {
        "add a note": {"body": "Rang, left a message."},
        "change status": {"status": "contacted"},
        "book": booking_form(clinician=clinician),
    }
    problems = []
    for what, method, template, allowed in ROLE_CASES:
        path = template.format(ref=reference, msg=message_id)
        before = snapshot(app)
        if method == "GET":
            response = staff.client.get(path)
        else:
            response = staff.post(path, data.get(what, {}))
        body = response.get_data(as_text=True)
        if role in allowed:
            expected = 200 if method == "GET" else 303
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
    clinician = staff_id(app, make_staff("clinician"))
    staff = staff_client("reception")
    assert staff.post(f"/staff/requests/{reference}/status", {"status": "contacted"}).status_code == 303
    assert staff.post(f"/staff/requests/{reference}/book", booking_form(clinician=clinician)).status_code == 303
    assert staff.post(f"/staff/requests/{reference}/notes", {"body": "Booked by phone."}).status_code == 303
    assert staff.post(f"/staff/outbox/{message_id}/retry").status_code == 303
    with app.app_context():
        stored = staff_services.find_request(reference)
        assert stored.status == "booked"
        assert len(staff_services.active_appointments(stored)) == 1
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
}


def test_sign_in_only_returns_to_a_back_office_page(app, make_staff):
    """`next` is followed only for /staff/ paths; anything else (an open redirect attempt) lands on the list."""
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


# --- 6. the staff CLI ---------------------------------------------------------------------

def test_cli_create_asks_twice_and_stores_only_an_argon2_hash(app, production_password_hashing):
    """The password is asked for twice, never echoed, and stored as an Argon2 hash at production cost; it then signs in."""
    password = "correct horse battery"
    result = cli(app, "staff", "create", "New.Person@Clinic.Example", "--name", "New Person", "--role", "clinician",
                 input=f"{password}\n{password}\n")
    assert result.exit_code == 0, result.output
    assert "Password" in result.output and "Type the password again" in result.output
    assert password not in result.output
    with app.app_context():
        user = staff_services.find_staff("new.person@clinic.example")
        assert (user.email, user.name, user.role, user.active) == ("new.person@clinic.example", "New Person", "clinician", True)
        assert user.password_hash.startswith("$argon2")
        assert not PasswordHasher().check_needs_rehash(user.password_hash)  # argon2-cffi's recommended costs
        row = db.session.execute(select(StaffUser.__table__)).one()
        assert all(password not in str(value) for value in row)
    assert login(app.test_client(), "new.person@clinic.example", password).status_code == 303


def test_cli_create_refuses_a_mismatched_confirmation(app):
    """Typing two different passwords creates nothing."""
    result = cli(app, "staff", "create", "new@clinic.example", "--name", "New", "--role", "reception",
                 input="correct horse battery\ncorrect horse batterY\n")
    assert result.exit_code != 0
    assert "do not match" in result.output
    assert staff_count(app) == 0


def test_cli_create_refuses_passwords_under_12_characters(app):
    """Eleven characters are refused with a clear message; twelve are accepted."""
    result = cli(app, "staff", "create", "short@clinic.example", "--name", "Short", "--role", "reception",
                 input="elevenchars\nelevenchars\n")
    assert result.exit_code != 0
    assert "at least 12 characters" in result.output
    assert staff_count(app) == 0
    result = cli(app, "staff", "create", "short@clinic.example", "--name", "Short", "--role", "reception",
                 input="twelve chars\ntwelve chars\n")
    assert result.exit_code == 0, result.output


def test_cli_create_refuses_a_duplicate_email_whatever_its_case(app, make_staff):
    email = make_staff("reception")
    result = cli(app, "staff", "create", email.upper(), "--name", "Twin", "--role", "admin",
                 input="correct horse battery\ncorrect horse battery\n")
    assert result.exit_code != 0
    assert "already an account" in result.output
    assert staff_count(app) == 1


def test_cli_create_refuses_an_unknown_role(app):
    result = cli(app, "staff", "create", "boss@clinic.example", "--name", "Boss", "--role", "superuser",
                 input="correct horse battery\ncorrect horse battery\n")
    assert result.exit_code != 0
    assert "superuser" in result.output and "reception" in result.output
    assert staff_count(app) == 0


@pytest.mark.parametrize("command, input", [("disable", None), ("set-password", "correct horse battery\ncorrect horse battery\n")])
def test_cli_commands_on_an_unknown_email_fail_clearly(command, input, app):
    result = cli(app, "staff", command, "ghost@clinic.example", input=input)
    assert result.exit_code != 0
    assert "No staff account for ghost@clinic.example" in result.output


def test_a_fresh_database_has_no_staff_accounts(make_app):
    """Neither the models nor the migrations create a default or demo account."""
    app = make_app()
    assert staff_count(app) == 0
    with app.app_context():
        reset_database()
        upgrade()
    assert staff_count(app) == 0


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
    """A request, a dead email, a clinician, and an admin whose browser also has a complete draft."""
    reference = patient.complete()
    message_id = give_up_on_an_email(app, attempts=8)
    clinician = staff_id(app, make_staff("clinician"))
    admin = staff_client("admin")
    Patient(admin.client).answer_all()
    return reference, message_id, clinician, admin


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
    reference, message_id, clinician, admin = _admin_with_everything(app, patient, make_staff, staff_client)
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
        response = admin.client.post(url, data={**valid_post_data(rule.endpoint, admin_email, clinician), **extra})
        if response.status_code != 400:
            problems.append(f"POST {rule.rule}: {response.status_code}")
    assert problems == []
    assert snapshot(app) == before
    assert is_signed_in(admin.client)
