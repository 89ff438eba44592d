"""Two-step sign-in's rules (intake.staff.two_factor): who must use it, setting up an authenticator,
codes accepted once within their window, recovery codes kept hashed and spent once, new recovery
codes, and an admin's reset."""

from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone

import pyotp
import pytest
from sqlalchemy import select

from intake.platform.extensions import db
from intake.staff import accounts, two_factor
from intake.staff.errors import StaffError
from intake.staff.models import AuditEvent, StaffRecoveryCode, StaffSecondFactor
from tests.factories import enrol_staff, new_staff

NOON = datetime(2026, 11, 30, 12, 0, 0, tzinfo=timezone.utc)
STEP = timedelta(seconds=30)
RECOVERY_CODE = re.compile(r"^[2-9a-hjkmnp-z]{5}-[2-9a-hjkmnp-z]{5}$")


def actions(app) -> list[str]:
    with app.app_context():
        return list(db.session.execute(select(AuditEvent.action).order_by(AuditEvent.id)).scalars())


def started(user) -> str:
    """Start setting up an authenticator for `user`; the secret its owner would scan."""
    two_factor.start_enrolment(user)
    return two_factor.pending_enrolment(user, "Clinic").secret


# --- reading what was typed ---------------------------------------------------------------

@pytest.mark.parametrize("typed, expected", [
    ("123456", ("totp", "123456")),
    (" 123 456 ", ("totp", "123456")),
    ("123-456", ("totp", "123456")),
    ("ABCDE-23456", ("recovery", "abcde23456")),
    ("abcde 23456", ("recovery", "abcde23456")),
    ("2345623456", ("recovery", "2345623456")),
])
def test_a_code_or_a_recovery_code_is_read_whatever_its_spacing_and_case(typed, expected):
    entered = two_factor.parse_code(typed)
    assert (entered.kind, entered.value) == expected


@pytest.mark.parametrize("typed", ["", "12345", "1234567", "abcdef", "12345678901234567890", "١٢٣٤٥٦", "abcde-2345o", "abcde-1234l"])
def test_anything_else_is_not_a_code(typed):
    """Letters, too few or too many digits, other scripts' digits, and confusable letters are refused."""
    assert two_factor.parse_code(typed) is None


@pytest.mark.parametrize("setting, required_roles", [
    ("admin", {"admin"}),
    ("all", {"reception", "clinician", "admin"}),
    ("off", set()),
])
def test_the_setting_says_which_roles_must_use_a_second_factor(setting, required_roles):
    assert {role for role in ("reception", "clinician", "admin") if two_factor.required_for(role, setting)} == required_roles


# --- setting up ---------------------------------------------------------------------------

def test_setting_up_offers_the_same_secret_until_it_is_proved_with_the_clinics_name_as_issuer(app):
    email = new_staff(app, "admin", email="ada@clinic.example")
    with app.app_context():
        user = accounts.find_staff(email)
        assert two_factor.pending_enrolment(user, "Harbour Physio") is None  # nothing until it is started
        two_factor.start_enrolment(user)
        db.session.commit()
        first = two_factor.pending_enrolment(user, "Harbour Physio")
        two_factor.start_enrolment(user)
        again = two_factor.pending_enrolment(user, "Harbour Physio")
        assert again.secret == first.secret and len(first.secret) == 32
        assert first.uri == f"otpauth://totp/Harbour%20Physio:ada%40clinic.example?secret={first.secret}&issuer=Harbour%20Physio"
        assert first.grouped_secret.replace(" ", "") == first.secret and len(first.grouped_secret.split()) == 8
        svg = str(first.qr_svg())
        assert svg.startswith("<svg") and "<path" in svg and "style=" not in svg and "<script" not in svg
        assert not two_factor.is_enrolled(user.id)


