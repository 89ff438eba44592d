"""Two-step sign-in in the back office: the password first, then the code (or setting up an
authenticator when the role needs one); a half-done sign-in reaches nothing and runs out; codes
are used once and throttled like passwords; STAFF_2FA_REQUIRED as all, admin (the default) and off."""

from __future__ import annotations

import html
import re

import pyotp
import pytest
from sqlalchemy import select

from intake.platform.extensions import db
from intake.staff.models import StaffRecoveryCode
from tests.factories import CSRF_PATTERN, authenticator_of, enrol_staff, enter_code, login, new_staff, sign_in
from tests.support.back_office import audit_events, build_url, cli, error_messages, is_signed_in, location_path, staff_rules, url_values

CODE_PAGE = "/staff/login/code"
SET_UP_PAGE = "/staff/two-step/set-up"
TWO_STEP_PAGE = "/staff/two-step"
RENEW = "/staff/two-step/recovery-codes"
SHOWN_RECOVERY_CODE = re.compile(r"<code>([2-9a-z]{5}-[2-9a-z]{5})</code>")
WRONG_CODE = "That code is not right, or it has been used already"


@pytest.fixture
def clinic_app(make_app):
    """The app as a clinic runs it by default: STAFF_2FA_REQUIRED=admin (tests/platform/test_config.py
    shows that is the default; the other tests' apps turn it off)."""
    return make_app(STAFF_2FA_REQUIRED="admin")


def client_from(app, address: str = "127.0.0.1"):
    client = app.test_client()
    client.environ_base["REMOTE_ADDR"] = address
    return client


def wrong(code: str) -> str:
    """A six-digit code that is not `code`."""
    return f"{(int(code) + 500_000) % 1_000_000:06d}"


def body(response) -> str:
    return response.get_data(as_text=True)


def set_up_with_first_code(client, app, email: str):
    """On the set-up page (reached after the password), type the code the new secret gives now."""
    page = client.get(SET_UP_PAGE)
    assert page.status_code == 200
    return enter_code(client, authenticator_of(app, email).code(), SET_UP_PAGE)


# --- who is asked for what ----------------------------------------------------------------

def test_by_default_an_admin_without_an_authenticator_is_sent_to_set_one_up_and_is_not_signed_in(clinic_app):
    admin = new_staff(clinic_app, "admin")
    client = clinic_app.test_client()
    response = login(client, admin)
    assert response.status_code == 303 and location_path(response) == SET_UP_PAGE
    assert not is_signed_in(client)
    with client.session_transaction() as session:
        assert "_user_id" not in session


def test_by_default_reception_and_clinicians_sign_in_with_the_password_alone(clinic_app):
    for role in ("reception", "clinician"):
        response = login(clinic_app.test_client(), new_staff(clinic_app, role))
        assert response.status_code == 303 and location_path(response) == "/staff/"


def test_with_all_every_role_must_set_up_an_authenticator(make_app):
    app = make_app(STAFF_2FA_REQUIRED="all")
    for role in ("reception", "clinician", "admin"):
        response = login(app.test_client(), new_staff(app, role))
        assert (response.status_code, location_path(response)) == (303, SET_UP_PAGE), role


def test_with_off_an_admin_signs_in_with_the_password_but_anyone_set_up_still_gives_a_code(make_app):
    app = make_app(STAFF_2FA_REQUIRED="off")
    admin, careful = new_staff(app, "admin"), new_staff(app, "reception")
    enrol_staff(app, careful)
    assert location_path(login(app.test_client(), admin)) == "/staff/"
    assert location_path(login(app.test_client(), careful)) == CODE_PAGE


# --- setting up at sign-in ----------------------------------------------------------------

