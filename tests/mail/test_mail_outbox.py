"""Emails to the clinic and the patient, through the outbox, against real SMTP servers on 127.0.0.1."""

from __future__ import annotations

import logging
import time
from dataclasses import replace
from datetime import timedelta

import pytest
import trustme
from sqlalchemy import delete, func, update

from tests.factories import Patient, new_request, outbox, queue_plain_emails, update_request
from intake.clinic.sites import site_by_code
from intake.journey.models import AssessmentRequest
from intake.platform.extensions import db
from intake.mail.delivery import RetryPolicy, claim_messages
from intake.mail.models import OutboxMessage
from intake.mail.notifications import AppointmentDetails, MailSettings, RequestDetails, queue_appointment_email, queue_new_request_emails
from intake.staff.services import find_request
from intake.mail.outbox import send_due_messages, wait_for_background_sends
from intake.platform.timeutil import utcnow
from tests.support.mail_server import SMTPServer, SilentServer, free_port
from tests.support.workers import race_outbox_workers

FREE_TEXT_MARKER = "ZZMARKER-disc-bulge-story"
GOALS_MARKER = "ZZMARKER-marathon-goal"


@pytest.fixture
def mail_app(make_app, smtp_server):
    """An app that sends through the test SMTP server, straight after each request."""
    return make_app(
        MAIL_SERVER="127.0.0.1",
        MAIL_PORT=smtp_server.port,
        MAIL_USE_TLS=False,
        MAIL_TIMEOUT=2,
        OUTBOX_SEND_AFTER_REQUEST=True,
        OUTBOX_RETRY_BASE_SECONDS=0,
        PUBLIC_BASE_URL="https://intake.clinic.example/",
        CLINIC_EMAIL="reception@clinic.example",
    )


def send_everything(app) -> None:
    """Run the worker as cron would: `flask outbox send`."""
    result = app.test_cli_runner().invoke(args=["outbox", "send"])
    assert result.exit_code == 0, result.output


def by_recipient(server: SMTPServer) -> dict[str, object]:
    return {message["To"]: message for message in server.inbox.messages}


def body(message, subtype: str) -> str:
    return message.get_body(preferencelist=(subtype,)).get_content()


def test_a_request_emails_the_clinic_and_the_patient(mail_app, smtp_server):
    reference = Patient(mail_app.test_client()).complete()
    wait_for_background_sends(mail_app)
    messages = by_recipient(smtp_server)
    assert set(messages) == {"reception@clinic.example", "ada@example.com"}
    assert all(len(recipients) == 1 for _, recipients in smtp_server.inbox.envelopes)

    clinic = messages["reception@clinic.example"]
    assert clinic["Subject"] == f"New assessment request {reference} – Riverside"
    assert clinic["Message-ID"] == f"<clinic_new_request.{reference}@clinic.example>"
    assert clinic["From"] == "Demo Physiotherapy Clinic <no-reply@clinic.example>"
    assert clinic["Reply-To"] == "reception@clinic.example"
    assert clinic.is_multipart()
    assert {part.get_content_type() for part in clinic.walk()} >= {"multipart/alternative", "text/plain", "text/html"}
    text = body(clinic, "plain")
    for expected in ("Ada Lovelace", "+447400123456", "ada@example.com", "Phone call", "Riverside",
                     "Monday, Wednesday", "Morning", "Urgency: routine",
                     f"https://intake.clinic.example/staff/requests/{reference}"):
        assert expected in text, expected
    assert f'href="https://intake.clinic.example/staff/requests/{reference}"' in body(clinic, "html")

    patient = messages["ada@example.com"]
    assert patient["Subject"] == f"We have your request – reference {reference}"
    assert patient["Message-ID"] == f"<patient_acknowledgement.{reference}@clinic.example>"
    patient_text = body(patient, "plain")
    assert reference in patient_text and "What happens next" in patient_text
    assert "go to A&E at once or call 999" in patient_text
    assert reference in body(patient, "html")
    assert [message.status for message in outbox(mail_app)] == ["sent", "sent"]


