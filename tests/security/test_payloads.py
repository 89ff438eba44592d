"""A table of hostile payloads (markup, template syntax, SQL, header injection, spreadsheet
formulas) sent through every free-text field, and checked in every place that shows them.

Each payload makes one request through the real journey, with the payload (tagged with the
field's name, so each field can be found) in the text areas, a staff note, a failed sign-in
and a search. Names (and the postcode) refuse every payload, so names are also written straight into
the draft, as a bug or a future import might, to prove the pages and emails escape them anyway.
The pages, emails, calendar invite and CSV it produces are kept, and each test checks one
payload in one field in one place.
"""

from __future__ import annotations

import csv
import html
import io
import re
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path

import pytest
from icalendar import Calendar
from markupsafe import escape
from sqlalchemy import func, select, text

from tests.factories import Patient, Staff, booking_form, free_slot, new_practitioner, new_staff, sign_in, valid_answers
from tests.support.database import BACKENDS, shared_app
from intake.journey.models import AssessmentRequest, Draft
from intake.platform.extensions import db
from intake.platform.forms import has_control_characters
from intake.appointments.models import Appointment
from intake.staff.models import RequestNote
from intake.appointments.slots import SLOT_VALUE
from tests.support.pages import shown_answers

PAYLOADS = {
    "script-element": "<script>alert(1)</script>",
    "img-onerror": "<img src=x onerror=alert(1)>",
    "textarea-breakout": "</textarea><script>alert(1)</script>",
    "attribute-double-quote": '" onmouseover="alert(1)',
    "attribute-single-quote": "' autofocus onfocus='alert(1)",
    "javascript-url": "javascript:alert(1)",
    "jinja-expression": "{{7*7}}",
    "jinja-statement": "{% print 7*7 %}",
    "dollar-template": "${7*7}",
    "sql-drop-table": "'; DROP TABLE assessment_requests; --",
    "sql-or-true": '" OR 1=1 --',
    "crlf-bcc-header": "x\r\nBcc: victim@example.com",
    "formula-hyperlink": '=HYPERLINK("http://evil")',
    "formula-plus": "+1+1",
    "formula-minus": "-2+3",
    "formula-at": "@SUM(A1)",
    "formula-tab": "\t=1",
    "formula-carriage-return": "\r=1",
}
NEVER_IN_HTML = ["<script>alert(1)", "<img src=x", "</textarea><script>", 'onmouseover="alert', "onfocus='alert", 'href="javascript:', "src=\"javascript:"]
TEMPLATE_SYNTAX = ("{{7*7}}", "{% print 7*7 %}", "${7*7}")
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")

# Where each field's value is shown. Typed: the patient's text areas, a staff note, the email typed
# at a failed sign-in, a search. Bypassed: written into the draft, since validation refuses them.
SHOWN_IN = {
    "description": ["check", "detail"],
    "goals": ["check", "detail"],
    "note": ["check", "detail"],
    "staff_note": ["detail"],
    "login_email": ["login", "audit"],
    "search": ["search"],
    "first_name": ["check", "confirmation", "list", "detail", "clinic email"],
    "last_name": ["check", "list", "detail", "clinic email"],
}
HTML_PLACES = ("check", "confirmation", "list", "search", "detail", "audit", "login")
EMAILS = ("clinic email", "patient email", "booking email")
# Written straight into the draft (their forms refuse every payload). Not the postcode: its
# column holds 10 characters, which no payload fits, and PostgreSQL refuses longer text.
BYPASSED = ("first_name", "last_name")
STORED_COLUMNS = {"description": "description", "goals": "goals", "note": "availability_note",
                  "first_name": "first_name", "last_name": "last_name"}
REFUSING = {  # field: the form it is on
    "first_name": "about-you", "last_name": "about-you", "email": "about-you", "phone": "about-you",
    "postcode": "about-you", "slot": "staff booking",
}


def tagged(payload: str, name: str) -> str:
    """The payload as typed into one field: tagged at the end, so formula prefixes stay first."""
    return f"{payload} [{name}]"


def one_kind_of_line_break(value: str) -> str:
    return value.replace("\r\n", "\n").replace("\r", "\n")


def cleaned(value: str) -> str:
    """Text as the forms keep it: line breaks as LF, no white space around it."""
    return one_kind_of_line_break(value).strip()


def evaluated(value: str) -> str:
    """What the value would look like had a template engine run it."""
    for syntax in TEMPLATE_SYNTAX:
        value = value.replace(syntax, "49")
    return value


def neutralised(value: str) -> str:
    return "'" + value if value.startswith(FORMULA_PREFIXES) else value


# --- one request per payload, with everything it produced ---------------------------------