def test_setting_up_shows_a_qr_code_and_the_key_then_the_first_code_signs_in_and_shows_ten_recovery_codes(clinic_app):
    admin = new_staff(clinic_app, "admin", email="ada@clinic.example")
    client = clinic_app.test_client()
    login(client, admin, next_path="/staff/audit")
    page = body(client.get(SET_UP_PAGE))
    secret = authenticator_of(clinic_app, admin).secret
    assert '<div class="qr-code" role="img"' in page and "<svg" in page
    assert " ".join(secret[i:i + 4] for i in range(0, 32, 4)) in page
    assert page.count("Set up two-step sign-in") >= 1 and "Your role needs a code" in page

    done = enter_code(client, pyotp.TOTP(secret).now(), SET_UP_PAGE)
    shown = body(done)
    codes = SHOWN_RECOVERY_CODE.findall(shown)
    assert done.status_code == 200 and len(set(codes)) == 10
    assert "This is the only time they are shown" in shown
    assert 'href="/staff/audit"' in shown  # onward to where they were going
    assert done.headers["Cache-Control"] == "no-store"
    assert is_signed_in(client)
    assert [event["action"] for event in audit_events(clinic_app)] == ["two_factor_enrolled", "login"]
    assert audit_events(clinic_app, "login")[0]["detail"] == {"second_factor": "new authenticator"}
    with clinic_app.app_context():  # stored hashed: the codes shown are nowhere in the database
        hashes = db.session.execute(select(StaffRecoveryCode.code_hash)).scalars().all()
        assert not any(code.replace("-", "") in value for code in codes for value in hashes)
    # Shown once: the set-up page now only says it is on, without the secret.
    again = body(client.get(SET_UP_PAGE, follow_redirects=True))
    assert secret not in again and secret[:4] + " " not in again and "Two-step sign-in is <strong>on</strong>" in again


def test_a_wrong_first_code_or_letters_keep_the_set_up_page_with_a_message(clinic_app):
    admin = new_staff(clinic_app, "admin")
    client = clinic_app.test_client()
    login(client, admin)
    client.get(SET_UP_PAGE)
    code = authenticator_of(clinic_app, admin).code()
    for typed, message in ((wrong(code), "That code is not right. Check the time on your phone"),
                           ("abcdef", "Enter the 6 digits your authenticator app shows"),
                           ("12345678901234567890", "Enter the 6 digits your authenticator app shows"),
                           ("", "Enter the 6-digit code from your authenticator app")):
        response = enter_code(client, typed, SET_UP_PAGE)
        assert response.status_code == 400, typed
        assert error_messages(body(response)) == [message] or error_messages(body(response))[0].startswith(message), typed
        assert body(response).count("<svg") == 1  # still the same QR code to scan
    assert not is_signed_in(client)


def test_until_set_up_is_done_no_other_back_office_page_can_be_reached(clinic_app):
    """Half signed in (the password only): every back-office page sends them to sign in."""
    admin = new_staff(clinic_app, "admin")
    client = clinic_app.test_client()
    login(client, admin)
    problems = []
    values = url_values("ABCDEFGH", 1)
    for rule in staff_rules(clinic_app):
        if rule.endpoint in {"staff.enrol", "staff.login_code"} or "GET" not in rule.methods:
            continue
        response = client.get(build_url(clinic_app, rule, values))
        if response.status_code not in (302, 303) or location_path(response) != "/staff/login":
            problems.append(f"{rule.rule}: {response.status_code} {response.headers.get('Location')}")
    assert problems == []
    assert client.get(SET_UP_PAGE).status_code == 200  # still where they must go


def test_the_half_done_sign_in_of_set_up_runs_out(clinic_app):
    admin = new_staff(clinic_app, "admin")
    client = clinic_app.test_client()
    login(client, admin)
    with client.session_transaction() as session:
        session["staff_pending"] = {**session["staff_pending"], "at": session["staff_pending"]["at"] - 16 * 60}
    response = client.get(SET_UP_PAGE)
    assert location_path(response) == "/staff/login" and "expired=1" in response.headers["Location"]
    assert "Signing in took too long" in body(client.get(response.headers["Location"]))


# --- the code at sign-in ------------------------------------------------------------------

