"""Queueing texts in the outbox: short and plain, to mobiles only (an email instead for a landline),
never sent before their time, and never twice, even with two workers at once."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from sqlalchemy.exc import IntegrityError

from intake.mail.models import OutboxMessage
from intake.mail.outbox import send_due_messages
from intake.mail.texts import EmailInstead, TextRefused, can_take_texts, queue_text, queue_text_or_email
from intake.platform.extensions import db
from intake.platform.timeutil import utcnow
from tests.factories import MOBILE, TEXT_BODY, give_up_on_a_text, outbox, outbox_message, queue_a_text
from tests.support.sms_providers import TwilioServer, TWILIO_ACCOUNT_SID, TWILIO_AUTH_TOKEN, TWILIO_FROM_NUMBER
from tests.support.workers import race_outbox_workers

LANDLINE = "+442079460000"
EMAIL = EmailInstead(recipient="ada@example.com", subject="Your appointment tomorrow",
                     text_body="Your appointment is tomorrow at 9:30.", html_body="<p>Your appointment is tomorrow at 9:30.</p>",
                     message_id_domain="clinic.example")


def send_everything(app) -> None:
    result = app.test_cli_runner().invoke(args=["outbox", "send"])
    assert result.exit_code == 0, result.output


@pytest.mark.parametrize(("number", "textable"), [
    (MOBILE, True), ("+447624123456", True),  # a UK mobile; an Isle of Man mobile
    ("+12025550123", True),  # North America: fixed line or mobile, so it may take texts
    (LANDLINE, False), ("+449098790000", False), ("+445601234567", False), ("+447000123456", False),  # premium, VoIP, personal
    ("+447700900123", False), ("07400123456", False), ("not a number", False),  # not valid, not E.164
])
def test_only_numbers_that_take_texts_are_textable(number, textable):
    assert can_take_texts(number) is textable


@pytest.mark.parametrize("body", [
    "a" * 307,  # three GSM segments
    "Your appointment is tomorrow ✔ " + "a" * 110,  # 141 UCS-2 units: three segments
    "", "   ", "Hello\x1b[31m", "Hello\tthere",
], ids=["gsm-too-long", "ucs2-too-long", "empty", "blank", "escape", "tab"])
def test_a_text_too_long_or_not_plain_is_refused_when_queued(app, body):
    with app.app_context(), pytest.raises(TextRefused):
        queue_text(MOBILE, body, "test_text", None, utcnow())
    with app.app_context(), pytest.raises(TextRefused):
        queue_text_or_email(LANDLINE, body, "test_text", None, utcnow(), EMAIL)
    assert outbox(app) == []


def test_two_full_segments_are_allowed(app):
    queue_a_text(app, body="a" * 306)
    queue_a_text(app, body="Line one\nLine two ✔" + "b" * 115)  # 134 UCS-2 units
    assert len(outbox(app)) == 2


@pytest.mark.parametrize("number", [LANDLINE, "07400123456", "+447700900123"])
def test_queue_text_refuses_a_number_that_cannot_take_texts(app, number):
    with app.app_context(), pytest.raises(TextRefused):
        queue_text(number, TEXT_BODY, "test_text", None, utcnow())


def test_a_landline_gets_the_email_instead_and_a_mobile_the_text(app, tmp_path):
    later = utcnow() + timedelta(hours=2)
    with app.app_context():
        assert queue_text_or_email(LANDLINE, TEXT_BODY, "reminder", None, later, EMAIL, key="7-2d")[0] == "email"
        assert queue_text_or_email(MOBILE, TEXT_BODY, "reminder", None, later, EMAIL, key="8-2d")[0] == "sms"
        db.session.commit()
    email, text = outbox(app)
    assert (email.channel, email.recipient, email.subject, email.text_body, email.html_body) == (
        "email", "ada@example.com", EMAIL.subject, EMAIL.text_body, EMAIL.html_body)
    assert email.message_id == "<reminder.7-2d@clinic.example>" and email.next_attempt_at == later
    assert (text.channel, text.recipient, text.text_body, text.subject, text.html_body) == ("sms", MOBILE, TEXT_BODY, "", "")
    assert text.next_attempt_at == later

    with app.app_context():
        send_due_messages(app.config, due_by=later)
    assert [path.suffix for path in (tmp_path / "instance" / "mail").iterdir()] == [".eml"]
    assert [path.suffix for path in (tmp_path / "instance" / "sms").iterdir()] == [".txt"]
    assert {message.status for message in outbox(app)} == {"sent"}


def test_nothing_is_sent_before_its_time(app, tmp_path):
    later = utcnow() + timedelta(hours=3)
    message_id = queue_a_text(app, not_before=later)
    send_everything(app)
    assert outbox_message(app, message_id).status == "pending"
    assert not (tmp_path / "instance" / "sms").exists()
    with app.app_context():
        assert send_due_messages(app.config, due_by=later - timedelta(seconds=1)).handled == 0
        assert send_due_messages(app.config, due_by=later).sent == [message_id]
    assert len(list((tmp_path / "instance" / "sms").iterdir())) == 1


def test_a_text_with_a_key_is_queued_once(app):
    queue_a_text(app, kind="reminder", key="appointment-7-morning")
    with pytest.raises(IntegrityError):
        queue_a_text(app, kind="reminder", key="appointment-7-morning")
    queue_a_text(app, kind="reminder", key="appointment-8-morning")
    assert len(outbox(app)) == 2


def test_the_database_refuses_a_text_to_anything_but_an_e164_number(app):
    with app.app_context():
        db.session.add(OutboxMessage(channel="sms", kind="test_text", recipient="07400123456", subject="", text_body="Hi",
                                     html_body="", message_id="sms.test_text.raw"))
        with pytest.raises(IntegrityError):
            db.session.commit()


def test_two_workers_at_once_send_each_text_exactly_once(make_app):
    """Through Twilio's client and a local Twilio API: 40 texts, two workers racing for them."""
    server = TwilioServer()
    try:
        app = make_app(SMS_PROVIDER="twilio", TWILIO_ACCOUNT_SID=TWILIO_ACCOUNT_SID, TWILIO_AUTH_TOKEN=TWILIO_AUTH_TOKEN,
                       TWILIO_FROM_NUMBER=TWILIO_FROM_NUMBER, TWILIO_BASE_URL=server.base_url)
        total = 40
        for number in range(total):
            queue_a_text(app, body=f"Text number {number}")
        assert race_outbox_workers(app, workers=2, limit=3) == []
        bodies = [received.fields["Body"] for received in server.received]
        assert sorted(bodies) == sorted(f"Text number {number}" for number in range(total))
        assert {message.status for message in outbox(app)} == {"sent"}
    finally:
        server.stop()


def test_the_problems_page_shows_a_failed_text_without_its_body(app, staff_client):
    message_id = give_up_on_a_text(app)
    page = staff_client("reception").client.get("/staff/outbox").get_data(as_text=True)
    [row] = re.findall(r"<tr>\s*<td>Text message</td>.*?</tr>", page, re.DOTALL)
    cells = re.findall(r"<td>([^<]*)</td>", row)
    assert cells[:6] == ["Text message", "Text", MOBILE, "Given up", "1", "PermanentSmsError: 400 code 21211: invalid &#39;To&#39; number"]
    assert f'action="/staff/outbox/{message_id}/retry"' in row
    assert "Zyxtext" not in page
