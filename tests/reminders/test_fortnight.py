"""A simulated fortnight at one clinic, on an injected clock that crosses the autumn clock change
(Sunday 25 October 2026, 02:00 BST becomes 01:00 GMT): bookings, moves, cancellations inside and
outside the cut-off, waitlist offers taken, raced and left to expire, and reminders. Every half
hour the clock moves on, two reminder workers scan and the outbox worker sends what is due,
through a real SMTP server and Twilio's API (a local stand-in driven by the real client library).

At the end: every message was delivered exactly once, at the London time it was for, by the
channel the patient chose; the reminders are exactly the ones the clinic's rules call for, none
for a cancelled or moved-away time."""

from __future__ import annotations

import re
from collections import Counter
from datetime import date, datetime, time, timedelta, timezone

import pytest
from sqlalchemy import select

from intake.appointments import manage_links
from intake.appointments.models import Appointment
from intake.journey.models import AssessmentRequest
from intake.mail.models import OutboxMessage
from intake.mail.notifications import MailSettings
from intake.mail.outbox import send_due_messages
from intake.platform.extensions import db
from intake.platform.timeutil import LONDON
from intake.reminders.plan import REMINDER_KINDS
from intake.reminders.queue import ReminderSettings, queue_due_reminders
from intake.self_service import services as manage, waitlist as offers
from intake.staff import accounts, services as reception
from intake.waitlist.services import WaitlistRules
from tests.factories import new_practitioner, new_request, new_staff
from tests.support.sms_providers import TWILIO_ACCOUNT_SID, TWILIO_AUTH_TOKEN, TWILIO_FROM_NUMBER, TwilioServer

UTC = timezone.utc
TICK = timedelta(minutes=30)
FIRST_TICK = datetime(2026, 10, 19, 8, 0, tzinfo=LONDON)  # Monday, BST
LAST_TICK = datetime(2026, 10, 30, 18, 0, tzinfo=LONDON)  # the Friday after, GMT
OFFER_TOKEN = re.compile(r"/appointment/offer\?token=([A-Za-z0-9_-]{43})")
EVERY_WEEKDAY = {"days": ["mon", "tue", "wed", "thu", "fri"], "times": ["morning", "afternoon"]}

# Who, how they hear, and when they are first booked (London time, in October 2026).
PATIENTS = {
    "Ada": ("email", (22, 10, 0)), "Ben": ("text", (27, 14, 0)), "Cat": ("text", (26, 9, 0)),
    "Dan": ("text", (30, 11, 0)), "Eve": ("text", (29, 15, 0)), "Fay": ("email", (28, 10, 0)),
    "Gus": ("email", (26, 11, 0)), "Hal": ("text", (21, 16, 0)), "Ivy": ("email", (23, 9, 0)),
}
# The reminders the rules call for (two days before at 10:00; texts on the morning at 07:30),
# as London wall-clock times, after everything that happens below.
EXPECTED_REMINDERS = {
    ("Ada", "reminder_before", "email", "Tue 20 Oct 10:00 BST"),
    ("Ben", "reminder_before", "sms", "Sun 25 Oct 10:00 GMT"), ("Ben", "reminder_morning", "sms", "Tue 27 Oct 07:30 GMT"),
    ("Cat", "reminder_before", "sms", "Sat 24 Oct 10:00 BST"), ("Cat", "reminder_morning", "sms", "Mon 26 Oct 07:30 GMT"),
    # Dan took Hal's Wednesday 16:00 on Tuesday: too late for a reminder two days before, not for the morning text.
    ("Dan", "reminder_morning", "sms", "Wed 21 Oct 07:30 BST"),
    ("Eve", "reminder_before", "sms", "Tue 27 Oct 10:00 GMT"), ("Eve", "reminder_morning", "sms", "Thu 29 Oct 07:30 GMT"),
    ("Fay", "reminder_before", "email", "Mon 26 Oct 10:00 GMT"),  # her late attempt to cancel was refused
    ("Gus", "reminder_before", "email", "Wed 28 Oct 10:00 GMT"),  # for Friday 30 14:00, where he moved; none for Monday 26
    ("Hal", "reminder_before", "sms", "Mon 19 Oct 10:00 BST"),  # then he cancelled: no morning text
    ("Ivy", "reminder_before", "email", "Wed 21 Oct 10:00 BST"),  # then she cancelled, in good time
}


def london(day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, 10, day, hour, minute, tzinfo=LONDON).astimezone(UTC)