def test_a_right_code_after_the_password_signs_in_and_goes_where_they_were_going(clinic_app):
    admin = new_staff(clinic_app, "admin")
    phone = enrol_staff(clinic_app, admin)
    client = clinic_app.test_client()
    first = login(client, admin, next_path="/staff/audit")
    assert location_path(first) == CODE_PAGE and not is_signed_in(client)
    page = body(client.get(CODE_PAGE))
    assert 'autocomplete="one-time-code"' in page and "recovery codes" in page
    done = enter_code(client, phone.code())
    assert done.status_code == 303 and location_path(done) == "/staff/audit"
    assert is_signed_in(client)
    assert audit_events(clinic_app, "login")[-1]["detail"] == {"second_factor": "code"}


def test_signing_in_with_a_code_starts_a_new_session(clinic_app):
    """Neither the session before the password nor the half-done one can be reused after the code."""
    admin = new_staff(clinic_app, "admin")
    phone = enrol_staff(clinic_app, admin)
    client = clinic_app.test_client()
    client.get("/staff/login")
    before = client.get_cookie("session").value
    login(client, admin)
    half = client.get_cookie("session").value
    enter_code(client, phone.code())
    for old in (before, half):
        reused = clinic_app.test_client()
        reused.set_cookie("session", old)
        assert not is_signed_in(reused)


def test_a_wrong_code_is_refused_with_a_message_and_audited(clinic_app):
    admin = new_staff(clinic_app, "admin")
    phone = enrol_staff(clinic_app, admin)
    client = clinic_app.test_client()
    login(client, admin)
    response = enter_code(client, wrong(phone.code()))
    assert response.status_code == 400
    assert error_messages(body(response))[0].startswith(WRONG_CODE)
    assert not is_signed_in(client)
    assert audit_events(clinic_app, "login_code_failed")[0]["staff_email"] == admin


@pytest.mark.parametrize("typed, message", [
    ("abcdef", "Enter the 6-digit code from your authenticator app, or one of your recovery codes"),
    ("12345678901234567890", "Enter the 6-digit code from your authenticator app, or one of your recovery codes"),
    ("1" * 41, "The code must be 40 characters or fewer"),
    ("12\x0034", "The code must not contain special control characters"),
    ("   ", "Enter the 6-digit code from your authenticator app"),
])
def test_letters_too_many_digits_or_control_characters_get_a_clear_message_not_an_error_page(clinic_app, typed, message):
    admin = new_staff(clinic_app, "admin")
    enrol_staff(clinic_app, admin)
    client = clinic_app.test_client()
    login(client, admin)
    response = enter_code(client, typed)
    assert response.status_code == 400
    assert error_messages(body(response))[0].startswith(message)
    assert f'id="code-error"' in body(response)


def test_a_code_used_once_cannot_be_used_again(clinic_app):
    """Someone who saw the code typed (or replays the request) within its 30 seconds gets nowhere."""
    admin = new_staff(clinic_app, "admin")
    phone = enrol_staff(clinic_app, admin)
    code = phone.code()
    first = clinic_app.test_client()
    login(first, admin)
    assert enter_code(first, code).status_code == 303
    second = clinic_app.test_client()
    login(second, admin)
    replayed = enter_code(second, code)
    assert replayed.status_code == 400 and error_messages(body(replayed))[0].startswith(WRONG_CODE)
    assert not is_signed_in(second)


def test_a_recovery_code_signs_in_once_only(clinic_app):
    admin = new_staff(clinic_app, "admin")
    phone = enrol_staff(clinic_app, admin)
    recovery = phone.recovery_codes[0]
    first = clinic_app.test_client()
    login(first, admin)
    assert enter_code(first, recovery.upper()).status_code == 303
    assert audit_events(clinic_app, "login")[-1]["detail"] == {"second_factor": "recovery code"}
    assert audit_events(clinic_app, "recovery_code_used")[0]["detail"] == {"left": 9}
    second = clinic_app.test_client()
    login(second, admin)
    again = enter_code(second, recovery)
    assert again.status_code == 400 and not is_signed_in(second)
    assert enter_code(second, phone.recovery_codes[1]).status_code == 303