def test_a_site_with_its_own_address_gets_its_requests(make_app, smtp_server):
    sites = [{"code": "riverside", "name": "Riverside", "address": "3 Ferry Lane", "email": "riverside@clinic.example"}]
    app = make_app(MAIL_SERVER="127.0.0.1", MAIL_PORT=smtp_server.port, MAIL_USE_TLS=False, CLINIC_SITES=__import__("intake.clinic.sites", fromlist=["load_sites"]).load_sites(sites))
    Patient(app.test_client()).complete()
    send_everything(app)
    assert "riverside@clinic.example" in by_recipient(smtp_server)


@pytest.mark.parametrize(
    ("changes", "prefix", "reason", "advice"),
    [
        ({"nerve_symptoms": {"saddle_numbness": "yes"}}, "[EMERGENCY] ", "Numbness or pins and needles in the saddle area", "Go to A&E now or call 999"),
        ({"general_health": {"night_pain": "yes"}}, "[URGENT] ", "Constant pain, worse at night, not eased by rest", "Call your GP surgery or NHS 111 today"),
    ],
    ids=["emergency", "urgent"],
)
def test_flagged_requests_are_marked_in_the_subject_and_body(mail_app, smtp_server, changes, prefix, reason, advice):
    reference = Patient(mail_app.test_client()).complete(**changes)
    wait_for_background_sends(mail_app)
    messages = by_recipient(smtp_server)
    clinic = messages["reception@clinic.example"]
    assert clinic["Subject"].startswith(f"{prefix}New assessment request {reference}")
    assert f"Urgency: {prefix.strip('[] ').lower()}" in body(clinic, "plain")
    assert reason not in body(clinic, "plain") and reason not in body(clinic, "html")
    assert advice in body(messages["ada@example.com"], "plain")


@pytest.mark.parametrize("reasons", [False, True], ids=["default", "reasons"])
def test_a_same_day_card_is_named_in_the_clinic_email_and_its_reason_only_where_the_settings_allow(make_app, reasons):
    """A painful swollen calf after an operation: the clinic reads that the patient was told to get
    help the same day; the reason, with its card, only with MAIL_CLINIC_URGENCY_REASONS."""
    app = make_app(OUTBOX_SEND_AFTER_REQUEST=False, MAIL_CLINIC_URGENCY_REASONS=reasons)
    Patient(app.test_client()).complete(where_it_hurts={"onset": "after_surgery"}, your_problem={"calf_clot": "yes"})
    messages = {message.kind: message for message in outbox(app)}
    clinic, patient = messages["clinic_new_request"], messages["patient_acknowledgement"]
    assert clinic.subject.startswith("[URGENT] ")
    for body in (clinic.text_body, clinic.html_body):
        assert "URGENT, SAME DAY: the patient was told to get help today" in body
        assert "urgent (card shown: help the same day)" in body
        assert ("Painful calf with swelling, warmth or redness (possible clot) (help the same day)" in body) == reasons
        assert ("calf" in body.lower()) == reasons
    for body in (patient.text_body, patient.html_body):
        assert "some of your answers mean you should get medical help today" in body and "calf" not in body


SADDLE_REASON = "Numbness or pins and needles in the saddle area"
FOOTERS = {
    (False, False): "This email includes only the urgency level (and, when the patient's own words raised a red flag, its level); the reasons for it and the patient's health answers are not included.",
    (True, False): "This email includes the urgency level and the reasons for it (and, when the patient's own words raised a red flag, its level and reason, not their words); the rest of the patient's health answers are not included.",
    (False, True): "This email includes the urgency level and a one-line summary of the problem (and, when the patient's own words raised a red flag, its level only); the reasons for the urgency level and the rest of the patient's health answers are not included.",
    (True, True): "This email includes the urgency level, the reasons for it and a one-line summary of the problem (and, when the patient's own words raised a red flag, its level and reason, not their words); the rest of the patient's health answers are not included.",
}


