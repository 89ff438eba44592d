"""Reminders queued as they come due: at the right London time by the patient's channel, with
what the patient needs and nothing clinical, once only (even with two scans at once, or a scan
stopped half-way and run again), withdrawn when the appointment is cancelled or moved, re-planned
for the new time, and never sent late."""

from __future__ import annotations

import threading
from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import select

from intake.appointments import services as appointments
from intake.appointments.models import Appointment
from intake.reminders import queue
from intake.reminders.queue import ReminderSettings, queue_due_reminders
from intake.mail.delivery import TOO_LATE, RetryPolicy, deliver_pending
from intake.mail.models import OutboxMessage
from intake.mail.notifications import MailSettings
from intake.reminders.messages import plain_name
from intake.mail.segments import segment_count
from intake.mail.sms import sms_transport_from_config
from intake.mail.transport import transport_from_config
from intake.platform.extensions import db
from intake.platform.timeutil import LONDON, utcnow
from tests.factories import appointment_at, new_practitioner, new_request, update_request

UTC = timezone.utc
TOKEN_LINK = "/appointment?token="


def london(*parts) -> datetime:
    return datetime(*parts, tzinfo=LONDON).astimezone(UTC)


def scan(app, now: datetime, batch_size: int = queue.BATCH_SIZE, **config) -> int:
    """One scan at `now` with the app's settings (and any overrides)."""
    with app.app_context():
        settings = ReminderSettings.from_config({**app.config, **config})
        return queue_due_reminders(now, settings=settings, mail=MailSettings.from_config(app.config), sites=app.config["CLINIC_SITES"],
                                   batch_size=batch_size)


def reminders(app) -> list[OutboxMessage]:
    with app.app_context():
        found = list(db.session.execute(
            select(OutboxMessage).where(OutboxMessage.kind.like("reminder_%")).order_by(OutboxMessage.next_attempt_at, OutboxMessage.id)
        ).scalars())
        db.session.expunge_all()
        return found


@pytest.fixture
def clara(app) -> int:
    return new_practitioner(app, "Clara Clinician")


def grace(app, contact_method: str = "email") -> str:
    return new_request(app, first="Grace", last="Hopper", email="grace@example.com", phone="07400 111222",
                       about_you={"contact_method": contact_method}, how_it_feels={"description": "Sharp knee pain on stairs"})


def test_an_email_two_days_before_at_ten_with_what_the_patient_needs_and_nothing_clinical(app, clara):
    starts = london(2026, 12, 10, 14, 30)
    appointment_at(app, grace(app), clara, starts, booked_at=london(2026, 12, 1, 9))
    assert scan(app, london(2026, 12, 8, 9, 30)) == 0  # not within the look-ahead yet
    assert scan(app, london(2026, 12, 8, 9, 50)) == 1
    [reminder] = reminders(app)
    assert (reminder.channel, reminder.kind, reminder.recipient) == ("email", "reminder_before", "grace@example.com")
    assert reminder.next_attempt_at == london(2026, 12, 8, 10)  # queued early, sent at its time
    assert reminder.send_before == starts - timedelta(minutes=30)
    assert "Thursday 10 December at 14:30" in reminder.subject
    for body in (reminder.text_body, reminder.html_body):
        assert "Hello Grace," in body and "Thursday 10 December 2026 at 14:30" in body
        assert "Riverside, 3 Ferry Lane, London SE1 9ZZ" in body and "Clara Clinician" in body
        assert "bring a list of any medicines" in body and TOKEN_LINK in body
        for private in ("Hopper", "knee", "stairs", "07400"):
            assert private not in body
    assert scan(app, london(2026, 12, 8, 9, 55)) == 0  # never twice
    assert len(reminders(app)) == 1