@dataclass
class Shown:
    """What one payload's request looked like everywhere."""

    reference: str
    values: dict[str, str]  # field: the value as it should be stored and shown
    pages: dict[str, str] = field(default_factory=dict)
    emails: dict[str, EmailMessage] = field(default_factory=dict)
    csv_row: list[str] = field(default_factory=list)
    stored: dict[str, str] = field(default_factory=dict)
    invite: str = ""


@dataclass
class Clinic:
    app: object
    reception: Staff
    admin: Staff
    mail_dir: Path
    seen: dict[str, Shown] = field(default_factory=dict)

    def shown(self, payload_id: str) -> Shown:
        if payload_id not in self.seen:
            self.seen[payload_id] = self._send(PAYLOADS[payload_id])
        return self.seen[payload_id]

    def _send(self, payload: str) -> Shown:
        """Make the request, act on it in the back office, and keep every page, email and file."""
        values = {name: cleaned(tagged(payload, name)) for name in ("description", "goals", "note", "staff_note")}
        values.update({name: tagged(payload, name) for name in BYPASSED})
        values["login_email"] = cleaned(tagged(payload, "login_email"))
        values["search"] = tagged(payload, "search")[:100].strip()

        patient = Patient(self.app.test_client())
        patient.answer_all(
            how_it_feels={"description": tagged(payload, "description"), "goals": tagged(payload, "goals")},
            when_and_where={"note": tagged(payload, "note")},
        )
        self._bypass_validation(patient, {name: values[name] for name in BYPASSED})
        shown = Shown(reference="", values=values)
        shown.pages["check"] = patient.client.get("/book/check").get_data(as_text=True)
        response = patient.submit()
        assert response.status_code == 303, response.get_data(as_text=True)
        if response.headers["Location"].endswith("/book/time"):
            response = patient.phone_me()
        shown.reference = response.headers["Location"].rsplit("/", 1)[1]
        shown.pages["confirmation"] = patient.client.get(response.headers["Location"]).get_data(as_text=True)

        path = f"/staff/requests/{shown.reference}"
        assert self.reception.post(f"{path}/notes", {"body": tagged(payload, "staff_note")}).status_code == 303
        assert self.reception.post(f"{path}/book", booking_form(free_slot(self.app))).status_code == 303
        login = Staff(self.app.test_client()).login(tagged(payload, "login_email"), "not the password")
        shown.pages["login"] = login.get_data(as_text=True)
        shown.pages["audit"] = self.admin.client.get("/staff/audit").get_data(as_text=True)
        shown.pages["list"] = self.reception.client.get("/staff/", query_string={"q": shown.reference}).get_data(as_text=True)
        shown.pages["search"] = self.reception.client.get("/staff/", query_string={"q": tagged(payload, "search")}).get_data(as_text=True)
        shown.pages["detail"] = self.reception.client.get(path).get_data(as_text=True)
        export = self.reception.client.get("/staff/export.csv", query_string={"q": shown.reference})
        [_, shown.csv_row] = list(csv.reader(io.StringIO(export.get_data(as_text=True))))
        export.close()

        with self.app.app_context():
            stored = db.session.execute(select(AssessmentRequest).where(AssessmentRequest.reference == shown.reference)).scalar_one()
            shown.stored = {name: getattr(stored, column) for name, column in STORED_COLUMNS.items()}
            shown.stored["staff_note"] = db.session.execute(select(RequestNote.body).where(RequestNote.request_id == stored.id)).scalar_one()
        shown.emails, shown.invite = self._emails(shown.reference)
        return shown

    def _bypass_validation(self, patient: Patient, about: dict[str, str]) -> None:
        """Write values straight into the draft, as if validation had let them through."""
        with patient.client.session_transaction() as session:
            draft_id = session["draft_id"]
        with self.app.app_context():
            draft = db.session.get(Draft, draft_id)
            draft.answers = {**draft.answers, "about_you": {**draft.answers["about_you"], **about}}
            db.session.commit()

    def _emails(self, reference: str) -> tuple[dict[str, EmailMessage], str]:
        """Deliver the outbox as `flask outbox send` does (to .eml files) and read this request's emails."""
        result = self.app.test_cli_runner().invoke(args=["outbox", "send"])
        assert result.exit_code == 0, result.output
        kinds = {"clinic_new_request": "clinic email", "patient_acknowledgement": "patient email",
                 "patient_booking_confirmation": "booking email"}
        emails = {}
        for path in self.mail_dir.glob(f"*.{reference}*.eml"):
            emails[kinds[path.name.split(".", 1)[0]]] = message_from_bytes(path.read_bytes(), policy=policy.default)
        assert set(emails) == set(EMAILS), sorted(emails)
        [invite] = [part for part in emails["booking email"].walk() if part.get_content_type() == "text/calendar"]
        return emails, invite.get_content()


