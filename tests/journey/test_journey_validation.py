"""Every validation rule on every question page, as a patient meets it through the browser."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from markupsafe import escape

from tests.factories import valid_answers, years_ago
from intake.journey.models import AssessmentRequest, Draft
from intake.platform.extensions import db
from intake.platform.timeutil import today_in_london
from intake.triage import QUESTIONS_BY_CODE
from tests.support.pages import shown_answers

PAGES = tuple(valid_answers())
MISSING = None  # the field is left out of the post altogether
SHOWN_NORMALISED = {"email", "phone", "postcode"}  # shown back in their cleaned-up form, not as typed


def days_from_today(days: int) -> date:
    """A day relative to today on the clinic's calendar, worked out when the test runs (never at import)."""
    return today_in_london() + timedelta(days=days)


def at_test_time(value):
    """Parameters that depend on today are given as functions, so a run that crosses midnight stays right."""
    return value() if callable(value) else value


def day_month_year(day: date) -> tuple[str, str, str]:
    """What a patient types into the three boxes of a date input for a given day."""
    return str(day.day), str(day.month), str(day.year)


def date_parts(name: str, boxes: tuple[str, str, str]) -> dict[str, str]:
    """The posted fields of a date input named `name`."""
    return {f"{name}-{part}": value for part, value in zip(("day", "month", "year"), boxes)}


def send(patient, slug: str, before: dict[str, dict] | None = None, **changes):
    """Answer the pages before `slug` correctly (with the changes to them in `before`, by page),
    then post `slug` with some answers changed.

    Returns the response and the data posted; a change to MISSING leaves that field out.
    """
    answers = valid_answers(**(before or {}))
    if slug == "back-pain":
        answers["where-it-hurts"]["region"] = "lower_back"  # the screen is asked only of a lower-back problem
    patient.start()
    for earlier in PAGES[: PAGES.index(slug)]:
        if patient.client.get(f"/book/{earlier}").status_code == 303:
            continue  # this page does not apply to these answers
        assert patient.answer(earlier, answers[earlier]).status_code == 303
    posted = {name: value for name, value in {**answers[slug], **changes}.items() if value is not MISSING}
    return patient.answer(slug, posted), posted


def saved(app, slug: str) -> dict:
    """The answers stored in the draft for one page."""
    with app.app_context():
        return db.session.execute(db.select(Draft)).scalar_one().answers[slug.replace("-", "_")]


def accepted(app, patient, slug: str, **changes) -> dict:
    """Post a page with some answers changed, check it moved on, and return what was stored."""
    response, _ = send(patient, slug, **changes)
    assert response.status_code == 303, response.get_data(as_text=True)
    return saved(app, slug)


def assert_rejected(patient, slug, response, posted, field, message, target=None) -> None:
    """The page comes back with the error linked and shown, typed answers kept and nothing saved."""
    target = target or field
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "<title>Error: " in page
    assert "There is a problem" in page
    assert f'<li><a href="#{target}">{escape(message)}</a></li>' in page
    assert f'id="{target}"' in page
    assert f'id="{field}-error"><span class="visually-hidden">Error:</span> {escape(message)}</p>' in page

    shown = shown_answers(response)
    for name, value in posted.items():
        if name != field and name not in SHOWN_NORMALISED:
            for typed in value if isinstance(value, list) else [value]:
                assert not typed or typed in shown.get(name, []), f"{name}={typed!r} was not kept"

    following = PAGES[PAGES.index(slug) + 1] if slug != PAGES[-1] else "check"
    response = patient.client.get(f"/book/{following}")
    assert response.status_code == 303
    assert response.headers["Location"].endswith(f"/book/{slug}")


# About you: names

NAME_ERRORS = [
    pytest.param(MISSING, "Enter your {lower}", id="missing"),
    pytest.param("   ", "Enter your {lower}", id="only-spaces"),
    pytest.param("A" * 101, "{label} must be 100 characters or fewer", id="101-characters"),
    pytest.param("Ada1", "{label} must only include letters, spaces, hyphens and apostrophes", id="digit"),
    pytest.param("<script>", "{label} must only include letters, spaces, hyphens and apostrophes", id="markup"),
    pytest.param("Ada\r\nBcc: x@evil.example", "{label} must not contain special control characters", id="header-injection"),
    pytest.param("Ada\x00", "{label} must not contain special control characters", id="null-byte"),
]