def test_texts_for_those_who_chose_texts_two_days_before_and_on_the_morning(app, clara):
    starts = london(2026, 12, 10, 9, 15)
    appointment_at(app, grace(app, "text"), clara, starts, booked_at=london(2026, 12, 1, 9))
    scan(app, london(2026, 12, 8, 9, 50))
    scan(app, london(2026, 12, 10, 7, 20))
    before, morning = reminders(app)
    assert (before.channel, before.recipient, before.next_attempt_at) == ("sms", "+447400111222", london(2026, 12, 8, 10))
    assert (morning.kind, morning.next_attempt_at) == ("reminder_morning", london(2026, 12, 10, 7, 30))
    assert before.text_body.startswith("Hello Grace, a reminder of your physio assessment on Thu 10 Dec at 09:15 at Riverside")
    assert TOKEN_LINK in before.text_body
    # On the morning the link can change nothing (inside the cut-off): the text says to call.
    assert "see you today at 09:15" in morning.text_body and TOKEN_LINK not in morning.text_body
    assert app.config["CLINIC_PHONE"] in morning.text_body
    assert all(segment_count(text.text_body) <= 2 for text in (before, morning))


def test_a_number_that_cannot_take_texts_gets_the_reminder_by_email_instead(app, clara):
    reference = grace(app, "text")
    update_request(app, reference, phone="+442079460000")  # corrected by reception to a landline
    appointment_at(app, reference, clara, london(2026, 12, 10, 14), booked_at=london(2026, 12, 1, 9))
    scan(app, london(2026, 12, 8, 9, 50))
    scan(app, london(2026, 12, 10, 7, 20))
    assert [(message.channel, message.recipient) for message in reminders(app)] == [("email", "grace@example.com")] * 2


def test_a_reminder_already_due_when_the_appointment_was_booked_is_not_sent(app, clara):
    appointment_at(app, grace(app), clara, london(2026, 12, 10, 14), booked_at=london(2026, 12, 9, 16))
    assert scan(app, london(2026, 12, 9, 16, 5)) == 0
    assert scan(app, london(2026, 12, 10, 9)) == 0


def test_the_clock_change_keeps_the_reminders_at_their_london_times(app, clara):
    # The clocks go forward on Sunday 28 March 2027: Saturday's reminder at 10:00 GMT, Monday's text at 07:30 BST.
    appointment_at(app, grace(app, "text"), clara, london(2027, 3, 29, 9), booked_at=london(2027, 3, 1, 9))
    scan(app, london(2027, 3, 27, 9, 50))
    scan(app, london(2027, 3, 29, 7, 20))
    assert [message.next_attempt_at for message in reminders(app)] == [
        datetime(2027, 3, 27, 10, 0, tzinfo=UTC), datetime(2027, 3, 29, 6, 30, tzinfo=UTC),
    ]


def test_cancelling_withdraws_a_waiting_reminder_and_no_more_are_queued(app, clara):
    appointment_id = appointment_at(app, grace(app, "text"), clara, london(2026, 12, 10, 14), booked_at=london(2026, 12, 1, 9))
    scan(app, london(2026, 12, 8, 9, 50))
    assert len(reminders(app)) == 1
    with app.app_context():
        appointments.cancel(db.session.get(Appointment, appointment_id), now=london(2026, 12, 8, 9, 55), reason="")
        db.session.commit()
    assert reminders(app) == []
    assert scan(app, london(2026, 12, 10, 7, 20)) == 0


def test_a_sent_reminder_stays_on_record_when_the_appointment_is_cancelled(app, clara):
    appointment_id = appointment_at(app, grace(app), clara, london(2026, 12, 10, 14), booked_at=london(2026, 12, 1, 9))
    scan(app, london(2026, 12, 8, 9, 50))
    send(app, london(2026, 12, 8, 10, 1))
    with app.app_context():
        appointments.cancel(db.session.get(Appointment, appointment_id), now=london(2026, 12, 8, 11), reason="")
        db.session.commit()
    assert [message.status for message in reminders(app)] == ["sent"]