def test_the_half_done_sign_in_runs_out_after_five_minutes(clinic_app):
    admin = new_staff(clinic_app, "admin")
    phone = enrol_staff(clinic_app, admin)
    client = clinic_app.test_client()
    login(client, admin)
    token = CSRF_PATTERN.search(body(client.get(CODE_PAGE))).group(1)
    with client.session_transaction() as session:
        session["staff_pending"] = {**session["staff_pending"], "at": session["staff_pending"]["at"] - 5 * 60 - 1}
    late = client.post(CODE_PAGE, data={"code": phone.code(), "csrf_token": token})
    assert location_path(late) == "/staff/login" and "expired=1" in late.headers["Location"]
    assert not is_signed_in(client)
    assert location_path(client.get(CODE_PAGE)) == "/staff/login"  # it is gone, not just refused once


def test_the_code_page_refuses_a_password_changed_or_account_disabled_since(clinic_app):
    admin = new_staff(clinic_app, "admin")
    phone = enrol_staff(clinic_app, admin)
    client = clinic_app.test_client()
    login(client, admin)
    token = CSRF_PATTERN.search(body(client.get(CODE_PAGE))).group(1)
    assert cli(clinic_app, "staff", "disable", admin).exit_code == 0
    assert location_path(client.post(CODE_PAGE, data={"code": phone.code(), "csrf_token": token})) == "/staff/login"
    assert not is_signed_in(client)


def test_the_code_page_sends_visitors_with_no_half_done_sign_in_to_sign_in_and_signed_in_staff_on(clinic_app):
    assert location_path(clinic_app.test_client().get(CODE_PAGE)) == "/staff/login"
    staff = sign_in(clinic_app, new_staff(clinic_app, "reception"))
    assert location_path(staff.client.get(CODE_PAGE)) == "/staff/"


def test_a_session_signed_in_without_a_code_ends_when_the_role_comes_to_need_one(make_app):
    """An admin signed in while STAFF_2FA_REQUIRED was off is sent to sign in again once it is admin."""
    app = make_app(STAFF_2FA_REQUIRED="off")
    admin = sign_in(app, new_staff(app, "admin"))
    reception = sign_in(app, new_staff(app, "reception"))
    app.config["STAFF_2FA_REQUIRED"] = "admin"
    assert location_path(admin.client.get("/staff/")) == "/staff/login"
    assert not is_signed_in(admin.client)
    assert is_signed_in(reception.client)


# --- throttling ---------------------------------------------------------------------------

@pytest.fixture
def throttled_app(make_app):
    return make_app(STAFF_2FA_REQUIRED="admin", LOGIN_LIMIT_PER_ACCOUNT="3 per minute", LOGIN_LIMIT_PER_ADDRESS="6 per minute",
                    LOGIN_LIMIT_PER_ACCOUNT_ANYWHERE="8 per minute")


def wrong_codes_from(app, address: str, email: str, phone, times: int = 3):
    """Sign in with the password from `address`, then type `times` wrong codes (each refused)."""
    client = client_from(app, address)
    login(client, email)
    for _ in range(times):
        assert enter_code(client, wrong(phone.code())).status_code == 400
    return client


def code_from(app, address: str, email: str, code: str):
    """Sign in with the password from `address`, then type `code`: the code page's answer."""
    client = client_from(app, address)
    login(client, email)
    return enter_code(client, code)


def test_wrong_codes_are_throttled_per_account_like_wrong_passwords(throttled_app):
    """Three wrong codes from one address: the fourth try there is refused even with the right code,
    with a time to retry; the owner at another address still gets in."""
    app = throttled_app
    admin = new_staff(app, "admin")
    phone = enrol_staff(app, admin)
    client = wrong_codes_from(app, "127.0.0.1", admin, phone)
    refused = enter_code(client, phone.code())
    assert refused.status_code == 429 and 0 < int(refused.headers["Retry-After"]) <= 60
    assert "Too many attempts" in body(refused)
    assert code_from(app, "10.0.0.2", admin, phone.code()).status_code == 303


