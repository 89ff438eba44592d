"""Property-based tests of the clinic set-up forms (practitioner, weekly hours, time away, extra
session, booking rules, removing a row) and of the set-up pages' query strings.

Whatever an admin's browser posts, no page fails with a server error or shows a traceback; a post
that is not accepted (errors, or no valid form token) changes nothing in the diary or the audit
log; an accepted one stores the cleaned-up values typed, with one audit entry; and a post whose
every field is valid is accepted. One app per test, reused for every example.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import delete, func, select

from intake.appointments import diary
from intake.appointments.models import DiaryException, Practitioner, WorkingHours
from intake.platform.extensions import db
from intake.platform.timeutil import LONDON
from tests.factories import new_practitioner
from tests.support.back_office import snapshot
from tests.support.fuzz import (
    FUZZ, SITES, TOKENS, assert_no_server_error, choice, cleaned, date_boxes, days_ahead, first, hostile, near_examples,
    other_sessions_token, posts, text_field, typed_date, with_token,
)

TIME_NEAR = ["25:00", "9999", "24:00", "9:60", "930", "9.30", "١٢:٠٠", "1²:00", "09:00am", " 09:00 ", "-1:00"]


class Admin:
    """A signed-in admin's browser posting with a real token, none, another session's or a made-up one."""

    def __init__(self, app, staff) -> None:
        self.app, self.staff = app, staff
        self.token, self.other = staff.csrf_token("/staff/"), other_sessions_token(app)

    def post(self, path: str, data: dict, token_choice: str):
        return self.staff.client.post(path, data=with_token(data, token_choice, self.token, self.other))


@pytest.fixture
def admin(unlimited_app, staff_client) -> Admin:
    return Admin(unlimited_app, staff_client("admin"))


def audit_added(before: dict, after: dict) -> int:
    return after["audit"] - before["audit"]


def refused_unchanged(response, before: dict, after: dict, token_choice: str) -> str:
    """Not accepted (no 303): nothing changed; without a valid token never accepted."""
    body = assert_no_server_error(response)
    if token_choice != "valid":
        assert response.status_code == 400
    if response.status_code != 303:
        assert after == before
    else:
        assert audit_added(before, after) == 1
    return body


def count(app, model) -> int:
    with app.app_context():
        return db.session.execute(select(func.count()).select_from(model)).scalar_one()


# --- practitioners ------------------------------------------------------------------------------

PRACTITIONER_FIELDS = {
    "name": text_field(st.from_regex(r"[A-Za-zÀ-ÿ][A-Za-zÀ-ÿ' .-]{0,60}", fullmatch=True), 100,
                       ["x" * 101, "Nell\x00", "Nell\u202e", " Nell ", "Nell\nHarrow", "é" * 100]),
    "sites": text_field(st.lists(st.sampled_from(SITES), min_size=1, max_size=3, unique=True), 40,
                        ["atlantis", ["riverside", "atlantis"], "Riverside", ""]),
    "active": choice([("yes", "Yes"), ("no", "No")]),
    "staff_account": text_field(st.just(""), 10, ["1", "999", "x", "-1", "9" * 30]),
}


@given(post=posts(PRACTITIONER_FIELDS), token_choice=TOKENS)
@near_examples(PRACTITIONER_FIELDS, {"name": "Nell", "sites": "riverside", "active": "yes"}, PRACTITIONER_FIELDS)
@FUZZ
def test_adding_a_practitioner_stores_exactly_the_cleaned_answers_or_nothing(admin, post, token_choice):
    data, all_valid = post
    before = snapshot(admin.app)
    response = admin.post("/staff/setup/practitioners/new", data, token_choice)
    after = snapshot(admin.app)
    body = refused_unchanged(response, before, after, token_choice)
    assert not (all_valid and token_choice == "valid") or response.status_code == 303, body[:500]
    if response.status_code == 400 and token_choice == "valid":
        assert "There is a problem" in body
    if response.status_code == 303:
        with admin.app.app_context():
            person = db.session.execute(select(Practitioner).order_by(Practitioner.id.desc())).scalars().first()
            sites = data["sites"] if isinstance(data["sites"], list) else [data["sites"]]
            assert (person.name, person.site_codes, person.active) == (cleaned(data["name"]), sorted(set(sites)), first(data["active"]) == "yes")


# --- weekly hours -------------------------------------------------------------------------------

HOURS_FIELDS = {
    "weekday": choice([(str(day), str(day)) for day in range(7)], ["7", "-1", "Monday"]),
    "site": choice([("riverside", "Riverside"), ("canal-side", "Canal Side")], ["west-green", "atlantis"]),
    "starts": text_field(st.sampled_from(["08:00", "9:00", "13:30"]), 5, TIME_NEAR),
    "ends": text_field(st.sampled_from(["17:00", "18:30", "23:59"]), 5, TIME_NEAR),
}


@pytest.fixture
def practitioner(admin) -> int:
    return new_practitioner(admin.app, "Nell Harrow", sites=("riverside", "canal-side"), hours=[])


@given(post=posts(HOURS_FIELDS), token_choice=TOKENS)
@near_examples(HOURS_FIELDS, {"weekday": "0", "site": "riverside", "starts": "09:00", "ends": "17:00"}, HOURS_FIELDS)
@FUZZ
def test_a_weekly_session_is_stored_as_typed_or_not_at_all(admin, practitioner, post, token_choice):
    data, all_valid = post
    with admin.app.app_context():
        db.session.execute(delete(WorkingHours))  # each example starts from a free week
        db.session.commit()
    before = snapshot(admin.app)
    response = admin.post(f"/staff/setup/practitioners/{practitioner}/hours", data, token_choice)
    after = snapshot(admin.app)
    body = refused_unchanged(response, before, after, token_choice)
    assert not (all_valid and token_choice == "valid") or response.status_code == 303, body[:500]
    if response.status_code == 303:
        with admin.app.app_context():
            [session] = db.session.execute(select(WorkingHours)).scalars().all()
            typed = [time.fromisoformat(cleaned(data[name]).zfill(5)) for name in ("starts", "ends")]
            assert (session.weekday, session.site_code, session.starts, session.ends) == (int(first(data["weekday"])), first(data["site"]), *typed)
            assert session.ends > session.starts


# --- exceptions ---------------------------------------------------------------------------------

def away_fields(person: int) -> dict:
    return {
        "practitioner": choice([("", "Everyone"), (str(person), "Nell")], ["999", "-1", "x"]),
        "site": choice([("", "Every site"), *((code, code) for code in SITES)], ["atlantis"]),
        **date_boxes("starts_on", days_ahead(0, 300)),
        "starts_at": text_field(st.sampled_from(["", "09:00"]), 5, TIME_NEAR),
        **date_boxes("ends_on", days_ahead(301, 600)),
        "ends_at": text_field(st.sampled_from(["", "17:30"]), 5, TIME_NEAR),
        "note": text_field(st.sampled_from(["", "Annual leave", "Training: hips"]), 200, ["n" * 201, "Leave\x00", "a\u200bb"]),
    }


def london_utc(day: str, typed: str | None, end: bool) -> datetime:
    """What a date box and an optional time should be stored as (an empty end time: the day's end)."""
    moment = date.fromisoformat(day)
    if not cleaned(typed):
        return diary.day_bounds(moment)[1 if end else 0]
    return datetime.combine(moment, time.fromisoformat(cleaned(typed).zfill(5)), LONDON).astimezone(timezone.utc)


@pytest.mark.parametrize("kind", ["away", "extra"])
def test_an_exception_is_stored_in_utc_as_typed_in_london_or_not_at_all(admin, practitioner, kind):
    fields = away_fields(practitioner) if kind == "away" else {
        "practitioner": choice([(str(practitioner), "Nell")], ["", "999", "x"]),
        "site": choice([("riverside", "Riverside"), ("canal-side", "Canal Side")], ["west-green", "atlantis"]),
        **date_boxes("day", days_ahead(0, 300)),
        "starts": text_field(st.sampled_from(["09:00", "9:30"]), 5, TIME_NEAR),
        "ends": text_field(st.sampled_from(["12:00", "17:30"]), 5, TIME_NEAR),
    }

    @FUZZ
    @given(post=posts(fields), token_choice=TOKENS)
    def check(post, token_choice):
        data, all_valid = post
        before = snapshot(admin.app)
        response = admin.post(f"/staff/setup/exceptions/{kind}", data, token_choice)
        after = snapshot(admin.app)
        body = refused_unchanged(response, before, after, token_choice)
        assert not (all_valid and token_choice == "valid") or response.status_code == 303, body[:500]
        if response.status_code != 303:
            return
        with admin.app.app_context():
            stored = db.session.execute(select(DiaryException).order_by(DiaryException.id.desc())).scalars().first()
            if kind == "away":
                expected = (london_utc(typed_date(data, "starts_on"), data.get("starts_at"), False),
                            london_utc(typed_date(data, "ends_on"), data.get("ends_at"), True))
            else:
                expected = (london_utc(typed_date(data, "day"), data["starts"], False), london_utc(typed_date(data, "day"), data["ends"], False))
            assert (stored.kind, stored.starts_at, stored.ends_at) == (kind, *expected)
            assert stored.ends_at > stored.starts_at

    check()


@given(remove=st.one_of(st.just("REAL"), hostile(20, ["0", "-1", "999", "9" * 30, "1.0", "١", " 1 "])), token_choice=TOKENS)
@FUZZ
def test_deleting_an_exception_takes_only_a_real_one(admin, practitioner, remove, token_choice):
    with admin.app.app_context():
        db.session.execute(delete(DiaryException))
        starts = datetime(2099, 1, 1, 9, tzinfo=timezone.utc)
        db.session.add(DiaryException(kind="away", starts_at=starts, ends_at=starts + timedelta(hours=2)))
        db.session.commit()
        real = db.session.execute(select(DiaryException.id)).scalar_one()
    before = snapshot(admin.app)
    response = admin.post("/staff/setup/exceptions", {"remove": str(real) if remove == "REAL" else remove}, token_choice)
    after = snapshot(admin.app)
    refused_unchanged(response, before, after, token_choice)
    if response.status_code == 303:
        assert token_choice == "valid" and count(admin.app, DiaryException) == 0
    elif token_choice == "valid":
        assert response.status_code == 404


# --- booking rules ------------------------------------------------------------------------------

def number(low: int, high: int) -> st.SearchStrategy[str]:
    return st.integers(low, high).map(str)


NUMBER_NEAR = ["-1", "٣", "1e3", "99999", "4.5", "0x10", "", " ", "²"]
RULES_FIELDS = {
    "notice_working_days": text_field(number(0, 20), 4, ["21", *NUMBER_NEAR]),
    "horizon_days": text_field(number(1, 366), 4, ["0", "367", *NUMBER_NEAR]),
    "step_minutes": text_field(number(5, 120), 4, ["4", "121", *NUMBER_NEAR]),
    "bank_holidays": choice([("england", "England"), ("scotland", "Scotland"), ("northern-ireland", "NI"), ("none", "None")], ["wales"]),
    "patients_choose_times": choice([("yes", "Yes"), ("no", "No")]),
    "minutes": text_field(number(5, 480), 4, ["4", "481", *NUMBER_NEAR]),
    "buffer_minutes": text_field(number(0, 120), 4, ["121", *NUMBER_NEAR]),
}
RULES_BASELINE = {"notice_working_days": "1", "horizon_days": "42", "step_minutes": "15", "bank_holidays": "england",
                  "patients_choose_times": "yes", "minutes": "45", "buffer_minutes": "15"}


@given(post=posts(RULES_FIELDS), token_choice=TOKENS)
@near_examples(RULES_FIELDS, {**RULES_BASELINE, "minutes": "50"}, RULES_FIELDS)
@FUZZ
def test_the_booking_rules_are_stored_as_typed_or_not_at_all(admin, post, token_choice):
    data, all_valid = post
    before = snapshot(admin.app)
    response = admin.post("/staff/setup/rules", data, token_choice)
    after = snapshot(admin.app)
    body = assert_no_server_error(response)
    if token_choice != "valid":
        assert response.status_code == 400
    if response.status_code != 303:
        assert after == before
    assert not (all_valid and token_choice == "valid") or response.status_code == 303, body[:500]
    if response.status_code == 303:
        assert audit_added(before, after) == (0 if after["diary"] == before["diary"] else 1)
        with admin.app.app_context():
            rules, kind = diary.booking_rules(), diary.assessment_type(45)
            stored = {"notice_working_days": rules.notice_working_days, "horizon_days": rules.horizon_days, "step_minutes": rules.step_minutes,
                      "minutes": kind.minutes, "buffer_minutes": kind.buffer_minutes}
            assert stored == {name: int(cleaned(data[name])) for name in stored}
            assert (rules.bank_holidays, rules.patients_choose_times) == (first(data["bank_holidays"]), first(data["patients_choose_times"]) == "yes")


# --- query strings ------------------------------------------------------------------------------

SETUP_PAGES = ["/staff/setup/", "/staff/setup/practitioners/new", "/staff/setup/practitioners/1", "/staff/setup/hours",
               "/staff/setup/practitioners/1/hours", "/staff/setup/exceptions", "/staff/setup/exceptions/away",
               "/staff/setup/exceptions/extra", "/staff/setup/rules"]


def test_the_set_up_pages_answer_any_query_string_and_change_nothing(admin, practitioner):
    """Any page, any keys and values, repeated or unknown: the page as usual (400 for a NUL), nothing stored."""
    @FUZZ
    @given(path=st.sampled_from(SETUP_PAGES),
           query=st.lists(st.tuples(st.one_of(st.sampled_from(["id", "practitioner_id", "remove", "page", "name"]), st.text(max_size=10)),
                                    hostile(100, ["1", "-1", "9" * 30, "riverside"])), max_size=5))
    def check(path, query):
        pairs = [(key, item) for key, value in query for item in (value if isinstance(value, list) else [value])]
        before = snapshot(admin.app)
        response = admin.staff.client.get(path, query_string=pairs)
        assert_no_server_error(response)
        assert snapshot(admin.app) == before
        nul = any("\x00" in key + value for key, value in pairs)
        assert response.status_code == (400 if nul else 200)

    check()
