"""Email through Resend's API, driven through Resend's own Python client against a local server on
127.0.0.1 that answers as Resend does, idempotency keys included: each email goes exactly once,
even when a worker dies after handing it over or an answer is lost on the way back."""

from __future__ import annotations

import base64
import logging
import time
from datetime import timedelta

import pytest

from intake.mail.delivery import RetryPolicy, claim_messages, email_of
from intake.mail.transport import MailConfigurationError, ResendTransport, transport_from_config
from intake.platform.extensions import db
from intake.platform.timeutil import utcnow
from tests.factories import (
    a_working_day_ahead, book_appointment, free_slot, new_practitioner, new_request, new_staff, outbox, queue_plain_emails,
)
from tests.support.database import new_app
from tests.support.email_provider import (
    RESEND_API_KEY, RESEND_INVALID_ADDRESS, RESEND_OUTAGE, RESEND_RATE_LIMIT, ResendServer,
)
from tests.support.mail_server import free_port
from tests.support.workers import race_outbox_workers

LOST_ANSWER_SECONDS = 1.5


@pytest.fixture
def resend_server():
    server = ResendServer()
    yield server
    server.stop()


def resend_settings(base_url: str, **overrides) -> dict:
    return {"MAIL_PROVIDER": "resend", "RESEND_API_KEY": RESEND_API_KEY, "RESEND_BASE_URL": base_url,
            "MAIL_TIMEOUT": 2, "OUTBOX_RETRY_BASE_SECONDS": 0, "MAIL_REPLY_TO": "reception@clinic.example", **overrides}


def send_everything(app) -> None:
    result = app.test_cli_runner().invoke(args=["outbox", "send"])
    assert result.exit_code == 0, result.output


def test_a_request_emails_the_clinic_and_the_patient_through_resend_each_keyed_by_its_message_id(make_app, resend_server):
    app = make_app(**resend_settings(resend_server.base_url))
    new_request(app, email="ada@example.com")
    send_everything(app)
    assert resend_server.refused == []  # the key went as Resend requires it
    sent = {received.fields["to"][0]: received.fields for received in resend_server.received}
    patient = sent["ada@example.com"]
    assert patient["from"] == app.config["MAIL_DEFAULT_SENDER"]
    assert patient["reply_to"] == "reception@clinic.example"
    assert patient["subject"] and patient["text"] and patient["html"].startswith("<")
    messages = {message.recipient: message for message in outbox(app)}
    assert set(messages) == set(sent)
    for recipient, message in messages.items():
        assert (message.status, message.attempts) == ("sent", 1)
        assert message.provider_id and message.provider_id == resend_server.kept[message.message_id][1]["id"]
        assert sent[recipient]["text"] == message.text_body and sent[recipient]["html"] == message.html_body
    assert sorted(resend_server.delivered) == sorted(message.message_id for message in messages.values())
    send_everything(app)
    assert len(resend_server.received) == 2  # never sent again


def test_a_booking_confirmation_carries_its_calendar_invite(make_app, resend_server):
    app = make_app(**resend_settings(resend_server.base_url))
    reference = new_request(app, email="ada@example.com")
    new_practitioner(app)
    new_staff(app, email="desk@clinic.example")
    book_appointment(app, reference, "desk@clinic.example", free_slot(app, day=a_working_day_ahead()))
    send_everything(app)
    [confirmation] = [message for message in outbox(app) if message.attachment_name]
    [sent] = [received.fields for received in resend_server.received if received.fields.get("attachments")]
    [attachment] = sent["attachments"]
    assert (attachment["filename"], attachment["content_type"]) == ("assessment.ics", "text/calendar")
    assert base64.b64decode(attachment["content"]).decode("utf-8") == confirmation.attachment_body
    assert "BEGIN:VEVENT" in confirmation.attachment_body


def test_an_email_taken_over_from_a_worker_that_died_after_handing_it_over_is_not_sent_twice(make_app, resend_server, caplog):
    """The worker handed the email to Resend and died before recording it; the worker taking over
    sends it again with the same key, and Resend answers with the first send's id, sending nothing."""
    app = make_app(**resend_settings(resend_server.base_url), OUTBOX_LEASE_SECONDS=60)
    new_request(app)
    with app.app_context():
        policy = RetryPolicy.from_config(app.config)
        claimed = claim_messages("crashed-worker", utcnow(), policy, limit=10).messages
        transport = transport_from_config(app.config)
        with transport.session() as send:
            handed_over = send(email_of(claimed[0], app.config["MAIL_DEFAULT_SENDER"], app.config["MAIL_REPLY_TO"]))
        for message in claimed:
            message.claimed_at = utcnow() - timedelta(seconds=61)
        db.session.commit()
        first_id = claimed[0].id
    with caplog.at_level(logging.WARNING, logger="intake.mail.delivery"):
        send_everything(app)
    assert not any("may arrive twice" in record.getMessage() for record in caplog.records)  # Resend can tell a repeat
    assert len(resend_server.delivered) == 2  # two emails, each once
    assert resend_server.repeats == [next(m.message_id for m in outbox(app) if m.id == first_id)]
    messages = {message.id: message for message in outbox(app)}
    assert {message.status for message in messages.values()} == {"sent"}
    assert messages[first_id].provider_id == handed_over


class SlowResend(ResendServer):
    """Takes the email, then answers too late for the client: the answer is lost on the way back."""

    slow = True

    def answer(self, path, headers, raw):
        answered = super().answer(path, headers, raw)
        if self.slow:
            time.sleep(LOST_ANSWER_SECONDS)
        return answered


