"""The back office's daily work: finding requests, reading them, moving them on, booking,
notes, the audit log, CSV export, escaping of patient-entered text and the outbox page.

Every test states a behaviour a clinic would notice. Read-only checks of the list and the
request page, and the status/booking refusal matrix, share one app per module and backend
(`clinic` and `desk` below) so the file stays fast; everything else gets a fresh database.
"""

from __future__ import annotations

import csv
import html
import io
import re
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone
from urllib.parse import parse_qs, urlsplit

import pytest
from icalendar import Calendar
from sqlalchemy import delete, func, select, update

from tests.factories import Staff, booking_form, give_up_on_an_email, new_request, new_staff, sign_in, staff_id, update_request, valid_answers
from tests.support.database import BACKENDS, shared_app
from intake.journey.models import REQUEST_STATUSES, AssessmentRequest
from intake.platform.extensions import db
from intake.mail.models import OutboxMessage
from intake.mail.outbox import wait_for_background_sends
from intake.staff import services as staff_services
from intake.appointments.models import Appointment
from intake.staff.models import AuditEvent, AuditLogIsAppendOnly, RequestNote
from intake.platform.timeutil import LONDON, today_in_london, utcnow
from intake.triage import EMERGENCY_QUESTIONS, URGENT_QUESTIONS
from tests.support.mail_server import SMTPServer

UTC = timezone.utc
EMERGENCY = {"nerve_symptoms": {"saddle_numbness": "yes"}}
URGENT = {"general_health": {"night_pain": "yes"}}
ROW_LINK = re.compile(r'href="/staff/requests/([A-Z2-9]{8})"')
RIVERSIDE_ADDRESS = "3 Ferry Lane, London SE1 9ZZ"
EXPORT_HEADER = [
    "Reference", "Received (London)", "Status", "Urgency", "First name", "Last name", "Phone", "Email",
    "Preferred contact", "Site", "Main problem",
]
SCRIPT = "<script>alert(1)</script>"
IMG = '"><img src=x onerror=alert(1)>'
SCRIPT_ESCAPED = "&lt;script&gt;alert(1)&lt;/script&gt;"
IMG_ESCAPED = "&lt;img src=x onerror=alert(1)&gt;"


# --- helpers ------------------------------------------------------------------------------


def request_value(app, reference: str, column: str):
    with app.app_context():
        return getattr(staff_services.find_request(reference), column)


def request_id(app, reference: str) -> int:
    return request_value(app, reference, "id")


def listed(response) -> list[str]:
    """The references in the list's table, in the order shown."""
    assert response.status_code == 200, response.status_code
    return ROW_LINK.findall(response.get_data(as_text=True))


def audit_events(app, action: str | None = None, reference: str | None = None) -> list[dict]:
    """The audit log as plain dicts, oldest first."""
    with app.app_context():
        query = select(AuditEvent).order_by(AuditEvent.id)
        if action:
            query = query.where(AuditEvent.action == action)
        if reference:
            query = query.where(AuditEvent.request_id == staff_services.find_request(reference).id)
        return [
            {"id": e.id, "at": e.at, "staff_id": e.staff_id, "staff_email": e.staff_email, "action": e.action,
             "request_id": e.request_id, "detail": dict(e.detail)}
            for e in db.session.execute(query).scalars()
        ]


def appointments(app, reference: str) -> list[tuple[datetime, int, str, bool]]:
    with app.app_context():
        rows = db.session.execute(
            select(Appointment).join(AssessmentRequest, AssessmentRequest.id == Appointment.request_id)
            .where(AssessmentRequest.reference == reference).order_by(Appointment.id)
        ).scalars()
        return [(row.starts_at, row.clinician_id, row.site_code, row.cancelled) for row in rows]


def outbox_count(app) -> int:
    with app.app_context():
        return db.session.execute(select(func.count()).select_from(OutboxMessage)).scalar_one()


def invites(app, reference: str) -> list[OutboxMessage]:
    """The booking confirmations queued for a request (detached copies)."""
    with app.app_context():
        messages = list(db.session.execute(
            select(OutboxMessage).join(AssessmentRequest, AssessmentRequest.id == OutboxMessage.request_id)
            .where(AssessmentRequest.reference == reference, OutboxMessage.kind == "patient_booking_confirmation")
            .order_by(OutboxMessage.id)
        ).scalars())
        db.session.expunge_all()
        return messages


def the_event(ics: str):
    events = Calendar.from_ical(ics).walk("VEVENT")
    assert len(events) == 1
    return events[0]


def error_messages(body: str) -> list[str]:
    """The messages in the page's error summary."""
    summary = re.search(r'<ul class="error-summary__list">(.*?)</ul>', body, re.S)
    return [html.unescape(re.sub(r"<[^>]+>", "", item)).strip() for item in re.findall(r"<li>(.*?)</li>", summary.group(1), re.S)] if summary else []


def csv_rows(response) -> list[list[str]]:
    """Read (and close) a streamed CSV download. An unread stream would keep its request
    context pushed in this thread and leak into the next request."""
    try:
        assert response.status_code == 200, response.status_code
        return list(csv.reader(io.StringIO(response.get_data(as_text=True))))
    finally:
        response.close()