def test_a_move_withdraws_the_old_reminders_and_the_new_time_is_reminded(app, clara):
    appointment_id = appointment_at(app, grace(app), clara, london(2026, 12, 10, 14), booked_at=london(2026, 12, 1, 9))
    scan(app, london(2026, 12, 8, 9, 50))
    with app.app_context():  # moved to the 11th, on the 8th at 09:55
        appointment = db.session.get(Appointment, appointment_id)
        appointments.move(appointment, appointments.Choice(clara, "riverside", london(2026, 12, 11, 11)), now=london(2026, 12, 8, 9, 55),
                          default_minutes=45, seen_sequence=0)
        db.session.commit()
    assert reminders(app) == []
    assert scan(app, london(2026, 12, 9, 9, 50)) == 1
    [reminder] = reminders(app)
    assert reminder.next_attempt_at == london(2026, 12, 9, 10) and "Friday 11 December 2026 at 11:00" in reminder.text_body


def test_a_reminder_that_could_not_go_before_the_appointment_dies_instead_of_arriving_late(app, clara):
    starts = london(2026, 12, 10, 14)
    appointment_at(app, grace(app), clara, starts, booked_at=london(2026, 12, 1, 9))
    scan(app, london(2026, 12, 8, 9, 50))
    report = send(app, starts - timedelta(minutes=20))  # the mail server was down until then
    [reminder] = reminders(app)
    assert reminder.status == "dead" and reminder.last_error == TOO_LATE and report.dead == [reminder.id]


def test_a_reminder_read_inside_the_cut_off_says_to_call_instead_of_linking(app, clara):
    appointment_at(app, grace(app), clara, london(2026, 12, 10, 9), booked_at=london(2026, 12, 1, 9))
    scan(app, london(2026, 12, 9, 9, 50), REMINDER_DAYS_BEFORE=1)
    [reminder] = reminders(app)
    assert TOKEN_LINK not in reminder.text_body and f"please call us on {app.config['CLINIC_PHONE']}" in reminder.text_body


