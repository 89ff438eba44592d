"""When the database or the outbox worker goes away: a kind 503 page, no half-stored request, no lost email."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path

import pytest
from sqlalchemy import event, select

from tests.factories import Patient, outbox, valid_answers
from intake import create_app
from intake.journey.models import AssessmentRequest, Draft
from intake.journey.routes import SESSION_DRAFT
from intake.platform.extensions import db
from intake.mail.models import OutboxMessage
from tests.support.mail_server import Inbox, SMTPServer, free_port

PROJECT_ROOT = Path(__file__).resolve().parents[2]
UNAVAILABLE_HEADING = "Sorry, we can’t save or load requests right now"
NOT_SENT = "Your answers on this page were not sent."
PATIENT_DETAILS = ("Ada", "Lovelace", "ada@example.com", "07400")


@contextmanager
def database_down(app, failing: Callable[[str], bool] = lambda statement: True) -> Iterator[None]:
    """Make the database drop the connection on every statement, or on those `failing` picks."""
    with app.app_context():
        engines = {db.engine}
    driver_error = next(iter(engines)).dialect.loaded_dbapi.OperationalError

    def drop_connection(connection, cursor, statement, parameters, context, executemany):
        if failing(statement):
            raise driver_error("server closed the connection unexpectedly")

    for engine in engines:
        event.listen(engine, "before_cursor_execute", drop_connection)
    try:
        yield
    finally:
        for engine in engines:
            event.remove(engine, "before_cursor_execute", drop_connection)


def inserting_into(table: str) -> Callable[[str], bool]:
    return lambda statement: statement.lstrip().upper().startswith(f"INSERT INTO {table.upper()}")


def every_row(app) -> dict[str, list[tuple]]:
    """Every row of every table, in primary-key order: what 'nothing changed' is checked against."""
    with app.app_context():
        return {
            table.name: [tuple(row) for row in db.session.execute(select(table).order_by(*table.primary_key.columns))]
            for table in db.metadata.sorted_tables
        }


def count(app, model) -> int:
    with app.app_context():
        return len(db.session.execute(select(model)).all())


def assert_unavailable_page(response, answers_not_sent: bool) -> None:
    """A plain-English 503 the patient can act on, with nothing of theirs or of the code in it."""
    page = response.get_data(as_text=True)
    assert response.status_code == 503, page
    assert int(response.headers["Retry-After"]) > 0
    assert UNAVAILABLE_HEADING in page
    assert "Please try again in a few minutes, or call the clinic on 020 7946 0000" in page
    assert (NOT_SENT in page) is answers_not_sent
    for leak in (*PATIENT_DETAILS, "Traceback", "OperationalError", "INSERT", "SELECT"):
        assert leak not in page, leak


def test_a_submit_that_loses_the_database_partway_stores_nothing_and_can_be_sent_again(make_app, caplog):
    # The engine would show SQL parameters, so only the 503 handler keeps patients' answers out of the log.
    app = make_app(SQLALCHEMY_ENGINE_OPTIONS={})
    patient = Patient(app.test_client())
    patient.answer_all()
    before = every_row(app)

    # The request row is inserted and the draft deleted before the outbox insert fails.
    with database_down(app, failing=inserting_into("outbox_messages")):
        response = patient.submit()

    assert_unavailable_page(response, answers_not_sent=True)
    assert every_row(app) == before
    assert count(app, AssessmentRequest) == 0 and count(app, OutboxMessage) == 0 and count(app, Draft) == 1
    assert "Database unavailable during POST /book/check: OperationalError" in caplog.text
    for leak in (*PATIENT_DETAILS, "INSERT INTO"):
        assert leak not in caplog.text, leak

    assert patient.submit().status_code == 303
    with app.app_context():
        stored = db.session.execute(select(AssessmentRequest)).scalar_one()
        assert (stored.first_name, stored.email) == ("Ada", "ada@example.com")
    assert count(app, OutboxMessage) == 2 and count(app, Draft) == 0


def test_while_the_database_is_down_patient_and_staff_pages_answer_503_and_health_says_so(app, patient, staff_client):
    reference = Patient(app.test_client()).complete()
    staff = staff_client("reception")
    patient.start()
    answer_token = patient.csrf_token("/book/about-you")
    note_token = staff.csrf_token(f"/staff/requests/{reference}")
    before = every_row(app)

    with database_down(app):
        answer = patient.client.post("/book/about-you", data={**valid_answers()["about-you"], "csrf_token": answer_token})
        staff_pages = [staff.client.get("/staff/"), staff.client.get(f"/staff/requests/{reference}")]
        note = staff.client.post(f"/staff/requests/{reference}/notes", data={"body": "Called back", "csrf_token": note_token})
        health = app.test_client().get("/healthz")

    assert_unavailable_page(answer, answers_not_sent=True)
    for page in staff_pages:
        assert_unavailable_page(page, answers_not_sent=False)
    assert_unavailable_page(note, answers_not_sent=True)
    assert health.status_code == 503 and health.get_json() == {"status": "unavailable", "database": "unavailable"}
    assert every_row(app) == before

    assert patient.answer("about-you", valid_answers()["about-you"]).status_code == 303
    assert staff.client.get("/staff/").status_code == 200
    assert app.test_client().get("/healthz").status_code == 200


def test_a_timed_out_form_while_the_database_is_down_gets_503_not_500(app, patient):
    """The patient's form token has expired and the page that would say so cannot load the draft."""
    app.config["PROPAGATE_EXCEPTIONS"] = False  # as in production: an error in an error page is handled
    patient.start()
    with database_down(app):
        response = patient.client.post("/book/about-you", data={**valid_answers()["about-you"], "csrf_token": "expired"})
    assert_unavailable_page(response, answers_not_sent=True)