def next_year(month: int, day: int) -> date:
    return date(today_in_london().year + 1, month, day)


# --- a clinic with six requests, for the read-only list and page checks ---------------------

@dataclass
class Clinic:
    app: object
    staff: Staff
    email: str
    refs: dict[str, str] = field(default_factory=dict)

    def get(self, path: str):
        return self.staff.client.get(path)

    def listed(self, query: str = "") -> list[str]:
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


@pytest.fixture(scope="module", params=BACKENDS)
def clinic(request, tmp_path_factory):
    with shared_app(request.param, tmp_path_factory, name="clinic") as app:
        email = new_staff(app, "reception", name="Rita Reception")
        refs = {}
        for letter, (first, last, mail, phone, site, pages, created, _) in CLINIC_REQUESTS.items():
            refs[letter] = new_request(app, first, last, mail, phone, site, **{k: dict(v) for k, v in pages.items()})
            update_request(app, refs[letter], created_at=created)
        with app.app_context():
            user = staff_services.find_staff(email)
            for letter, spec in CLINIC_REQUESTS.items():
                if spec[-1] != "new":
                    staff_services.change_status(staff_services.find_request(refs[letter]), spec[-1], user, utcnow())
            db.session.commit()
        yield Clinic(app=app, staff=sign_in(app, email), email=email, refs=refs)


# --- 1. the list --------------------------------------------------------------------------

def test_the_list_shows_emergency_then_urgent_then_routine_newest_first_within_each(clinic):
    """Flagged requests come first, so reception calls the most urgent patients back first."""
    assert clinic.listed() == clinic.refs_of(URGENCY_ORDER)
    assert clinic.listed("order=urgency") == clinic.refs_of(URGENCY_ORDER)


def test_newest_first_order_ignores_urgency(clinic):
    """order=newest lists purely by when the request arrived."""
    assert clinic.listed("order=newest") == clinic.refs_of(NEWEST_ORDER)


@pytest.mark.parametrize(("query", "letters"), [
    ("status=contacted", "DC"),
    ("status=declined", "E"),
    ("status=booked", ""),
    ("site=canal-side", "EB"),
    ("site=west-green", "FC"),
    ("urgency=urgent", "DC"),
    ("urgency=emergency", "FE"),
    ("urgency=routine", "BA"),
    ("status=new&urgency=emergency", "F"),
    ("status=new&site=riverside&order=newest", "A"),
], ids=lambda value: value if isinstance(value, str) and "=" in value else None)
def test_the_list_filters_by_status_site_and_urgency(clinic, query, letters):
    """Each filter narrows the list, and filters combine."""
    assert clinic.listed(query) == clinic.refs_of(letters)


@pytest.mark.parametrize(("query", "letters"), [
    ("from=2024-07-01&to=2024-07-01", "A"),      # 23:30 UTC on 30 June is 1 July in London
    ("from=2024-06-30&to=2024-06-30", ""),
    ("from=2024-07-02", "FDB"),                  # 23:30 UTC on 1 July is 2 July in London
    ("to=2024-06-30", "EC"),
    ("from=2024-06-10&to=2024-07-01", "CA"),
], ids=lambda value: value if isinstance(value, str) and "=" in value else None)
def test_the_date_range_uses_london_dates(clinic, query, letters):
    """'Received from/to' are days on the clinic's calendar (BST), not UTC days."""
    assert clinic.listed(query) == clinic.refs_of(letters)


def test_search_finds_a_reference_exactly_in_any_case(clinic):
    """Reception can read a reference out in lower case, with stray spaces."""
    reference = clinic.refs["D"]
    assert clinic.listed(f"q={reference}") == [reference]
    assert clinic.listed(f"q={reference.lower()}") == [reference]
    assert clinic.listed(f"q=+{reference.lower()}+") == [reference]


@pytest.mark.parametrize(("search", "letter"), [
    ("LOVEL", "A"), ("ada lov", "A"), ("hopp", "B"), ("Florence Night", "F"),
    ("navy.exam", "B"), ("@CRIMEA", "E"),
])
def test_search_finds_part_of_a_name_or_email(clinic, search, letter):
    """Part of the name (first, last or both) or of the email, whatever the case."""
    assert clinic.listed(f"q={search}") == [clinic.refs[letter]]


@pytest.mark.parametrize("typed", ["07400 123456", "07400123456", "+44 7400 123456", "+447400123456", "0740 012 3456"])
def test_search_finds_a_phone_number_however_it_is_typed(clinic, typed):
    """The number is stored as +447400123456; reception types it as the patient reads it out."""
    assert request_value(clinic.app, clinic.refs["A"], "phone") == "+447400123456"
    response = clinic.staff.client.get("/staff/", query_string={"q": typed})
    assert listed(response) == [clinic.refs["A"]]


def test_search_that_matches_nothing_says_so(clinic):
    """An empty result is stated, not shown as a blank table."""
    response = clinic.get("/staff/?q=Zebedee")
    assert listed(response) == []
    assert "No requests match these filters." in response.get_data(as_text=True)