def test_a_wrong_first_code_sets_nothing_up(app):
    email = new_staff(app, "admin")
    with app.app_context():
        user = accounts.find_staff(email)
        secret = started(user)
        wrong = f"{(int(pyotp.TOTP(secret).at(NOON)) + 1) % 1_000_000:06d}"
        with pytest.raises(StaffError, match="That code is not right") as refused:
            two_factor.finish_enrolment(user, wrong, NOON)
        assert refused.value.field == "code"
        assert not two_factor.is_enrolled(user.id)
        assert two_factor.recovery_codes_left(user.id) == 0


def test_the_first_code_turns_it_on_and_gives_ten_recovery_codes_kept_only_as_hashes(app):
    email = new_staff(app, "admin")
    with app.app_context():
        user = accounts.find_staff(email)
        secret = started(user)
        codes = two_factor.finish_enrolment(user, pyotp.TOTP(secret).at(NOON), NOON)
        db.session.commit()
        assert len(codes) == len(set(codes)) == 10 and all(RECOVERY_CODE.match(code) for code in codes)
        stored = db.session.execute(select(StaffRecoveryCode.code_hash)).scalars().all()
        assert len(stored) == 10 and all(value.startswith("$argon2") for value in stored)
        assert not any(code.replace("-", "") in value or code in value for code in codes for value in stored)
        assert two_factor.is_enrolled(user.id)
        with pytest.raises(StaffError, match="already set up"):
            two_factor.start_enrolment(user)
        assert two_factor.pending_enrolment(user, "Clinic") is None  # the secret is never shown again
    assert actions(app) == ["two_factor_enrolled"]


def test_the_first_code_cannot_be_used_again_to_sign_in(app):
    email = new_staff(app, "admin")
    with app.app_context():
        user = accounts.find_staff(email)
        secret = started(user)
        code = pyotp.TOTP(secret).at(NOON)
        two_factor.finish_enrolment(user, code, NOON)
        with pytest.raises(StaffError):
            two_factor.check_code(user, code, NOON + timedelta(seconds=5))


# --- codes at sign-in ---------------------------------------------------------------------

def test_a_current_code_is_accepted_once_and_a_replay_in_its_window_is_refused(app):
    email = new_staff(app, "admin")
    phone = enrol_staff(app, email, at=NOON)
    with app.app_context():
        user = accounts.find_staff(email)
        assert two_factor.check_code(user, phone.code(NOON), NOON) == "code"
        db.session.commit()
        with pytest.raises(StaffError, match="used already"):
            two_factor.check_code(user, phone.code(NOON), NOON + timedelta(seconds=10))
        assert two_factor.check_code(user, phone.code(NOON + STEP), NOON + STEP) == "code"  # the next code works


def test_a_phone_clock_one_step_out_is_allowed_but_two_steps_are_not(app):
    email = new_staff(app, "admin")
    phone = enrol_staff(app, email, at=NOON - 3 * STEP)
    with app.app_context():
        user = accounts.find_staff(email)
        with pytest.raises(StaffError):
            two_factor.check_code(user, phone.code(NOON - 2 * STEP), NOON)
        with pytest.raises(StaffError):
            two_factor.check_code(user, phone.code(NOON + 2 * STEP), NOON)
        assert two_factor.check_code(user, phone.code(NOON - STEP), NOON) == "code"


def test_once_a_code_is_used_an_older_one_is_refused_even_inside_the_window(app):
    """The newest step used is kept: a code from just before it cannot be replayed after it."""
    email = new_staff(app, "admin")
    phone = enrol_staff(app, email, at=NOON - 3 * STEP)
    with app.app_context():
        user = accounts.find_staff(email)
        assert two_factor.check_code(user, phone.code(NOON + STEP), NOON) == "code"
        with pytest.raises(StaffError):
            two_factor.check_code(user, phone.code(NOON), NOON)
        assert db.session.get(StaffSecondFactor, user.id).last_step == pyotp.TOTP(phone.secret).timecode(NOON + STEP)


