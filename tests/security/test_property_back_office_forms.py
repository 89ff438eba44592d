"""Property-based tests of the back office's forms (sign-in, status, notes, booking a free time,
retrying an email) and of the diary's query strings (the request list's, the audit log's and the
outbox's are in test_property_staff_queries.py).

Whatever is posted, no page fails with a server error or shows a traceback; a post that comes
back with errors (or without a valid form token) stores nothing; and a post that is accepted
stores exactly the cleaned-up values that were typed. Each test builds one app and reuses it
for every example, comparing the database before and after each post. Every nearly-right value
listed for a field is tried on each run; FUZZ_EXAMPLES=1000 in the environment searches longer.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import pytest
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import select, update

from intake.appointments.models import Appointment
from intake.journey.models import REQUEST_STATUSES
from intake.mail.models import OutboxMessage
from intake.platform.extensions import db
from intake.appointments.diary_view import parse_day
from intake.appointments.slots import Slot, slot_value
from intake.staff import services as staff_services
from intake.staff.models import AuditEvent, RequestNote
from tests.factories import STAFF_PASSWORD, Patient, Staff, free_slot, new_practitioner, update_request
from tests.support.fuzz import (
    FUZZ, FUZZ_ONE_FIELD, SITES, TOKENS, added, assert_no_server_error, assert_refused_unchanged, cleaned, first, free_text, hostile,
    is_clean_text, near_examples, newest, other_sessions_token, posts, state, text_field, with_token,
)


# --- the back office's forms --------------------------------------------------------------

LOGIN_FIELDS = {
    "email": text_field(st.just("reception.0@clinic.example"), 254, ["RECEPTION.0@CLINIC.EXAMPLE", " reception.0@clinic.example ", "nobody@clinic.example"]),
    "password": text_field(st.just(STAFF_PASSWORD), 200, [STAFF_PASSWORD.upper(), f" {STAFF_PASSWORD}", STAFF_PASSWORD[:-1], "p" * 201]),
}


def test_signing_in_accepts_only_the_right_credentials_and_audits_failures(unlimited_app, make_staff):
    """Any email and password: no 5xx; a form error stores nothing; a wrong pair adds one
    'login_failed' entry; only the right pair (email in any case) signs in."""
    app = unlimited_app
    account = make_staff("reception")
    other = Staff(app.test_client()).csrf_token()

    @FUZZ
    @near_examples(LOGIN_FIELDS, {"email": account, "password": STAFF_PASSWORD}, LOGIN_FIELDS)
    @given(post=posts(LOGIN_FIELDS), token_choice=TOKENS)
    def check(post, token_choice):
        data, all_valid = post
        staff = Staff(app.test_client())
        token = staff.csrf_token()
        before = state(app)
        response = staff.client.post("/staff/login", data=with_token(data, token_choice, token, other))
        after = state(app)
        body = assert_no_server_error(response)
        email, password = first(data.get("email")), first(data.get("password"))
        right = email is not None and email.strip().lower() == account and password == STAFF_PASSWORD
        if token_choice != "valid":
            assert response.status_code == 400 and after == before
        elif right:
            assert response.status_code == 303 and added(before, after) == {"AuditEvent": 1}
            assert (newest(app, AuditEvent).action, newest(app, AuditEvent).staff_email) == ("login", account)
        elif "Enter a correct email address and password" in body:
            assert response.status_code == 200 and added(before, after) == {"AuditEvent": 1}
            event = newest(app, AuditEvent)
            assert (event.action, event.staff_email, event.staff_id) == ("login_failed", cleaned(email).lower()[:254], None)
        else:
            assert response.status_code == 200 and "There is a problem" in body and after == before
        assert not all_valid or token_choice != "valid" or response.status_code == 303

    check()


@dataclass
class Desk:
    """A signed-in receptionist in front of one request at Riverside, where Clara works; Dev works
    only at West Green, and Pat, deactivated, still has Riverside hours."""

    app: object
    staff: Staff
    reference: str
    elsewhere: int
    deactivated: int
    token: str
    other: str

    def post(self, path: str, data: dict, token_choice: str):
        return self.staff.client.post(path, data=with_token(data, token_choice, self.token, self.other))


@pytest.fixture
def desk(unlimited_app, make_staff, staff_client) -> Desk:
    app = unlimited_app
    reference = Patient(app.test_client()).complete()
    new_practitioner(app, "Clara Clinician")
    elsewhere = new_practitioner(app, "Dev Physio", sites=("west-green",))
    deactivated = new_practitioner(app, "Pat Physio", active=False)
    reception = staff_client("reception")
    return Desk(app, reception, reference, elsewhere, deactivated, reception.csrf_token("/staff/"), other_sessions_token(app))


STATUS_FIELDS = {"status": text_field(st.sampled_from(REQUEST_STATUSES), 16, ["New", " new", "NEW", "no-show", "deleted", ["cancelled", "new"]])}
NOTE_FIELDS = {"body": free_text(2000, required=True)}


@given(start=st.sampled_from([status for status in REQUEST_STATUSES if status != "booked"]), post=posts(STATUS_FIELDS), token_choice=TOKENS)
@near_examples(STATUS_FIELDS, {}, STATUS_FIELDS, start="new")
@FUZZ
def test_a_status_change_happens_only_for_a_listed_move(desk, start, post, token_choice):
    """Any status value: no 5xx; a refused change stores nothing; an allowed one moves the request
    and adds one audit entry; every allowed move is accepted."""
    data, _ = post
    update_request(desk.app, desk.reference, status=start)
    before = state(desk.app)
    response = desk.post(f"/staff/requests/{desk.reference}/status", data, token_choice)
    after = state(desk.app)
    body = assert_refused_unchanged(response, before, after, token_choice)
    allowed = first(data.get("status")) in staff_services.allowed_next(start)
    assert response.status_code in ((303,) if allowed and token_choice == "valid" else (400,)), body[:500]
    if response.status_code == 400 and token_choice == "valid":
        assert "There is a problem" in body
    if response.status_code == 303:
        assert added(before, after) == {"AuditEvent": 1}
        assert after.statuses[desk.reference] == first(data["status"])
        assert newest(desk.app, AuditEvent).detail == {"from": start, "to": first(data["status"])}


@given(post=posts(NOTE_FIELDS), token_choice=TOKENS)
@near_examples(NOTE_FIELDS, {}, NOTE_FIELDS)
@FUZZ
def test_a_note_is_stored_exactly_as_typed_once_cleaned(desk, post, token_choice):
    """Any note: no 5xx; a refused note stores nothing; an accepted one is stored trimmed, with one
    audit entry; every non-empty plain note within 2000 characters is accepted."""
    data, all_valid = post
    before = state(desk.app)
    response = desk.post(f"/staff/requests/{desk.reference}/notes", data, token_choice)
    after = state(desk.app)
    body = assert_refused_unchanged(response, before, after, token_choice)
    assert not (all_valid and token_choice == "valid") or response.status_code == 303, body[:500]
    if response.status_code == 303:
        assert added(before, after) == {"RequestNote": 1, "AuditEvent": 1}
        note = newest(desk.app, RequestNote)
        assert note.body == cleaned(data["body"])
        assert is_clean_text(note.body, 2000, multiline=True) and note.body


FREE = "FREE"  # stands for a time free when the example runs


def nearly_free_times(desk) -> list:
    """Slot values that are nearly right: another site, the past, outside working hours, a clock
    change, year 9999, off the grid, a deactivated or unknown practitioner, and forged text."""
    free = free_slot(desk.app)
    clara, _, stamp = free.split(".")
    return [
        f"{clara}.west-green.{stamp}", f"{desk.elsewhere}.riverside.{stamp}", f"{desk.deactivated}.riverside.{stamp}",
        f"{clara}.riverside.20200106T1000Z", f"{clara}.riverside.{stamp[:9]}0300Z", f"{clara}.riverside.20270328T0130Z",
        f"{clara}.riverside.99991231T2345Z", f"{clara}.riverside.{stamp[:12]}5Z", f"{clara}.riverside.20270230T1000Z",
        f"{clara}.riverside.{stamp[:9]}2460Z", f"999999999999999999.riverside.{stamp}", f"0.riverside.{stamp}",
        free.upper(), f" {free}", f"{free}x", free.replace(".", "-"), [free, "x"][::-1], "",
    ]


def open_again(desk) -> None:
    """Put the request back to new with no appointment (as if never booked), for the next example."""
    with desk.app.app_context():
        db.session.execute(update(Appointment).values(cancelled=True))
        db.session.commit()
    update_request(desk.app, desk.reference, status="new")


@pytest.mark.parametrize("target", [None, "slot"], ids=["every-field", "slot"])
def test_a_booking_stores_exactly_the_free_time_chosen(desk, target):
    """Any slot value: no 5xx; a refused booking stores nothing and sends nothing (400 with a
    message); an accepted one adds one appointment with the practitioner, site and time the value
    names, one email and one audit entry; every time on offer is accepted."""
    fields = {"slot": text_field(st.just(FREE), 80, nearly_free_times(desk))}

    @(FUZZ if target is None else FUZZ_ONE_FIELD)
    @near_examples(fields, {"slot": FREE}, ["slot"])
    @given(post=posts(fields, target), token_choice=TOKENS)
    def check(post, token_choice):
        data, all_valid = post
        open_again(desk)
        offered = free_slot(desk.app)
        data = {name: offered if value == FREE else value for name, value in data.items()}
        before = state(desk.app)
        response = desk.post(f"/staff/requests/{desk.reference}/book", data, token_choice)
        after = state(desk.app)
        body = assert_refused_unchanged(response, before, after, token_choice)
        accepted = token_choice == "valid" and first(data.get("slot")) == offered
        assert response.status_code == (303 if accepted else 400), body[:500]
        if response.status_code == 400 and token_choice == "valid":
            assert "There is a problem" in body
        if response.status_code == 303:
            assert added(before, after) == {"Appointment": 1, "OutboxMessage": 1, "AuditEvent": 1}
            appointment = newest(desk.app, Appointment)
            assert slot_value(Slot(appointment.practitioner_id, appointment.site_code, appointment.starts_at, appointment.starts_at)) == offered
            assert after.statuses[desk.reference] == "booked"

    check()


def test_retrying_an_email_needs_a_real_token_and_a_failed_email(desk):
    """Any message number and junk fields: no 5xx; an unknown or sent email, or a missing token,
    changes nothing; a failed email goes back in the queue with one audit entry."""
    with desk.app.app_context():
        ids = list(db.session.execute(select(OutboxMessage.id).order_by(OutboxMessage.id)).scalars())
        db.session.execute(update(OutboxMessage).where(OutboxMessage.id == ids[0]).values(status="dead", attempts=8))
        db.session.execute(update(OutboxMessage).where(OutboxMessage.id == ids[1]).values(status="sent"))
        db.session.commit()

    @FUZZ
    @given(message=st.one_of(st.sampled_from(ids), st.integers(min_value=-5), st.sampled_from(["x", "1.5", "0x1", "1e3", "²"])),
           post=posts({}), token_choice=TOKENS)
    def check(message, post, token_choice):
        before = state(desk.app)
        response = desk.post(f"/staff/outbox/{message}/retry", post[0], token_choice)
        after = state(desk.app)
        assert_no_server_error(response)
        if response.status_code != 303:
            assert after == before
        if message not in ids:
            assert response.status_code in (400, 404)
        elif before.emails[message] == "sent":
            assert response.status_code in (400, 409)
        elif token_choice == "valid":
            assert response.status_code == 303
            assert added(before, after) == {"AuditEvent": 1} and after.emails[message] == "pending"
            assert newest(desk.app, AuditEvent).detail["message_id"] == message

    check()


# --- the diary's query strings ------------------------------------------------------------

DIARY_KEYS = {
    "/staff/diary": ["site", "day"],
    "/staff/diary/week": ["site", "week"],
    "/staff/diary/mine": ["day"],
    "/staff/diary/practitioners/{who}": ["day"],
    "/staff/requests/{ref}": ["site", "day"],
}
DIARY_VALUES = st.one_of(
    hostile(40, ["riverside", "atlantis", "RIVERSIDE", "2026-12-03", " 2026-12-03 ", "9999-12-31", "0001-01-01", "2099-12-31",
                 "2100-01-01", "2027-03-28", "2026-10-25", "2027-02-29", "2026-13-01", "2026-12-3", "20261203", "２０２６-１２-０３"]),
    st.dates().map(date.isoformat),
)


def query_is_valid(pairs: list[tuple[str, str]], keys: list[str]) -> bool:
    """Whether a diary page should accept a query string: its site (if given) is a clinic site and
    its day (if given) a real day of 2000 to 2099, written YYYY-MM-DD (spaces around it are fine)."""
    given_values = {}
    for key, value in pairs:
        given_values.setdefault(key, value)  # a repeated key reads its first value
    site = given_values.get("site") if "site" in keys else None
    day = cleaned(given_values.get(keys[-1])) if keys[-1] in ("day", "week") else None
    return (site is None or site in SITES) and (not day or (len(day) == 10 and day.isascii() and parse_day(day) is not None))


@pytest.mark.parametrize("path", list(DIARY_KEYS))
def test_the_diary_answers_any_query_string(unlimited_app, make_staff, staff_client, path):
    """Any site and day, repeated, unknown, out of range (year 9999, the day after 2099-12-31) or
    on a clock change: never a 5xx, nothing stored (but the audited view of a request); a 400 with
    a message next to the field for a bad site or day, else the page."""
    app = unlimited_app
    reference = Patient(app.test_client()).complete()
    practitioner = new_practitioner(app, staff_email=make_staff("clinician"))
    reception = staff_client("reception")
    url = path.format(ref=reference, who=practitioner)

    @FUZZ
    @given(query=st.lists(st.tuples(st.one_of(st.sampled_from(DIARY_KEYS[path]), st.text(max_size=10)), DIARY_VALUES), max_size=4))
    def check(query):
        pairs = [(key, item) for key, value in query for item in (value if isinstance(value, list) else [value])]
        before = state(app)
        response = reception.client.get(url, query_string=pairs)
        body = assert_no_server_error(response)
        after = state(app)
        if any("\x00" in key + value for key, value in pairs):
            assert response.status_code == 400 and after == before  # refused before any view
            return
        assert added(before, after) == ({"AuditEvent": 1} if "/requests/" in url else {})
        if query_is_valid(pairs, DIARY_KEYS[path]):
            assert response.status_code == 200, body[:1000]
        else:
            assert response.status_code == 400 and "There is a problem" in body and "error-message" in body

    check()