def test_the_list_shows_how_many_requests_are_in_each_status(clinic):
    """Counts per status sit above the list and match what each status filter shows."""
    body = clinic.get("/staff/").get_data(as_text=True)
    counts = dict(re.findall(r'href="/staff/\?status=(\w+)"[^>]*>[^<]*<strong>(\d+)</strong>', body))
    assert counts == {"new": "3", "contacted": "2", "booked": "0", "attended": "0", "no_show": "0", "cancelled": "0", "declined": "1"}
    assert "6 requests" in body
    assert "2 requests" in clinic.get("/staff/?status=contacted").get_data(as_text=True)


@pytest.mark.parametrize("query", [
    "status=%3Cscript%3Ealert(1)%3C/script%3E",
    "order=DROP+TABLE+assessment_requests",
    "urgency=whenever&site=..%2F..%2Fetc&from=yesterday&to=2024-13-45&page=abc",
    "status=new'%20OR%201=1--&order=newest;DROP",
    "q=%25&page=-3",
])
def test_unknown_filter_values_are_ignored_safely(clinic, query):
    """Tampered query strings get the ordinary list (200), never an error or echoed markup."""
    response = clinic.get(f"/staff/?{query}")
    body = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "<script>alert(1)" not in body
    if not query.startswith("q="):
        assert listed(response) == clinic.refs_of(URGENCY_ORDER)
    assert csv_rows(clinic.get(f"/staff/export.csv?{query}"))[0] == EXPORT_HEADER
    with clinic.app.app_context():  # the table is still there
        assert db.session.execute(select(func.count()).select_from(AssessmentRequest)).scalar_one() == 6


def test_the_list_is_paged_on_the_server_with_links_that_keep_the_filters(make_app):
    """With 2 per page, 5 requests make 3 pages; previous/next links keep the filters and order."""
    app = make_app(STAFF_PAGE_SIZE=2)
    names = ["Ada", "Grace", "Alan", "Mary", "Joan"]
    refs = [new_request(app, first=name, email=f"{name.lower()}@example.com") for name in names]
    for hours, reference in enumerate(refs):
        update_request(app, reference, created_at=datetime(2024, 5, 1, 9, tzinfo=UTC) + timedelta(hours=hours))
    staff = sign_in(app, new_staff(app, "reception"))
    wanted = {"status": ["new"], "site": ["riverside"], "order": ["newest"]}

    def link(body: str, rel: str) -> str | None:
        match = re.search(rf'<a href="([^"]+)" rel="{rel}">', body)
        return html.unescape(match.group(1)) if match else None

    seen, path = [], "/staff/?status=new&site=riverside&order=newest"
    for page in (1, 2, 3):
        response = staff.client.get(path)
        body = response.get_data(as_text=True)
        seen.append(listed(response))
        assert f"page {page} of 3" in body
        previous, following = link(body, "prev"), link(body, "next")
        assert (previous is None) == (page == 1)
        assert (following is None) == (page == 3)
        for target, target_page in ((previous, page - 1), (following, page + 1)):
            if target:
                assert parse_qs(urlsplit(target).query) == {**wanted, "page": [str(target_page)]}
        path = following
    newest_first = list(reversed(refs))
    assert seen == [newest_first[0:2], newest_first[2:4], newest_first[4:]]


# --- 2. a request's page ------------------------------------------------------------------

def answer_shown(body: str, question: str) -> str:
    """The answer shown next to a safety question on the request page."""
    text = html.unescape(body)
    match = re.search(re.escape(question) + r'</dt>\s*<dd class="summary-list__value">(.*?)</dd>', text, re.S)
    assert match, f"question not shown: {question}"
    return re.sub(r"<[^>]+>", "", match.group(1)).strip()


def test_a_request_page_shows_every_answer(clinic):
    """Name, contact details, symptoms, pain scores, the patient's own words and every safety answer."""
    body = clinic.get(f"/staff/requests/{clinic.refs['C']}").get_data(as_text=True)
    text = html.unescape(body)
    answers = valid_answers()
    for shown in (
        "Alan Turing", clinic.refs["C"], "+447400222333", "alan@bletchley.example", "Phone call", "10 December 1985",
        "Shoulder, left", "2 to 6 weeks", "Gradually, for no clear reason", "4/10 now, 7/10 at worst", "Stiffness, Swelling",
        "Aches after running.", "Worse on stairs.", answers["how-it-feels"]["goals"], "West Green", "Morning",
    ):
        assert shown in text, shown
    # A shoulder problem with no nerve symptoms is not asked the cauda equina questions.
    assert {question.code: answer_shown(body, question.question) for question in EMERGENCY_QUESTIONS} == {
        question.code: "Not asked" for question in EMERGENCY_QUESTIONS
    }
    assert {question.code: answer_shown(body, question.question) for question in URGENT_QUESTIONS} == {
        question.code: "Yes" if question.code == "night_pain" else "No" for question in URGENT_QUESTIONS
    }