class Clinic:
    """The clinic, its patients and the half-hourly clock, with what each message was and when it went."""

    def __init__(self, app) -> None:
        self.app = app
        self.clara = new_practitioner(app, "Clara Clinician")
        self.reception = new_staff(app, "reception")
        self.references = {
            name: new_request(app, first=name, last="Patient", email=f"{name.lower()}@example.com", phone=f"07400 1000{number:02d}",
                              about_you={"contact_method": method}, when_and_where=EVERY_WEEKDAY)
            for number, (name, (method, _)) in enumerate(PATIENTS.items())
        }
        self.appointments: dict[str, int] = {}
        self.outcomes: list[str] = []
        with app.app_context():  # the requests' own emails (sent today, before the fortnight is played)
            while send_due_messages(app.config).handled:
                pass
            self.before = set(db.session.execute(select(OutboxMessage.id)).scalars())
        self.sent_at: dict[int, datetime] = {}

    def slot(self, day: int, hour: int, minute: int = 0) -> str:
        return f"{self.clara}.riverside.{london(day, hour, minute):%Y%m%dT%H%MZ}"

    def settings(self) -> dict:
        config = self.app.config
        return dict(cutoff_hours=config["MANAGE_CUTOFF_HOURS"], sites=config["CLINIC_SITES"], settings=MailSettings.from_config(config))

    def token(self, name: str) -> str:
        return manage_links.existing_token(self.appointments[name], self.app.config["SECRET_KEY"])

    def sequence(self, name: str) -> int:
        return db.session.get(Appointment, self.appointments[name]).sequence

    # --- what people do -------------------------------------------------------------------

    def book(self, name: str, now: datetime) -> None:
        stored = reception.find_request(self.references[name])
        reception.book(stored, slot_value=self.slot(*PATIENTS[name][1]), sites=self.app.config["CLINIC_SITES"],
                       default_minutes=self.app.config["APPOINTMENT_MINUTES"], user=accounts.find_staff(self.reception),
                       now=now, settings=MailSettings.from_config(self.app.config))
        self.appointments[name] = db.session.execute(
            select(Appointment.id).where(Appointment.request_id == stored.id)).scalar_one()

    def cancel(self, name: str, now: datetime) -> None:
        try:
            manage.cancel(self.token(name), seen=self.sequence(name), reason="", now=now, offers=WaitlistRules.from_config(self.app.config),
                          **self.settings())
            self.outcomes.append(f"{name} cancelled")
        except manage.TooLate:
            self.outcomes.append(f"{name} too late to cancel online")

    def move(self, name: str, to: tuple[int, int, int], now: datetime) -> None:
        manage.move(self.token(name), seen=self.sequence(name), slot_value=self.slot(*to), now=now,
                    default_minutes=self.app.config["APPOINTMENT_MINUTES"], offers=WaitlistRules.from_config(self.app.config),
                    **self.settings())
        self.outcomes.append(f"{name} moved")

    def join_waitlist(self, name: str, now: datetime) -> None:
        offers.join(self.token(name), now=now, cutoff_hours=self.app.config["MANAGE_CUTOFF_HOURS"], sites=self.app.config["CLINIC_SITES"])

    def take_offer(self, name: str, nth: int, now: datetime) -> None:
        """The patient follows the link in the `nth` offer they were sent (0: the first)."""
        messages = db.session.execute(select(OutboxMessage.text_body).where(
            OutboxMessage.kind == "waitlist_offer", OutboxMessage.request_id == reception.find_request(self.references[name]).id,
        ).order_by(OutboxMessage.id)).scalars().all()
        try:
            offers.take(OFFER_TOKEN.search(messages[nth]).group(1), now=now, rules=WaitlistRules.from_config(self.app.config))
            self.outcomes.append(f"{name} took offer {nth}")
        except offers.OfferClosed as closed:
            self.outcomes.append(f"{name} offer {nth} {closed.why}")

    # --- the clock --------------------------------------------------------------------------

    def run(self, events: dict[datetime, list]) -> None:
        now = FIRST_TICK.astimezone(UTC)
        while now <= LAST_TICK.astimezone(UTC):
            with self.app.app_context():
                for event in events.get(now, []):
                    event(now)
                    db.session.commit()
                for _ in range(2):  # two workers scan for reminders at the same moment
                    queue_due_reminders(now, settings=ReminderSettings.from_config(self.app.config),
                                        mail=MailSettings.from_config(self.app.config), sites=self.app.config["CLINIC_SITES"])
                while send_due_messages(self.app.config, due_by=now).handled:
                    pass
                for message_id in db.session.execute(select(OutboxMessage.id).where(OutboxMessage.status == "sent")).scalars():
                    if message_id not in self.before:
                        self.sent_at.setdefault(message_id, now)
                db.session.remove()
            now += TICK


