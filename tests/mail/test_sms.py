"""Texts through GOV.UK Notify and Twilio, each driven through its real client library against a
local server on 127.0.0.1 that answers as the provider's API does; and the file backend."""

from __future__ import annotations

import logging
import time
from datetime import timedelta

import pytest

from intake import create_app
from intake.mail.models import OutboxMessage
from intake.mail.outbox import send_due_messages
from intake.mail.services import failing_messages, retry_message
from intake.mail.sms import SmsConfigurationError, sms_transport_from_config, without_numbers
from intake.platform.extensions import db
from intake.platform.timeutil import utcnow
from tests.factories import MOBILE, TEXT_BODY, outbox_message, queue_a_text
from tests.support.mail_server import SilentServer, free_port
from tests.support.sms_providers import (
    NOTIFY_API_KEY, NOTIFY_DAILY_LIMIT, NOTIFY_INVALID_NUMBER, NOTIFY_OUTAGE, NOTIFY_RATE_LIMIT, NOTIFY_TEMPLATE_ID,
    TWILIO_ACCOUNT_SID, TWILIO_AUTH_TOKEN, TWILIO_FROM_NUMBER, TWILIO_OUTAGE, TWILIO_RATE_LIMIT,
    NotifyServer, TwilioServer, twilio_invalid_number,
)


def notify_settings(base_url: str) -> dict:
    return {"SMS_PROVIDER": "notify", "NOTIFY_API_KEY": NOTIFY_API_KEY, "NOTIFY_SMS_TEMPLATE_ID": NOTIFY_TEMPLATE_ID,
            "NOTIFY_BASE_URL": base_url}


def twilio_settings(base_url: str) -> dict:
    return {"SMS_PROVIDER": "twilio", "TWILIO_ACCOUNT_SID": TWILIO_ACCOUNT_SID, "TWILIO_AUTH_TOKEN": TWILIO_AUTH_TOKEN,
            "TWILIO_FROM_NUMBER": TWILIO_FROM_NUMBER, "TWILIO_BASE_URL": base_url}


PROVIDERS = {
    "notify": (NotifyServer, notify_settings),
    "twilio": (TwilioServer, twilio_settings),
}
# Each provider's own answers: a number it refuses for good, a rate limit, an outage.
INVALID_NUMBER = {"notify": NOTIFY_INVALID_NUMBER, "twilio": twilio_invalid_number(MOBILE)}
TRY_AGAIN_LATER = {
    "notify": {"rate limit": NOTIFY_RATE_LIMIT, "daily limit": NOTIFY_DAILY_LIMIT, "outage": NOTIFY_OUTAGE},
    "twilio": {"rate limit": TWILIO_RATE_LIMIT, "outage": TWILIO_OUTAGE},
}
TRY_AGAIN_CASES = [(provider, case) for provider, cases in TRY_AGAIN_LATER.items() for case in cases]
OUTAGE_LOOKED_UP = {"notify": "500 Exception: Internal server error", "twilio": "503 code 20503: Service Unavailable"}


@pytest.fixture(params=list(PROVIDERS))
def provider(request):
    """The provider's name and its local API server."""
    server = PROVIDERS[request.param][0]()
    yield request.param, server
    server.stop()


@pytest.fixture
def provider_by_name(request):
    made = []

    def start(name: str):
        server = PROVIDERS[name][0]()
        made.append(server)
        return server

    yield start
    for server in made:
        server.stop()


def app_for(make_app, name: str, base_url: str, **overrides):
    return make_app(**PROVIDERS[name][1](base_url), OUTBOX_RETRY_BASE_SECONDS=0, **overrides)


def send_everything(app) -> None:
    result = app.test_cli_runner().invoke(args=["outbox", "send"])
    assert result.exit_code == 0, result.output