@pytest.mark.parametrize(("field", "label"), [("first_name", "First name"), ("last_name", "Last name")])
@pytest.mark.parametrize(("value", "message"), NAME_ERRORS)
def test_names_must_be_given_in_letters_and_not_too_long(patient, field, label, value, message):
    """A missing, overlong or non-name value is refused with a message about that name box."""
    response, posted = send(patient, "about-you", **{field: value})
    assert_rejected(patient, "about-you", response, posted, field, message.format(label=label, lower=label.lower()))


@pytest.mark.parametrize(
    ("typed", "stored"),
    [
        pytest.param("Zoë", "Zoë", id="diaeresis"),
        pytest.param("Zoe\u0308", "Zoë", id="combining-diaeresis"),
        pytest.param("O'Brien", "O'Brien", id="apostrophe"),
        pytest.param("O’Brien", "O’Brien", id="curly-apostrophe"),
        pytest.param("Mary-Jane", "Mary-Jane", id="hyphen"),
        pytest.param("José María", "José María", id="accents-and-space"),
        pytest.param("李", "李", id="chinese"),
        pytest.param("देवी", "देवी", id="devanagari"),
        pytest.param("  Ada  ", "Ada", id="surrounding-spaces"),
        pytest.param("A" * 100, "A" * 100, id="100-characters"),
    ],
)
def test_names_written_in_any_alphabet_are_accepted(app, patient, typed, stored):
    """Real names with accents, apostrophes, hyphens, spaces or other scripts go through, trimmed."""
    assert accepted(app, patient, "about-you", first_name=typed, last_name=typed)["first_name"] == stored
    assert saved(app, "about-you")["last_name"] == stored


# About you: date of birth

DATE_OF_BIRTH_ERRORS = [
    pytest.param(("", "", ""), "Enter your date of birth", "day", id="empty"),
    pytest.param(("", "12", "1985"), "Date of birth must include a day", "day", id="no-day"),
    pytest.param(("10", "", "1985"), "Date of birth must include a month", "month", id="no-month"),
    pytest.param(("10", "12", ""), "Date of birth must include a year", "year", id="no-year"),
    pytest.param(("", "12", ""), "Date of birth must include a day and year", "day", id="no-day-or-year"),
    pytest.param(("ten", "12", "1985"), "Date of birth must be a real date, written in numbers", "day", id="day-in-words"),
    pytest.param(("10", "Dec", "1985"), "Date of birth must be a real date, written in numbers", "month", id="month-in-words"),
    pytest.param(("31", "2", "1990"), "Date of birth must be a real date", "day", id="31-february"),
    pytest.param(("10", "13", "1985"), "Date of birth must be a real date", "day", id="month-13"),
    pytest.param(("10", "12", "85"), "Year must include 4 numbers", "year", id="2-digit-year"),
    pytest.param(lambda: day_month_year(days_from_today(1)), "Date of birth must be in the past", "day", id="tomorrow"),
    pytest.param(lambda: day_month_year(days_from_today(0)), "Date of birth must be in the past", "day", id="today"),
    pytest.param(lambda: day_month_year(years_ago(121)), lambda: f"Date of birth must be after {today_in_london().year - 120}", "year",
                 id="121-years-ago"),
]


@pytest.mark.parametrize(("boxes", "message", "wrong_box"), DATE_OF_BIRTH_ERRORS)
def test_date_of_birth_must_be_a_real_plausible_past_date(patient, boxes, message, wrong_box):
    """The error links to the first wrong box, and the boxes show what was typed."""
    response, posted = send(patient, "about-you", **date_parts("date_of_birth", at_test_time(boxes)))
    assert_rejected(patient, "about-you", response, posted, "date_of_birth", at_test_time(message), f"date_of_birth-{wrong_box}")


@pytest.mark.parametrize("born", [lambda: years_ago(15), lambda: years_ago(16, days=-1)], ids=["aged-15", "turns-16-tomorrow"])
def test_an_under_16_is_told_to_call_the_clinic(app, patient, born):
    """Under-16s cannot book online; the message gives the clinic's phone number."""
    message = (
        "We can only take online requests from people aged 16 or over. "
        f"To book for a child or young person, please call us on {app.config['CLINIC_PHONE']}"
    )
    response, posted = send(patient, "about-you", **date_parts("date_of_birth", day_month_year(at_test_time(born))))
    assert_rejected(patient, "about-you", response, posted, "date_of_birth", message, "date_of_birth-day")


def test_someone_who_turns_16_today_can_book(app, patient):
    """A 16th birthday today is old enough, and the date is stored as an ISO date."""
    born = years_ago(16)
    stored = accepted(app, patient, "about-you", **date_parts("date_of_birth", day_month_year(born)))
    assert stored["date_of_birth"] == born.isoformat()


# About you: email, phone, contact method, postcode

