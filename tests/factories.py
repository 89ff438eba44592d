"""Test factories, CTFd style: sensible defaults, and `**overrides` for what a test cares about.

Answers, the patient and staff drivers (real pages, real CSRF tokens), staff accounts, requests
and emails made directly in the database. Every test module takes what it needs from here.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta, timezone
from urllib.parse import quote

import pyotp
from sqlalchemy import func, select, update

from intake.appointments import diary
from intake.appointments.models import Appointment, Practitioner, PractitionerSite, WorkingHours
from intake.appointments.services import active_appointments
from intake.appointments.slots import slot_value
from intake.clinic.back_screen import STATEMENTS as BACK_SCREEN_STATEMENTS
from intake.journey.models import AssessmentRequest
from intake.mail.models import OutboxMessage
from intake.mail.notifications import MailSettings
from intake.mail.texts import queue_text
from intake.platform.extensions import db
from intake.platform.timeutil import today_in_london, utcnow
from intake.staff import accounts as staff_accounts, services as staff_services, two_factor
from intake.staff.models import StaffSecondFactor, StaffUser

UTC = timezone.utc
CSRF_PATTERN = re.compile(r'name="csrf_token" value="([^"]+)"')
REFERENCE_PATTERN = re.compile(r"/book/confirmation/([A-Z2-9]{8})")
STAFF_PASSWORD = "a long test passphrase"


# --- answers ------------------------------------------------------------------------------

def valid_answers(**pages: dict) -> dict[str, dict]:
    """A complete, routine set of answers, one dict per question page; `about_you={...}` overrides fields."""
    answers = {
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
        # Every question either page may ask: each page keeps those that fit the problem.
        "your-problem": {
            code: "no"
            for code in (
                "neck_artery", "neck_dizzy", "meningitis", "head_injury", "chest", "cord_signs", "hot_joint", "calf_clot",
                "injury_severe", "injury_deformed", "wound",
            )
        },
        "general-health": {
            code: "no"
            for code in (
                "calf_breathless",
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
        # Asked only of a lower-back problem: a low-risk set of answers (total 1, subscore 0).
        "back-pain": {**{code: "disagree" for code in BACK_SCREEN_STATEMENTS}, "leg_pain": "agree", "bothersome": "slightly"},
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
    for slug, fields in pages.items():
        answers[slug.replace("_", "-")].update(fields)
    return answers


# Answers that flag a request (pass them to Patient.complete or new_request).
EMERGENCY = {"nerve_symptoms": {"saddle_numbness": "yes"}}
URGENT = {"general_health": {"night_pain": "yes"}}
# Answers to the back-pain screen (asked when where_it_hurts={"region": "lower_back"}), over the low-risk default.
LOWER_BACK = {"where_it_hurts": {"region": "lower_back"}}
HIGH_BACK_RISK = {"back_pain": {code: "agree" for code in BACK_SCREEN_STATEMENTS[4:]} | {"bothersome": "extremely"}}  # total 6, subscore 5
MEDIUM_BACK_RISK = {"back_pain": {code: "agree" for code in BACK_SCREEN_STATEMENTS[:4]}}  # total 4, subscore 0


def years_ago(years: int, days: int = 0) -> date:
    """A date of birth for someone of a given age (on the clinic's calendar, Europe/London)."""
    today = today_in_london()
    try:
        born = today.replace(year=today.year - years)
    except ValueError:
        born = today.replace(year=today.year - years, day=28)
    return born.fromordinal(born.toordinal() - days)


# --- the patient --------------------------------------------------------------------------

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
        """Start and answer every page that applies; `changes` overrides fields per page.

        The pages that ask about red flags in the patient's words come after the page with the
        words, when `changes` answers them (your_words={"bladder_change": "no"}, your_note={...})."""
        self.start()
        words_pages = {slug: changes.pop(key) for key, slug in (("your_words", "your-words"), ("your_note", "your-note")) if key in changes}
        pages = list(valid_answers(**changes).items())
        for after, slug in (("how-it-feels", "your-words"), ("when-and-where", "your-note")):
            if slug in words_pages:
                pages.insert([name for name, _ in pages].index(after) + 1, (slug, words_pages[slug]))
        for slug, data in pages:
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

    def phone_me(self):
        """On the times page, send the request without choosing a time."""
        return self.post("/book/time/phone-me", {}, form_path="/book/time")

    def complete(self, **changes: dict) -> str:
        """Answer everything, submit (without choosing a time, if times are offered), and return the reference."""
        self.answer_all(**changes)
        response = self.submit()
        assert response.status_code == 303, response.get_data(as_text=True)
        if response.headers["Location"].endswith("/book/time"):
            response = self.phone_me()
        match = REFERENCE_PATTERN.search(response.headers["Location"])
        assert match, response.headers["Location"]
        return match.group(1)


def new_request(app, first="Ada", last="Lovelace", email="ada@example.com", phone="07400 123456", site="riverside", **pages) -> str:
    """Submit a request through the real patient journey in a fresh client; return its reference."""
    about = {"first_name": first, "last_name": last, "email": email, "phone": phone, **pages.pop("about_you", {})}
    where = {"site": site, **pages.pop("when_and_where", {})}
    return Patient(app.test_client()).complete(about_you=about, when_and_where=where, **pages)


def update_request(app, reference: str, **values) -> None:
    """Write columns of a stored request directly (as an attacker or a migration might)."""
    with app.app_context():
        db.session.execute(update(AssessmentRequest).where(AssessmentRequest.reference == reference).values(**values))
        db.session.commit()


# --- staff --------------------------------------------------------------------------------

def new_staff(app, role: str = "reception", *, email: str | None = None, name: str | None = None,
               password: str = STAFF_PASSWORD) -> str:
    """Create an active staff account directly in the app's database; return its email."""
    with app.app_context():
        number = db.session.execute(select(func.count()).select_from(StaffUser)).scalar_one()  # 0 for the first
        email = email or f"{role}.{number}@clinic.example"
        staff_accounts.create_staff(email, name or f"Test {role.title()} {number}", role, password)
        db.session.commit()
    return email


def staff_id(app, email: str) -> int:
    """The id of a staff account (what the booking form's clinician field takes)."""
    with app.app_context():
        return staff_accounts.find_staff(email).id


def login(client, email: str, password: str = STAFF_PASSWORD, next_path: str | None = None):
    """Post the sign-in form with a real CSRF token from this client's session."""
    page = client.get("/staff/login").get_data(as_text=True)
    token = CSRF_PATTERN.search(page).group(1)
    path = "/staff/login" + (f"?next={quote(next_path, safe='')}" if next_path is not None else "")
    return client.post(path, data={"email": email, "password": password, "csrf_token": token})


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
        return login(self.client, email, password)

    def post(self, path: str, data: dict | None = None, form_path: str = "/staff/"):
        return self.client.post(path, data={**(data or {}), "csrf_token": self.csrf_token(form_path)})


def sign_in(app, email: str, password: str = STAFF_PASSWORD) -> Staff:
    """A fresh client signed in to the back office as `email`."""
    staff = Staff(app.test_client())
    response = staff.login(email, password)
    assert response.status_code == 303, response.get_data(as_text=True)
    return staff


@dataclass
class Authenticator:
    """A member of staff's authenticator app, as the test's phone: the secret, and the recovery codes shown once."""

    secret: str
    recovery_codes: list[str] = field(default_factory=list)

    def code(self, at: datetime | None = None) -> str:
        """The code the app shows at `at` (now by default)."""
        return pyotp.TOTP(self.secret).at(at or utcnow())


def enrol_staff(app, email: str, at: datetime | None = None) -> Authenticator:
    """Set up two-step sign-in for an account directly (as the set-up page does), a minute before
    `at` (now by default), so that the code of `at` has not been used yet."""
    when = (at or utcnow()) - timedelta(minutes=1)
    with app.app_context():
        user = staff_accounts.find_staff(email)
        two_factor.start_enrolment(user)
        secret = two_factor.pending_enrolment(user, "Test Clinic").secret
        codes = two_factor.finish_enrolment(user, pyotp.TOTP(secret).at(when), when)
        db.session.commit()
    return Authenticator(secret, codes)


def authenticator_of(app, email: str) -> Authenticator:
    """The authenticator secret an account holds (pending or set up), as its owner's phone would."""
    with app.app_context():
        return Authenticator(db.session.get(StaffSecondFactor, staff_accounts.find_staff(email).id).secret)


def enter_code(client, code: str, path: str = "/staff/login/code", form_path: str | None = None):
    """Post a code to the code page (or another code form at `path`, shown at `form_path`) with a real CSRF token."""
    token = CSRF_PATTERN.search(client.get(form_path or path).get_data(as_text=True)).group(1)
    return client.post(path, data={"code": code, "csrf_token": token})


# --- bookings and emails ------------------------------------------------------------------

WEEKDAY_HOURS = tuple((weekday, time(9), time(17)) for weekday in range(5))


def new_practitioner(
    app, name: str = "Clara Clinician", *, sites: tuple[str, ...] = ("riverside",), hours=WEEKDAY_HOURS,
    staff_email: str | None = None, active: bool = True,
) -> int:
    """A practitioner working the given (weekday, starts, ends) hours at each site; return their id."""
    with app.app_context():
        practitioner = Practitioner(name=name, active=active)
        if staff_email:
            practitioner.staff_user_id = staff_accounts.find_staff(staff_email).id
        practitioner.sites = [PractitionerSite(site_code=site) for site in sites]
        db.session.add(practitioner)
        db.session.flush()
        for site in sites:
            for weekday, starts, ends in hours:
                db.session.add(WorkingHours(practitioner_id=practitioner.id, site_code=site, weekday=weekday, starts=starts, ends=ends))
        db.session.commit()
        return practitioner.id


def a_working_day_ahead(days: int = 2) -> date:
    """A weekday at least `days` on from today in London: a whole day of free times, whatever the
    time of day a test runs at (today's may be nearly over)."""
    day = today_in_london() + timedelta(days=days)
    while day.weekday() >= 5:
        day += timedelta(days=1)
    return day


def free_slot(app, site: str = "riverside", *, practitioner: int | None = None, day: date | None = None, index: int = 0,
              for_staff: bool = True) -> str:
    """The form value of a free time (the first unless `index` says otherwise), as reception would see it."""
    with app.app_context():
        found = diary.free_times(
            utcnow(), default_minutes=app.config["APPOINTMENT_MINUTES"], for_staff=for_staff, site_code=site,
            practitioner_ids=None if practitioner is None else [practitioner], first_day=day, last_day=day,
        )
        return slot_value(found[index])


def booking_form(slot: str) -> dict[str, str]:
    """The booking form's fields: one free time."""
    return {"slot": slot}


def book_appointment(app, reference: str, staff_email: str, slot: str | None = None) -> int:
    """Book a free time (the first at the request's site unless given) through reception's service,
    as if booked on the request page; return the appointment's id."""
    with app.test_request_context():
        stored = staff_services.find_request(reference)
        staff_services.book(
            stored, slot_value=slot or free_slot(app, stored.site_code), sites=app.config["CLINIC_SITES"],
            default_minutes=app.config["APPOINTMENT_MINUTES"], user=staff_accounts.find_staff(staff_email), now=utcnow(),
            settings=MailSettings.from_config(app.config),
        )
        db.session.commit()
        [appointment] = active_appointments(stored.id)
        return appointment.id


def appointment_at(app, reference: str, practitioner_id: int, starts: datetime, *, booked_at: datetime | None = None,
                   site: str = "riverside") -> int:
    """An appointment for the request at exactly `starts`, booked (or last moved) at `booked_at`,
    written directly (booking itself only takes free times from now on); return its id."""
    with app.app_context():
        request_id = db.session.execute(db.select(AssessmentRequest.id).where(AssessmentRequest.reference == reference)).scalar_one()
        booked_at = booked_at or utcnow()
        appointment = Appointment(request_id=request_id, practitioner_id=practitioner_id, site_code=site, starts_at=starts,
                                  minutes=45, buffer_minutes=15, blocked_until=starts + timedelta(minutes=60),
                                  created_at=booked_at, updated_at=booked_at)
        db.session.add(appointment)
        db.session.execute(db.update(AssessmentRequest).where(AssessmentRequest.id == request_id).values(status="booked"))
        db.session.commit()
        return appointment.id


def begun_appointment(app, reference: str, practitioner_id: int, minutes_ago: int = 90) -> int:
    """An appointment for the request that began `minutes_ago`, as one reception would mark attended
    or not; return its id. Over an hour ago by default, so it ends before any time still free (and
    never overlaps a booking made from now on)."""
    starts = utcnow().replace(second=0, microsecond=0) - timedelta(minutes=minutes_ago)
    return appointment_at(app, reference, practitioner_id, starts, booked_at=starts - timedelta(days=3))


def queue_plain_emails(app, count: int) -> None:
    """`count` short emails, each to its own address, due now."""
    with app.app_context():
        now = utcnow()
        db.session.add_all([
            OutboxMessage(kind="test", recipient=f"patient{number}@example.com", subject=f"Message {number}",
                          text_body="Hello", html_body="<p>Hello</p>", message_id=f"<test.{number}@clinic.example>",
                          next_attempt_at=now, created_at=now)
            for number in range(count)
        ])
        db.session.commit()


def outbox(app) -> list[OutboxMessage]:
    """Every queued email and text, oldest first."""
    with app.app_context():
        return list(db.session.execute(db.select(OutboxMessage).order_by(OutboxMessage.id)).scalars())


def give_up_on_an_email(app, reference: str | None = None, recipient: str | None = None,
                        error: str = "550 mailbox unavailable", attempts: int | None = None) -> int:
    """Mark the first queued email (of one request, if given) as dead, as if delivery kept failing; return its id."""
    with app.app_context():
        query = select(OutboxMessage).order_by(OutboxMessage.id)
        if reference is not None:
            query = query.where(OutboxMessage.request_id == staff_services.find_request(reference).id)
        message = db.session.execute(query).scalars().first()
        assert message is not None, "the submitted request queued no email"
        message.status, message.last_error = "dead", error
        message.attempts = attempts if attempts is not None else app.config["OUTBOX_MAX_ATTEMPTS"]
        if recipient is not None:
            message.recipient = recipient
        db.session.commit()
        return message.id


MOBILE = "+447400123456"
TEXT_BODY = "Zyxtext: your physio appointment is tomorrow at 9:30. Reply STOP to stop."


def queue_a_text(app, number: str = MOBILE, body: str = TEXT_BODY, *, not_before: datetime | None = None,
                 kind: str = "test_text", key: str | None = None) -> int:
    """Queue one text in the outbox (due now unless told), committed; return its id."""
    with app.app_context():
        message_id = queue_text(number, body, kind, None, not_before or utcnow(), key=key)
        db.session.commit()
        return message_id


def give_up_on_a_text(app, error: str = "PermanentSmsError: 400 code 21211: invalid 'To' number") -> int:
    """Queue a text and mark it dead after one attempt, as when the provider refuses the number; return its id."""
    message_id = queue_a_text(app)
    with app.app_context():
        message = db.session.get(OutboxMessage, message_id)
        message.status, message.attempts, message.last_error = "dead", 1, error
        db.session.commit()
    return message_id


def outbox_message(app, message_id: int) -> OutboxMessage:
    """One outbox message as it is now in the database."""
    with app.app_context():
        return db.session.get(OutboxMessage, message_id)


ROW_LINK = re.compile(r'href="/staff/requests/([A-Z2-9]{8})"')


def listed(response) -> list[str]:
    """The references in the request list's table, in the order shown."""
    assert response.status_code == 200, response.status_code
    return ROW_LINK.findall(response.get_data(as_text=True))


# --- scenes shared by a whole module: a clinic of six requests, a desk with one -----------

@dataclass
class Clinic:
    """Six requests of every urgency, site and status, and a receptionist signed in (read-only checks)."""

    app: object
    staff: Staff
    email: str
    refs: dict[str, str] = field(default_factory=dict)

    def get(self, path: str):
        return self.staff.client.get(path)

    def listed(self, query: str = "") -> list[str]:
        """The references the request list shows for a query string, in the order shown."""
        return listed(self.get(f"/staff/?{query}"))

    def refs_of(self, letters: str) -> list[str]:
        return [self.refs[letter] for letter in letters]


# letter: (first, last, email, phone, site, extra pages, created_at UTC, status)
CLINIC_REQUESTS = {
    # 00:30 BST on 1 July in London
    "A": ("Ada", "Lovelace", "ada@example.com", "07400 123456", "riverside", {}, datetime(2024, 6, 30, 23, 30, tzinfo=UTC), "new"),
    # 00:30 BST on 2 July in London
    "B": ("Grace", "Hopper", "grace.hopper@navy.example", "07400 111222", "canal-side", {}, datetime(2024, 7, 1, 23, 30, tzinfo=UTC), "new"),
    "C": ("Alan", "Turing", "alan@bletchley.example", "07400 222333", "west-green",
          {**URGENT, "where_it_hurts": {"region": "shoulder"}}, datetime(2024, 6, 15, 12, 0, tzinfo=UTC), "contacted"),
    "D": ("Katherine", "Johnson", "kj@nasa.example", "07400 333444", "riverside", URGENT, datetime(2024, 7, 3, 9, 0, tzinfo=UTC), "contacted"),
    "E": ("Mary", "Seacole", "mary@crimea.example", "07400 444555", "canal-side",
          {**EMERGENCY, "where_it_hurts": {"region": "lower_back"},
           "about_you": {"date_of_birth-day": "1", "date_of_birth-month": "3", "date_of_birth-year": "1950"}},
          datetime(2024, 6, 1, 9, 0, tzinfo=UTC), "declined"),
    "F": ("Florence", "Nightingale", "flo@lamp.example", "07400 555666", "west-green", EMERGENCY, datetime(2024, 7, 4, 9, 0, tzinfo=UTC), "new"),
}
URGENCY_ORDER = "FEDCBA"  # emergency, urgent, routine; newest first within each
NEWEST_ORDER = "FDBACE"


def new_clinic(app) -> Clinic:
    """Fill an app with CLINIC_REQUESTS (their arrival times and statuses) and sign a receptionist in."""
    email = new_staff(app, "reception", name="Rita Reception")
    refs = {}
    for letter, (first, last, mail, phone, site, pages, created, _) in CLINIC_REQUESTS.items():
        refs[letter] = new_request(app, first, last, mail, phone, site, **{k: dict(v) for k, v in pages.items()})
        update_request(app, refs[letter], created_at=created)
    with app.app_context():
        user = staff_accounts.find_staff(email)
        for letter, spec in CLINIC_REQUESTS.items():
            if spec[-1] != "new":
                staff_services.change_status(staff_services.find_request(refs[letter]), spec[-1], user, utcnow())
        db.session.commit()
    return Clinic(app=app, staff=sign_in(app, email), email=email, refs=refs)


@dataclass
class Desk:
    """One request, a receptionist signed in and a practitioner to book (the status and booking refusal matrix)."""

    app: object
    staff: Staff
    email: str
    reference: str
    clinician: int  # the practitioner's id
    receptionist: int

    def path(self, action: str = "") -> str:
        return f"/staff/requests/{self.reference}" + (f"/{action}" if action else "")

    def set_status(self, status: str) -> None:
        update_request(self.app, self.reference, status=status)

    def status(self) -> str:
        with self.app.app_context():
            return staff_services.find_request(self.reference).status


def new_desk(app) -> Desk:
    """One routine request, Rita at reception (signed in) and Clara the clinician."""
    reference = new_request(app)
    email = new_staff(app, "reception", name="Rita Reception")
    clinician = new_staff(app, "clinician", name="Clara Clinician")
    practitioner = new_practitioner(app, "Clara Clinician", staff_email=clinician)
    return Desk(app, sign_in(app, email), email, reference, practitioner, staff_id(app, email))