def test_two_scans_at_once_queue_each_reminder_once(app, clara):
    for index in range(12):
        reference = new_request(app, first="Patient", email=f"p{index}@example.com", about_you={"contact_method": "text"})
        appointment_at(app, reference, clara, london(2026, 12, 10, 8) + timedelta(hours=index),
                       booked_at=london(2026, 12, 1, 9))
    now, counts = london(2026, 12, 10, 7, 20), []

    def scan_in_thread():
        counts.append(scan(app, now, REMINDER_DAYS_BEFORE=0))

    threads = [threading.Thread(target=scan_in_thread) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    texts = reminders(app)
    assert len(counts) == 2 and sum(counts) == len(texts) == 12  # both scans finished; together they queued each once
    assert len({message.message_id for message in texts}) == 12


def test_a_scan_stopped_in_its_second_batch_keeps_the_first_and_the_next_scan_queues_the_rest_once(app, clara, monkeypatch):
    for index in range(5):
        reference = new_request(app, first="Patient", email=f"p{index}@example.com", about_you={"contact_method": "text"})
        appointment_at(app, reference, clara, london(2026, 12, 10, 8) + timedelta(hours=index), booked_at=london(2026, 12, 1, 9))
    now, real_insert_new, batches = london(2026, 12, 10, 7, 20), queue._insert_new, []

    def stopped_before_the_second_batch_commits(rows):
        batches.append(real_insert_new(rows))
        if len(batches) == 2:
            raise KeyboardInterrupt  # Ctrl-C, or the worker's machine went down, before this batch's commit
        return batches[-1]

    monkeypatch.setattr(queue, "_insert_new", stopped_before_the_second_batch_commits)
    with pytest.raises(KeyboardInterrupt):
        scan(app, now, batch_size=2, REMINDER_DAYS_BEFORE=0)
    assert batches == [2, 2] and len(reminders(app)) == 2  # the first batch kept, the second undone
    monkeypatch.setattr(queue, "_insert_new", real_insert_new)
    assert scan(app, now, batch_size=2, REMINDER_DAYS_BEFORE=0) == 3
    texts = reminders(app)
    assert len(texts) == len({message.appointment_id for message in texts}) == 5  # every appointment reminded, once
    assert scan(app, now, batch_size=2, REMINDER_DAYS_BEFORE=0) == 0


@pytest.mark.parametrize("typed, greeted", [
    ("Grace", "Grace"), ("Mary Ann", "Mary Ann"), ("Jean-Luc", "Jean-Luc"), ("O'Neil", "O'Neil"), ("Zoë", "Zoë"),
    ("  Grace  ", "Grace"), ("Visit example.com now", ""), ("Ann. Your booking", ""), ("Grace2", ""), ("a" * 31, ""), ("", ""),
])
def test_the_greeting_names_the_patient_only_when_the_name_is_plainly_a_name(typed, greeted):
    assert plain_name(typed) == greeted


def send(app, now: datetime):
    """One delivery pass at `now`, to files under the instance folder."""
    with app.app_context():
        return deliver_pending(
            transport_from_config(app.config), sms_transport=sms_transport_from_config(app.config),
            sender=app.config["MAIL_DEFAULT_SENDER"], reply_to="", policy=RetryPolicy(), worker_id="test", due_by=now,
        )


def test_the_commands_queue_reminders_from_cron_and_the_worker_queues_them_as_it_sends(app, clara):
    starts = utcnow().replace(second=0, microsecond=0) + timedelta(days=2)
    appointment_at(app, grace(app), clara, starts, booked_at=utcnow() - timedelta(days=5))
    due = london(*starts.astimezone(LONDON).date().timetuple()[:3], 10) - timedelta(days=2)
    result = app.test_cli_runner().invoke(args=["reminders", "queue", "--now", (due - timedelta(minutes=5)).isoformat()])
    assert result.exit_code == 0 and "Queued 1 reminder(s)." in result.output
    assert [message.next_attempt_at for message in reminders(app)] == [due]
    again = app.test_cli_runner().invoke(args=["reminders", "queue", "--now", due.isoformat()])
    assert "Queued" not in again.output and len(reminders(app)) == 1


def test_the_outbox_worker_queues_due_reminders_before_sending(app, clara):
    starts = utcnow().replace(second=0, microsecond=0) + timedelta(hours=3)
    appointment_at(app, grace(app, "text"), clara, starts, booked_at=utcnow() - timedelta(days=5))
    result = app.test_cli_runner().invoke(args=["outbox", "send"])
    assert result.exit_code == 0 and "Queued 1 reminder(s)." in result.output
    [morning] = reminders(app)  # the text on the day, late but still before the appointment: sent at once
    assert morning.kind == "reminder_morning" and morning.status == "sent"


def test_a_name_outside_the_text_alphabet_still_fits_in_two_segments(app, clara):
    reference = new_request(app, first="Zoë", email="zoe@example.com", phone="07400 111222", about_you={"contact_method": "text"})
    appointment_at(app, reference, clara, london(2026, 12, 10, 14), booked_at=london(2026, 12, 1, 9))
    scan(app, london(2026, 12, 8, 9, 50))
    [text] = reminders(app)
    assert text.channel == "sms" and TOKEN_LINK in text.text_body and segment_count(text.text_body) <= 2


def test_a_text_that_cannot_fit_goes_by_email_instead(app, clara, monkeypatch):
    reference = grace(app, "text")
    wordy = [site if site.code != "riverside" else type(site)(site.code, "Riverside " * 30, site.address) for site in app.config["CLINIC_SITES"]]
    monkeypatch.setitem(app.config, "CLINIC_SITES", wordy)  # a site name no text could hold
    appointment_at(app, reference, clara, london(2026, 12, 10, 14), booked_at=london(2026, 12, 1, 9))
    scan(app, london(2026, 12, 8, 9, 50))
    assert [(message.channel, message.recipient) for message in reminders(app)] == [("email", "grace@example.com")]
