"""The question pages of the patient journey, one form per page, validated on the server."""

from __future__ import annotations

import re
from datetime import date, timedelta
from typing import Any

import phonenumbers
from email_validator import EmailNotValidError, validate_email
from flask_wtf import FlaskForm
from wtforms import BooleanField, Form, HiddenField, StringField, TextAreaField
from wtforms.validators import StopValidation

from intake.clinic import vocabulary
from intake.clinic.back_screen import AGREEMENT, BOTHER_LEVELS, BOTHERSOME, STATEMENTS, BackScreenWording
from intake.platform.forms import (
    CheckboxesField,
    ChoiceField,
    DateInputField,
    PersonName,
    PlainText,
    RequiredChoice,
    RequiredText,
    max_length,
    select_choices,
    strip_text,
)
from intake.platform.timeutil import age_on, today_in_london
from intake.triage import CAUDA_EQUINA_QUESTIONS, QUESTIONS, Page, RedFlagQuestion
from intake.triage.free_text import FreeTextMatch
from intake.triage.free_text_patterns import CATEGORIES

MINIMUM_AGE = 16
OLDEST_PLAUSIBLE_AGE = 120
# A number whose range the library's tables do not list yet (UNKNOWN) may well be a new mobile range.
MAYBE_MOBILE_TYPES = {
    phonenumbers.PhoneNumberType.MOBILE, phonenumbers.PhoneNumberType.FIXED_LINE_OR_MOBILE, phonenumbers.PhoneNumberType.UNKNOWN,
}
# What people type in a phone number: digits, spaces, a leading +, brackets, dashes and dots.
PHONE_CHARACTERS = re.compile(r"\+?[0-9 ().\-]+", re.ASCII)
# Every UK number a patient can be called on has 10 digits after the 0, or 9 for a few old area codes.
UK_NATIONAL_LENGTHS = {9, 10}
PHONE_FORMAT = "Enter a phone number, like 07400 123456 or +44 7400 123456"
UK_POSTCODE = re.compile(r"^([A-Z]{1,2}\d[A-Z\d]?)\s*(\d[A-Z]{2})$", re.ASCII)  # else \d also takes Arabic or fullwidth digits
YES_NO = (("yes", "Yes"), ("no", "No"))


def possible_phone_number(typed: str) -> phonenumbers.PhoneNumber | None:
    """The number typed (UK unless it starts with +), if it could be a phone number; else None.

    Possible, not valid: its length fits the country's numbering plan, but its range need not be
    in the library's tables, so a patient with a newly issued number is not turned away.
    """
    if not PHONE_CHARACTERS.fullmatch(typed):
        return None
    try:
        number = phonenumbers.parse(typed, "GB")
    except phonenumbers.NumberParseException:
        return None
    if phonenumbers.is_possible_number_with_reason(number) != phonenumbers.ValidationResult.IS_POSSIBLE:
        return None
    if number.country_code == 44 and len(phonenumbers.national_significant_number(number)) not in UK_NATIONAL_LENGTHS:
        return None
    return number


def check_email_address(field: StringField) -> None:
    """Check the address in a field is well formed and keep its normalised form."""
    try:
        field.data = validate_email(field.data, check_deliverability=False).normalized
    except EmailNotValidError as error:
        raise StopValidation("Enter an email address in the correct format, like name@example.com") from error


def format_phone_for_display(e164: str) -> str:
    """Show a stored E.164 number the way a patient would write it."""
    number = phonenumbers.parse(e164, None)
    style = phonenumbers.PhoneNumberFormat.NATIONAL if number.country_code == 44 else phonenumbers.PhoneNumberFormat.INTERNATIONAL
    return phonenumbers.format_number(number, style)


