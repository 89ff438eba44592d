"""Property-based tests of the patient's forms: random, oversized, Unicode, control-character and
wrong-type values in every field of every question page, the check page and the start button.

Whatever is posted, no page fails with a server error or shows a traceback; a post that comes
back with errors (or without a valid form token) stores nothing; and a post that is accepted
stores exactly the cleaned-up values that were typed. Each test builds one app and reuses it
for every example, comparing the database before and after each post. Every nearly-right value
listed for a field is tried on each run; FUZZ_EXAMPLES=1000 in the environment searches longer.
"""

from __future__ import annotations

import re
import unicodedata

import phonenumbers
import pytest
from email_validator import validate_email
from hypothesis import given
from hypothesis import strategies as st

from intake.clinic import vocabulary
from intake.clinic.back_screen import STATEMENTS as BACK_SCREEN_STATEMENTS, load_wording
from intake.journey.journey import STEPS
from intake.journey.models import AssessmentRequest
from intake.triage import Page, Problem, questions_for
from tests.factories import Patient, valid_answers, years_ago
from tests.support.fuzz import FUZZ, FUZZ_ONE_FIELD, MISSING, SITES, TOKENS, Spec, added, assert_refused_unchanged, choice, cleaned, date_boxes, days_ahead, first, free_text, hostile, is_clean_text, near_examples, newest, other_sessions_token, posts, scalar, state, targets, text_field, typed_date, with_token

NAME_SEPARATORS = " '’.-"
# The fuzzed patient's problem: somewhere else, after an injury, so most safety questions are asked.
FUZZED_PROBLEM = {"region": "other", "onset": "injury"}
SAFETY_PAGE_CODES = {
    slug: [question.code for question in questions_for(Problem(**FUZZED_PROBLEM)) if question.page is page]
    for slug, page in (("nerve-symptoms", Page.CAUDA_EQUINA), ("your-problem", Page.PROBLEM), ("general-health", Page.GENERAL))
}
WORDING = load_wording()

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
    **{slug: {code: choice((("yes", "Yes"), ("no", "No")), ["y", "true", "1", "on"]) for code in codes}
       for slug, codes in SAFETY_PAGE_CODES.items()},
    "back-pain": {
        **{code: choice((("agree", WORDING.agree), ("disagree", WORDING.disagree)), ["yes", "1"]) for code in BACK_SCREEN_STATEMENTS},
        "bothersome": choice(WORDING.bother_levels, ["agree", "very much", "5"]),
    },
    "when-and-where": {
        "site": choice([(code, code) for code in SITES], ["atlantis", "Riverside"]),
        "days": checkboxes(vocabulary.WEEKDAYS),
        "times": checkboxes(vocabulary.TIMES_OF_DAY),
        **date_boxes("earliest_date", days_ahead(1, 365), optional=True),
        "note": free_text(500),
    },
}
# The pages that ask about red flags in the patient's words are fuzzed in tests/journey/test_journey_free_text.py.
assert list(PAGE_FIELDS) == [step.slug for step in STEPS if step.same_for_everyone], "every question page is fuzzed"


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
        **{code: (("yes", "Yes"), ("no", "No")) for slug in SAFETY_PAGE_CODES for code in PAGE_FIELDS[slug]},
        **{code: (("agree", ""), ("disagree", "")) for code in BACK_SCREEN_STATEMENTS}, "bothersome": WORDING.bother_levels,
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


def patient_on(app, slug: str) -> Patient:
    """A patient whose earlier pages are answered (FUZZED_PROBLEM, so every safety page applies;
    the lower back for the back-pain screen, which only they are asked)."""
    patient = Patient(app.test_client())
    patient.start()
    answers = valid_answers(where_it_hurts={"region": "lower_back"} if slug == "back-pain" else FUZZED_PROBLEM)
    for step in STEPS[: [step.slug for step in STEPS].index(slug)]:
        if step.slug in answers:
            assert patient.answer(step.slug, answers[step.slug]).status_code == 303
    return patient


# --- the patient's forms ------------------------------------------------------------------

SAME_RULE_PAGES = (*SAFETY_PAGE_CODES, "back-pain")  # every question is a radio group with the same rule
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