def test_wrong_codes_from_many_addresses_meet_the_accounts_ceiling(throttled_app):
    app = throttled_app
    admin = new_staff(app, "admin")
    phone = enrol_staff(app, admin)
    for address, times in (("10.0.1.1", 3), ("10.0.1.2", 3), ("10.0.1.3", 2)):  # 8: the ceiling, none at its own address limit
        wrong_codes_from(app, address, admin, phone, times)
    assert code_from(app, "10.0.1.4", admin, phone.code()).status_code == 429


def test_right_codes_do_not_count_towards_the_limits(throttled_app):
    app = throttled_app
    admin = new_staff(app, "admin")
    phone = enrol_staff(app, admin)
    for recovery in phone.recovery_codes[:7]:
        assert code_from(app, "127.0.0.1", admin, recovery).status_code == 303


def test_strangers_at_the_accounts_ceiling_cannot_lock_out_someone_with_two_step_sign_in(throttled_app):
    """Wrong passwords for an account from many addresses fill its ceiling: the right password and
    the right code still get in; without an authenticator the right password is refused (as before);
    a wrong password gets the same refusal as for an unknown email."""
    app = throttled_app
    guarded = new_staff(app, "admin", email="guarded@clinic.example")
    plain = new_staff(app, "reception", email="plain@clinic.example")
    phone = enrol_staff(app, guarded)
    for number, email in enumerate((guarded, plain, "nobody@clinic.example")):
        for address in range(3):  # three addresses for each, each at its own limit for the account
            for _ in range(3):
                login(client_from(app, f"10.0.{number}.{address}"), email, "a wrong guess at it")
    owner = client_from(app, "10.0.2.9")
    assert location_path(login(owner, guarded)) == CODE_PAGE
    assert enter_code(owner, phone.code()).status_code == 303 and is_signed_in(owner)
    refused = login(client_from(app, "10.0.2.9"), plain)
    assert refused.status_code == 429 and 0 < int(refused.headers["Retry-After"]) <= 60
    assert [login(client_from(app, "10.0.2.8"), email, "a wrong guess at it").status_code
            for email in (guarded, "nobody@clinic.example")] == [429, 429]


# --- choosing it, and new recovery codes --------------------------------------------------

def test_reception_can_choose_two_step_sign_in_and_is_then_asked_for_a_code(clinic_app):
    email = new_staff(clinic_app, "reception")
    staff = sign_in(clinic_app, email)
    page = body(staff.client.get(TWO_STEP_PAGE))
    assert "Two-step sign-in is <strong>off</strong>" in page and 'action="/staff/two-step/start"' in page
    assert 'href="/staff/two-step"' in body(staff.client.get("/staff/"))  # in the back office's menu
    assert location_path(staff.client.get(SET_UP_PAGE)) == TWO_STEP_PAGE  # nothing to scan before choosing to start
    started = staff.post("/staff/two-step/start", form_path=TWO_STEP_PAGE)
    assert (started.status_code, location_path(started)) == (303, SET_UP_PAGE)
    done = set_up_with_first_code(staff.client, clinic_app, email)
    assert done.status_code == 200 and len(SHOWN_RECOVERY_CODE.findall(body(done))) == 10
    assert "You have <strong>10</strong> unused recovery codes" in body(staff.client.get(TWO_STEP_PAGE))
    assert location_path(login(clinic_app.test_client(), email)) == CODE_PAGE