class StepForm(FlaskForm):
    """A question page whose answers are saved to the draft as plain JSON values."""

    def answers(self) -> dict[str, Any]:
        """Return this page's validated answers in a form that can be stored as JSON."""
        stored: dict[str, Any] = {}
        for field in self:
            if field.name == "csrf_token":
                continue
            stored[field.name] = field.data.isoformat() if isinstance(field.data, date) else field.data
        return stored

    @classmethod
    def data_from_answers(cls, answers: dict[str, Any]) -> dict[str, Any]:
        """Turn stored answers back into field values to show on the page."""
        data = dict(answers)
        for name in cls.date_fields().intersection(answers):
            data[name] = date.fromisoformat(answers[name]) if answers[name] else None
        return data

    @classmethod
    def date_fields(cls) -> set[str]:
        """Names of the fields that hold dates."""
        return {name for name in dir(cls) if getattr(getattr(cls, name), "field_class", None) is DateInputField}


class AboutYouForm(StepForm):
    """Who the patient is and how to reach them."""

    first_name = StringField(
        "First name",
        filters=[strip_text],
        validators=[RequiredText("Enter your first name"), max_length("First name", 100), PlainText("First name"), PersonName("First name")],
    )
    last_name = StringField(
        "Last name",
        filters=[strip_text],
        validators=[RequiredText("Enter your last name"), max_length("Last name", 100), PlainText("Last name"), PersonName("Last name")],
    )
    date_of_birth = DateInputField("Date of birth", noun="Date of birth", empty_message="Enter your date of birth")
    email = StringField(
        "Email address",
        filters=[strip_text],
        validators=[RequiredText("Enter your email address"), max_length("Email address", 254), PlainText("Email address")],
    )
    phone = StringField(
        "Mobile phone number",
        filters=[strip_text],
        validators=[RequiredText("Enter your phone number"), max_length("Phone number", 30), PlainText("Phone number")],
    )
    contact_method = ChoiceField(
        "How would you like us to contact you?",
        choices=vocabulary.CONTACT_METHODS,
        message="Select how you would like us to contact you",
    )
    postcode = StringField(
        "Postcode (optional)",
        filters=[strip_text],
        validators=[max_length("Postcode", 10), PlainText("Postcode")],
    )

    @classmethod
    def data_from_answers(cls, answers: dict[str, Any]) -> dict[str, Any]:
        """Show the stored E.164 phone number the way the patient would write it."""
        data = super().data_from_answers(answers)
        if data.get("phone"):
            data["phone"] = format_phone_for_display(data["phone"])
        return data

    def __init__(self, *args, clinic_phone: str = "", **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.clinic_phone = clinic_phone

    def validate_date_of_birth(self, field: DateInputField) -> None:
        """Accept only a real past date for someone aged 16 or over."""
        today = today_in_london()
        if field.data >= today:
            field.part_errors = set(DateInputField.PART_NAMES)
            raise StopValidation("Date of birth must be in the past")
        age = age_on(field.data, today)
        if age > OLDEST_PLAUSIBLE_AGE:
            field.part_errors = {"year"}
            raise StopValidation(f"Date of birth must be after {today.year - OLDEST_PLAUSIBLE_AGE}")
        if age < MINIMUM_AGE:
            field.part_errors = set(DateInputField.PART_NAMES)
            raise StopValidation(
                "We can only take online requests from people aged 16 or over. "
                f"To book for a child or young person, please call us on {self.clinic_phone}"
            )

    def validate_email(self, field: StringField) -> None:
        check_email_address(field)

    def validate_phone(self, field: StringField) -> None:
        """Check it could be a phone number (UK by default, or international with +); keep it in E.164."""
        number = possible_phone_number(field.data)
        if number is None:
            raise StopValidation(PHONE_FORMAT)
        self.phone_is_mobile = phonenumbers.number_type(number) in MAYBE_MOBILE_TYPES
        self.phone_e164 = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)

    def answers(self) -> dict[str, Any]:
        """Store the phone number in E.164, whatever way the patient typed it."""
        return {**super().answers(), "phone": self.phone_e164}

    def validate_contact_method(self, field: ChoiceField) -> None:
        """Text messages need a mobile number."""
        if field.data == "text" and not self.phone.errors and self.phone.data and not getattr(self, "phone_is_mobile", True):
            raise StopValidation("To get text messages, enter a mobile number or choose another way to contact you")

    def validate_postcode(self, field: StringField) -> None:
        """Accept an empty postcode or a UK postcode, stored in capitals with one space."""
        if not field.data:
            field.data = ""
            return
        match = UK_POSTCODE.match(field.data.upper())
        if not match:
            raise StopValidation("Enter a real postcode, like SW1A 1AA, or leave this empty")
        field.data = f"{match.group(1)} {match.group(2)}"