EMAIL_FORMAT = "Enter an email address in the correct format, like name@example.com"
PHONE_FORMAT = "Enter a phone number, like 07400 123456 or +44 7400 123456"
CONTACT_MESSAGE = "Select how you would like us to contact you"

ABOUT_YOU_ERRORS = [
    pytest.param("email", MISSING, "Enter your email address", id="email-missing"),
    pytest.param("email", "ada@", EMAIL_FORMAT, id="email-without-domain"),
    pytest.param("email", "ada example.com", EMAIL_FORMAT, id="email-without-at"),
    pytest.param("email", "a" * 64 + "@" + "b" * 178 + ".example.com", "Email address must be 254 characters or fewer", id="email-255"),
    pytest.param(
        "email",
        "ada@example.com\r\nBcc: x@evil.example",
        "Email address must not contain special control characters",
        id="email-header-injection",
    ),
    pytest.param("phone", "", "Enter your phone number", id="phone-empty"),
    pytest.param("phone", "call me maybe", PHONE_FORMAT, id="phone-in-words"),
    pytest.param("phone", "0740 123", PHONE_FORMAT, id="phone-too-short"),
    pytest.param("phone", "0" * 31, "Phone number must be 30 characters or fewer", id="phone-31-characters"),
    pytest.param("contact_method", MISSING, CONTACT_MESSAGE, id="contact-missing"),
    pytest.param("contact_method", "pigeon", CONTACT_MESSAGE, id="contact-unknown"),
    pytest.param("postcode", "NOTAPOSTCODE", "Postcode must be 10 characters or fewer", id="postcode-too-long"),
    pytest.param("postcode", "ABC 123", "Enter a real postcode, like SW1A 1AA, or leave this empty", id="postcode-wrong-shape"),
]


@pytest.mark.parametrize(("field", "value", "message"), ABOUT_YOU_ERRORS)
def test_contact_details_must_be_usable(patient, field, value, message):
    """A missing or malformed email, phone, contact method or postcode is refused."""
    response, posted = send(patient, "about-you", **{field: value})
    assert_rejected(patient, "about-you", response, posted, field, message)


@pytest.mark.parametrize(
    ("typed", "stored"),
    [("07400 123456", "+447400123456"), ("+33 6 12 34 56 78", "+33612345678")],
    ids=["uk-mobile", "french-mobile"],
)
def test_phone_numbers_are_stored_in_international_form(app, patient, typed, stored):
    """UK and international numbers are accepted and stored in E.164."""
    assert accepted(app, patient, "about-you", phone=typed, contact_method="text")["phone"] == stored


def test_a_landline_is_fine_for_phone_calls(app, patient):
    """A UK landline is accepted when the patient wants a call."""
    assert accepted(app, patient, "about-you", phone="020 7946 0018", contact_method="phone")["phone"] == "+442079460018"


def test_a_valid_phone_number_is_shown_as_typed_when_another_answer_is_wrong(patient):
    """A mistake elsewhere on the page does not turn the patient's number into E.164."""
    response, _ = send(patient, "about-you", phone="07400 123456", first_name="")
    page = response.get_data(as_text=True)
    assert 'value="07400 123456"' in page and "+447400123456" not in page


def test_text_messages_need_a_mobile_number(patient):
    """Choosing texts with a landline number is refused at the contact method question."""
    response, posted = send(patient, "about-you", phone="020 7946 0018", contact_method="text")
    message = "To get text messages, enter a mobile number or choose another way to contact you"
    assert_rejected(patient, "about-you", response, posted, "contact_method", message)


@pytest.mark.parametrize(("typed", "stored"), [("n1 9gu", "N1 9GU"), ("sw1a1aa", "SW1A 1AA"), ("", ""), (MISSING, "")])
def test_postcode_is_optional_and_stored_in_capitals(app, patient, typed, stored):
    """A postcode is tidied to capitals with one space; leaving it out is fine."""
    assert accepted(app, patient, "about-you", postcode=typed)["postcode"] == stored


# Where it hurts

WHERE_IT_HURTS = {
    "region": "Select where your main problem is",
    "side": "Select which side it is on",
    "duration": "Select how long you have had it",
    "onset": "Select how it started",
}


@pytest.mark.parametrize("value", [MISSING, "", "elbow_and_knee"], ids=["missing", "empty", "unknown"])
@pytest.mark.parametrize(("field", "message"), WHERE_IT_HURTS.items(), ids=list(WHERE_IT_HURTS))
def test_each_where_it_hurts_question_needs_an_answer_from_the_list(patient, field, message, value):
    """Region, side, duration and onset are each required and limited to the options shown."""
    response, posted = send(patient, "where-it-hurts", **{field: value})
    assert_rejected(patient, "where-it-hurts", response, posted, field, message)


