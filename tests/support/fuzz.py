"""Property-based testing of forms: what may be posted to each field (valid values, nearly-right
ones and hostile junk), what a page must do with it, and the database before and after each post.
FUZZ_EXAMPLES=1000 in the environment searches longer."""
from __future__ import annotations

import os
import unicodedata
from dataclasses import dataclass
from datetime import date, timedelta
from typing import NamedTuple

import pytest
from hypothesis import HealthCheck, example, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from intake.appointments.models import Appointment
from intake.journey.models import AssessmentRequest, Draft
from intake.mail.models import OutboxMessage
from intake.platform.extensions import db
from intake.platform.timeutil import today_in_london
from intake.staff.models import AuditEvent, RequestNote
from tests.factories import Patient


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


def is_clean_text(value: str | None, limit: int, multiline: bool = False) -> bool:
    """Stored free text is trimmed, within its limit and free of control and invisible characters."""
    if value is None:
        return True
    allowed = {"\n", "\t"} if multiline else set()
    return (value == value.strip() and len(value) <= limit
            and all(unicodedata.category(char) not in {"Cc", "Cf", "Cs", "Co"} or char in allowed for char in value))


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


def other_sessions_token(app) -> str:
    """A real form token, but from another browser's session."""
    return Patient(app.test_client()).csrf_token("/book/")
