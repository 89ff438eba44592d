"""Health data and personal details never reach a log or an error page.

A marker string goes into every field a patient or a member of staff can fill in. The app is
then driven through success and through every kind of failure (bad answers, an expired form,
the honeypot, a body too large, rate limits, an unexpected error, a mail server that is down, a
failed sign-in, searches, notes and exports) while every log record at every level is captured.
No marker may appear in the logs, nor on any error page. Real servers (the development server
and gunicorn with gunicorn.conf.py) are run too, because their access logs see the query strings
that a staff search puts a patient's name in.
"""

from __future__ import annotations

import http.cookiejar
import logging
import re
import threading
import urllib.parse
import urllib.request

import pytest
from tests.factories import CSRF_PATTERN, STAFF_PASSWORD, Patient, Staff, new_staff, valid_answers
from tests.support.gunicorn import gunicorn_serving
from tests.support.mail_server import free_port

from intake.journey import routes as booking_routes
from intake.platform.logsafe import redacted_traceback
from intake.platform.security import HONEYPOT_FIELD


# One marker per field: each is a valid answer, so it is stored and shown where it belongs.
MARKERS = {
    "first_name": "Zyxmarkfirst",
    "last_name": "Zyxmarklast",
    "email": "zyx.markmail@example.com",
    "phone": "07400 913579",
    "postcode": "ZE2 9QX",
    "description": "Zyxmarkdesc sharp pain on the stairs",
    "goals": "Zyxmarkgoal hiking again",
    "note": "Zyxmarknote mornings only",
    "staff_note": "Zyxmarkstaffnote called back",
    "staff_search": "Zyxmarksearch",
}
# What the markers look like once cleaned or reformatted, searched for as well.
DERIVED = ["7400913579", "913579", "ZE29QX", "1961-07-03", "03/07/1961", "3 July 1961"]
SEARCH_TERMS = [*MARKERS.values(), *DERIVED, "Zyxmark", "zyx.markmail"]


def marked_answers() -> dict[str, dict]:
    answers = valid_answers()
    answers["about-you"].update({
        "first_name": MARKERS["first_name"],
        "last_name": MARKERS["last_name"],
        "email": MARKERS["email"],
        "phone": MARKERS["phone"],
        "postcode": MARKERS["postcode"],
        "date_of_birth-day": "3",
        "date_of_birth-month": "7",
        "date_of_birth-year": "1961",
    })
    answers["how-it-feels"].update({"description": MARKERS["description"], "goals": MARKERS["goals"]})
    answers["when-and-where"]["note"] = MARKERS["note"]
    return answers


def leaks(text: str) -> list[str]:
    """The markers (in any letter case) found in the text."""
    lowered = text.lower()
    return [term for term in SEARCH_TERMS if term.lower() in lowered]


def answer_everything(patient: Patient) -> None:
    patient.start()
    for slug, data in marked_answers().items():
        response = patient.answer(slug, data)
        assert response.status_code == 303, response.get_data(as_text=True)


@pytest.fixture
def everything_logged(caplog):
    """Capture every record of every logger, SQLAlchemy's statements included."""
    caplog.set_level(logging.DEBUG)
    logging.getLogger("sqlalchemy.engine").setLevel(logging.INFO)
    yield caplog
    logging.getLogger("sqlalchemy.engine").setLevel(logging.NOTSET)