def test_a_database_server_that_refuses_connections_gets_503_not_500(tmp_path):
    app = create_app({
        "TESTING": True,
        "INSTANCE_PATH": tmp_path,
        "SECRET_KEY": "test-secret-key",
        "SQLALCHEMY_DATABASE_URI": f"postgresql+psycopg://postgres@127.0.0.1:{free_port()}/intake",
    })
    client = app.test_client()
    with client.session_transaction() as session:
        session[SESSION_DRAFT] = "a-draft-made-before-the-outage"
    assert_unavailable_page(client.get("/book/about-you"), answers_not_sent=False)
    token = Patient(client).csrf_token("/staff/login")
    sign_in = client.post("/staff/login", data={"email": "ada@clinic.example", "password": "x" * 20, "csrf_token": token})
    assert_unavailable_page(sign_in, answers_not_sent=True)
    assert client.get("/healthz").status_code == 503


def test_when_every_database_connection_is_busy_pages_answer_503_instead_of_waiting(make_app):
    app = make_app(SQLALCHEMY_ENGINE_OPTIONS={"pool_size": 1, "max_overflow": 0, "pool_timeout": 0.2})
    patient = Patient(app.test_client())
    patient.start()
    with app.app_context(), ExitStack() as busy:
        for engine in {db.engine}:
            busy.enter_context(engine.connect())
        started = time.monotonic()
        response = patient.client.get("/book/about-you")
        assert time.monotonic() - started < 5
    assert_unavailable_page(response, answers_not_sent=False)
    assert patient.client.get("/book/about-you").status_code == 200


# --- The outbox worker as a real process, killed while it is handing a message over -----------------

REQUESTS = 3
EMAILS_PER_REQUEST = 2  # the clinic's notification and the patient's acknowledgement


class StallingInbox(Inbox):
    """Takes the first message in, then holds back its '250 accepted' until released."""

    def __init__(self) -> None:
        super().__init__()
        self.first_message_arrived = threading.Event()
        self.release = threading.Event()

    async def handle_DATA(self, server, session, envelope):
        reply = await super().handle_DATA(server, session, envelope)
        if not self.first_message_arrived.is_set():
            self.first_message_arrived.set()
            while not self.release.is_set():
                await asyncio.sleep(0.05)
        return reply


def start_worker(database_url: str, smtp_port: int, log: Path) -> subprocess.Popen:
    """`flask outbox send --loop` in its own process, with a 2-second lease and 1-second polling."""
    environment = {
        **os.environ,
        "FLASK_APP": "wsgi.py",
        "DATABASE_URL": database_url,
        "SECRET_KEY": "test-secret-key",
        "MAIL_SERVER": "127.0.0.1",
        "MAIL_PORT": str(smtp_port),
        "MAIL_USE_TLS": "0",
        "MAIL_TIMEOUT_SECONDS": "60",
        "OUTBOX_LEASE_SECONDS": "2",
        "OUTBOX_POLL_SECONDS": "1",
        "OUTBOX_RETRY_BASE_SECONDS": "1",
    }
    command = [sys.executable, "-m", "flask", "outbox", "send", "--loop"]
    with log.open("w") as output:
        return subprocess.Popen(command, cwd=PROJECT_ROOT, env=environment, stdout=output, stderr=subprocess.STDOUT)


def wait_until(condition: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting until {what}"
        time.sleep(0.1)


@pytest.fixture
def stalling_smtp_server():
    server = SMTPServer()
    server.inbox = StallingInbox()
    server.start()
    yield server
    server.inbox.release.set()
    server.stop()


def test_a_worker_process_killed_mid_delivery_loses_nothing_and_resends_at_most_that_message(app, database_url, stalling_smtp_server, tmp_path):
    for _ in range(REQUESTS):
        Patient(app.test_client()).complete()
    inbox = stalling_smtp_server.inbox
    logs = [tmp_path / "first-worker.log", tmp_path / "second-worker.log"]
    workers = [start_worker(database_url, stalling_smtp_server.port, logs[0])]
    try:
        assert inbox.first_message_arrived.wait(timeout=60), logs[0].read_text()
        in_flight = inbox.message_ids()[0]
        with app.app_context():
            message = db.session.execute(select(OutboxMessage).where(OutboxMessage.message_id == in_flight)).scalar_one()
            assert message.status == "sending" and f":{workers[0].pid}:" in message.claimed_by
        workers[0].send_signal(signal.SIGKILL)
        assert workers[0].wait(timeout=10) == -signal.SIGKILL

        workers.append(start_worker(database_url, stalling_smtp_server.port, logs[1]))
        wait_until(lambda: {message.status for message in outbox(app)} == {"sent"}, timeout=60, what="every email is sent")
        workers[1].send_signal(signal.SIGTERM)
        assert workers[1].wait(timeout=10) == 0
    finally:
        for worker in workers:
            if worker.poll() is None:
                worker.kill()
                worker.wait()

    stored = {message.message_id for message in outbox(app)}
    delivered = Counter(inbox.message_ids())
    assert len(stored) == REQUESTS * EMAILS_PER_REQUEST
    assert set(delivered) == stored, "an email was lost"
    duplicated = {message_id: times for message_id, times in delivered.items() if times > 1}
    assert duplicated in ({}, {in_flight: 2}), f"more than the in-flight email was sent twice: {duplicated}"