def test_a_request_page_highlights_flags_with_their_reasons(clinic):
    """Urgency reasons and soft flags are listed in a highlighted box for the clinician."""
    urgent = html.unescape(clinic.get(f"/staff/requests/{clinic.refs['C']}").get_data(as_text=True))
    flags = re.search(r'<section class="flags flags--urgent".*?</section>', urgent, re.S)
    assert flags and "<strong>Constant pain, worse at night, not eased by rest</strong>" in flags.group(0)
    assert "Urgency: <strong>Urgent</strong>" in urgent

    emergency = html.unescape(clinic.get(f"/staff/requests/{clinic.refs['E']}").get_data(as_text=True))
    flags = re.search(r'<section class="flags flags--emergency".*?</section>', emergency, re.S)
    assert flags, "no emergency flag box"
    assert "<strong>Numbness or pins and needles in the saddle area</strong>" in flags.group(0)
    assert re.search(r"New back pain at age \d+ \(under 20 or over 50\)", flags.group(0))
    assert answer_shown(emergency, EMERGENCY_QUESTIONS[0].question) == "Yes"

    routine = clinic.get(f"/staff/requests/{clinic.refs['A']}").get_data(as_text=True)
    assert 'class="flags' not in routine


def test_a_request_page_shows_its_history(clinic):
    """When it arrived (London time) and who moved it on, oldest first."""
    body = html.unescape(clinic.get(f"/staff/requests/{clinic.refs['D']}").get_data(as_text=True))
    history = re.search(r'<ol class="history">(.*?)</ol>', body, re.S).group(1)
    assert "3 Jul 2024, 10:00: request received" in history  # 09:00 UTC shown in BST
    assert re.search(rf"{re.escape(clinic.email)}\s+changed the status from new to contacted", history)


def test_viewing_a_request_is_audited_with_who_and_which_request(clinic):
    """Every look at a patient's record leaves one audit entry."""
    reference = clinic.refs["B"]
    before = audit_events(clinic.app, "view_request", reference)
    started = utcnow()
    assert clinic.get(f"/staff/requests/{reference}").status_code == 200
    new = audit_events(clinic.app, "view_request", reference)[len(before):]
    assert len(new) == 1
    assert new[0]["staff_email"] == clinic.email
    assert new[0]["staff_id"] == staff_id(clinic.app, clinic.email)
    assert new[0]["request_id"] == request_id(clinic.app, reference)
    assert started <= new[0]["at"] <= utcnow()


def test_an_unknown_reference_is_not_found(clinic):
    """A mistyped reference is a 404, not an error page."""
    assert clinic.get("/staff/requests/ZZZZZZZZ").status_code == 404


# --- a desk with one request, for the status and booking refusal matrix ---------------------

@dataclass
class Desk:
    app: object
    staff: Staff
    email: str
    reference: str
    clinician: int
    receptionist: int

    def path(self, action: str = "") -> str:
        return f"/staff/requests/{self.reference}" + (f"/{action}" if action else "")

    def set_status(self, status: str) -> None:
        update_request(self.app, self.reference, status=status)

    def status(self) -> str:
        return request_value(self.app, self.reference, "status")


@pytest.fixture(scope="module", params=BACKENDS)
def desk(request, tmp_path_factory):
    with shared_app(request.param, tmp_path_factory, name="desk") as app:
        reference = new_request(app)
        email = new_staff(app, "reception", name="Rita Reception")
        clinician = new_staff(app, "clinician", name="Clara Clinician")
        yield Desk(app, sign_in(app, email), email, reference, staff_id(app, clinician), staff_id(app, email))


# --- 3. status transitions ----------------------------------------------------------------

STATUS_PAIRS = [(current, target) for current in REQUEST_STATUSES for target in REQUEST_STATUSES]


@pytest.mark.parametrize(("current", "target"), STATUS_PAIRS, ids=[f"{a}-to-{b}" for a, b in STATUS_PAIRS])
def test_a_status_change_happens_only_when_the_rules_allow_it(desk, current, target):
    """Allowed moves redirect, change the status and are audited with from/to; every other
    move is a 400 with an error, changes nothing and writes no audit entry."""
    allowed = target in staff_services.TRANSITIONS[current] and target != "booked"
    desk.set_status(current)
    before = audit_events(desk.app, "change_status", desk.reference)
    response = desk.staff.post(desk.path("status"), {"status": target})
    after = audit_events(desk.app, "change_status", desk.reference)
    if allowed:
        assert response.status_code == 303
        assert urlsplit(response.headers["Location"]).path == desk.path()
        assert desk.status() == target
        assert len(after) == len(before) + 1
        entry = after[-1]
        assert entry["detail"] == {"from": current, "to": target}
        assert entry["staff_email"] == desk.email
        assert entry["request_id"] == request_id(desk.app, desk.reference)
    else:
        assert response.status_code == 400
        assert desk.status() == current
        assert after == before
        assert error_messages(response.get_data(as_text=True)), "no error shown"
        with desk.app.app_context():
            stored = staff_services.find_request(desk.reference)
            with pytest.raises(staff_services.StaffError):
                staff_services.change_status(stored, target, staff_services.find_staff(desk.email), utcnow())
            db.session.rollback()
        assert desk.status() == current


@pytest.mark.parametrize(("current", "target", "explanation"), [
    ("attended", "new", "cannot become new"),
    ("declined", "contacted", "cannot become contacted"),
    ("new", "booked", "To book, choose a date, time and clinician"),
])
def test_a_refused_status_change_says_why(desk, current, target, explanation):
    """Staff with an out-of-date page are told why the move is refused, not just 'invalid'."""
    desk.set_status(current)
    response = desk.staff.post(desk.path("status"), {"status": target})
    assert response.status_code == 400
    assert any(explanation in message for message in error_messages(response.get_data(as_text=True))), error_messages(response.get_data(as_text=True))