@pytest.mark.parametrize(("reasons", "summary"), list(FOOTERS), ids=["default", "reasons", "summary", "reasons-and-summary"])
def test_the_clinic_email_says_truthfully_which_health_answers_it_holds(make_app, reasons, summary):
    app = make_app(OUTBOX_SEND_AFTER_REQUEST=False, MAIL_CLINIC_URGENCY_REASONS=reasons, MAIL_CLINIC_SYMPTOM_SUMMARY=summary)
    reference = Patient(app.test_client()).complete(nerve_symptoms={"saddle_numbness": "yes"}, when_and_where={"note": "Not Mondays"})
    [clinic] = [message for message in outbox(app) if message.kind == "clinic_new_request"]
    for expected in ("Urgency: emergency", "Ada Lovelace", "+447400123456", "Phone call", "Riverside", reference,
                     f"/staff/requests/{reference}", FOOTERS[reasons, summary]):
        assert expected in clinic.text_body, expected
    assert (SADDLE_REASON in clinic.text_body, SADDLE_REASON in clinic.html_body) == (reasons, reasons)
    assert ("Summary: Knee" in clinic.text_body) == summary
    assert "Not Mondays" not in clinic.text_body + clinic.html_body
    assert "not included in this email" not in clinic.text_body  # the old footer, untrue beside the reasons


def test_the_clinic_email_carries_no_clinical_answers(mail_app, smtp_server):
    Patient(mail_app.test_client()).complete(
        how_it_feels={"description": FREE_TEXT_MARKER, "goals": GOALS_MARKER, "sensations": ["numbness"]}
    )
    wait_for_background_sends(mail_app)
    clinic = by_recipient(smtp_server)["reception@clinic.example"]
    # Every header and every part as the reader sees it; not the MIME boundaries, whose random
    # digits could hold "1985" by chance.
    headers = [f"{name}: {value}" for name, value in clinic.items() if name.lower() != "content-type"]
    everything = "\n".join([*headers, *(part.get_content() for part in clinic.walk() if not part.is_multipart())])
    for private in (FREE_TEXT_MARKER, GOALS_MARKER, "Numbness", "Knee", "pain 4/10", "1985"):
        assert private not in everything, private


def test_a_setting_allows_a_one_line_symptom_summary_but_never_free_text(make_app, smtp_server):
    app = make_app(MAIL_SERVER="127.0.0.1", MAIL_PORT=smtp_server.port, MAIL_USE_TLS=False, MAIL_CLINIC_SYMPTOM_SUMMARY=True)
    Patient(app.test_client()).complete(how_it_feels={"description": FREE_TEXT_MARKER})
    send_everything(app)
    text = body(by_recipient(smtp_server)["reception@clinic.example"], "plain")
    assert "Summary: Knee, left, 2 to 6 weeks, pain 4/10 now and 7/10 at worst" in text
    assert FREE_TEXT_MARKER not in text


HOSTILE_NAME = "Ann. Your booking is cancelled. Pay the fee at clinic-refunds.example"


