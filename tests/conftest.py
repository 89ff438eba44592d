"""Fixtures in the flaskr style: an app on a fresh database, a client, a CLI runner, a patient, staff.

Data comes from tests/factories.py; databases from tests/support/database.py; the browser
fixtures (live_server, browser, page) from tests/support/browser.py.
"""

from __future__ import annotations

import importlib
import os
import pkgutil
import sys

import pytest
from argon2 import PasswordHasher

from intake.platform.extensions import db
from tests import factories
from tests.support.database import BACKENDS, empty_database, forget, new_app, shared_app
from tests.support.mail_server import SMTPServer
from tests.support.database import database_url as url_for_backend
from tests.support.compiled_once import share_compiled_templates

pytest_plugins = ["tests.support.browser"]

share_compiled_templates()  # each test's app would compile every template again

# Argon2 at the smallest cost: hashing and verifying work exactly as in production, in a
# millisecond instead of a quarter of a second. Tests of the production cost ask for
# `production_password_hashing`.
CHEAP_HASHER = PasswordHasher(time_cost=1, memory_cost=8, parallelism=1)


def _password_hashing_values() -> list[tuple[object, str, object]]:
    """Every module-level Argon2 hasher of the app, and every hash made with one at import."""
    import intake.staff

    for module in pkgutil.walk_packages(intake.staff.__path__, "intake.staff."):
        importlib.import_module(module.name)  # wherever the staff package keeps its hasher
    found = []
    for module in list(sys.modules.values()):
        if not getattr(module, "__name__", "").startswith("intake."):
            continue
        for name, value in vars(module).items():
            if isinstance(value, PasswordHasher) or (isinstance(value, str) and value.startswith("$argon2")):
                found.append((module, name, value))
    return found


PRODUCTION_PASSWORD_HASHING = _password_hashing_values()


@pytest.fixture(scope="session", autouse=True)
def cheap_password_hashing():
    """Every test hashes passwords cheaply unless it asks for production_password_hashing."""
    with pytest.MonkeyPatch.context() as patch:
        for module, name, value in PRODUCTION_PASSWORD_HASHING:
            cheap = CHEAP_HASHER if isinstance(value, PasswordHasher) else CHEAP_HASHER.hash(os.urandom(16).hex())
            patch.setattr(module, name, cheap)
        yield


@pytest.fixture
def smtp_server():
    """A real SMTP server on 127.0.0.1 that keeps every message it accepts (its `inbox`)."""
    server = SMTPServer()
    server.start()
    yield server
    server.stop()


@pytest.fixture
def production_password_hashing(monkeypatch):
    """Put back the Argon2 hasher (and its costs) the app really uses."""
    for module, name, value in PRODUCTION_PASSWORD_HASHING:
        monkeypatch.setattr(module, name, value)


@pytest.fixture(params=BACKENDS)
def database_url(request):
    """Each database test runs on SQLite, and on PostgreSQL when TEST_DATABASE_URL is set."""
    url = url_for_backend(request.param)
    yield url
    forget(url)


@pytest.fixture
def make_app(database_url, tmp_path):
    """Build an app on the test database with settings overridden; its tables start empty."""
    created = []

    def build(**overrides):
        app = new_app(database_url, tmp_path / "instance", **overrides)
        with app.app_context():
            empty_database()
        created.append(app)
        return app

    yield build
    for app in created:
        with app.app_context():
            db.session.remove()
            db.engine.dispose()


@pytest.fixture
def app(make_app):
    return make_app()


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def runner(app):
    return app.test_cli_runner()


@pytest.fixture
def patient(client) -> factories.Patient:
    return factories.Patient(client)


@pytest.fixture
def make_staff(app):
    """Create a staff account in the `app`: make_staff("reception") -> the user's email."""

    def create(role: str = "reception", **overrides) -> str:
        return factories.new_staff(app, role, **overrides)

    return create


@pytest.fixture
def staff_client(app):
    """Sign in a new member of staff of the given role in a fresh client: staff_client("admin")."""

    def sign_in(role: str = "reception") -> factories.Staff:
        return factories.sign_in(app, factories.new_staff(app, role))

    return sign_in


@pytest.fixture(scope="module", params=BACKENDS)
def clinic(request, tmp_path_factory) -> factories.Clinic:
    """A clinic of six requests (factories.CLINIC_REQUESTS) for a module's read-only checks."""
    with shared_app(request.param, tmp_path_factory, name="clinic") as app:
        yield factories.new_clinic(app)


@pytest.fixture(scope="module", params=BACKENDS)
def desk(request, tmp_path_factory) -> factories.Desk:
    """One request at a reception desk, for a module's status and booking checks (each test sets the status it needs)."""
    with shared_app(request.param, tmp_path_factory, name="desk") as app:
        yield factories.new_desk(app)