# How it feels

PAIN_MESSAGES = {"pain_now": "Select how bad your pain is right now", "pain_worst": "Select how bad your pain is at its worst"}


@pytest.mark.parametrize("value", [MISSING, "11", "-1", "abc"], ids=["missing", "11", "minus-1", "abc"])
@pytest.mark.parametrize(("field", "message"), PAIN_MESSAGES.items(), ids=list(PAIN_MESSAGES))
def test_pain_scores_must_be_from_0_to_10(patient, field, message, value):
    """Both pain scores are required and only 0 to 10 is accepted."""
    response, posted = send(patient, "how-it-feels", **{field: value})
    assert_rejected(patient, "how-it-feels", response, posted, field, message)


def test_worst_pain_cannot_be_lower_than_pain_now(patient):
    """A worst score below the current score is refused at the worst pain question."""
    response, posted = send(patient, "how-it-feels", pain_now="6", pain_worst="3")
    message = "Your pain at its worst cannot be lower than your pain right now"
    assert_rejected(patient, "how-it-feels", response, posted, "pain_worst", message)


def test_an_unknown_sensation_is_refused_and_not_echoed(patient):
    """A sensation not in the list is refused, and the made-up value never appears in the page."""
    response, posted = send(patient, "how-it-feels", sensations=["stiffness", "tingly-toes"])
    assert_rejected(patient, "how-it-feels", response, posted, "sensations", "Select only from the list")
    assert "tingly-toes" not in response.get_data(as_text=True)


GOALS = "What you would like to get back to"
CONTROL = "must not contain special control characters"
FREE_TEXT_ERRORS = [
    pytest.param("how-it-feels", "description", "x" * 1001, "Your description must be 1000 characters or fewer", id="description-1001"),
    pytest.param("how-it-feels", "goals", "x" * 501, f"{GOALS} must be 500 characters or fewer", id="goals-501"),
    pytest.param("how-it-feels", "description", "Aches\x00", f"Your description {CONTROL}", id="description-null-byte"),
    pytest.param("how-it-feels", "goals", "Run\x1b[2J", f"{GOALS} {CONTROL}", id="goals-escape-sequence"),
    pytest.param("when-and-where", "note", "x" * 501, "Your note must be 500 characters or fewer", id="note-501"),
    pytest.param("when-and-where", "note", "Away\u202eAugust", f"Your note {CONTROL}", id="note-direction-override"),
]


@pytest.mark.parametrize(("slug", "field", "value", "message"), FREE_TEXT_ERRORS)
def test_free_text_has_a_length_limit_and_no_control_characters(patient, slug, field, value, message):
    """Description, goals and note are refused when too long or holding control characters."""
    response, posted = send(patient, slug, **{field: value})
    assert_rejected(patient, slug, response, posted, field, message)


def test_free_text_keeps_its_line_breaks_up_to_the_limit(app, patient):
    """Line breaks (sent as CRLF by browsers) are kept as newlines; text at the limit is accepted."""
    stored = accepted(app, patient, "how-it-feels", description="Line one\r\nLine two", goals="g" * 500)
    assert stored["description"] == "Line one\nLine two"
    assert stored["goals"] == "g" * 500


def test_sensations_are_optional_and_equal_pain_scores_are_fine(app, patient):
    """No sensations ticked stores an empty list; worst pain may equal pain now."""
    stored = accepted(app, patient, "how-it-feels", sensations=MISSING, pain_now="10", pain_worst="10")
    assert stored["sensations"] == []
    assert (stored["pain_now"], stored["pain_worst"]) == ("10", "10")


# Safety questions

SAFETY_QUESTIONS = [(slug, code) for slug in ("nerve-symptoms", "your-problem", "general-health") for code in valid_answers()[slug]]
# A problem each safety question is asked of (somewhere else, after an injury, unless named here).
ASKED_OF = {
    **dict.fromkeys(("neck_artery", "neck_dizzy", "meningitis", "head_injury", "cord_signs"), {"where_it_hurts": {"region": "neck", "onset": "injury"}}),
    "wound": {"where_it_hurts": {"region": "other", "onset": "after_surgery"}},
    "calf_breathless": {"where_it_hurts": {"region": "knee"}, "your_problem": {"calf_clot": "yes"}},
}


