"""`flask staff ...` on a database that was never migrated says what to do, not a traceback."""

from __future__ import annotations

import pytest

from tests.support.database import reset_database
from intake.platform.extensions import db


@pytest.mark.parametrize("command", [
    ["staff", "create", "new.person@clinic.example", "--name", "New Person", "--role", "reception"],
    ["staff", "disable", "new.person@clinic.example"],
    ["staff", "set-password", "new.person@clinic.example"],
])
def test_a_staff_command_on_an_unmigrated_database_says_to_migrate_first(make_app, command):
    app = make_app()
    with app.app_context():
        reset_database()
        db.engine.dispose()
    result = app.test_cli_runner().invoke(args=command, input="a long enough passphrase\n" * 2)
    assert result.exit_code != 0
    assert "the database has no tables yet: run `flask db upgrade` (or `make run`) first" in result.output
    assert "Traceback" not in result.output
    assert isinstance(result.exception, SystemExit)  # a clean exit with a message, not an error
    assert "Password" not in result.output  # stopped before asking for a password it could not store