@pytest.fixture(scope="module", params=BACKENDS)
def clinic(request, tmp_path_factory):
    """One app for the module, emailing to .eml files, with a practitioner to book, a receptionist and an admin."""
    mail_dir = tmp_path_factory.mktemp("mail")
    with shared_app(request.param, tmp_path_factory, name="payloads", RATELIMIT_ENABLED=False, MAIL_FILE_DIR=str(mail_dir),
                    MAIL_ACKNOWLEDGEMENTS_PER_ADDRESS_PER_DAY=10**6) as app:  # every request here has the same address
        new_practitioner(app, "Cleo Clinician")
        yield Clinic(app, sign_in(app, new_staff(app, "reception")), sign_in(app, new_staff(app, "admin")), mail_dir)


# --- the table ----------------------------------------------------------------------------

def cases(places) -> list:
    return [
        pytest.param(payload_id, name, place, id=f"{payload_id}-{name}-{place}")
        for payload_id in PAYLOADS for name, shown_in in SHOWN_IN.items() for place in shown_in if place in places
    ]


def expected_in(place: str, name: str, value: str) -> str:
    """The value as a place shows it (the audit log keeps a sign-in email in lower case)."""
    return value.lower() if (name, place) == ("login_email", "audit") else value


def assert_shown_as_text(page: str, value: str, where: str) -> None:
    """The value is on the page escaped once, never as markup, and never run as a template."""
    assert str(escape(value)) in page, f"{where}: {escape(value)!r} not shown"
    if str(escape(value)) != value:
        assert value not in page, f"{where}: shown unescaped"
    if evaluated(value) != value:
        assert evaluated(value) not in page, f"{where}: the template syntax was run"
    for marker in NEVER_IN_HTML:
        assert marker not in page, f"{where}: {marker!r} in the page"


@pytest.mark.parametrize(("payload_id", "name", "place"), cases(HTML_PLACES))
def test_a_payload_is_shown_as_plain_text_on_every_page(clinic, payload_id, name, place):
    """Check your answers, confirmation, staff list and search, request page, audit log and the
    sign-in page show the payload escaped, literally, and never as markup or evaluated template."""
    shown = clinic.shown(payload_id)
    value = expected_in(place, name, shown.values[name])
    if (name, place) == ("login_email", "audit") and has_control_characters(value):
        # Refused next to the box before any lookup, so there was no sign-in attempt to record.
        assert str(escape(value)) not in shown.pages[place]
        assert "Email address must not contain special control characters" in shown.pages["login"]
        return
    assert_shown_as_text(shown.pages[place], value, f"{name} on {place}")


@pytest.mark.parametrize(("payload_id", "name", "place"), cases(EMAILS))
def test_a_payload_in_an_email_is_escaped_in_html_and_literal_in_text(clinic, payload_id, name, place):
    """The HTML part escapes the payload; the plain-text part shows exactly what was typed."""
    shown = clinic.shown(payload_id)
    value = one_kind_of_line_break(shown.values[name])  # email bodies travel with CRLF line ends
    assert_shown_as_text(email_part(shown.emails[place], "html"), value, f"{name} in {place} (HTML)")
    assert value in email_part(shown.emails[place], "plain")


def email_part(message: EmailMessage, subtype: str) -> str:
    return one_kind_of_line_break(message.get_body(preferencelist=(subtype,)).get_content())


EXPECTED_HEADERS = {"Content-Type", "MIME-Version", "Subject", "From", "To", "Date", "Message-ID", "Reply-To"}


@pytest.mark.parametrize("payload_id", PAYLOADS)
@pytest.mark.parametrize("kind", EMAILS)
def test_no_payload_reaches_an_email_header(clinic, payload_id, kind):
    """Whatever was typed, every email has only its own headers, one recipient, and no Bcc."""
    shown = clinic.shown(payload_id)
    message = shown.emails[kind]
    assert set(message.keys()) <= EXPECTED_HEADERS, sorted(message.keys())
    assert message["Bcc"] is None and len(message.get_all("To")) == 1
    assert message["To"] == "ada@example.com" or kind == "clinic email"
    for header, value in message.items():
        assert "victim" not in value and "[" not in value and "<script" not in value, (header, value)


@pytest.mark.parametrize("payload_id", PAYLOADS)
def test_the_calendar_invite_holds_one_event_and_no_patient_text(clinic, payload_id):
    """The .ics parses to one event with the clinic's own words; no payload gets into it."""
    shown = clinic.shown(payload_id)
    [event] = Calendar.from_ical(shown.invite).walk("VEVENT")
    assert str(event["summary"]).startswith("Physiotherapy assessment at ")
    assert "[" not in shown.invite and "victim" not in shown.invite and "alert" not in shown.invite