@pytest.mark.parametrize("value", [MISSING, "maybe"], ids=["missing", "maybe"])
@pytest.mark.parametrize(("slug", "code"), SAFETY_QUESTIONS)
def test_every_safety_question_needs_a_yes_or_no(patient, slug, code, value):
    """Each red-flag question must be answered yes or no; the message names the question, so
    links in the error summary can be told apart."""
    question = QUESTIONS_BY_CODE[code].question
    before = ASKED_OF.get(code, {"where_it_hurts": {"region": "other", "onset": "injury"}})
    response, posted = send(patient, slug, before, **{code: value})
    on_page = {name: answer for name, answer in posted.items() if f'name="{name}"' in response.get_data(as_text=True)}
    assert code in on_page or value is MISSING
    assert_rejected(patient, slug, response, on_page, code, f"Select yes or no: {question}")


# When and where

WHEN_AND_WHERE_ERRORS = [
    pytest.param("site", MISSING, "Select which clinic you would like to go to", id="site-missing"),
    pytest.param("site", "atlantis", "Select which clinic you would like to go to", id="site-unknown"),
    pytest.param("days", MISSING, "Select at least one day you could come", id="days-missing"),
    pytest.param("days", ["mon", "funday"], "Select days from the list", id="days-unknown"),
    pytest.param("times", MISSING, "Select at least one time of day you could come", id="times-missing"),
    pytest.param("times", ["midnight"], "Select times from the list", id="times-unknown"),
]


@pytest.mark.parametrize(("field", "value", "message"), WHEN_AND_WHERE_ERRORS)
def test_site_days_and_times_must_be_chosen_from_the_list(patient, field, value, message):
    """A site, at least one day and at least one time are required, all from the options shown."""
    response, posted = send(patient, "when-and-where", **{"note": "Away in August", field: value})
    assert_rejected(patient, "when-and-where", response, posted, field, message)


EARLIEST_DATE_ERRORS = [
    pytest.param(lambda: day_month_year(days_from_today(-1)), "Earliest date must be today or in the future", "day", id="yesterday"),
    pytest.param(lambda: day_month_year(days_from_today(367)), "Earliest date must be within the next year", "day", id="367-days-ahead"),
    pytest.param(lambda: ("5", "", str(today_in_london().year + 1)), "Earliest date must include a month", "month", id="no-month"),
    pytest.param(("5", "1", "27"), "Year must include 4 numbers", "year", id="2-digit-year"),
]


@pytest.mark.parametrize(("earliest", "message", "wrong_box"), EARLIEST_DATE_ERRORS)
def test_earliest_date_must_be_a_real_date_within_the_next_year(patient, earliest, message, wrong_box):
    """A past, far-off or incomplete earliest date is refused, linking to the first wrong box."""
    response, posted = send(patient, "when-and-where", **date_parts("earliest_date", at_test_time(earliest)))
    assert_rejected(patient, "when-and-where", response, posted, "earliest_date", message, f"earliest_date-{wrong_box}")


@pytest.mark.parametrize(
    ("boxes", "stored"),
    [({}, None), (lambda: date_parts("earliest_date", day_month_year(days_from_today(1))), lambda: days_from_today(1).isoformat())],
    ids=["left-empty", "tomorrow"],
)
def test_earliest_date_is_optional_and_tomorrow_is_accepted(app, patient, boxes, stored):
    """No earliest date stores nothing; tomorrow is stored as an ISO date."""
    assert accepted(app, patient, "when-and-where", **at_test_time(boxes))["earliest_date"] == at_test_time(stored)


# Check your answers

def test_a_request_is_not_sent_without_consent(app, patient):
    """Without the consent tick the check page comes back with the error and the marketing tick kept; nothing is stored."""
    patient.answer_all()
    response = patient.submit(consent=False, marketing=True)
    page = response.get_data(as_text=True)
    message = "You must agree to us using your health information before you can send your request"
    assert response.status_code == 200
    assert "<title>Error: " in page
    assert "There is a problem" in page
    assert f'<li><a href="#consent">{escape(message)}</a></li>' in page
    assert f'id="consent-error"><span class="visually-hidden">Error:</span> {escape(message)}</p>' in page
    assert shown_answers(response).get("marketing") == ["y"]
    with app.app_context():
        assert db.session.execute(db.select(AssessmentRequest)).first() is None


# No bad input breaks a page

@pytest.mark.parametrize("slug", PAGES)
def test_nonsense_in_every_field_is_refused_without_a_server_error(patient, slug):
    """Junk, repeated and oversized values in every field at once give the page again with errors."""
    response, _ = send(patient, slug, **{name: ["\x00<b>&'\"", "9" * 5000] for name in valid_answers()[slug]})
    assert response.status_code == 200
    assert "There is a problem" in response.get_data(as_text=True)
