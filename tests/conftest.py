"""Fixtures in the flaskr style: an app on a fresh database, a client, a CLI runner, a patient."""

from __future__ import annotations

import os
import re
from datetime import date

import pytest
from sqlalchemy import text

from intake import create_app
from intake.journey.models import StatusCount
from intake.platform.extensions import db
from intake.platform.timeutil import today_in_london

# Browser fixtures (live_server, browser, page) are shared by every browser-test module.
pytest_plugins = ["browser_support"]

BACKENDS = ["sqlite"] + (["postgresql"] if os.environ.get("TEST_DATABASE_URL") else [])
CSRF_PATTERN = re.compile(r'name="csrf_token" value="([^"]+)"')
REFERENCE_PATTERN = re.compile(r"/book/confirmation/([A-Z2-9]{8})")


def reset_database() -> None:
    """Leave the database empty of our tables (and of Alembic's record)."""
    db.session.remove()
    db.drop_all()
    with db.engine.begin() as connection:
        connection.execute(text("DROP TABLE IF EXISTS alembic_version"))
        if db.engine.dialect.name == "postgresql":
            connection.execute(text("DROP FUNCTION IF EXISTS refuse_change() CASCADE"))


@pytest.fixture(params=BACKENDS)
def database_url(request, tmp_path) -> str:
    """Each database test runs on SQLite, and on PostgreSQL when TEST_DATABASE_URL is set."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'test.sqlite3'}"
    return os.environ["TEST_DATABASE_URL"]


@pytest.fixture
def make_app(database_url, tmp_path):
    """Build an app on the test database with settings overridden; tables are created empty."""
    created = []

    def build(**overrides):
        config = {
            "TESTING": True,
            "SQLALCHEMY_DATABASE_URI": database_url,
            "INSTANCE_PATH": tmp_path / "instance",
            "SECRET_KEY": "test-secret-key",
            "MAIL_SERVER": "",
            "OUTBOX_SEND_AFTER_REQUEST": False,
            **overrides,
        }
        app = create_app(config)
        with app.app_context():
            reset_database()
            db.create_all()
            StatusCount.create_rows()
            db.session.commit()
        created.append(app)
        return app

    yield build
    for app in created:
        with app.app_context():
            reset_database()
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


def valid_answers() -> dict[str, dict]:
    """A complete, routine set of answers, one dict per question page."""
    return {
        "about-you": {
            "first_name": "Ada",
            "last_name": "Lovelace",
            "date_of_birth-day": "10",
            "date_of_birth-month": "12",
            "date_of_birth-year": "1985",
            "email": "ada@example.com",
            "phone": "07400 123456",
            "contact_method": "phone",
            "postcode": "n1 9gu",
        },
        "where-it-hurts": {"region": "knee", "side": "left", "duration": "2_to_6_weeks", "onset": "gradual"},
        "how-it-feels": {
            "pain_now": "4",
            "pain_worst": "7",
            "sensations": ["stiffness", "swelling"],
            "description": "Aches after running.\nWorse on stairs.",
            "goals": "Running 10k again",
        },
        "nerve-symptoms": {code: "no" for code in ("saddle_numbness", "bladder_change", "bowel_change", "sexual_change", "leg_weakness")},
        "general-health": {
            code: "no"
            for code in (
                "cancer_history",
                "weight_loss",
                "fever_unwell",
                "weak_immunity",
                "injected_drugs",
                "major_trauma",
                "fragile_bones",
                "night_pain",
            )
        },
        "when-and-where": {
            "site": "riverside",
            "days": ["mon", "wed"],
            "times": ["morning"],
            "earliest_date-day": "",
            "earliest_date-month": "",
            "earliest_date-year": "",
            "note": "",
        },
    }


class Patient:
    """Drives the patient journey through the test client, with real CSRF tokens."""

    def __init__(self, client) -> None:
        self.client = client

    def csrf_token(self, path: str) -> str:
        page = self.client.get(path, follow_redirects=True)
        match = CSRF_PATTERN.search(page.get_data(as_text=True))
        assert match, f"no form on {path}"
        return match.group(1)

    def post(self, path: str, data: dict, form_path: str | None = None, **kwargs):
        token = self.csrf_token(form_path or path)
        return self.client.post(path, data={**data, "csrf_token": token}, **kwargs)

    def start(self):
        return self.post("/book/start", {}, form_path="/book/")

    def answer(self, slug: str, data: dict, **kwargs):
        return self.post(f"/book/{slug}", data, **kwargs)

    def answer_all(self, **changes: dict) -> None:
        """Start and answer every page that applies; `changes` overrides fields per page."""
        answers = valid_answers()
        for slug, fields in changes.items():
            answers[slug.replace("_", "-")].update(fields)
        self.start()
        for slug, data in answers.items():
            response = self.client.get(f"/book/{slug}")
            if response.status_code == 303:
                continue  # this page does not apply to these answers
            response = self.answer(slug, data)
            assert response.status_code == 303, response.get_data(as_text=True)

    def submit(self, consent: bool = True, marketing: bool = False):
        data = {}
        if consent:
            data["consent"] = "y"
        if marketing:
            data["marketing"] = "y"
        return self.post("/book/check", data)

    def complete(self, **changes: dict) -> str:
        """Answer everything, submit, and return the reference."""
        self.answer_all(**changes)
        response = self.submit()
        assert response.status_code == 303, response.get_data(as_text=True)
        match = REFERENCE_PATTERN.search(response.headers["Location"])
        assert match, response.headers["Location"]
        return match.group(1)


@pytest.fixture
def patient(client) -> Patient:
    return Patient(client)


def years_ago(years: int, days: int = 0) -> date:
    """A date of birth for someone of a given age (on the clinic's calendar, Europe/London)."""
    today = today_in_london()
    try:
        born = today.replace(year=today.year - years)
    except ValueError:
        born = today.replace(year=today.year - years, day=28)
    return born.fromordinal(born.toordinal() - days)


STAFF_PASSWORD = "a long test passphrase"


@pytest.fixture
def make_staff(app):
    """Create a staff account: make_staff("reception") -> the user's email."""
    from intake.staff import accounts as staff_accounts

    def create(role: str = "reception", email: str | None = None, name: str | None = None) -> str:
        email = email or f"{role}.{len(created)}@clinic.example"
        with app.app_context():
            staff_accounts.create_staff(email, name or f"Test {role.title()} {len(created)}", role, STAFF_PASSWORD)
            db.session.commit()
        created.append(email)
        return email

    created: list[str] = []
    return create


class Staff:
    """Drives the back office through a test client, with real CSRF tokens."""

    def __init__(self, client) -> None:
        self.client = client

    def csrf_token(self, path: str = "/staff/login") -> str:
        page = self.client.get(path, follow_redirects=True).get_data(as_text=True)
        match = CSRF_PATTERN.search(page)
        assert match, f"no form on {path}"
        return match.group(1)

    def login(self, email: str, password: str = STAFF_PASSWORD):
        return self.client.post("/staff/login", data={"email": email, "password": password, "csrf_token": self.csrf_token()})

    def post(self, path: str, data: dict | None = None, form_path: str = "/staff/"):
        return self.client.post(path, data={**(data or {}), "csrf_token": self.csrf_token(form_path)})


@pytest.fixture
def staff_client(app, make_staff):
    """Sign in a member of staff of the given role in a fresh client: staff_client("admin")."""

    def sign_in(role: str = "reception") -> Staff:
        staff = Staff(app.test_client())
        response = staff.login(make_staff(role))
        assert response.status_code == 303, response.get_data(as_text=True)
        return staff

    return sign_in