@pytest.fixture
def twilio():
    server = TwilioServer()
    yield server
    server.stop()


def test_a_fortnight_across_the_clock_change_sends_every_message_once_at_its_london_time(make_app, smtp_server, twilio):
    app = make_app(MAIL_SERVER="127.0.0.1", MAIL_PORT=smtp_server.port, MAIL_USE_TLS=False, SMS_PROVIDER="twilio",
                   TWILIO_ACCOUNT_SID=TWILIO_ACCOUNT_SID, TWILIO_AUTH_TOKEN=TWILIO_AUTH_TOKEN, TWILIO_FROM_NUMBER=TWILIO_FROM_NUMBER,
                   TWILIO_BASE_URL=twilio.base_url)
    clinic = Clinic(app)
    events: dict[datetime, list] = {}

    def at(day: int, hour: int, minute: int, action) -> None:
        events.setdefault(london(day, hour, minute), []).append(action)

    for name in PATIENTS:
        at(19, 9, 0, lambda now, name=name: clinic.book(name, now))
    at(19, 9, 30, lambda now: clinic.join_waitlist("Dan", now))
    at(19, 10, 0, lambda now: clinic.join_waitlist("Eve", now))
    at(20, 11, 0, lambda now: clinic.cancel("Hal", now))  # 29 hours before: his time is offered to Dan, then Eve
    at(20, 11, 30, lambda now: clinic.take_offer("Dan", 0, now))
    at(20, 12, 0, lambda now: clinic.take_offer("Eve", 0, now))  # raced: Dan got there first
    at(21, 10, 30, lambda now: clinic.cancel("Ivy", now))  # her reminder came at 10:00; her time goes to Eve
    at(21, 12, 0, lambda now: clinic.move("Gus", (30, 14, 0), now))
    at(21, 13, 0, lambda now: clinic.take_offer("Eve", 1, now))  # the offer stood two hours: it has ended
    at(27, 12, 0, lambda now: clinic.cancel("Fay", now))  # 22 hours before her Wednesday 10:00: phone instead
    clinic.run(events)

    assert clinic.outcomes == ["Hal cancelled", "Dan took offer 0", "Eve offer 0 gone", "Ivy cancelled", "Gus moved",
                               "Eve offer 1 expired", "Fay too late to cancel online"]
    with app.app_context():
        messages = list(db.session.execute(select(OutboxMessage)).scalars())
        names = dict(db.session.execute(select(AssessmentRequest.id, AssessmentRequest.first_name)).all())
        contact = dict(db.session.execute(select(AssessmentRequest.first_name, AssessmentRequest.contact_method)).all())
        dan = db.session.get(Appointment, clinic.appointments["Dan"])
        assert dan.starts_at == london(21, 16)  # Hal's old time

    # Every message went, once, through its own channel.
    assert {message.status for message in messages} == {"sent"}, [(message.kind, message.next_attempt_at, message.last_error) for message in messages if message.status != "sent"]
    emails = [message for message in messages if message.channel == "email"]
    texts = [message for message in messages if message.channel == "sms"]
    assert sorted(smtp_server.inbox.message_ids()) == sorted(message.message_id for message in emails)
    assert Counter(smtp_server.inbox.message_ids()).most_common(1)[0][1] == 1
    assert Counter((received.fields["To"], received.fields["Body"]) for received in twilio.received) == Counter(
        (message.recipient, message.text_body) for message in texts)
    for message in messages:
        if message.request_id in names and message.kind != "clinic_new_request":
            chose = contact[names[message.request_id]]
            assert message.channel == ("sms" if chose == "text" and message.kind in (*REMINDER_KINDS, "waitlist_offer") else "email"), message.kind

    # Each at the moment it was due: the half-hour it was queued for, or the action that made it.
    played = [message for message in messages if message.id not in clinic.before]
    for message in played:
        assert clinic.sent_at[message.id] == message.next_attempt_at, message.kind

    # Exactly the reminders the rules call for, at their London times on either side of the change.
    sent_reminders = {
        (names[message.request_id], message.kind, message.channel, clinic.sent_at[message.id].astimezone(LONDON).strftime("%a %d %b %H:%M %Z"))
        for message in messages if message.kind in REMINDER_KINDS
    }
    assert sent_reminders == EXPECTED_REMINDERS
    assert len([message for message in messages if message.kind in REMINDER_KINDS]) == len(EXPECTED_REMINDERS)
    offers_sent = Counter(names[message.request_id] for message in messages if message.kind == "waitlist_offer")
    assert offers_sent == {"Dan": 1, "Eve": 3}  # Eve: Hal's time, Ivy's, and Gus's Monday when he moved away from it
