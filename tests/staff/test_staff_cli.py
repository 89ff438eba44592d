"""The staff CLI: creating accounts (password asked twice, stored as an Argon2 hash), and clear failures."""

from __future__ import annotations


import pytest
from argon2 import PasswordHasher
from flask_migrate import upgrade
from sqlalchemy import func, select

from intake.platform.extensions import db
from intake.staff import accounts as staff_accounts
from intake.staff.models import StaffUser
from tests.factories import login
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


def test_a_fresh_database_has_no_staff_accounts(make_app):
    """Neither the models nor the migrations create a default or demo account."""
    app = make_app()
    assert staff_count(app) == 0
    with app.app_context():
        reset_database()
        upgrade()
    assert staff_count(app) == 0