def test_a_recovery_code_works_once_and_the_others_still_work(app):
    email = new_staff(app, "admin")
    phone = enrol_staff(app, email)
    first, second = phone.recovery_codes[:2]
    with app.app_context():
        user = accounts.find_staff(email)
        assert two_factor.check_code(user, first.upper(), NOON) == "recovery code"
        db.session.commit()
        with pytest.raises(StaffError):
            two_factor.check_code(user, first, NOON)
        assert two_factor.check_code(user, second.replace("-", " "), NOON) == "recovery code"
        assert two_factor.recovery_codes_left(user.id) == 8
        db.session.commit()
    with app.app_context():
        used = db.session.execute(select(AuditEvent).where(AuditEvent.action == "recovery_code_used").order_by(AuditEvent.id)).scalars().all()
        assert [event.detail for event in used] == [{"left": 9}, {"left": 8}]


def test_an_account_without_an_authenticator_accepts_no_code(app):
    email = new_staff(app, "admin")
    with app.app_context():
        user = accounts.find_staff(email)
        secret = started(user)  # pending, never proved
        with pytest.raises(StaffError):
            two_factor.check_code(user, pyotp.TOTP(secret).at(NOON), NOON)


# --- new recovery codes -------------------------------------------------------------------

def test_new_recovery_codes_need_a_current_code_and_replace_the_old_ones(app):
    email = new_staff(app, "reception")
    phone = enrol_staff(app, email, at=NOON)
    with app.app_context():
        user = accounts.find_staff(email)
        with pytest.raises(StaffError, match="6-digit code"):
            two_factor.renew_recovery_codes(user, phone.recovery_codes[0], NOON)
        with pytest.raises(StaffError, match="not right"):
            two_factor.renew_recovery_codes(user, f"{(int(phone.code(NOON)) + 1) % 1_000_000:06d}", NOON)
        fresh = two_factor.renew_recovery_codes(user, phone.code(NOON), NOON)
        db.session.commit()
        assert len(set(fresh)) == 10 and not set(fresh) & set(phone.recovery_codes)
        with pytest.raises(StaffError):
            two_factor.check_code(user, phone.recovery_codes[3], NOON)
        assert two_factor.check_code(user, fresh[3], NOON) == "recovery code"
        db.session.commit()
    assert actions(app)[-2:] == ["recovery_codes_renewed", "recovery_code_used"]


# --- an admin's reset ---------------------------------------------------------------------

def test_a_reset_removes_the_authenticator_and_codes_ends_sessions_and_is_audited(app):
    target = new_staff(app, "admin", email="lost.phone@clinic.example")
    admin = new_staff(app, "admin", email="boss@clinic.example")
    enrol_staff(app, target)
    with app.app_context():
        user, by = accounts.find_staff(target), accounts.find_staff(admin)
        version = user.session_version
        two_factor.reset(user, by, "  Lost their phone   and codes ", NOON)
        db.session.commit()
        assert db.session.get(StaffSecondFactor, user.id) is None
        assert two_factor.recovery_codes_left(user.id) == 0
        assert user.session_version == version + 1
        event = db.session.execute(select(AuditEvent).where(AuditEvent.action == "two_factor_reset")).scalar_one()
        assert (event.staff_email, event.detail) == (
            "boss@clinic.example", {"account": "lost.phone@clinic.example", "had_two_factor": True, "reason": "Lost their phone and codes"},
        )


@pytest.mark.parametrize("by_role, reason, message", [
    ("reception", "Lost phone", "not an active admin"),
    ("admin", "   ", "Give a reason"),
    ("admin", "x" * 201, "200 characters"),
    ("admin", "Lost\x1b[31m phone", "control characters"),
])
def test_a_reset_needs_an_admin_and_a_plain_reason(app, by_role, reason, message):
    target = new_staff(app, "admin", email="target@clinic.example")
    by = new_staff(app, by_role, email="by@clinic.example")
    enrol_staff(app, target)
    with app.app_context():
        with pytest.raises(StaffError, match=message):
            two_factor.reset(accounts.find_staff(target), accounts.find_staff(by), reason, NOON)
        assert two_factor.is_enrolled(accounts.find_staff(target).id)