def test_nothing_the_patient_typed_reaches_any_patient_email_or_invite(app):
    """The acknowledgement, the booking confirmation and the moved and cancelled emails, with their invites."""
    reference = new_request(app, email="stranger@example.net", when_and_where={"note": "Fine"})
    update_request(app, reference, first_name=HOSTILE_NAME, last_name=HOSTILE_NAME, availability_note=HOSTILE_NAME)
    with app.test_request_context():
        db.session.execute(delete(OutboxMessage))
        details = RequestDetails.of(find_request(reference))
        site = site_by_code(app.config["CLINIC_SITES"], "riverside")
        settings = MailSettings.from_config(app.config)
        visit = AppointmentDetails(id=7, starts_at=utcnow() + timedelta(days=3), minutes=45, created_at=utcnow(), clinician_name="Clara Clinician")
        queue_new_request_emails(details, site, settings)
        queue_new_request_emails(replace(details, reference="BOOKED22"), site, settings, appointment=visit)
        queue_appointment_email(details, replace(visit, sequence=1), site, settings, change="moved")
        queue_appointment_email(details, replace(visit, sequence=2), site, settings, change="cancelled")
        db.session.commit()
    patient_emails = [message for message in outbox(app) if message.recipient == "stranger@example.net"]
    assert [message.kind for message in patient_emails] == [
        "patient_acknowledgement", "patient_booking_confirmation", "patient_booking_confirmation", "patient_appointment_cancelled"]
    for message in patient_emails:
        for part in (message.subject, message.text_body, message.html_body, message.attachment_body or ""):
            for typed in ("Ann", "cancelled. Pay", "clinic-refunds"):
                assert typed not in part, (message.kind, typed)
        assert message.text_body.startswith("Hello,")


def test_an_address_gets_at_most_three_acknowledgements_a_day_whoever_submits(app, caplog):
    caplog.set_level(logging.WARNING, logger="intake.mail.notifications")
    references = [new_request(app, email=address) for address in
                  ("victim@example.org", "victim@example.org", "victim@example.org", "Victim@example.org")]
    with app.app_context():
        stored = db.session.execute(db.select(func.count()).select_from(AssessmentRequest)).scalar_one()
    messages = outbox(app)
    assert stored == 4
    assert [message.kind for message in messages if message.recipient.lower() == "victim@example.org"] == ["patient_acknowledgement"] * 3
    assert sum(message.kind == "clinic_new_request" for message in messages) == 4
    [refused] = [record.getMessage() for record in caplog.records if "No acknowledgement" in record.getMessage()]
    assert references[3] in refused and "victim" not in refused.lower()

    with app.app_context():  # a day later the address may hear from us again
        db.session.execute(update(OutboxMessage).values(created_at=utcnow() - timedelta(hours=25)))
        db.session.commit()
    new_request(app, email="victim@example.org")
    assert sum(message.kind == "patient_acknowledgement" for message in outbox(app)) == 4


def test_the_daily_acknowledgements_per_address_are_a_setting(make_app):
    app = make_app(MAIL_ACKNOWLEDGEMENTS_PER_ADDRESS_PER_DAY=1)
    new_request(app, email="victim@example.org")
    new_request(app, email="victim@example.org")
    assert [message.kind for message in outbox(app)].count("patient_acknowledgement") == 1


def test_header_injection_in_names_and_emails_is_refused_and_never_reaches_a_header(mail_app, smtp_server):
    patient = Patient(mail_app.test_client())
    patient.start()
    from tests.factories import valid_answers  # noqa: F811

    answers = valid_answers()["about-you"]
    for field, value in (("first_name", "Ada\r\nBcc: victim@evil.example"), ("email", "ada@example.com\r\nBcc: victim@evil.example")):
        response = patient.answer("about-you", {**answers, field: value})
        assert response.status_code == 200 and "There is a problem" in response.get_data(as_text=True)
    patient.answer("about-you", answers)
    patient.complete()
    wait_for_background_sends(mail_app)
    for message in smtp_server.inbox.messages:
        headers = "\n".join(f"{name}: {value}" for name, value in message.items())
        assert "evil.example" not in headers and "Ada" not in headers and "Lovelace" not in headers
    assert all(recipients != ["victim@evil.example"] for _, recipients in smtp_server.inbox.envelopes)


