"""The staff CLI: creating accounts (password asked twice, stored as an Argon2 hash), and clear failures."""

from __future__ import annotations


import pytest
from argon2 import PasswordHasher
from flask_migrate import upgrade
from sqlalchemy import func, select

from intake.platform.extensions import db
from intake.staff import accounts as staff_accounts, two_factor
from intake.staff.models import StaffUser
from tests.factories import enrol_staff, login, new_staff
from tests.support.back_office import audit_events
from tests.support.back_office import cli
from tests.support.database import reset_database

def staff_count(app) -> int:
    with app.app_context():
        return db.session.execute(select(func.count()).select_from(StaffUser)).scalar_one()


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
        user = staff_accounts.find_staff("new.person@clinic.example")
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


def test_cli_reset_2fa_clears_the_second_factor_ends_sessions_and_is_audited(make_app):
    app = make_app(STAFF_2FA_REQUIRED="admin")
    lost = new_staff(app, "admin", email="lost@clinic.example")
    boss = new_staff(app, "admin", email="boss@clinic.example")
    enrol_staff(app, lost)
    with app.app_context():
        version = staff_accounts.find_staff(lost).session_version
    result = cli(app, "staff", "reset-2fa", "LOST@clinic.example", "--by", boss, "--reason", "Lost their phone and recovery codes")
    assert result.exit_code == 0, result.output
    assert "Two-step sign-in reset for lost@clinic.example by boss@clinic.example" in result.output
    with app.app_context():
        user = staff_accounts.find_staff(lost)
        assert not two_factor.is_enrolled(user.id) and two_factor.recovery_codes_left(user.id) == 0
        assert user.session_version == version + 1
    [event] = audit_events(app, "two_factor_reset")
    assert (event["staff_email"], event["detail"]) == (
        boss, {"account": lost, "had_two_factor": True, "reason": "Lost their phone and recovery codes"})


@pytest.mark.parametrize("target, by, reason, message", [
    ("ghost@clinic.example", "boss@clinic.example", "Lost phone", "No staff account for ghost@clinic.example"),
    ("lost@clinic.example", "ghost@clinic.example", "Lost phone", "No staff account for ghost@clinic.example (--by must name an admin)"),
    ("lost@clinic.example", "desk@clinic.example", "Lost phone", "desk@clinic.example is not an active admin"),
    ("lost@clinic.example", "boss@clinic.example", " ", "Give a reason"),
])
def test_cli_reset_2fa_refuses_unknown_accounts_non_admins_and_no_reason_clearly(app, target, by, reason, message):
    new_staff(app, "admin", email="lost@clinic.example")
    new_staff(app, "admin", email="boss@clinic.example")
    new_staff(app, "reception", email="desk@clinic.example")
    enrol_staff(app, "lost@clinic.example")
    result = cli(app, "staff", "reset-2fa", target, "--by", by, "--reason", reason)
    assert result.exit_code != 0
    assert message in result.output and "Traceback" not in result.output
    assert audit_events(app, "two_factor_reset") == []
    with app.app_context():
        assert two_factor.is_enrolled(staff_accounts.find_staff("lost@clinic.example").id)


def test_cli_reset_2fa_needs_the_admin_and_the_reason(app):
    for missing in (["--by", "boss@clinic.example"], ["--reason", "Lost phone"]):
        result = cli(app, "staff", "reset-2fa", "lost@clinic.example", *missing)
        assert result.exit_code == 2 and "Missing option" in result.output


def test_a_fresh_database_has_no_staff_accounts(make_app):
    """Neither the models nor the migrations create a default or demo account."""
    app = make_app()
    assert staff_count(app) == 0
    with app.app_context():
        reset_database()
        upgrade()
    assert staff_count(app) == 0