def test_a_text_goes_through_the_provider_with_its_number_and_body(make_app, provider):
    name, server = provider
    app = app_for(make_app, name, server.base_url)
    message_id = queue_a_text(app)
    send_everything(app)
    [received] = server.received
    if name == "notify":
        assert received.fields == {"phone_number": MOBILE, "template_id": NOTIFY_TEMPLATE_ID,
                                   "personalisation": {"body": TEXT_BODY}, "reference": outbox_message(app, message_id).message_id}
    else:
        assert received.path == f"/2010-04-01/Accounts/{TWILIO_ACCOUNT_SID}/Messages.json"
        assert (received.fields["To"], received.fields["From"], received.fields["Body"]) == (MOBILE, TWILIO_FROM_NUMBER, TEXT_BODY)
    assert server.refused == []  # signed (Notify) or authenticated (Twilio) as the real API requires
    assert server.looked_up == []  # a fresh text is sent without asking the provider first
    message = outbox_message(app, message_id)
    assert (message.status, message.attempts, message.last_error) == ("sent", 1, None)
    assert message.provider_id and message.sent_at is not None
    send_everything(app)
    assert len(server.received) == 1  # never sent twice


def test_a_number_the_provider_refuses_is_given_up_at_once_with_its_error(make_app, provider):
    name, server = provider
    server.answers.append(INVALID_NUMBER[name])
    app = app_for(make_app, name, server.base_url)
    message_id = queue_a_text(app)
    send_everything(app)
    send_everything(app)
    message = outbox_message(app, message_id)
    assert (message.status, message.attempts) == ("dead", 1)
    assert message.last_error.startswith("PermanentSmsError: 400")
    assert ("ValidationError: phone_number Not a UK mobile number" if name == "notify" else "code 21211") in message.last_error
    assert "7400" not in message.last_error  # Twilio's answer repeats the number; the stored error does not
    assert len(server.received) == 1


@pytest.mark.parametrize(("name", "case"), TRY_AGAIN_CASES)
def test_rate_limits_and_outages_are_retried_with_backoff_then_sent(make_app, provider_by_name, name, case):
    server = provider_by_name(name)
    server.answers.append(TRY_AGAIN_LATER[name][case])
    app = make_app(**PROVIDERS[name][1](server.base_url), OUTBOX_RETRY_BASE_SECONDS=60)
    message_id = queue_a_text(app)
    before = utcnow()
    send_everything(app)
    waiting = outbox_message(app, message_id)
    assert (waiting.status, waiting.attempts) == ("pending", 1)
    assert waiting.last_error.startswith("TemporarySmsError: ")
    assert before + timedelta(seconds=30) <= waiting.next_attempt_at <= utcnow() + timedelta(seconds=60)
    send_everything(app)
    assert len(server.received) == 1  # not before its backoff is over
    with app.app_context():
        assert send_due_messages(app.config, due_by=waiting.next_attempt_at).sent == [message_id]
    assert outbox_message(app, message_id).status == "sent"
    assert len(server.received) == 2


def test_a_provider_that_is_down_means_the_texts_wait(make_app, provider):
    name, server = provider
    app = app_for(make_app, name, f"http://127.0.0.1:{free_port()}", SMS_TIMEOUT_SECONDS=2)
    message_ids = [queue_a_text(app) for _ in range(3)]
    send_everything(app)
    # The first was handed over and got no answer, so it may be with the provider: it stays
    # "sending" (held by no worker) to be asked about first; the others were never tried.
    for message_id, status in zip(message_ids, ["sending", "pending", "pending"]):
        waiting = outbox_message(app, message_id)
        assert (waiting.status, waiting.attempts, waiting.claimed_by) == (status, 1, None)
        assert waiting.last_error.startswith("ProviderUnreachable: no answer from ")
    app.config.update(PROVIDERS[name][1](server.base_url))
    send_everything(app)
    assert [outbox_message(app, message_id).status for message_id in message_ids] == ["sent"] * 3
    assert len(server.received) == 3 and len(server.looked_up) == 1


def test_a_provider_that_never_answers_holds_up_the_batch_for_one_timeout_only(make_app, provider):
    name, _ = provider
    silent = SilentServer()
    try:
        app = app_for(make_app, name, f"http://127.0.0.1:{silent.port}", SMS_TIMEOUT_SECONDS=1)
        message_ids = [queue_a_text(app) for _ in range(4)]
        started = time.monotonic()
        send_everything(app)
        assert time.monotonic() - started < 3
        # The first may have reached the provider before its answer was lost: asked about first, next time.
        assert [outbox_message(app, message_id).status for message_id in message_ids] == ["sending"] + ["pending"] * 3
    finally:
        silent.close()