def test_with_the_mail_server_down_requests_succeed_and_emails_wait_until_it_is_back(mail_app, smtp_server):
    smtp_server.stop()
    client = mail_app.test_client()
    reference = Patient(client).complete()
    wait_for_background_sends(mail_app)
    assert client.get(f"/book/confirmation/{reference}").status_code == 200
    waiting = outbox(mail_app)
    assert [message.status for message in waiting] == ["pending", "pending"]
    assert all(message.attempts == 1 and "Connection refused" in message.last_error for message in waiting)

    smtp_server.start()
    send_everything(mail_app)
    send_everything(mail_app)
    assert sorted(smtp_server.inbox.message_ids()) == sorted(message.message_id for message in waiting)
    assert [message.status for message in outbox(mail_app)] == ["sent", "sent"]


def test_a_mail_server_that_never_answers_does_not_slow_the_request(make_app, smtp_server):
    silent = SilentServer()
    try:
        app = make_app(MAIL_SERVER="127.0.0.1", MAIL_PORT=silent.port, MAIL_USE_TLS=False, MAIL_TIMEOUT=1,
                       OUTBOX_SEND_AFTER_REQUEST=True, OUTBOX_RETRY_BASE_SECONDS=0)
        patient = Patient(app.test_client())
        patient.answer_all()
        started = time.monotonic()
        response = patient.submit()
        elapsed = time.monotonic() - started
        assert response.status_code == 303
        assert elapsed < 0.9, f"the submit took {elapsed:.2f}s, so it waited for the mail server"
        wait_for_background_sends(app)
        waiting = outbox(app)
        assert all(message.status == "pending" and "timed out" in message.last_error for message in waiting)

        app.config["MAIL_PORT"] = smtp_server.port
        send_everything(app)
        assert len(smtp_server.inbox.messages) == 2
    finally:
        silent.close()


def test_two_workers_at_once_deliver_each_message_exactly_once(make_app, smtp_server):
    app = make_app(MAIL_SERVER="127.0.0.1", MAIL_PORT=smtp_server.port, MAIL_USE_TLS=False)
    total = 60
    queue_plain_emails(app, total)
    assert race_outbox_workers(app, workers=2, limit=5) == []
    ids = smtp_server.inbox.message_ids()
    assert len(ids) == total and len(set(ids)) == total
    assert {message.status for message in outbox(app)} == {"sent"}


def test_a_message_that_always_fails_ends_dead_with_its_last_error(make_app, smtp_server):
    smtp_server.inbox.refuse_all = True
    app = make_app(MAIL_SERVER="127.0.0.1", MAIL_PORT=smtp_server.port, MAIL_USE_TLS=False,
                   OUTBOX_MAX_ATTEMPTS=3, OUTBOX_RETRY_BASE_SECONDS=0)
    Patient(app.test_client()).complete()
    for _ in range(5):
        send_everything(app)
    for message in outbox(app):
        assert message.status == "dead"
        assert message.attempts == 3
        assert "550" in message.last_error


def test_a_worker_that_died_mid_delivery_loses_nothing(make_app, smtp_server, caplog):
    """A claim whose worker vanished is taken over after the lease, so the message is still sent;
    through SMTP, which cannot be asked, the log says it may arrive twice."""
    app = make_app(MAIL_SERVER="127.0.0.1", MAIL_PORT=smtp_server.port, MAIL_USE_TLS=False, OUTBOX_LEASE_SECONDS=60)
    Patient(app.test_client()).complete()
    with app.app_context():
        policy = RetryPolicy.from_config(app.config)
        claimed = claim_messages("crashed-worker", utcnow(), policy, limit=10).messages
        assert len(claimed) == 2
        assert send_due_messages(app.config).handled == 0  # still within the dead worker's lease
        for message in claimed:
            message.claimed_at = utcnow() - timedelta(seconds=61)
        db.session.commit()
    with caplog.at_level(logging.WARNING, logger="intake.mail.delivery"):
        send_everything(app)
    assert len(smtp_server.inbox.messages) == 2
    assert {message.status for message in outbox(app)} == {"sent"}
    assert sum("may arrive twice" in record.getMessage() for record in caplog.records) == 2