class WhereItHurtsForm(StepForm):
    """Where the problem is and how it began."""

    region = ChoiceField("Where is your main problem?", choices=vocabulary.BODY_REGIONS, message="Select where your main problem is")
    side = ChoiceField("Which side is it on?", choices=vocabulary.SIDES, message="Select which side it is on")
    duration = ChoiceField("How long have you had it?", choices=vocabulary.DURATIONS, message="Select how long you have had it")
    onset = ChoiceField("How did it start?", choices=vocabulary.ONSETS, message="Select how it started")


class HowItFeelsForm(StepForm):
    """Pain scores, what the patient feels, and their own words."""

    pain_now = ChoiceField("How bad is your pain right now?", choices=vocabulary.PAIN_SCALE, message="Select how bad your pain is right now")
    pain_worst = ChoiceField("How bad is your pain at its worst?", choices=vocabulary.PAIN_SCALE, message="Select how bad your pain is at its worst")
    sensations = CheckboxesField(
        "Do you have any of these?",
        choices=vocabulary.SENSATIONS,
        message="Select only from the list",
    )
    description = TextAreaField(
        "Tell us about your problem (optional)",
        filters=[strip_text],
        validators=[max_length("Your description", 1000), PlainText("Your description", multiline=True)],
    )
    goals = TextAreaField(
        "What would you like to get back to doing? (optional)",
        filters=[strip_text],
        validators=[max_length("What you would like to get back to", 500), PlainText("What you would like to get back to", multiline=True)],
    )

    def validate_pain_worst(self, field: ChoiceField) -> None:
        """Worst pain cannot be less than pain now."""
        if field.errors or self.pain_now.errors or self.pain_now.data is None:
            return
        if int(field.data) < int(self.pain_now.data):
            raise StopValidation("Your pain at its worst cannot be lower than your pain right now")


def _safety_form(name: str, questions: tuple[RedFlagQuestion, ...], base: type[StepForm] = StepForm) -> type[StepForm]:
    """Build a page of yes/no safety questions, one radio group per question."""
    fields = {
        question.code: ChoiceField(
            question.question,
            choices=YES_NO,
            message=f"Select yes or no: {question.question}",
            description=question.hint,
        )
        for question in questions
    }
    return type(name, (base,), fields)


class AskedQuestionsForm(StepForm):
    """A page of safety questions that keeps only those that fit the patient's problem (`asked`, by
    code: intake.triage.questions_for), in its questions' order."""

    def __init__(self, *args, asked: tuple[str, ...] = (), **kwargs) -> None:
        super().__init__(*args, **kwargs)
        for field in list(self):
            if field.name != "csrf_token" and field.name not in asked:
                del self[field.name]


NerveSymptomsForm = _safety_form("NerveSymptomsForm", CAUDA_EQUINA_QUESTIONS)
YourProblemForm = _safety_form("YourProblemForm", tuple(question for question in QUESTIONS if question.page is Page.PROBLEM), AskedQuestionsForm)
GeneralHealthForm = _safety_form("GeneralHealthForm", tuple(question for question in QUESTIONS if question.page is Page.GENERAL), AskedQuestionsForm)


class _BackPainQuestions(StepForm):
    """The back-pain screen's nine radio groups, by their fixed codes (BackPainForm words them)."""


for _code in STATEMENTS:
    setattr(_BackPainQuestions, _code, ChoiceField(choices=tuple((answer, answer) for answer in AGREEMENT)))
setattr(_BackPainQuestions, BOTHERSOME, ChoiceField(choices=tuple((level, level) for level in BOTHER_LEVELS)))