WRONG_CREDENTIALS = {
    "notify": {"NOTIFY_API_KEY": NOTIFY_API_KEY[:-36] + "00000000-0000-4000-8000-000000000000"},
    "twilio": {"TWILIO_AUTH_TOKEN": "not-the-token"},
}


def test_a_text_the_provider_took_without_answering_is_not_sent_again(make_app, provider):
    """A send that times out may still have reached the provider: before trying again the
    worker asks, and records the text the provider has instead of sending it twice."""
    name, server = provider
    silent = SilentServer()
    try:
        app = app_for(make_app, name, f"http://127.0.0.1:{silent.port}", SMS_TIMEOUT_SECONDS=1)
        message_id = queue_a_text(app)
        send_everything(app)
    finally:
        silent.close()
    waiting = outbox_message(app, message_id)
    assert waiting.status == "sending"
    # What the silent provider may have done with it: taken it.
    app.config.update(PROVIDERS[name][1](server.base_url))
    sms_transport_from_config(app.config).send(waiting.recipient, waiting.text_body, waiting.message_id)
    send_everything(app)
    assert outbox_message(app, message_id).status == "sent"
    assert len(server.received) == 1 and len(server.looked_up) == 1


def test_a_wrong_key_is_retried_until_the_clinic_fixes_it_not_given_up_at_once(make_app, provider):
    name, server = provider
    app = app_for(make_app, name, server.base_url)
    app.config.update(WRONG_CREDENTIALS[name])
    message_id = queue_a_text(app)
    send_everything(app)
    waiting = outbox_message(app, message_id)
    assert (waiting.status, waiting.attempts) == ("pending", 1) and waiting.last_error.startswith(f"TemporarySmsError: {401 if name == 'twilio' else 403}")
    assert len(server.refused) == 1 and server.received == []
    app.config.update(PROVIDERS[name][1](server.base_url))
    send_everything(app)
    assert outbox_message(app, message_id).status == "sent"


def test_a_text_that_keeps_failing_ends_dead_after_the_last_attempt(make_app, provider):
    name, server = provider
    server.answers.extend([TRY_AGAIN_LATER[name]["outage"]] * 3)
    app = app_for(make_app, name, server.base_url, OUTBOX_MAX_ATTEMPTS=3)
    message_id = queue_a_text(app)
    for _ in range(4):
        send_everything(app)
    message = outbox_message(app, message_id)
    assert (message.status, message.attempts) == ("dead", 3)
    assert len(server.received) == 3


def test_no_log_holds_the_body_or_the_number(make_app, provider, caplog):
    name, server = provider
    server.answers.extend([INVALID_NUMBER[name], TRY_AGAIN_LATER[name]["rate limit"]])
    app = app_for(make_app, name, server.base_url)
    caplog.set_level(logging.DEBUG)
    for _ in range(3):
        queue_a_text(app)
    send_everything(app)
    send_everything(app)
    logged = caplog.text + "".join(str(record.args) for record in caplog.records)
    assert "Text 1 is dead" in logged and "Text 2 failed" in logged and "Text 3 sent" in logged
    for private in ("Zyxtext", "7400123456", "7400 123456"):
        assert private not in logged, private


def test_without_a_provider_texts_are_written_as_files_under_instance_sms(make_app, tmp_path):
    app = make_app()
    assert app.config["SMS_PROVIDER"] == "file"
    assert app.config["SMS_FILE_DIR"] == str(tmp_path / "instance" / "sms")
    message_id = queue_a_text(app)
    send_everything(app)
    [written] = list((tmp_path / "instance" / "sms").iterdir())
    message = outbox_message(app, message_id)
    assert written.name == f"{message.message_id}.txt"
    assert written.read_text(encoding="utf-8") == f"To: {MOBILE}\nReference: {message.message_id}\n\n{TEXT_BODY}\n"
    assert message.status == "sent" and message.provider_id.startswith("file-")