def test_the_request_and_its_emails_are_stored_together_or_not_at_all(make_app, monkeypatch):
    app = make_app()
    app.config["PROPAGATE_EXCEPTIONS"] = False
    patient = Patient(app.test_client())
    patient.answer_all()
    import intake.journey.services as services

    def broken_mail(*args, **kwargs):
        raise RuntimeError("template missing")

    monkeypatch.setattr(services, "queue_new_request_emails", broken_mail)
    assert patient.submit().status_code == 500
    with app.app_context():
        assert db.session.execute(db.select(AssessmentRequest)).first() is None
        assert db.session.execute(db.select(OutboxMessage)).first() is None
    monkeypatch.undo()
    assert patient.submit().status_code == 303
    assert len(outbox(app)) == 2


def test_without_a_mail_server_emails_are_written_to_files(make_app, tmp_path, caplog):
    mail_dir = tmp_path / "mail-out"
    app = make_app(MAIL_SERVER="", MAIL_FILE_DIR=str(mail_dir), OUTBOX_SEND_AFTER_REQUEST=True)
    caplog.set_level("INFO", logger="intake.mail.transport")
    reference = Patient(app.test_client()).complete()
    wait_for_background_sends(app)
    files = sorted(path.name for path in mail_dir.glob("*.eml"))
    assert files == [f"clinic_new_request.{reference}_clinic.example.eml", f"patient_acknowledgement.{reference}_clinic.example.eml"]
    assert str(mail_dir) in caplog.text


def test_the_looping_worker_runs_until_told_to_stop(mail_app, smtp_server):
    mail_app.config.update(OUTBOX_SEND_AFTER_REQUEST=False, OUTBOX_POLL_SECONDS=0)
    Patient(mail_app.test_client()).complete()
    result = mail_app.test_cli_runner().invoke(args=["outbox", "send", "--loop", "--max-passes", "2"])
    assert result.exit_code == 0, result.output
    assert len(smtp_server.inbox.messages) == 2


def test_retries_back_off_exponentially_with_jitter_up_to_a_cap():
    policy = RetryPolicy(max_attempts=8, base_delay=30, max_delay=600)
    for attempts, step in ((1, 30), (2, 60), (3, 120), (4, 240), (6, 600), (12, 600)):
        delays = {policy.delay_after(attempts).total_seconds() for _ in range(20)}
        assert all(step / 2 <= delay <= step for delay in delays)
        assert len(delays) > 1


def test_the_mail_server_certificate_is_verified(make_app, smtp_server, tmp_path):
    """STARTTLS to a server whose certificate we do not trust fails; trusting its CA succeeds."""
    authority = trustme.CA()
    server_context = __import__("ssl").create_default_context(__import__("ssl").Purpose.CLIENT_AUTH)
    authority.issue_cert("127.0.0.1").configure_cert(server_context)
    tls_server = SMTPServer(tls_context=server_context, require_starttls=True)
    tls_server.start()
    try:
        app = make_app(MAIL_SERVER="127.0.0.1", MAIL_PORT=tls_server.port, MAIL_USE_TLS=True, OUTBOX_RETRY_BASE_SECONDS=0)
        Patient(app.test_client()).complete()
        send_everything(app)
        assert tls_server.inbox.messages == []
        assert all("CERTIFICATE_VERIFY_FAILED" in message.last_error for message in outbox(app))

        ca_file = tmp_path / "ca.pem"
        authority.cert_pem.write_to_path(str(ca_file))
        app.config["MAIL_CA_FILE"] = str(ca_file)
        send_everything(app)
        assert len(tls_server.inbox.messages) == 2
    finally:
        tls_server.stop()


def test_nothing_is_sent_to_a_closed_port_but_nothing_is_lost(make_app):
    app = make_app(MAIL_SERVER="127.0.0.1", MAIL_PORT=free_port(), MAIL_USE_TLS=False)
    Patient(app.test_client()).complete()
    send_everything(app)
    assert [message.status for message in outbox(app)] == ["pending", "pending"]