@pytest.mark.parametrize("payload_id", PAYLOADS)
@pytest.mark.parametrize("name", ["first_name", "last_name"])
def test_a_csv_cell_holds_the_payload_with_formulas_neutralised(clinic, payload_id, name):
    """The export keeps the value as data in its cell, with a quote before any formula prefix."""
    shown = clinic.shown(payload_id)
    column = {"first_name": 4, "last_name": 5}[name]
    assert shown.csv_row[column] == neutralised(shown.values[name])
    assert not any(cell.startswith(FORMULA_PREFIXES) for cell in shown.csv_row), shown.csv_row


@pytest.mark.parametrize("payload_id", PAYLOADS)
@pytest.mark.parametrize("name", ["description", "goals", "note", "staff_note", *BYPASSED])
def test_a_payload_is_stored_verbatim_and_the_tables_stay(clinic, payload_id, name):
    """SQL, markup and formulas are stored exactly as kept by the form (or as written), and the
    request table is still there with every request in it."""
    shown = clinic.shown(payload_id)
    assert shown.stored[name] == shown.values[name]
    with clinic.app.app_context():
        count = db.session.execute(text("SELECT count(*) FROM assessment_requests")).scalar_one()
    assert count >= len(clinic.seen)


# --- fields that refuse payloads ----------------------------------------------------------

@pytest.fixture(scope="module")
def refusing(clinic):
    """A patient on the first page, and a request to book, for posting payloads that must be refused."""
    patient = Patient(clinic.app.test_client())
    patient.start()
    reference = Patient(clinic.app.test_client()).complete()
    return patient, reference, patient.csrf_token("/book/about-you")


def counts(app) -> tuple[int, ...]:
    with app.app_context():
        return tuple(db.session.execute(select(func.count()).select_from(model)).scalar_one() for model in (Appointment, Draft, AssessmentRequest))


def draft_answers(app, patient: Patient) -> dict:
    with patient.client.session_transaction() as session:
        draft_id = session["draft_id"]
    with app.app_context():
        return db.session.get(Draft, draft_id).answers


@pytest.mark.parametrize("payload_id", PAYLOADS)
@pytest.mark.parametrize("name", REFUSING)
def test_a_field_that_refuses_a_payload_says_so_stores_nothing_and_shows_it_escaped(clinic, refusing, payload_id, name):
    """Names, email, phone, postcode and the booking's free time refuse every payload: an error next
    to the field, nothing stored, and a typed value shown back as text in the box (a free time is
    chosen, not typed: the payload is not offered back as one)."""
    patient, reference, token = refusing
    payload = PAYLOADS[payload_id]
    before = counts(clinic.app)
    if REFUSING[name] == "about-you":
        response = patient.client.post("/book/about-you", data={**valid_answers()["about-you"], name: payload, "csrf_token": token})
        assert response.status_code == 200
        assert draft_answers(clinic.app, patient) == {}
    else:
        response = clinic.reception.post(f"/staff/requests/{reference}/book", booking_form(payload))
        assert response.status_code == 400
    assert counts(clinic.app) == before
    page = response.get_data(as_text=True)
    assert f'id="{name}-error"' in page and "There is a problem" in page
    if name == "slot":
        offered = [html.unescape(value) for value in re.findall(r'<option value="([^"]*)"', page)]
        assert any(SLOT_VALUE.fullmatch(value) for value in offered) and payload not in offered
    else:
        assert shown_answers(response)[name] == [cleaned(payload)]
    for marker in NEVER_IN_HTML:
        assert marker not in page


@pytest.mark.parametrize("payload_id", PAYLOADS)
@pytest.mark.parametrize(("slug", "name"), [("how-it-feels", "description"), ("how-it-feels", "goals"), ("when-and-where", "note")])
def test_a_text_area_shown_again_with_an_error_keeps_the_payload_as_text(clinic, payload_id, slug, name):
    """When another answer is wrong, the text area gives back exactly what was typed, without
    the payload closing the text area or running."""
    patient = Patient(clinic.app.test_client())
    patient.start()
    answers = valid_answers()
    for earlier in list(answers)[: list(answers).index(slug)]:
        assert patient.answer(earlier, answers[earlier]).status_code == 303
    wrong = {"pain_worst": "1"} if slug == "how-it-feels" else {"days": ["funday"]}
    response = patient.answer(slug, {**answers[slug], name: tagged(PAYLOADS[payload_id], name), **wrong})
    assert response.status_code == 200
    assert shown_answers(response)[name] == [cleaned(tagged(PAYLOADS[payload_id], name))]
    page = response.get_data(as_text=True)
    assert_shown_as_text(page, cleaned(tagged(PAYLOADS[payload_id], name)), f"{name} shown again")