# --- 4. booking ---------------------------------------------------------------------------

@pytest.mark.parametrize(("day", "utc_hour", "offset"), [
    (next_year(1, 15), 14, timedelta(0)),        # GMT
    (next_year(7, 15), 13, timedelta(hours=1)),  # BST
], ids=["winter-GMT", "summer-BST"])
def test_booking_stores_the_london_time_in_utc_and_emails_a_calendar_invite(app, patient, make_staff, staff_client, day, utc_hour, offset):
    """14:30 typed in winter (GMT) or summer (BST) is stored as the right UTC instant and the patient
    is emailed an .ics invite for 14:30 London time, 45 minutes long, at the site's address."""
    reference = patient.complete()
    clinician = staff_id(app, make_staff("clinician", name="Clara Clinician"))
    email = make_staff("reception")
    staff = sign_in(app, email)
    response = staff.post(f"/staff/requests/{reference}/book", booking_form(day, "14:30", clinician))
    assert response.status_code == 303, error_messages(response.get_data(as_text=True))
    assert request_value(app, reference, "status") == "booked"
    starts_at = datetime(day.year, day.month, day.day, utc_hour, 30, tzinfo=UTC)
    assert starts_at == datetime(day.year, day.month, day.day, 14, 30, tzinfo=LONDON)
    assert appointments(app, reference) == [(starts_at, clinician, "riverside", False)]

    [invite] = invites(app, reference)
    assert invite.recipient == "ada@example.com"
    assert invite.status == "pending"
    assert invite.attachment_name.endswith(".ics") and invite.attachment_type == "text/calendar"
    event = the_event(invite.attachment_body)
    start, end = event["DTSTART"].dt, event["DTEND"].dt
    assert start == starts_at
    assert (start.hour, start.minute, start.utcoffset()) == (14, 30, offset)  # written as London wall time
    assert end - start == timedelta(minutes=45)
    assert RIVERSIDE_ADDRESS in str(event["LOCATION"])
    assert str(event["UID"])

    [entry] = audit_events(app, "book", reference)
    assert entry["detail"]["starts_at"] == starts_at.isoformat()
    assert entry["detail"]["clinician"] == "Clara Clinician"
    assert entry["detail"]["site"] == "riverside"
    assert entry["staff_email"] == email
    page = html.unescape(staff.client.get(f"/staff/requests/{reference}").get_data(as_text=True))
    assert f"{day.day} {day.strftime('%b %Y')}, 14:30 with Clara Clinician" in page


def test_a_clinician_cannot_be_double_booked_and_each_invite_has_its_own_uid(app, patient, make_staff, staff_client):
    """A 45-minute slot blocks overlapping starts for the same clinician; back-to-back is fine."""
    first = patient.complete()
    second = new_request(app, first="Grace", last="Hopper", email="grace@example.com")
    clinician = staff_id(app, make_staff("clinician", name="Clara Clinician"))
    staff = staff_client("reception")
    day = today_in_london() + timedelta(days=10)
    assert staff.post(f"/staff/requests/{first}/book", booking_form(day, "14:30", clinician)).status_code == 303
    outbox_before = outbox_count(app)
    for clash in ("14:30", "15:00", "14:00", "15:14"):
        response = staff.post(f"/staff/requests/{second}/book", booking_form(day, clash, clinician))
        assert response.status_code == 400, clash
        assert any("already has an appointment at that time" in message for message in error_messages(response.get_data(as_text=True)))
        assert appointments(app, second) == []
        assert request_value(app, second, "status") == "new"
        assert outbox_count(app) == outbox_before
        assert audit_events(app, "book", second) == []
    assert staff.post(f"/staff/requests/{second}/book", booking_form(day, "15:15", clinician)).status_code == 303
    uids = [str(the_event(message.attachment_body)["UID"]) for reference in (first, second) for message in invites(app, reference)]
    assert len(uids) == 2 and len(set(uids)) == 2


BOOKING_REFUSALS = {
    "time in the past": ("new", -1, "10:00", "clinician", "must be in the future"),
    "malformed time": ("new", 7, "25:99", "clinician", "like 14:30"),
    "not a clinician": ("new", 7, "10:00", "receptionist", "clinician"),
    "cancelled request": ("cancelled", 7, "10:00", "clinician", "cannot be booked"),
    "attended request": ("attended", 7, "10:00", "clinician", "cannot be booked"),
}


@pytest.mark.parametrize("case", BOOKING_REFUSALS)
def test_a_refused_booking_explains_itself_and_stores_nothing(desk, case):
    """Past time, malformed time, non-clinician, closed request: 400, a clear message, no appointment, no email, no audit."""
    status, days, start, who, message = BOOKING_REFUSALS[case]
    desk.set_status(status)
    outbox_before, audit_before = outbox_count(desk.app), audit_events(desk.app, "book")
    day = today_in_london() + timedelta(days=days)
    response = desk.staff.post(desk.path("book"), booking_form(day, start, getattr(desk, who)))
    assert response.status_code == 400
    assert any(message in shown for shown in error_messages(response.get_data(as_text=True))), error_messages(response.get_data(as_text=True))
    assert appointments(desk.app, desk.reference) == []
    assert desk.status() == status
    assert outbox_count(desk.app) == outbox_before
    assert audit_events(desk.app, "book") == audit_before