def test_new_recovery_codes_need_the_current_code_and_replace_the_old(clinic_app):
    email = new_staff(clinic_app, "reception")
    phone = enrol_staff(clinic_app, email)
    client = clinic_app.test_client()
    login(client, email)
    enter_code(client, phone.recovery_codes[0])
    refused = enter_code(client, wrong(phone.code()), RENEW, TWO_STEP_PAGE)
    assert refused.status_code == 400
    assert error_messages(body(refused)) == ["That code is not right. Enter the newest code from your authenticator app"]
    letters = enter_code(client, "abcdef", RENEW, TWO_STEP_PAGE)
    assert error_messages(body(letters)) == ["Enter the 6 digits your authenticator app shows, like 123456"]
    renewed = enter_code(client, phone.code(), RENEW, TWO_STEP_PAGE)
    fresh = SHOWN_RECOVERY_CODE.findall(body(renewed))
    assert renewed.status_code == 200 and len(set(fresh)) == 10 and "Your old ones no longer work" in body(renewed)
    assert [event["action"] for event in audit_events(clinic_app)][-1] == "recovery_codes_renewed"
    other = clinic_app.test_client()
    login(other, email)
    assert enter_code(other, phone.recovery_codes[1]).status_code == 400
    assert enter_code(other, fresh[0]).status_code == 303


def test_after_an_admins_reset_the_member_of_staff_is_signed_out_and_sets_up_again(clinic_app):
    admin = new_staff(clinic_app, "admin", email="lost@clinic.example")
    other = new_staff(clinic_app, "admin", email="boss@clinic.example")
    phone = enrol_staff(clinic_app, admin)
    client = clinic_app.test_client()
    login(client, admin)
    enter_code(client, phone.code())
    assert is_signed_in(client)
    result = cli(clinic_app, "staff", "reset-2fa", admin, "--by", other, "--reason", "Lost phone and codes")
    assert result.exit_code == 0, result.output
    assert not is_signed_in(client)
    assert location_path(login(clinic_app.test_client(), admin)) == SET_UP_PAGE


def test_the_new_pages_escape_what_they_show(clinic_app):
    """The name shown in the menu and the email in the QR code's address are the account's; the page holds no raw markup of them."""
    admin = new_staff(clinic_app, "admin", name="Ada <b>Admin</b>")
    client = clinic_app.test_client()
    login(client, admin)
    done = set_up_with_first_code(client, clinic_app, admin)
    assert "Ada <b>Admin</b>" not in body(done) and html.escape("Ada <b>Admin</b>") in body(done)


def test_each_half_done_sign_in_is_sent_to_its_own_second_step(clinic_app):
    """Someone half signed in who opens the other second-step page is sent back to theirs, not made to start again."""
    must_set_up = clinic_app.test_client()
    login(must_set_up, new_staff(clinic_app, "admin"))
    assert location_path(must_set_up.get(CODE_PAGE)) == SET_UP_PAGE
    assert must_set_up.get(SET_UP_PAGE).status_code == 200
    enrolled = new_staff(clinic_app, "admin")
    enrol_staff(clinic_app, enrolled)
    has_app = clinic_app.test_client()
    login(has_app, enrolled)
    assert location_path(has_app.get(SET_UP_PAGE)) == CODE_PAGE
    assert has_app.get(CODE_PAGE).status_code == 200


def test_neither_the_secret_nor_any_code_is_ever_logged(clinic_app, caplog):
    caplog.set_level("DEBUG")
    admin = new_staff(clinic_app, "admin")
    client = clinic_app.test_client()
    login(client, admin)
    phone = authenticator_of(clinic_app, admin)
    enter_code(client, wrong(phone.code()), SET_UP_PAGE)
    done = enter_code(client, phone.code(), SET_UP_PAGE)
    codes = SHOWN_RECOVERY_CODE.findall(body(done))
    client.post("/staff/logout", data={"csrf_token": CSRF_PATTERN.search(body(client.get("/staff/"))).group(1)})
    login(client, admin)
    enter_code(client, codes[0])
    logged = caplog.text.lower()
    assert len(codes) == 10
    assert phone.secret.lower() not in logged and not any(code in logged or code.replace("-", "") in logged for code in codes)
