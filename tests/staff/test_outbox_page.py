"""The back office's email problems page: failed and dead emails with their last error, and retrying them."""

from __future__ import annotations

import re
from urllib.parse import urlsplit

from sqlalchemy import select

from intake.mail.models import OutboxMessage
from intake.mail.outbox import wait_for_background_sends
from intake.platform.extensions import db
from intake.platform.timeutil import utcnow
from tests.factories import give_up_on_an_email, new_request, new_staff, sign_in
from tests.support.back_office import audit_events, request_id
from tests.support.mail_server import SMTPServer


# --- 9. the outbox page -------------------------------------------------------------------

def test_the_outbox_page_lists_failed_and_dead_emails_with_their_last_error(app, patient, staff_client):
    """Dead and retrying emails are listed with their error; sent and untried ones are not."""
    patient.complete()
    new_request(app, first="Grace", last="Hopper", email="grace@example.com")
    with app.app_context():
        messages = list(db.session.execute(select(OutboxMessage).order_by(OutboxMessage.id)).scalars())
        assert len(messages) == 4
        dead, retrying, sent, untried = messages
        dead.status, dead.attempts, dead.last_error = "dead", 8, "SMTPRecipientsRefused: 550 mailbox unavailable"
        retrying.status, retrying.attempts, retrying.last_error = "pending", 2, "SMTPServerDisconnected: 421 try later"
        sent.status, sent.attempts, sent.sent_at = "sent", 1, utcnow()
        ids = [message.id for message in messages]
        db.session.commit()
    reception = staff_client("reception")
    body = reception.client.get("/staff/outbox").get_data(as_text=True)
    shown = {int(message_id) for message_id in re.findall(r'action="/staff/outbox/(\d+)/retry"', body)}
    assert shown == {ids[0], ids[1]}
    assert "SMTPRecipientsRefused: 550 mailbox unavailable" in body and "Given up" in body
    assert "SMTPServerDisconnected: 421 try later" in body and "Waiting to retry" in body
    assert reception.post(f"/staff/outbox/{ids[2]}/retry", form_path="/staff/outbox").status_code == 409  # already sent
    with app.app_context():
        assert db.session.get(OutboxMessage, ids[2]).status == "sent"


def test_retry_now_puts_a_dead_email_back_in_the_queue_and_is_audited(app, patient, staff_client):
    """Retry now: pending, due now, attempts reset, audited."""
    reference = patient.complete()
    message_id = give_up_on_an_email(app, reference)
    reception = staff_client("reception")
    started = utcnow()
    response = reception.post(f"/staff/outbox/{message_id}/retry", form_path="/staff/outbox")
    assert response.status_code == 303 and urlsplit(response.headers["Location"]).path == "/staff/outbox"
    with app.app_context():
        message = db.session.get(OutboxMessage, message_id)
        assert (message.status, message.attempts) == ("pending", 0)
        assert started <= message.next_attempt_at <= utcnow()
        kind = message.kind
    [entry] = audit_events(app, "retry_email")
    assert entry["detail"] == {"message_id": message_id, "kind": kind}
    assert entry["request_id"] == request_id(app, reference)
    assert f"/staff/outbox/{message_id}/retry" not in reception.client.get("/staff/outbox").get_data(as_text=True)


def test_retry_now_delivers_the_email_once_the_mail_server_works(make_app):
    """With a working SMTP server the retried email is delivered straight away."""
    server = SMTPServer()
    server.start()
    try:
        app = make_app(MAIL_SERVER="127.0.0.1", MAIL_PORT=server.port, MAIL_USE_TLS=False)
        reference = new_request(app)
        message_id = give_up_on_an_email(app, reference)
        staff = sign_in(app, new_staff(app, "reception"))
        app.config["OUTBOX_SEND_AFTER_REQUEST"] = True
        assert staff.post(f"/staff/outbox/{message_id}/retry").status_code == 303
        wait_for_background_sends(app)
        with app.app_context():
            message = db.session.get(OutboxMessage, message_id)
            assert message.status == "sent", message.last_error
            wanted = message.message_id
        assert server.inbox.message_ids() == [wanted]
    finally:
        server.stop()