def test_an_email_whose_answer_was_lost_is_tried_again_and_arrives_once(make_app):
    server = SlowResend()
    try:
        app = make_app(**resend_settings(server.base_url, MAIL_TIMEOUT=0.5))
        new_request(app)
        send_everything(app)
        assert {message.status for message in outbox(app)} == {"pending"}
        assert all("HttpClientError" in message.last_error for message in outbox(app))
        server.slow = False
        send_everything(app)
        assert {message.status for message in outbox(app)} == {"sent"}
        assert len(server.delivered) == 2 and len(set(server.delivered)) == 2
        assert len(server.repeats) == 2  # both were taken the first time: the repeats sent nothing
    finally:
        server.stop()


@pytest.mark.parametrize("answer", [RESEND_RATE_LIMIT, RESEND_OUTAGE], ids=["rate limit", "outage"])
def test_rate_limits_and_outages_are_retried_then_sent_once(make_app, resend_server, answer):
    resend_server.answers.extend([answer, answer])
    app = make_app(**resend_settings(resend_server.base_url))
    new_request(app)
    send_everything(app)
    assert {message.status for message in outbox(app)} == {"pending"}
    assert all(f"EmailRefused: {answer.status} {answer.body['name']}" in message.last_error for message in outbox(app))
    send_everything(app)
    assert {message.status for message in outbox(app)} == {"sent"}
    assert len(resend_server.delivered) == 2 and resend_server.repeats == []


def test_an_address_resend_refuses_ends_dead_with_resends_reason(make_app, resend_server):
    resend_server.answers.extend([RESEND_INVALID_ADDRESS] * 6)
    app = make_app(**resend_settings(resend_server.base_url), OUTBOX_MAX_ATTEMPTS=3)
    new_request(app)
    for _ in range(4):
        send_everything(app)
    for message in outbox(app):
        assert (message.status, message.attempts) == ("dead", 3)
        assert "422 validation_error: Invalid `to` field" in message.last_error


def test_a_wrong_key_is_refused_and_the_emails_wait(make_app, resend_server):
    app = make_app(**resend_settings(resend_server.base_url, RESEND_API_KEY="re_not_the_clinics_key"))
    new_request(app)
    send_everything(app)
    assert resend_server.delivered == [] and resend_server.refused
    assert all(message.status == "pending" and "403 invalid_api_key" in message.last_error for message in outbox(app))


def test_with_resend_unreachable_nothing_is_lost(make_app):
    app = make_app(**resend_settings(f"http://127.0.0.1:{free_port()}"))
    new_request(app)
    send_everything(app)
    assert [message.status for message in outbox(app)] == ["pending", "pending"]


def test_two_workers_at_once_send_each_email_once(make_app, resend_server):
    app = make_app(**resend_settings(resend_server.base_url))
    queue_plain_emails(app, 20)
    assert race_outbox_workers(app, workers=2, limit=5) == []
    assert len(resend_server.delivered) == 20 == len(set(resend_server.delivered))
    assert {message.status for message in outbox(app)} == {"sent"}


@pytest.mark.parametrize(("settings", "complaint"), [
    ({"MAIL_PROVIDER": "resend", "RESEND_API_KEY": ""}, "MAIL_PROVIDER is resend, but RESEND_API_KEY is not set."),
    ({"MAIL_PROVIDER": "sendmail"}, "MAIL_PROVIDER is 'sendmail'; it must be one of file, smtp, resend."),
    ({"MAIL_PROVIDER": "smtp", "MAIL_SERVER": ""}, "MAIL_PROVIDER is smtp, but MAIL_SERVER is not set."),
    ({"MAIL_PROVIDER": "resend", "RESEND_API_KEY": RESEND_API_KEY, "OUTBOX_MAX_ATTEMPTS": 8, "OUTBOX_RETRY_MAX_SECONDS": 4 * 3600,
      "OUTBOX_LEASE_SECONDS": 300},
     "With MAIL_PROVIDER=resend, an email's attempts must fit in Resend's 24 hours: "
     "OUTBOX_MAX_ATTEMPTS, OUTBOX_RETRY_MAX_SECONDS and OUTBOX_LEASE_SECONDS allow 29 hours."),
])
def test_the_app_refuses_to_start_with_a_mail_provider_it_cannot_use(tmp_path, settings, complaint):
    with pytest.raises(MailConfigurationError) as refused:
        new_app("sqlite://", tmp_path / "instance", **settings)
    assert str(refused.value) == complaint


def test_resend_is_chosen_by_its_setting_and_smtp_or_files_without_it(tmp_path):
    config = {"MAIL_PROVIDER": "", "MAIL_SERVER": "", "MAIL_FILE_DIR": str(tmp_path), "MAIL_TIMEOUT": 10,
              "OUTBOX_MAX_ATTEMPTS": 8, "OUTBOX_RETRY_MAX_SECONDS": 3600, "OUTBOX_LEASE_SECONDS": 300,
              "RESEND_API_KEY": RESEND_API_KEY, "RESEND_BASE_URL": "https://api.resend.com"}
    assert type(transport_from_config(config)).__name__ == "FileTransport"
    assert type(transport_from_config({**config, "MAIL_SERVER": "smtp.clinic.example", "MAIL_PORT": 587, "MAIL_USE_TLS": True,
                                       "MAIL_USE_SSL": False, "MAIL_USERNAME": "", "MAIL_PASSWORD": "",
                                       "MAIL_CA_FILE": ""})).__name__ == "SMTPTransport"
    chosen = transport_from_config({**config, "MAIL_PROVIDER": "Resend"})
    assert chosen == ResendTransport(RESEND_API_KEY, "https://api.resend.com", 10.0) and chosen.repeats_are_harmless