@pytest.mark.parametrize(("settings", "complaint"), [
    ({"SMS_PROVIDER": "pigeon"}, "SMS_PROVIDER is 'pigeon'; it must be one of file, notify, twilio."),
    ({"SMS_PROVIDER": "notify"}, "SMS_PROVIDER is notify, but NOTIFY_API_KEY, NOTIFY_SMS_TEMPLATE_ID are not set."),
    ({**notify_settings("https://notify.example"), "NOTIFY_API_KEY": "short"}, "NOTIFY_API_KEY is not a whole Notify API key"),
    ({**twilio_settings("https://api.twilio.com"), "TWILIO_FROM_NUMBER": " "}, "SMS_PROVIDER is twilio, but TWILIO_FROM_NUMBER is not set."),
], ids=["unknown", "notify-missing", "notify-bad-key", "twilio-missing"])
def test_the_app_refuses_to_start_with_a_provider_setting_missing(tmp_path, settings, complaint):
    with pytest.raises(SmsConfigurationError) as refused:
        create_app({"TESTING": True, "INSTANCE_PATH": str(tmp_path), "SQLALCHEMY_DATABASE_URI": "sqlite://", **settings})
    assert complaint in str(refused.value)


@pytest.mark.parametrize(("environment", "settings", "level", "notice"), [
    ("development", {}, logging.WARNING, "SMS_PROVIDER is file: texts are not sent to anyone: they are written as files to {folder}"),
    ("production", {}, logging.WARNING, "SMS_PROVIDER is file: texts are not sent to anyone: they are written as files to {folder}"),
    ("development", notify_settings("https://api.notifications.service.gov.uk"), logging.INFO,
     "SMS_PROVIDER is notify: texts are sent through GOV.UK Notify at https://api.notifications.service.gov.uk"),
    ("production", twilio_settings("https://api.twilio.com"), logging.WARNING,
     "SMS_PROVIDER is twilio: texts are sent through Twilio at https://api.twilio.com"),
], ids=["file", "file-production", "notify", "twilio-production"])
def test_start_up_says_where_texts_go(make_app, tmp_path, caplog, environment, settings, level, notice):
    folder = tmp_path / "texts"
    with caplog.at_level(logging.INFO, logger="intake.mail.sms"):
        make_app(ENVIRONMENT=environment, SMS_FILE_DIR=str(folder), DEBUG=False, SECRET_KEY="x" * 40,
                 SECRET_KEY_FROM_ENVIRONMENT=True, SINGLE_PROCESS=True, **settings)
    notices = [(record.levelno, record.getMessage()) for record in caplog.records if record.name == "intake.mail.sms"]
    assert notices == [(level, notice.format(folder=folder.resolve()))]


def test_phone_numbers_are_kept_out_of_error_texts():
    assert without_numbers("The 'To' number +44 7400 123456 is not valid (code 21211)") == "The 'To' number [number] is not valid (code 21211)"


def a_worker_dies_mid_send(app, message_id: int, *, handed_over: bool = True) -> str | None:
    """Claim the text as a worker does, hand it to the provider (unless told not), and die before
    recording it: the claim is left `sending` and older than the lease. Return the provider's id."""
    with app.app_context():
        message = db.session.get(OutboxMessage, message_id)
        provider_id = sms_transport_from_config(app.config).send(message.recipient, message.text_body, message.message_id) if handed_over else None
        message.status, message.claimed_by, message.attempts = "sending", "dead-worker", message.attempts + 1
        message.claimed_at = utcnow() - timedelta(seconds=app.config["OUTBOX_LEASE_SECONDS"] + 1)
        db.session.commit()
        return provider_id


def test_a_text_handed_over_by_a_worker_that_died_is_recorded_as_sent_not_sent_again(make_app, provider):
    name, server = provider
    app = app_for(make_app, name, server.base_url)
    message_id = queue_a_text(app)
    provider_id = a_worker_dies_mid_send(app, message_id)
    send_everything(app)
    message = outbox_message(app, message_id)
    assert (message.status, message.provider_id, message.last_error) == ("sent", provider_id, None)
    assert len(server.received) == 1
    [asked] = server.looked_up
    if name == "notify":
        assert asked == {"template_type": "sms", "reference": message.message_id}
    else:
        assert (asked["To"], asked["From"], asked["DateSent>"]) == (MOBILE, TWILIO_FROM_NUMBER, f"{message.created_at:%Y-%m-%d}T00:00:00Z")