# --- 5. notes -----------------------------------------------------------------------------

def test_notes_are_kept_with_author_and_time_shown_and_audited(desk):
    """Each note keeps who wrote it and when, appears on the page and is audited."""
    desk.set_status("new")
    notes_before = audit_events(desk.app, "add_note", desk.reference)
    started = utcnow()
    for body in ("Rang, left a voicemail.", "Patient called back; prefers mornings."):
        assert desk.staff.post(desk.path("notes"), {"body": body}).status_code == 303
    finished = utcnow()
    with desk.app.app_context():
        notes = [(note.body, note.author.email, note.created_at) for note in staff_services.notes(staff_services.find_request(desk.reference))][-2:]
    assert [(body, author) for body, author, _ in notes] == [
        ("Rang, left a voicemail.", desk.email), ("Patient called back; prefers mornings.", desk.email)
    ]
    assert all(started <= at <= finished for _, _, at in notes)
    page = html.unescape(desk.staff.client.get(desk.path()).get_data(as_text=True))
    for body, _, at in notes:
        assert re.search(rf"{re.escape(body)}</p><p class=\"hint\">Rita Reception, {re.escape(at.astimezone(LONDON).strftime('%-d %b %Y, %H:%M'))}", page)
    new = audit_events(desk.app, "add_note", desk.reference)[len(notes_before):]
    assert [entry["staff_email"] for entry in new] == [desk.email, desk.email]


def test_an_empty_note_is_refused(desk):
    """A blank note is a 400 with a message; nothing is stored or audited."""
    with desk.app.app_context():
        count = db.session.execute(select(func.count()).select_from(RequestNote)).scalar_one()
    before = audit_events(desk.app, "add_note")
    response = desk.staff.post(desk.path("notes"), {"body": "   \n  "})
    assert response.status_code == 400
    assert "Write a note before adding it" in error_messages(response.get_data(as_text=True))
    with desk.app.app_context():
        assert db.session.execute(select(func.count()).select_from(RequestNote)).scalar_one() == count
    assert audit_events(desk.app, "add_note") == before


def test_there_is_no_way_to_edit_or_delete_a_note(desk):
    """Notes are only ever added: the only note URL takes POST to add, nothing edits or deletes."""
    rules = [rule for rule in desk.app.url_map.iter_rules() if "note" in rule.rule or "note" in rule.endpoint]
    assert [(rule.rule, sorted(rule.methods - {"HEAD", "OPTIONS"})) for rule in rules] == [
        ("/staff/requests/<reference>/notes", ["POST"])
    ]
    assert not [rule.rule for rule in desk.app.url_map.iter_rules() if rule.methods & {"PUT", "PATCH", "DELETE"}]
    assert desk.staff.client.delete(desk.path("notes")).status_code == 405
    assert desk.staff.post(desk.path("notes") + "/1", {"body": "changed"}).status_code == 404


# --- 6. the audit log ---------------------------------------------------------------------


def test_each_action_on_a_record_writes_one_audit_entry_with_who_what_and_when(app, patient, make_staff, staff_client):
    """View, status change, note, booking, export and email retry: one entry each."""
    reference = patient.complete()
    message_id = give_up_on_an_email(app, reference)
    clinician = staff_id(app, make_staff("clinician", name="Clara Clinician"))
    email = make_staff("reception")
    staff = sign_in(app, email)
    started = utcnow()
    assert staff.client.get(f"/staff/requests/{reference}").status_code == 200
    assert staff.post(f"/staff/requests/{reference}/status", {"status": "contacted"}).status_code == 303
    assert staff.post(f"/staff/requests/{reference}/notes", {"body": "Rang back."}).status_code == 303
    day = today_in_london() + timedelta(days=7)
    assert staff.post(f"/staff/requests/{reference}/book", booking_form(day, "11:00", clinician)).status_code == 303
    assert staff.client.get("/staff/export.csv?status=booked").status_code == 200
    assert staff.post(f"/staff/outbox/{message_id}/retry").status_code == 303
    finished = utcnow()

    entries = [entry for entry in audit_events(app) if entry["at"] >= started]
    assert sorted(entry["action"] for entry in entries) == sorted(["view_request", "change_status", "add_note", "book", "export_csv", "retry_email"])
    user = staff_id(app, email)
    the_request = request_id(app, reference)
    for entry in entries:
        assert (entry["staff_email"], entry["staff_id"]) == (email, user), entry
        assert started <= entry["at"] <= finished
        assert entry["request_id"] == (None if entry["action"] == "export_csv" else the_request), entry
    detail = {entry["action"]: entry["detail"] for entry in entries}
    assert detail["change_status"] == {"from": "new", "to": "contacted"}
    assert detail["book"]["from"] == "contacted" and detail["book"]["clinician"] == "Clara Clinician"
    assert detail["export_csv"] == {"filters": {"status": "booked"}, "rows": 1}
    assert detail["retry_email"]["message_id"] == message_id


