"""Property-based tests: random, oversized, Unicode, control-character and wrong-type values in
every field of every public and back-office form, and in the back office's query strings.

Whatever is posted, no page fails with a server error or shows a traceback; a post that comes
back with errors (or without a valid form token) stores nothing; and a post that is accepted
stores exactly the cleaned-up values that were typed. Each test builds one app and reuses it
for every example, comparing the database before and after each post. Every nearly-right value
listed for a field is tried on each run; FUZZ_EXAMPLES=1000 in the environment searches longer.
"""

from __future__ import annotations

import os
import re
import unicodedata
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from typing import NamedTuple

import phonenumbers
import pytest
from email_validator import validate_email
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select, update

from tests.factories import STAFF_PASSWORD, Patient, Staff, update_request, valid_answers, years_ago
from intake.clinic import vocabulary
from intake.journey.journey import STEPS
from intake.journey.models import REQUEST_STATUSES, AssessmentRequest, Draft
from intake.platform.extensions import db
from intake.mail.models import OutboxMessage
from intake.staff import services as staff_services
from intake.appointments.models import Appointment
from intake.staff.models import AuditEvent, RequestNote
from intake.platform.timeutil import LONDON, today_in_london

MISSING = None  # the field is left out of the post
TRACKED = (AssessmentRequest, Appointment, RequestNote, AuditEvent, OutboxMessage)
FUZZ = settings(
    max_examples=int(os.environ.get("FUZZ_EXAMPLES", 80)),
    database=None,  # failures are printed with their example; nothing is written into the checkout
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow, HealthCheck.data_too_large],
)
FUZZ_ONE_FIELD = settings(FUZZ, max_examples=max(1, FUZZ.max_examples // 2))


def days_ahead(first: int, last: int) -> st.SearchStrategy[date]:
    """Days from `first` to `last` days after today, today being worked out when each example runs."""
    return st.integers(first, last).map(lambda days: today_in_london() + timedelta(days=days))
SITES = ("riverside", "canal-side", "west-green")
NAME_SEPARATORS = " '’.-"


# --- what may be posted -------------------------------------------------------------------

CONTROL = ["\x00", "a\x00b", "\r\n", "x\r\nBcc: victim@example.com", "\x1b[2J", "\x07", "\x7f", "\x85", "\x0b", "\x1f",
           "\u200b", "\ufeff", "\u202eevil", "\u2028", "\U000e0001", "\ue000"]
UNICODE = ["مرحبا بالعالم", "שלום", "\u202bعربي\u202c", "😀👍🏽👨‍👩‍👧", "e\u0301\u0301\u0301\u0301", "Zoe\u0308", "李小龙",
           "Ωmega", "ﬁ", "𝔘𝔫𝔦𝔠𝔬𝔡𝔢", "\U0010fffd", "N\u0661 9GU", "١٠", "²", "Ⅻ", "İ", "ß"]
PLAIN_UNICODE = ["مرحبا بالعالم", "שלום", "😀👍🏽", "e\u0301", "Zoe\u0308", "李小龙", "Ωmega", "Ünïcödé\n\nline two"]
NUMBERS = ["0", "-1", "1e308", "NaN", "-0", "Infinity", "99999999999999999999999", "0x10", "3.14", "-" + "9" * 40]
EMPTY = ["", " ", "\t", "\n", "\u00a0", "\u3000"]
SAMPLES = CONTROL + UNICODE + NUMBERS + EMPTY

scalar = st.one_of(
    st.text(max_size=40),  # any code point but surrogates
    st.sampled_from(SAMPLES),
    st.builds("".join, st.lists(st.sampled_from(SAMPLES), min_size=2, max_size=4)),
)


def oversized(limit: int) -> st.SearchStrategy[str]:
    """Text just past a field's limit, or far past it."""
    return st.one_of(
        st.integers(limit + 1, limit + 40).map(lambda size: "x" * size),
        st.just(5000).map(lambda size: "9" * size),
        st.just(limit + 1).map(lambda size: "é" * size),
    )


def hostile(limit: int = 100, near=()) -> st.SearchStrategy:
    """Anything a field might be sent: junk text, too long, repeated keys, or (half the time) a nearly-right value."""
    junk = st.one_of(scalar, oversized(limit), st.lists(scalar, min_size=2, max_size=3))  # lists: the key repeated
    return st.booleans().flatmap(lambda pick_near: st.sampled_from(list(near)) if pick_near else junk) if near else junk


class Spec(NamedTuple):
    """How to fill one field (or one date input's three boxes): valid values, hostile ones, and
    nearly-right values that are always tried."""

    valid: st.SearchStrategy
    junk: st.SearchStrategy
    near: tuple = ()


def text_field(valid: st.SearchStrategy, limit: int, near=()) -> Spec:
    return Spec(valid, hostile(limit, near), tuple(near))


def choice(choices, extra=()) -> Spec:
    """A radio group: a listed code, or anything else (the words instead of the code, case, spaces)."""
    codes = [code for code, _ in choices]
    near = [*(words for _, words in choices), *(code.upper() for code in codes), *(f" {code}" for code in codes), *extra]
    return Spec(st.sampled_from(codes), hostile(near=near), (near[0], near[-1], ""))


def checkboxes(choices) -> Spec:
    """A checkbox group: listed codes (ticked twice is fine), or unlisted ones among them."""
    codes = [code for code, _ in choices]
    return Spec(st.lists(st.sampled_from(codes), min_size=1, max_size=4),
                st.lists(st.one_of(st.sampled_from(codes), scalar), min_size=1, max_size=3),
                ([codes[0], "unknown"], [choices[0][1]], [codes[0], ""]))


def padded(values) -> st.SearchStrategy[str]:
    """A valid value with the white space a phone keyboard or a paste adds around it."""
    return st.builds(lambda before, value, after: before + value + after,
                     st.sampled_from(["", " ", "\t", "\u00a0"]), st.sampled_from(values), st.sampled_from(["", " ", "\n", "\u3000"]))


def free_text(limit: int, required: bool = False) -> Spec:
    """A text area: any printable text with line breaks (CR, LF or CRLF) up to the limit, or hostile text."""
    printable = st.characters(exclude_categories=("Cc", "Cf", "Cs", "Co"))
    pieces = st.one_of(st.text(printable, max_size=10), st.sampled_from(["\n", "\r\n", "\r", "\t"]))
    text = st.one_of(st.lists(pieces, max_size=12).map("".join), st.just(limit).map(lambda size: "x" * size), st.sampled_from(PLAIN_UNICODE))
    near = ("x" * (limit + 1), "Aches\x00", "Run\x1b[2J", "Away\u202eAugust", "a\u200bb", "Ped\u00adro", "\ufeffhi", ["ok", "x\x00"])
    valid = text.filter(lambda value: cleaned(value)) if required else st.one_of(text, st.just(MISSING))
    return text_field(valid, limit, near)


def date_boxes(name: str, days: st.SearchStrategy[date], optional: bool = False) -> dict[str, Spec]:
    """The three boxes of a date input, drawn together: a valid day typed with or without leading
    zeros (or, when optional, nothing), or junk in any box."""
    boxes = [f"{name}-{box}" for box in ("day", "month", "year")]

    def typed(day: date, zeros: bool) -> dict[str, str]:
        parts = (f"{day.day:02}", f"{day.month:02}") if zeros else (str(day.day), str(day.month))
        return dict(zip(boxes, (*parts, str(day.year))))

    valid = st.builds(typed, days, st.booleans())
    if optional:
        valid = st.one_of(valid, st.just(dict.fromkeys(boxes, "")), st.just({}))
    junk = hostile(4, near=["0", "32", "13", "85", "2", "99999", "١٠", "1e3"])
    return {name: Spec(valid, st.fixed_dictionaries({box: st.one_of(st.just(MISSING), junk) for box in boxes}))}


NAMES = ["Ada", "Zoë", "Zoe\u0308", "O'Brien", "Jean-Luc", "محمد", "李", "Nguyễn", "D’Arcy", "St. John", "Ṣàngó", "Ólafsdóttir", "Hubert" * 16 + "Wolf"]
PAGE_FIELDS = {
    "about-you": {
        "first_name": text_field(padded(NAMES), 100, ["Ada1", "-Ada", "Ada<b>", "Ada\u200b", "Ada\x00", "x" * 101, "Ada\r\nBcc: x@example.com"]),
        "last_name": text_field(padded(NAMES), 100, ["Lovelace!", "'", "Love\u202elace", "😀", "Ⅻ", "²"]),
        **date_boxes("date_of_birth", st.dates(years_ago(119), years_ago(17))),
        "email": text_field(padded(["ada@example.com", "Ada.Lovelace+physio@Example.COM", "zoë@example.com"]), 254,
                            ["ada@", "@example.com", "ada@example", "ada@@example.com", "a" * 65 + "@example.com", "ada@example.com\x00"]),
        "phone": text_field(padded(["07400 123456", "+44 7400 123456", "07400123456", "(07400) 123-456", "+33 6 12 34 56 78"]), 30,
                            ["0740", "+44", "999", "07400 123456 ext 2", "٠٧٤٠٠١٢٣٤٥٦", "0" * 31]),
        "contact_method": choice(vocabulary.CONTACT_METHODS),
        "postcode": text_field(st.one_of(st.just(MISSING), padded(["", "n1 9gu", "SW1A1AA", "ec1a  1bb", "M1 1AE", "DN55 1PT"])), 10,
                               ["ABC 123", "N1 9G", "SW1A 1AA1", "N1\u00a09GU", "N\u0661 9GU", "ＳＷ1Ａ 1ＡＡ", "N1 9GU\x00"]),
    },
    "where-it-hurts": {
        "region": choice(vocabulary.BODY_REGIONS),
        "side": choice(vocabulary.SIDES),
        "duration": choice(vocabulary.DURATIONS),
        "onset": choice(vocabulary.ONSETS),
    },
    "how-it-feels": {
        "pain_now": choice(vocabulary.PAIN_SCALE, ["11", "-1", "4.0", "04", "١"]),
        "pain_worst": choice(vocabulary.PAIN_SCALE, ["11", "-1", "4.0", "04", "١"]),
        "sensations": checkboxes(vocabulary.SENSATIONS)._replace(valid=st.one_of(st.just(MISSING), checkboxes(vocabulary.SENSATIONS).valid)),
        "description": free_text(1000),
        "goals": free_text(500),
    },
    **{slug: {code: choice((("yes", "Yes"), ("no", "No")), ["y", "true", "1", "on"]) for code in valid_answers()[slug]}
       for slug in ("nerve-symptoms", "general-health")},
    "when-and-where": {
        "site": choice([(code, code) for code in SITES], ["atlantis", "Riverside"]),
        "days": checkboxes(vocabulary.WEEKDAYS),
        "times": checkboxes(vocabulary.TIMES_OF_DAY),
        **date_boxes("earliest_date", days_ahead(1, 365), optional=True),
        "note": free_text(500),
    },
}
assert list(PAGE_FIELDS) == [step.slug for step in STEPS], "every question page is fuzzed"


@st.composite
def posts(draw, fields: dict, target: str | None = None) -> tuple[dict, bool]:
    """A post to a form, plus unknown extra keys. With a target, every other field is valid and
    the target is mostly hostile or left out (so a refusal can only be its doing); without one,
    every field is valid or each is valid or hostile at random.

    Returns the data and whether every field was drawn from its valid values.
    """
    everything_valid = target is None and draw(st.booleans())
    posted, all_valid = {}, True
    for name, (valid, junk, _) in fields.items():
        if target is None:
            use_valid = everything_valid or draw(st.booleans())
        else:
            use_valid = name != target or draw(st.integers(0, 3)) == 0
        value = draw(valid if use_valid else st.one_of(st.just(MISSING), junk))
        all_valid &= use_valid
        for key, item in (value.items() if isinstance(value, dict) else [(name, value)]):
            if item is not MISSING:
                posted[key] = item
    extras = draw(st.dictionaries(st.sampled_from(["unexpected", "id", "reference", "status", "submit", "x" * 300]), hostile(), max_size=2))
    return {**extras, **posted}, all_valid


def targets(fields: dict, per_field: bool = True) -> list:
    """One case with every field fuzzed at once, then (when their rules differ) one per field."""
    return [pytest.param(None, id="every-field"), *(pytest.param(name, id=name) for name in fields if per_field)]


def near_examples(fields: dict, baseline: dict, names, **fixed):
    """Add an explicit example per nearly-right value of the named fields, the rest valid
    (Hypothesis runs these first, every time)."""
    def add(test):
        for name in names:
            for value in fields[name].near:
                test = example(post=({**baseline, name: value}, False), token_choice="valid", **fixed)(test)
        return test

    return add


TOKENS = st.one_of(st.sampled_from(["valid", "valid", "missing", "another session's"]), st.text(max_size=40))


# --- expectations -------------------------------------------------------------------------

def first(value):
    """What a single-value field reads when a key is repeated: the first value."""
    return value[0] if isinstance(value, list) else value


def cleaned(value) -> str | None:
    """Typed text as it should be stored: NFC, line breaks as LF, no white space around it."""
    text = first(value)
    if text is None:
        return None
    return unicodedata.normalize("NFC", text.replace("\r\n", "\n").replace("\r", "\n")).strip()


def typed_date(posted: dict, name: str) -> str | None:
    parts = [(first(posted.get(f"{name}-{box}")) or "").strip() for box in ("year", "month", "day")]
    return date(*map(int, parts)).isoformat() if all(parts) else None


def expected_answers(slug: str, posted: dict) -> dict:
    """The answers a page should store for an accepted post."""
    expected = {}
    for name in PAGE_FIELDS[slug]:
        value = posted.get(name)
        if name in ("date_of_birth", "earliest_date"):
            expected[name] = typed_date(posted, name)
        elif name in ("sensations", "days", "times"):
            expected[name] = list(dict.fromkeys(value if isinstance(value, list) else [value] if value is not None else []))
        elif name in ("first_name", "last_name", "description", "goals", "note"):
            expected[name] = cleaned(value)
        elif name == "email":
            expected[name] = validate_email(cleaned(value), check_deliverability=False).normalized
        elif name == "phone":
            expected[name] = phonenumbers.format_number(phonenumbers.parse(cleaned(value), "GB"), phonenumbers.PhoneNumberFormat.E164)
        elif name == "postcode":
            compact = "".join((cleaned(value) or "").upper().split())
            expected[name] = f"{compact[:-3]} {compact[-3:]}" if compact else ""
        else:
            expected[name] = first(value)
    return expected


def is_clean_text(value: str | None, limit: int, multiline: bool = False) -> bool:
    """Stored free text is trimmed, within its limit and free of control and invisible characters."""
    if value is None:
        return True
    allowed = {"\n", "\t"} if multiline else set()
    return (value == value.strip() and len(value) <= limit
            and all(unicodedata.category(char) not in {"Cc", "Cf", "Cs", "Co"} or char in allowed for char in value))


def is_person_name(value: str) -> bool:
    return bool(value) and unicodedata.category(value[0]).startswith("L") and all(
        unicodedata.category(char)[0] in "LM" or char in NAME_SEPARATORS for char in value
    )


ASCII_POSTCODE = re.compile(r"^[A-Z]{1,2}[0-9][A-Z0-9]? [0-9][A-Z]{2}$")


def assert_clean_answers(slug: str, stored: dict) -> None:
    """Whatever a page stored is within the rules a patient is told about."""
    choices = {
        "contact_method": vocabulary.CONTACT_METHODS, "region": vocabulary.BODY_REGIONS, "side": vocabulary.SIDES,
        "duration": vocabulary.DURATIONS, "onset": vocabulary.ONSETS, "pain_now": vocabulary.PAIN_SCALE,
        "pain_worst": vocabulary.PAIN_SCALE, "sensations": vocabulary.SENSATIONS, "days": vocabulary.WEEKDAYS,
        "times": vocabulary.TIMES_OF_DAY, "site": [(code, code) for code in SITES],
        **{code: (("yes", "Yes"), ("no", "No")) for code in PAGE_FIELDS["nerve-symptoms"] | PAGE_FIELDS["general-health"]},
    }
    for name, value in stored.items():
        if name in choices:
            codes = {code for code, _ in choices[name]}
            assert set(value) <= codes if isinstance(value, list) else value in codes, (name, value)
    if slug == "about-you":
        assert is_person_name(stored["first_name"]) and is_person_name(stored["last_name"]), stored
        assert is_clean_text(stored["first_name"], 100) and is_clean_text(stored["last_name"], 100), stored
        assert stored["phone"].startswith("+") and stored["phone"][1:].isascii() and stored["phone"][1:].isdigit(), stored
        assert stored["postcode"] == "" or ASCII_POSTCODE.match(stored["postcode"]), stored["postcode"]
        assert is_clean_text(stored["email"], 254), stored["email"]
    if slug == "how-it-feels":
        assert int(stored["pain_worst"]) >= int(stored["pain_now"])
        assert is_clean_text(stored["description"], 1000, multiline=True) and is_clean_text(stored["goals"], 500, multiline=True)
    if slug == "when-and-where":
        assert stored["days"] and stored["times"] and is_clean_text(stored["note"], 500, multiline=True)


# --- the database before and after --------------------------------------------------------

@dataclass(frozen=True)
class State:
    counts: dict[str, int]
    drafts: dict[str, dict]
    statuses: dict[str, str]
    emails: dict[int, str]


def state(app) -> State:
    """Row counts of everything a form could add, every draft's answers, and request and email statuses."""
    with app.app_context():
        counts = {model.__name__: db.session.execute(select(func.count()).select_from(model)).scalar_one() for model in TRACKED}
        drafts = {draft.id: draft.answers for draft in db.session.execute(select(Draft)).scalars()}
        statuses = dict(db.session.execute(select(AssessmentRequest.reference, AssessmentRequest.status)).all())
        emails = dict(db.session.execute(select(OutboxMessage.id, OutboxMessage.status)).all())
        db.session.remove()
    return State(counts, drafts, statuses, emails)


def added(before: State, after: State) -> dict[str, int]:
    """How many rows of each kind a request added (only the kinds that changed)."""
    return {name: after.counts[name] - before.counts[name] for name in before.counts if after.counts[name] != before.counts[name]}


def newest(app, model):
    with app.app_context():
        row = db.session.execute(select(model).order_by(model.id.desc())).scalars().first()
        db.session.expunge_all()
        return row


def assert_no_server_error(response) -> str:
    """Never a 5xx, never a traceback; return the page."""
    body = response.get_data(as_text=True)
    response.close()
    assert response.status_code < 500, body[:2000]
    assert "Traceback" not in body and 'File "' not in body
    return body


def with_token(data: dict, token_choice: str, valid: str, other: str) -> dict:
    """The post with a real token, none, another session's, or a made-up one."""
    tokens = {"valid": valid, "missing": MISSING, "another session's": other}
    token = tokens.get(token_choice, token_choice)
    return data if token is MISSING else {**data, "csrf_token": token}


def assert_refused_unchanged(response, before: State, after: State, token_choice: str) -> str:
    """A post that was not accepted (no 303) changed nothing; without a valid token it is never accepted."""
    body = assert_no_server_error(response)
    if token_choice != "valid":
        assert response.status_code == 400, response.status_code
    if response.status_code != 303:
        assert after == before, added(before, after)
    return body


# --- fixtures -----------------------------------------------------------------------------

@pytest.fixture
def unlimited_app(make_app):
    """An app without rate limits, so examples are never turned away with 429."""
    return make_app(RATELIMIT_ENABLED=False)


def other_sessions_token(app) -> str:
    return Patient(app.test_client()).csrf_token("/book/")


def patient_on(app, slug: str) -> Patient:
    """A patient whose earlier pages are answered (a back problem, so the nerve questions apply)."""
    patient = Patient(app.test_client())
    patient.start()
    answers = valid_answers()
    answers["where-it-hurts"]["region"] = "lower_back"
    for step in STEPS[: [step.slug for step in STEPS].index(slug)]:
        assert patient.answer(step.slug, answers[step.slug]).status_code == 303
    return patient


# --- the patient's forms ------------------------------------------------------------------

SAME_RULE_PAGES = ("nerve-symptoms", "general-health")  # every question is a yes/no radio group
PAGE_TARGETS = [
    pytest.param(slug, *case.values, id=f"{slug}-{case.id}")
    for slug in PAGE_FIELDS for case in targets(PAGE_FIELDS[slug], per_field=slug not in SAME_RULE_PAGES)
]


@pytest.mark.parametrize(("slug", "target"), PAGE_TARGETS)
def test_a_question_page_stores_only_cleaned_valid_answers(unlimited_app, slug, target):
    """Any post to a question page: no 5xx; refused posts change nothing; accepted posts store the
    cleaned values; an all-valid post with a real token is always accepted."""
    app = unlimited_app
    patient = patient_on(app, slug)
    token, other = patient.csrf_token(f"/book/{slug}"), other_sessions_token(app)
    key = slug.replace("-", "_")

    @(FUZZ if target is None else FUZZ_ONE_FIELD)
    @near_examples(PAGE_FIELDS[slug], valid_answers()[slug], [target] if target else PAGE_FIELDS[slug] if slug in SAME_RULE_PAGES else [])
    @given(post=posts(PAGE_FIELDS[slug], target), token_choice=TOKENS)
    def check(post, token_choice):
        data, all_valid = post
        before = state(app)
        response = patient.client.post(f"/book/{slug}", data=with_token(data, token_choice, token, other))
        after = state(app)
        body = assert_refused_unchanged(response, before, after, token_choice)
        if response.status_code == 200:
            assert "There is a problem" in body
        if slug == "how-it-feels" and all_valid:
            all_valid = int(first(data["pain_worst"])) >= int(first(data["pain_now"]))
        if all_valid and token_choice == "valid":
            assert response.status_code == 303, body
        if response.status_code == 303:
            assert added(before, after) == {}
            [draft_id] = after.drafts
            stored = after.drafts[draft_id][key]
            assert stored == expected_answers(slug, data)
            assert_clean_answers(slug, stored)
            assert {name: value for name, value in after.drafts[draft_id].items() if name != key} == {
                name: value for name, value in before.drafts[draft_id].items() if name != key
            }

    check()


CONSENT = st.one_of(st.just(MISSING), st.sampled_from(["y", "", "false", "on", "no"]), hostile())


def test_the_check_page_sends_one_request_only_with_consent(unlimited_app):
    """Any consent and marketing values: no 5xx; without consent or a real token nothing is stored;
    with them one request and its two emails, holding the draft's answers and the marketing choice."""
    app = unlimited_app
    patient = Patient(app.test_client())
    patient.answer_all()
    token, other = patient.csrf_token("/book/check"), other_sessions_token(app)

    @FUZZ
    @given(consent=CONSENT, marketing=CONSENT, extras=posts({}), token_choice=TOKENS)
    def check(consent, marketing, extras, token_choice):
        data = {**extras[0], **{name: value for name, value in (("consent", consent), ("marketing", marketing)) if value is not MISSING}}
        before = state(app)
        response = patient.client.post("/book/check", data=with_token(data, token_choice, token, other))
        after = state(app)
        body = assert_refused_unchanged(response, before, after, token_choice)
        if first(consent) in (MISSING, ""):
            assert response.status_code != 303
            assert "You must agree to us using your health information" in body or token_choice != "valid"
        elif first(consent) == "y" and token_choice == "valid":
            assert response.status_code == 303
        if response.status_code == 303:
            assert added(before, after) == {"AssessmentRequest": 1, "OutboxMessage": 2}
            assert after.drafts == {}
            stored = newest(app, AssessmentRequest)
            about = valid_answers()["about-you"]
            assert (stored.first_name, stored.last_name, stored.email, stored.phone, stored.postcode) == (
                about["first_name"], about["last_name"], about["email"], "+447400123456", "N1 9GU")
            if first(marketing) in (MISSING, "", "y"):
                assert stored.marketing_opt_in is (first(marketing) == "y")
            patient.answer_all()  # a new draft for the next example

    check()


def test_starting_a_request_needs_a_real_token_and_ignores_anything_else_posted(unlimited_app):
    """Junk fields on the start button: a real token starts one empty draft in place of the old one;
    without it nothing changes."""
    app = unlimited_app
    patient = Patient(app.test_client())
    token, other = patient.csrf_token("/book/"), other_sessions_token(app)

    @FUZZ
    @given(post=posts({}), token_choice=TOKENS)
    def check(post, token_choice):
        before = state(app)
        response = patient.client.post("/book/start", data=with_token(post[0], token_choice, token, other))
        after = state(app)
        assert_refused_unchanged(response, before, after, token_choice)
        if token_choice == "valid":
            assert response.status_code == 303 and response.headers["Location"].endswith("/book/about-you")
            with patient.client.session_transaction() as session:
                assert list(after.drafts) == [session["draft_id"]] and after.drafts[session["draft_id"]] == {}
            assert added(before, after) == {}

    check()


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
    """A signed-in receptionist in front of one request, with a clinician to book."""

    app: object
    staff: Staff
    reference: str
    clinician: int
    token: str
    other: str

    def post(self, path: str, data: dict, token_choice: str):
        return self.staff.client.post(path, data=with_token(data, token_choice, self.token, self.other))


@pytest.fixture
def desk(unlimited_app, make_staff, staff_client) -> Desk:
    app = unlimited_app
    reference = Patient(app.test_client()).complete()
    clinician = make_staff("clinician")
    with app.app_context():
        clinician_id = staff_services.find_staff(clinician).id
    reception = staff_client("reception")
    return Desk(app, reception, reference, clinician_id, reception.csrf_token("/staff/"), other_sessions_token(app))


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


TIMES = ["09:30", "9:30", "14.30", " 10:00 ", "23:59", "00:00"]
BOOKING_FIELDS = {
    **date_boxes("day", days_ahead(1, 60)),
    "start_time": text_field(st.sampled_from(TIMES), 5, ["24:00", "9:60", "930", "9:5", "10:00am", "²:30", "1²:30", "١٠:٣٠"]),
    "clinician": text_field(st.just("CLINICIAN"), 10, ["0", "-1", "1.0", "²", "١", "9" * 30, "CLINICIAN ", "99999"]),
    "site": choice([(code, code) for code in SITES], ["atlantis"]),
}


def london_to_utc(posted: dict) -> datetime:
    hours, minutes = cleaned(posted["start_time"]).replace(".", ":").split(":")
    day = date.fromisoformat(typed_date(posted, "day"))
    local = datetime(day.year, day.month, day.day, int(hours), int(minutes), tzinfo=LONDON)
    return local.astimezone(timezone.utc)


@pytest.mark.parametrize("target", targets(BOOKING_FIELDS))
def test_a_booking_stores_the_typed_london_time_with_the_chosen_clinician_and_site(desk, target):
    """Any booking form: no 5xx; a refused booking stores nothing and sends nothing; an accepted one
    adds one appointment at the typed time, one email and one audit entry; a valid one is accepted."""
    next_week = today_in_london() + timedelta(days=7)
    baseline = {"day-day": str(next_week.day), "day-month": str(next_week.month), "day-year": str(next_week.year),
                "start_time": "10:00", "clinician": "CLINICIAN", "site": "riverside"}

    @(FUZZ if target is None else FUZZ_ONE_FIELD)
    @near_examples(BOOKING_FIELDS, baseline, [target] if target else [])
    @given(post=posts(BOOKING_FIELDS, target), token_choice=TOKENS)
    def check(post, token_choice):
        data, all_valid = post
        data = {name: str(desk.clinician) if value == "CLINICIAN" else value for name, value in data.items()}
        before = state(desk.app)
        response = desk.post(f"/staff/requests/{desk.reference}/book", data, token_choice)
        after = state(desk.app)
        body = assert_refused_unchanged(response, before, after, token_choice)
        assert not (all_valid and token_choice == "valid") or response.status_code == 303, body[:500]
        if response.status_code == 400 and token_choice == "valid":
            assert "There is a problem" in body
        if response.status_code == 303:
            assert added(before, after) == {"Appointment": 1, "OutboxMessage": 1, "AuditEvent": 1}
            appointment = newest(desk.app, Appointment)
            assert appointment.starts_at == london_to_utc(data)
            assert (appointment.clinician_id, appointment.site_code) == (desk.clinician, first(data["site"]))
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


# --- the back office's query strings ------------------------------------------------------

QUERY_KEYS = {
    "/staff/": ["status", "site", "urgency", "from", "to", "q", "order", "page"],
    "/staff/audit": ["page", "reference"],
    "/staff/export.csv": ["status", "site", "urgency", "from", "to", "q", "order"],
}
QUERY_VALUES = st.one_of(
    hostile(100, ["new", "booked", "riverside", "urgent", "newest", "2024-07-01", "2024-02-30", "-1", "0", "10001", "9" * 30]),
    st.integers().map(str),
)


@pytest.mark.parametrize("path", list(QUERY_KEYS))
def test_the_back_office_lists_answer_any_query_string(unlimited_app, make_staff, staff_client, path):
    """Any filter, sort and page values, repeated or unknown: a normal page (or CSV), nothing stored
    except one audit entry per export, holding only allow-listed filters; a NUL anywhere gets 400."""
    app = unlimited_app
    Patient(app.test_client()).complete()
    admin = staff_client("admin")

    @FUZZ
    @given(query=st.lists(st.tuples(st.one_of(st.sampled_from(QUERY_KEYS[path]), st.text(max_size=10)), QUERY_VALUES), max_size=6))
    def check(query):
        pairs = [(key, item) for key, value in query for item in (value if isinstance(value, list) else [value])]
        before = state(app)
        response = admin.client.get(path, query_string=pairs)
        body = assert_no_server_error(response)
        after = state(app)
        if any("\x00" in key + value for key, value in pairs):
            # No link of ours holds NUL, and PostgreSQL cannot compare text with it: refused first.
            assert response.status_code == 400 and after == before
            return
        assert response.status_code == 200
        if path.endswith(".csv"):
            assert body.startswith("Reference,") and added(before, after) == {"AuditEvent": 1}
            filters = newest(app, AuditEvent).detail["filters"]
            assert set(filters) <= {"status", "site", "urgency", "from", "to", "q", "order"}
            assert filters.get("status", "new") in REQUEST_STATUSES and filters.get("site", "riverside") in SITES
            assert filters.get("urgency", "routine") in ("routine", "urgent", "emergency")
            assert filters.get("order", "newest") == "newest" and len(filters.get("q", "")) <= 100
        else:
            assert after == before and "</html>" in body

    check()
