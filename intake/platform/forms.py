"""Form fields and validators shared by every form, with GOV.UK-style error messages."""

from __future__ import annotations

import re
import unicodedata
from datetime import date

from wtforms import Field, RadioField, SelectMultipleField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import Length, StopValidation, ValidationError

NAME_SEPARATORS = frozenset(" '’.-")
DATE_PART_PATTERN = re.compile(r"^\d{1,4}$")


def strip_text(value: str | None) -> str | None:
    """Trim surrounding white space and normalise line endings and Unicode form."""
    if value is None:
        return None
    return unicodedata.normalize("NFC", value.replace("\r\n", "\n").replace("\r", "\n")).strip()


def has_control_characters(value: str, allow_newlines: bool = False) -> bool:
    """Return True if the text holds control or invisible format characters."""
    allowed = {"\n", "\t"} if allow_newlines else set()
    return any(unicodedata.category(char) in {"Cc", "Cf", "Cs", "Co"} and char not in allowed for char in value)


class RequiredChoice:
    """Require a value, with one message for 'nothing chosen' (GOV.UK: 'Select ...')."""

    def __init__(self, message: str) -> None:
        self.message = message

    def __call__(self, form, field) -> None:
        if not field.raw_data or not any(str(value).strip() for value in field.raw_data):
            field.errors[:] = []
            raise StopValidation(self.message)


class RequiredText:
    """Require some text after trimming."""

    def __init__(self, message: str) -> None:
        self.message = message

    def __call__(self, form, field) -> None:
        if not field.data:
            field.errors[:] = []
            raise StopValidation(self.message)


class PlainText:
    """Refuse control characters; free text may keep its line breaks."""

    def __init__(self, label: str, multiline: bool = False) -> None:
        self.label = label
        self.multiline = multiline

    def __call__(self, form, field) -> None:
        if field.data and has_control_characters(field.data, allow_newlines=self.multiline):
            raise StopValidation(f"{self.label} must not contain special control characters")


def is_person_name(value: str) -> bool:
    """Letters from any alphabet (with their accents and vowel signs), and the spaces,
    hyphens, apostrophes and full stops real names use; it must start with a letter."""
    if not value or not unicodedata.category(value[0]).startswith("L"):
        return False
    return all(unicodedata.category(char)[0] in "LM" or char in NAME_SEPARATORS for char in value)


class PersonName:
    """Accept names written in letters, with spaces, hyphens and apostrophes."""

    def __init__(self, label: str) -> None:
        self.label = label

    def __call__(self, form, field) -> None:
        if field.data and not is_person_name(field.data):
            raise StopValidation(
                f"{self.label} must only include letters, spaces, hyphens and apostrophes"
            )


def max_length(label: str, limit: int) -> Length:
    """Limit text length with a message that says the limit."""
    return Length(max=limit, message=f"{label} must be {limit} characters or fewer")


def select_choices(pairs) -> list[SelectChoice]:
    """Turn (value, words) pairs into WTForms choices."""
    return [SelectChoice(value, words) for value, words in pairs]


def choice_words(field) -> dict[str, str]:
    """Map each choice's value to the words shown for it."""
    return {choice.value: choice.label for choice in field.choices}


class ChoiceField(RadioField):
    """A set of radio buttons whose only error is the field's own 'Select ...' message."""

    def __init__(self, label=None, validators=None, message: str = "Select an option", choices=(), **kwargs) -> None:
        super().__init__(label, validators=[RequiredChoice(message), *(validators or [])], choices=select_choices(choices), **kwargs)
        self.invalid_choice_message = message

    def pre_validate(self, form) -> None:
        if self.raw_data and any(str(value).strip() for value in self.raw_data):
            super().pre_validate(form)


class CheckboxesField(SelectMultipleField):
    """A group of checkboxes; unknown values get a plain message, never the raw value."""

    def __init__(self, label=None, validators=None, message: str = "Select from the list", choices=(), **kwargs) -> None:
        super().__init__(label, validators=validators, choices=select_choices(choices), **kwargs)
        self.invalid_message = message

    def process_formdata(self, valuelist) -> None:
        self.data = list(dict.fromkeys(str(value) for value in valuelist))

    def pre_validate(self, form) -> None:
        known = set(choice_words(self))
        if any(value not in known for value in self.data or []):
            raise ValidationError(self.invalid_message)


class DateInputField(Field):
    """A date typed as three number boxes (day, month, year), as the GOV.UK pattern asks.

    The boxes are posted as `<name>-day`, `<name>-month` and `<name>-year`; `parts`
    keeps what was typed so a mistake is shown back to the patient unchanged.
    """

    PART_NAMES = ("day", "month", "year")

    def __init__(
        self, label=None, validators=None, noun: str = "Date", empty_message: str = "", **kwargs
    ) -> None:
        super().__init__(label, validators, **kwargs)
        self.noun = noun
        self.empty_message = empty_message
        self.parts: dict[str, str] = {part: "" for part in self.PART_NAMES}
        self.part_errors: set[str] = set()

    def process(self, formdata, data=None, extra_filters=None) -> None:
        self.process_errors = []
        self.raw_data = []
        self.data = data if isinstance(data, date) else None
        if self.data:
            self.parts = {"day": str(self.data.day), "month": str(self.data.month), "year": str(self.data.year)}
        if formdata is None:
            return
        self.parts = {part: (formdata.get(f"{self.name}-{part}") or "").strip()[:10] for part in self.PART_NAMES}
        self.raw_data = [value for value in self.parts.values() if value]
        self.data = None

    def pre_validate(self, form) -> None:
        self.part_errors = set()
        if not any(self.parts.values()):
            if self.empty_message:
                self.part_errors = set(self.PART_NAMES)
                raise StopValidation(self.empty_message)
            return
        missing = [part for part in self.PART_NAMES if not self.parts[part]]
        if missing:
            self.part_errors = set(missing)
            raise StopValidation(f"{self.noun} must include a {' and '.join(missing)}")
        not_numbers = [part for part in self.PART_NAMES if not DATE_PART_PATTERN.match(self.parts[part])]
        if not_numbers:
            self.part_errors = set(not_numbers)
            raise StopValidation(f"{self.noun} must be a real date, written in numbers")
        try:
            year = int(self.parts["year"])
            if year < 1000:
                self.part_errors = {"year"}
                raise StopValidation("Year must include 4 numbers")
            self.data = date(year, int(self.parts["month"]), int(self.parts["day"]))
        except ValueError as error:
            self.part_errors = set(self.PART_NAMES)
            raise StopValidation(f"{self.noun} must be a real date") from error

    def first_input_id(self) -> str:
        """The id of the box an error summary link should focus."""
        for part in self.PART_NAMES:
            if part in self.part_errors:
                return f"{self.id}-{part}"
        return f"{self.id}-day"