def test_a_text_written_to_a_file_by_a_worker_that_died_is_not_written_again(make_app, tmp_path):
    app = make_app()
    message_id = queue_a_text(app)
    provider_id = a_worker_dies_mid_send(app, message_id)
    [written] = list((tmp_path / "instance" / "sms").iterdir())
    written.write_text("as the worker left it", encoding="utf-8")
    send_everything(app)
    message = outbox_message(app, message_id)
    assert (message.status, message.provider_id) == ("sent", provider_id)
    assert written.read_text(encoding="utf-8") == "as the worker left it"


def test_a_text_whose_worker_died_before_handing_it_over_is_sent_after_asking(make_app, provider):
    name, server = provider
    app = app_for(make_app, name, server.base_url)
    message_id = queue_a_text(app)
    a_worker_dies_mid_send(app, message_id, handed_over=False)
    send_everything(app)
    assert outbox_message(app, message_id).status == "sent"
    assert len(server.looked_up) == 1 and len(server.received) == 1


def test_twilio_counts_only_a_message_with_this_very_body_on_any_page(make_app, provider_by_name):
    server = provider_by_name("twilio")
    server.page_size = 1
    app = app_for(make_app, "twilio", server.base_url)
    handed_over = queue_a_text(app, body="Your appointment is at 9:30.")
    a_worker_dies_mid_send(app, handed_over)
    never_handed_over = queue_a_text(app, body="Your appointment is at 10:00.")
    a_worker_dies_mid_send(app, never_handed_over, handed_over=False)
    with app.app_context():  # a later text to the same number, listed first
        sms_transport_from_config(app.config).send(MOBILE, "Your physio has changed.", "another")
    send_everything(app)
    assert [received.fields["Body"] for received in server.received] == [
        "Your appointment is at 9:30.", "Your physio has changed.", "Your appointment is at 10:00."]
    assert [asked.get("Page", "0") for asked in server.looked_up] == ["0", "1", "0", "1"]  # each looked through both pages
    assert {outbox_message(app, message_id).status for message_id in (handed_over, never_handed_over)} == {"sent"}


@pytest.mark.parametrize("trouble", ["no answer", "outage"])
def test_a_text_whose_provider_cannot_be_asked_waits_and_is_asked_again_never_sent_blindly(make_app, provider, trouble):
    name, server = provider
    app = make_app(**PROVIDERS[name][1](server.base_url), OUTBOX_RETRY_BASE_SECONDS=60, SMS_TIMEOUT_SECONDS=2)
    message_id = queue_a_text(app)
    provider_id = a_worker_dies_mid_send(app, message_id)
    if trouble == "no answer":
        app.config.update(PROVIDERS[name][1](f"http://127.0.0.1:{free_port()}"))
    else:
        server.answers.append(TRY_AGAIN_LATER[name]["outage"])
    send_everything(app)
    waiting = outbox_message(app, message_id)
    assert (waiting.status, waiting.claimed_by, waiting.attempts) == ("sending", None, 2)
    if trouble == "no answer":
        assert waiting.last_error.startswith("ProviderUnreachable: no answer from ")
    else:
        assert waiting.last_error == f"TemporarySmsError: {OUTAGE_LOOKED_UP[name]} (asking whether the text already went)"
    assert waiting.next_attempt_at > utcnow() + timedelta(seconds=20)
    assert len(server.received) == 1

    app.config.update(PROVIDERS[name][1](server.base_url))
    send_everything(app)
    assert outbox_message(app, message_id).status == "sending"  # not before its backoff
    with app.app_context():
        assert [message.id for message in failing_messages()] == [message_id]  # on the problems page meanwhile
        retry_message(db.session.get(OutboxMessage, message_id), utcnow(), app.config["OUTBOX_MAX_ATTEMPTS"])
        db.session.commit()
    send_everything(app)
    message = outbox_message(app, message_id)
    assert (message.status, message.provider_id) == ("sent", provider_id)
    assert len(server.received) == 1