class BackPainForm(_BackPainQuestions):
    """The back-pain screen (intake.clinic.back_screen), in the words of the clinic's wording file:
    the same codes are stored and scored whatever the words."""

    def __init__(self, *args, wording: BackScreenWording, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.wording = wording
        words = wording.answer_words
        for code, question in wording.questions:
            field = self[code]
            field.label.text = question
            field.choices = select_choices((choice.value, words[choice.value]) for choice in field.choices)
            how = "how much" if code == BOTHERSOME else "agree or disagree"
            message = f"Select {how}: {question}"
            field.invalid_choice_message = message
            for validator in field.validators:
                if isinstance(validator, RequiredChoice):
                    validator.message = message


class _YourWordsQuestions(StepForm):
    """A yes/no question for each kind of red flag a patient's words can show (the page keeps
    only those their words show now: YourWordsForm)."""


for _category in CATEGORIES:
    setattr(_YourWordsQuestions, _category.code, ChoiceField(
        _category.question, choices=YES_NO, message=f"Select yes or no: {_category.question}", description=_category.hint,
    ))


class YourWordsForm(_YourWordsQuestions):
    """Asks directly about what the patient wrote, one question for each red flag their words
    may show, quoting the words back (`quotes`, by question code)."""

    def __init__(self, *args, matches: list[tuple[str, FreeTextMatch]] = (), **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.quotes = {match.category: match.quote for _, match in matches}
        for category in CATEGORIES:
            if category.code not in self.quotes:
                del self[category.code]


class WhenWhereForm(StepForm):
    """Which site and times suit the patient."""

    site = ChoiceField("Which clinic would you like to go to?", choices=(), message="Select which clinic you would like to go to")
    days = CheckboxesField(
        "Which days could you come?",
        choices=vocabulary.WEEKDAYS,
        validators=[RequiredChoice("Select at least one day you could come")],
        message="Select days from the list",
    )
    times = CheckboxesField(
        "What times of day could you come?",
        choices=vocabulary.TIMES_OF_DAY,
        validators=[RequiredChoice("Select at least one time of day you could come")],
        message="Select times from the list",
    )
    earliest_date = DateInputField("Earliest date you could come (optional)", noun="Earliest date")
    note = TextAreaField(
        "Anything else about when you can come? (optional)",
        filters=[strip_text],
        validators=[max_length("Your note", 500), PlainText("Your note", multiline=True)],
    )

    def __init__(self, *args, sites=(), **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.site.choices = select_choices((site.code, site.name) for site in sites)

    def validate_earliest_date(self, field: DateInputField) -> None:
        """An earliest date must be today or later, and within a year."""
        if field.data is None:
            return
        today = today_in_london()
        if field.data < today:
            field.part_errors = set(DateInputField.PART_NAMES)
            raise StopValidation("Earliest date must be today or in the future")
        if field.data > today + timedelta(days=366):
            field.part_errors = set(DateInputField.PART_NAMES)
            raise StopValidation("Earliest date must be within the next year")


class CheckAnswersForm(FlaskForm):
    """Consent to use health information, and a separate optional marketing opt-in."""

    consent = BooleanField("I agree to the clinic storing and using my health information to assess me")
    marketing = BooleanField("Send me occasional news and offers from the clinic (optional)")
    # Which version of the answers the page showed; only ever compared with the draft's own.
    answers_seen = HiddenField()

    def validate_consent(self, field: BooleanField) -> None:
        """The request cannot be sent without consent to use health information."""
        if not field.data:
            raise StopValidation("You must agree to us using your health information before you can send your request")


class ChooseTimeForm(Form):
    """The time picked on the times page. Sent by GET with no token: choosing changes nothing,
    the confirm page that follows does."""

    slot = StringField("Choose a time")


class ConfirmTimeForm(FlaskForm):
    """Book the time shown on the confirm page, for the answers as that page read them."""

    slot = HiddenField()
    answers_seen = HiddenField()


class PhoneMeForm(FlaskForm):
    """Send the request without choosing a time: reception will contact the patient as before."""

    answers_seen = HiddenField()