def test_no_marker_reaches_the_logs_or_an_error_page(make_app, everything_logged, capfd, monkeypatch):
    closed_port = free_port()
    app = make_app(
        MAIL_SERVER="127.0.0.1",
        MAIL_PORT=closed_port,
        MAIL_USE_TLS=False,
        MAIL_TIMEOUT=1,
        OUTBOX_SEND_AFTER_REQUEST=True,
        OUTBOX_MAX_ATTEMPTS=2,
        OUTBOX_RETRY_BASE_SECONDS=0,
        SUBMIT_LIMIT_PER_ADDRESS="1 per hour",
        MAX_CONTENT_LENGTH=8 * 1024,
    )
    error_pages: dict[str, str] = {}

    # Bad answers: an invalid email beside marked names, then a postcode the form refuses.
    patient = Patient(app.test_client())
    patient.start()
    bad = {**marked_answers()["about-you"], "email": "zyx.markmail@@example", "postcode": "Zyxmark!!"}
    assert patient.answer("about-you", bad).status_code == 200

    # An expired form token, the honeypot, and a body over the size limit, all carrying markers.
    forged = patient.client.post("/book/about-you", data={**marked_answers()["about-you"], "csrf_token": "expired"})
    assert forged.status_code == 400
    robot = patient.answer("about-you", {**marked_answers()["about-you"], HONEYPOT_FIELD: MARKERS["description"]})
    error_pages["honeypot"] = robot.get_data(as_text=True)
    oversized = patient.answer("how-it-feels", {**marked_answers()["how-it-feels"], "description": MARKERS["description"] * 400})
    assert oversized.status_code == 413
    error_pages["413"] = oversized.get_data(as_text=True)

    # A complete request, sent while the mail server is down (background delivery fails and retries).
    answer_everything(patient)
    assert patient.submit().status_code == 303
    from intake.mail.outbox import wait_for_background_sends

    wait_for_background_sends(app)

    # A second request from the same address is over the limit.
    second = Patient(app.test_client())
    answer_everything(second)
    limited = second.submit()
    assert limited.status_code == 429
    error_pages["429"] = limited.get_data(as_text=True)

    # An unexpected error whose message repeats what the patient typed.
    def broken_summary(answers, config):
        raise ValueError(f"cannot show {answers['about_you']['last_name']} born {answers['about_you']['date_of_birth']}")

    monkeypatch.setattr(booking_routes, "summary_sections", broken_summary)
    crashed = second.client.get("/book/check")
    assert crashed.status_code == 500
    error_pages["500"] = crashed.get_data(as_text=True)
    monkeypatch.undo()

    # The worker gives up on the emails: dead-letter logs name the message, never the address.
    result = app.test_cli_runner().invoke(args=["outbox", "send"])
    assert result.exit_code == 0
    print(result.output)

    # The back office: a failed sign-in with a marked address, a search, a note, status, export.
    email = new_staff(app, "reception", email="reception.logs@clinic.example")
    stranger = Staff(app.test_client())
    stranger.client.post(
        "/staff/login", data={"email": MARKERS["email"], "password": MARKERS["staff_note"], "csrf_token": stranger.csrf_token()}
    )
    staff = Staff(app.test_client())
    assert staff.login(email).status_code == 303
    listing = staff.client.get("/staff/", query_string={"q": MARKERS["last_name"]}).get_data(as_text=True)
    reference = re.search(r"/staff/requests/([A-Z2-9]{8})", listing).group(1)
    staff.client.get("/staff/", query_string={"q": MARKERS["staff_search"], "from": MARKERS["staff_search"]})
    staff.client.get(f"/staff/requests/{reference}")
    staff.post(f"/staff/requests/{reference}/notes", {"body": MARKERS["staff_note"]}, form_path=f"/staff/requests/{reference}")
    staff.post(f"/staff/requests/{reference}/notes", {"body": ""}, form_path=f"/staff/requests/{reference}")
    staff.post(f"/staff/requests/{reference}/status", {"status": "booked"}, form_path=f"/staff/requests/{reference}")
    staff.client.get("/staff/export.csv")
    staff.client.get("/staff/outbox")
    missing = staff.client.get("/staff/requests/ZZZZZZZZ")
    error_pages["404"] = missing.get_data(as_text=True)

    # Positive control: the markers were really stored and shown to the people meant to see them.
    assert MARKERS["last_name"] in listing
    assert MARKERS["staff_note"] in staff.client.get(f"/staff/requests/{reference}").get_data(as_text=True)

    captured = capfd.readouterr()
    logs = "\n".join(record.getMessage() for record in everything_logged.records)
    assert "SQL parameters hidden" in logs, "SQLAlchemy's statement log was captured"
    assert "Unhandled error during GET /book/check" in logs and "ValueError (message withheld)" in logs
    assert "will retry" in logs and "is dead" in logs
    assert leaks(logs) == []
    assert leaks(captured.out + captured.err) == []
    assert {page: leaks(body) for page, body in error_pages.items()} == {page: [] for page in error_pages}


def test_a_redacted_traceback_keeps_the_place_and_kind_but_not_the_message():
    def parse(text: str) -> int:
        try:
            return int(text)
        except ValueError as error:
            raise LookupError(f"no patient called {text}") from error

    typed = MARKERS["last_name"]  # a variable, so the marker is not in the traceback's source lines
    with pytest.raises(LookupError) as raised:
        parse(typed)
    logged = redacted_traceback(raised.value)
    assert "in parse" in logged and "return int(text)" in logged
    assert "builtins.ValueError (message withheld)" in logged
    assert "builtins.LookupError (message withheld)" in logged
    assert leaks(logged) == []


class Browser:
    """A small HTTP client with cookies, for real servers: signs in and searches like reception."""

    def __init__(self, base: str) -> None:
        self.base = base
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()))

    def get(self, path: str, referer: str = "") -> str:
        request = urllib.request.Request(self.base + path, headers={"Referer": self.base + referer} if referer else {})
        with self.opener.open(request, timeout=10) as response:
            return response.read().decode()

    def sign_in(self, email: str) -> None:
        token = CSRF_PATTERN.search(self.get("/staff/login")).group(1)
        body = urllib.parse.urlencode({"email": email, "password": STAFF_PASSWORD, "csrf_token": token}).encode()
        with self.opener.open(self.base + "/staff/login", data=body, timeout=10) as response:
            assert response.url.endswith("/staff/"), response.url


def search_like_reception(base: str, email: str) -> None:
    """Search for a patient by name, then follow a link from the results (the Referer holds the search)."""
    browser = Browser(base)
    browser.sign_in(email)
    search = "/staff/?" + urllib.parse.urlencode({"q": MARKERS["last_name"], "status": "new"})
    assert "No requests" in browser.get(search) or "request" in browser.get(search)
    browser.get("/articles/", referer=search)


def test_the_development_server_logs_paths_without_query_strings(make_app, caplog):
    from werkzeug.serving import make_server

    caplog.set_level(logging.INFO)
    app = make_app()
    email = new_staff(app, "reception", email="reception.logs@clinic.example")
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        search_like_reception(f"http://127.0.0.1:{server.server_port}", email)
    finally:
        server.shutdown()
    access = [record.getMessage() for record in caplog.records if record.name == "werkzeug"]
    assert any('"GET /staff/ HTTP/1.1" 200' in line for line in access), access
    assert leaks("\n".join(access)) == []


def test_gunicorn_with_our_settings_logs_paths_without_query_strings_or_referrers(tmp_path, database_url, make_app):
    app = make_app()
    email = new_staff(app, "reception", email="reception.logs@clinic.example")
    log_file = tmp_path / "gunicorn.log"
    with gunicorn_serving(database_url, log_file, SECRET_KEY="gunicorn-log-test", MAIL_FILE_DIR=str(tmp_path / "mail")) as port:
        search_like_reception(f"http://127.0.0.1:{port}", email)
    logged = log_file.read_text()
    assert re.search(r'"GET /staff/ HTTP/1.1" 200 \d+ \d+ms', logged), logged
    assert "/articles/" in logged
    assert leaks(logged) == [], logged