def test_admins_read_the_audit_log_and_can_filter_it_by_reference(app, patient, make_staff, staff_client):
    """The admin sees who viewed what, and can narrow it to one request (any case)."""
    first = patient.complete()
    second = new_request(app, first="Grace", last="Hopper", email="grace@example.com")
    email = make_staff("reception")
    reception = sign_in(app, email)
    for reference in (first, second, second):
        assert reception.client.get(f"/staff/requests/{reference}").status_code == 200
    admin = staff_client("admin")

    def shown(query: str = "") -> list[tuple[str, str, str]]:
        response = admin.client.get(f"/staff/audit{query}")
        assert response.status_code == 200
        body = response.get_data(as_text=True)
        rows = re.findall(r"<tr>\s*<td>([^<]*)</td>\s*<td>([^<]*)</td>\s*<td>([^<]*)</td>\s*<td>(?:<a [^>]*>)?([^<]*)(?:</a>)?</td>", body)
        return [(who, what, request) for _, who, what, request in rows]

    everything = shown()
    assert (email, "view request", first) in everything
    assert {what for _, what, _ in everything} >= {"view request", "login"}
    for query in (f"?reference={second}", f"?reference={second.lower()}"):
        filtered = shown(query)
        assert filtered == [(email, "view request", second)] * 2
    assert "2 entries" in admin.client.get(f"/staff/audit?reference={second}").get_data(as_text=True)


@pytest.mark.parametrize("role", ["reception", "clinician"])
def test_only_admins_may_read_the_audit_log(app, staff_client, role):
    """Reception and clinicians get a 403."""
    assert staff_client(role).client.get("/staff/audit").status_code == 403


def test_audit_entries_cannot_be_changed_or_deleted_through_the_orm(desk):
    """Editing or deleting a loaded entry raises AuditLogIsAppendOnly and leaves it as it was."""
    with desk.app.app_context():
        entry_id = db.session.execute(select(func.min(AuditEvent.id))).scalar_one()
    original = [e for e in audit_events(desk.app) if e["id"] == entry_id]
    with desk.app.app_context():
        entry = db.session.get(AuditEvent, entry_id)
        entry.action, entry.staff_email, entry.detail = "nothing_to_see", "someone@else.example", {}
        with pytest.raises(AuditLogIsAppendOnly):
            db.session.commit()
        db.session.rollback()
        db.session.delete(db.session.get(AuditEvent, entry_id))
        with pytest.raises(AuditLogIsAppendOnly):
            db.session.flush()
        db.session.rollback()
    assert [e for e in audit_events(desk.app) if e["id"] == entry_id] == original


def test_audit_entries_cannot_be_changed_or_deleted_with_orm_bulk_statements(app):
    """session.execute(update(AuditEvent)) and delete(AuditEvent) are the ORM too: refused, nothing changes."""
    with app.app_context():
        staff_services.audit(None, "login_failed", email="someone@example.com")
        db.session.commit()
    before = audit_events(app)
    refused = {}
    for name, statement in (("update", update(AuditEvent).values(action="nothing_to_see")), ("delete", delete(AuditEvent))):
        with app.app_context():
            try:
                db.session.execute(statement)
                db.session.commit()
                refused[name] = False
            except AuditLogIsAppendOnly:
                db.session.rollback()
                refused[name] = True
    assert (refused, audit_events(app)) == ({"update": True, "delete": True}, before)


# --- 7. CSV export ------------------------------------------------------------------------

def test_the_csv_export_honours_the_filters_and_is_audited(app, patient, staff_client):
    """The download holds what the list shows, with a header row; each export is audited with filters and row count."""
    routine = patient.complete()
    urgent = new_request(app, first="Grace", last="Hopper", email="grace@example.com", site="canal-side", **URGENT)
    reception = staff_client("reception")
    page = reception.client.get("/staff/?urgency=urgent&site=canal-side").get_data(as_text=True)
    assert 'href="/staff/export.csv?site=canal-side&amp;urgency=urgent"' in page or 'href="/staff/export.csv?urgency=urgent&amp;site=canal-side"' in page

    rows = csv_rows(reception.client.get("/staff/export.csv?urgency=urgent&site=canal-side"))
    assert rows[0] == EXPORT_HEADER
    assert [row[0] for row in rows[1:]] == [urgent]
    assert rows[1][2:6] == ["New", "urgent", "Grace", "Hopper"]
    assert rows[1][7] == "grace@example.com" and rows[1][9] == "canal-side" and rows[1][10] == "Knee"

    everything = csv_rows(staff_client("admin").client.get("/staff/export.csv"))
    assert [row[0] for row in everything[1:]] == [urgent, routine]
    assert [entry["detail"] for entry in audit_events(app, "export_csv")] == [
        {"filters": {"urgency": "urgent", "site": "canal-side"}, "rows": 1}, {"filters": {}, "rows": 2}
    ]
    assert staff_client("clinician").client.get("/staff/export.csv").status_code == 403


@pytest.mark.parametrize("payload", ['=HYPERLINK("http://evil.example","Click")', "+SUM(1)", "-2", "@cmd", "=1+2"])
def test_the_csv_export_neutralises_spreadsheet_formulas(app, patient, staff_client, payload):
    """A value a spreadsheet would run as a formula is prefixed with ' and kept otherwise intact."""
    reference = patient.complete()
    update_request(app, reference, first_name=payload, last_name=payload)
    rows = csv_rows(staff_client("reception").client.get(f"/staff/export.csv?q={reference}"))
    assert rows[1][4] == "'" + payload
    assert rows[1][5] == "'" + payload
    assert all(not cell.startswith(("=", "+", "-", "@")) for row in rows for cell in row)


# --- 8. patient-entered markup is escaped everywhere ---------------------------------------

def assert_escaped(body: str, where: str, expected=(SCRIPT_ESCAPED, IMG_ESCAPED)) -> None:
    assert "<script>alert(1)" not in body, where
    assert "<img src=x" not in body, where
    for escaped in expected:
        assert escaped in body, f"{where}: {escaped} not shown"


def test_markup_in_a_patients_answers_and_notes_is_shown_as_text_on_every_back_office_page(app, patient, staff_client):
    """Payloads written straight into the record (validation would refuse them in names), a note,
    a failed sign-in and a search: escaped on the list, request, outbox and audit pages; plain data in the CSV."""
    reference = patient.complete()
    hostile_email = f"{IMG}@example.com"
    update_request(
        app, reference, first_name=SCRIPT, last_name=IMG, description=f"{SCRIPT}\n{IMG}", goals=SCRIPT,
        availability_note=IMG, email=hostile_email,
    )
    give_up_on_an_email(app, reference, recipient=hostile_email, error=f"550 {SCRIPT} {IMG}")
    reception = staff_client("reception")
    assert reception.post(f"/staff/requests/{reference}/notes", {"body": f"{SCRIPT}\n{IMG}"}).status_code == 303
    Staff(app.test_client()).login(IMG, "wrong password")  # a failed sign-in is audited with the email typed

    assert_escaped(reception.client.get("/staff/").get_data(as_text=True), "list")
    assert_escaped(reception.client.get("/staff/", query_string={"q": IMG}).get_data(as_text=True), "list search", (IMG_ESCAPED,))
    detail = reception.client.get(f"/staff/requests/{reference}").get_data(as_text=True)
    assert_escaped(detail, "request page")
    assert detail.count(SCRIPT_ESCAPED) >= 4 and detail.count(IMG_ESCAPED) >= 5  # names, words, goals, note, email
    assert_escaped(reception.client.get("/staff/outbox").get_data(as_text=True), "outbox")

    export = reception.client.get("/staff/export.csv", query_string={"q": SCRIPT})
    assert export.mimetype == "text/csv" and export.headers["Content-Disposition"].startswith("attachment;")
    assert len(csv_rows(export)) == 2  # the search matched the hostile name
    rows = csv_rows(reception.client.get("/staff/export.csv"))
    [row] = rows[1:]
    assert (row[4], row[5], row[7]) == (SCRIPT, IMG, hostile_email)  # kept exactly, as data in their cells

    audit = staff_client("admin").client.get("/staff/audit").get_data(as_text=True)
    assert_escaped(audit, "audit log")


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


def test_booking_again_reschedules_and_keeps_one_active_appointment(app, patient, make_staff, staff_client):
    """Moving a booked assessment to another time cancels the old slot and sends a new invite."""
    reference = patient.complete()
    clinician = staff_id(app, make_staff("clinician", name="Clara Clinician"))
    staff = staff_client("reception")
    day = today_in_london() + timedelta(days=10)
    assert staff.post(f"/staff/requests/{reference}/book", booking_form(day, "09:00", clinician)).status_code == 303
    assert "Change the appointment" in staff.client.get(f"/staff/requests/{reference}").get_data(as_text=True)
    assert staff.post(f"/staff/requests/{reference}/book", booking_form(day, "09:30", clinician)).status_code == 303
    booked = appointments(app, reference)
    assert [cancelled for *_, cancelled in booked] == [True, False]
    assert len(invites(app, reference)) == 2
    assert audit_events(app, "book", reference)[-1]["detail"]["rescheduled"] is True
    assert request_value(app, reference, "status") == "booked"


def test_a_missed_appointment_is_no_longer_listed_as_booked(app, patient, make_staff, staff_client):
    reference = patient.complete()
    clinician = staff_id(app, make_staff("clinician", name="Clara Clinician"))
    staff = staff_client("reception")
    day = today_in_london() + timedelta(days=3)
    staff.post(f"/staff/requests/{reference}/book", booking_form(day, "11:00", clinician))
    assert staff.post(f"/staff/requests/{reference}/status", {"status": "no_show"}).status_code == 303
    assert [cancelled for *_, cancelled in appointments(app, reference)] == [True]
    page = staff.client.get(f"/staff/requests/{reference}").get_data(as_text=True)
    assert "Did not attend" in page and "Book the assessment" in page


def test_the_history_shows_booking_times_in_london_time(app, patient, make_staff, staff_client):
    reference = patient.complete()
    clinician = staff_id(app, make_staff("clinician", name="Clara Clinician"))
    staff = staff_client("reception")
    day = next_year(7, 15)
    staff.post(f"/staff/requests/{reference}/book", booking_form(day, "14:30", clinician))
    page = staff.client.get(f"/staff/requests/{reference}").get_data(as_text=True)
    assert f"booked {day.day} Jul {day.year}, 14:30 with Clara Clinician" in page
