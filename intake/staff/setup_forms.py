"""Clinic set-up forms: practitioners, weekly hours, exceptions and booking rules.

Field rules only (typed numbers and times, lengths, listed choices); what the diary can take
(overlaps, sites, clock changes) is intake.appointments.setup's to say.
"""

from __future__ import annotations

import re
from datetime import time

from flask_wtf import FlaskForm
from wtforms import HiddenField, SelectField, StringField
from wtforms.validators import StopValidation, ValidationError

from intake.appointments.models import BANK_HOLIDAY_REGIONS
from intake.appointments.setup import RULE_LIMITS, WEEKDAYS
from intake.platform.forms import (
    CheckboxesField, ChoiceField, DateInputField, PlainText, RequiredChoice, RequiredText, max_length, select_choices, strip_text,
)

CLOCK_TIME = re.compile(r"([01]?[0-9]|2[0-3]):([0-5][0-9])", re.ASCII)
WHOLE_NUMBER = re.compile(r"[0-9]{1,4}", re.ASCII)
ROW_ID = re.compile(r"[0-9]{1,9}", re.ASCII)
YES_NO = (("yes", "Yes"), ("no", "No"))
REGION_WORDS = {"england": "England and Wales", "scotland": "Scotland", "northern-ireland": "Northern Ireland",
                "none": "None: the clinic opens on bank holidays"}


class ClockTimeField(StringField):
    """A time typed as hours and minutes on the 24-hour clock (09:00, 9:00, 17:30); `time` holds it."""

    def __init__(self, label=None, *, noun: str, optional: bool = False, **kwargs) -> None:
        super().__init__(label, filters=[strip_text], **kwargs)
        self.noun, self.optional, self.time = noun, optional, None

    def pre_validate(self, form) -> None:
        self.time = None
        if not self.data:
            if self.optional:
                return
            raise StopValidation(f"Enter the {self.noun.lower()}, like 09:00 or 17:30")
        match = CLOCK_TIME.fullmatch(self.data)
        if match is None:
            raise StopValidation(f"{self.noun} must be a real time on the 24-hour clock, like 09:00 or 17:30")
        self.time = time(int(match[1]), int(match[2]))


class WholeNumberField(StringField):
    """A whole number typed in ASCII digits within limits; `number` holds it."""

    def __init__(self, label=None, *, noun: str, low: int, high: int, unit: str, **kwargs) -> None:
        super().__init__(label, filters=[strip_text], **kwargs)
        self.noun, self.low, self.high, self.unit, self.number = noun, low, high, unit, None

    def pre_validate(self, form) -> None:
        self.number = None
        if not self.data:
            raise StopValidation(f"Enter the {self.noun.lower()}")
        if not WHOLE_NUMBER.fullmatch(self.data) or not self.low <= int(self.data) <= self.high:
            raise StopValidation(f"{self.noun} must be a whole number from {self.low} to {self.high} {self.unit}")
        self.number = int(self.data)


class ListedChoice(SelectField):
    """A drop-down whose values are ids or codes; anything not listed gets one plain message."""

    def __init__(self, label=None, *, message: str, required: bool = True, **kwargs) -> None:
        validators = [RequiredChoice(message)] if required else []
        super().__init__(label, choices=(), validators=validators, **kwargs)
        self.message = message

    def pre_validate(self, form) -> None:
        if (self.data or "") not in {choice.value for choice in self.choices}:
            raise ValidationError(self.message)

    def value_or_none(self) -> str | None:
        return self.data or None

    def id_or_none(self) -> int | None:
        return int(self.data) if self.data else None


def _note_field() -> StringField:
    return StringField("Note (optional)", filters=[strip_text], validators=[max_length("The note", 200), PlainText("The note")])


class PractitionerForm(FlaskForm):
    """A practitioner's name, sites, whether they take appointments and their staff sign-in."""

    name = StringField("Name", filters=[strip_text], validators=[RequiredText("Enter their name"), max_length("Their name", 100), PlainText("Their name")])
    sites = CheckboxesField("Sites they work at", message="Select sites from the list")
    active = ChoiceField("Are they taking new appointments?", choices=YES_NO, message="Select whether they are taking new appointments")
    staff_account = ListedChoice("Their staff sign-in (optional)", message="Select a clinician account from the list", required=False)

    def __init__(self, *args, sites=(), accounts=(), **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.sites.choices = select_choices(sites)
        self.staff_account.choices = select_choices([("", "None"), *accounts])

    def validate_sites(self, field) -> None:
        if not field.data:
            raise StopValidation("Select at least one site they work at")


class HoursForm(FlaskForm):
    """One weekly session: a weekday, a site, a start and an end."""

    weekday = ChoiceField("Day", choices=[(str(number), words) for number, words in enumerate(WEEKDAYS)], message="Select the day")
    site = ChoiceField("Site", message="Select the site")
    starts = ClockTimeField("Start time", noun="Start time")
    ends = ClockTimeField("End time", noun="End time")

    def __init__(self, *args, sites=(), **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.site.choices = select_choices(sites)


class RemoveForm(FlaskForm):
    """The id of a row to remove (a weekly session, an exception), from its own button."""

    remove = HiddenField()

    def row_id(self) -> int | None:
        """The id, or None for anything that is not a plain number an id could be."""
        typed = (self.remove.data or "").strip()
        return int(typed) if ROW_ID.fullmatch(typed) else None


class AwayForm(FlaskForm):
    """Someone (or everyone) away at a site (or every site), from a date and time to another."""

    practitioner = ListedChoice("Who is away", message="Select who is away from the list", required=False)
    site = ListedChoice("Where", message="Select a site from the list", required=False)
    starts_on = DateInputField("From", noun="The first day", empty_message="Enter the first day")
    starts_at = ClockTimeField("From time (optional)", noun="From time", optional=True)
    ends_on = DateInputField("Until", noun="The last day", empty_message="Enter the last day")
    ends_at = ClockTimeField("Until time (optional)", noun="Until time", optional=True)
    note = _note_field()

    def __init__(self, *args, people=(), sites=(), **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.practitioner.choices = select_choices([("", "Everyone"), *people])
        self.site.choices = select_choices([("", "Every site"), *sites])


class ExtraForm(FlaskForm):
    """A one-off session: a practitioner at a site on a date, from a time to another."""

    practitioner = ListedChoice("Practitioner", message="Select a practitioner from the list")
    site = ChoiceField("Site", message="Select the site")
    day = DateInputField("Date", noun="The date", empty_message="Enter the date")
    starts = ClockTimeField("Start time", noun="Start time")
    ends = ClockTimeField("End time", noun="End time")
    note = _note_field()

    def __init__(self, *args, people=(), sites=(), **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.practitioner.choices = select_choices([("", "Choose a practitioner"), *people])
        self.site.choices = select_choices(sites)


def _rule_field(label: str, field: str, noun: str) -> WholeNumberField:
    low, high, unit = RULE_LIMITS[field]
    return WholeNumberField(label, noun=noun, low=low, high=high, unit=unit)


class RulesForm(FlaskForm):
    """The booking rules and the initial assessment's length and buffer."""

    notice_working_days = _rule_field("Minimum notice, in working days", "notice_working_days", "Minimum notice")
    horizon_days = _rule_field("How far ahead patients can book, in days", "horizon_days", "How far ahead")
    step_minutes = _rule_field("Time between start times offered, in minutes", "step_minutes", "Time between start times")
    bank_holidays = ChoiceField("Bank holidays the clinic closes for", choices=[(code, REGION_WORDS[code]) for code in BANK_HOLIDAY_REGIONS],
                                message="Select which bank holidays the clinic closes for")
    patients_choose_times = ChoiceField("Can patients choose their own appointment time?", choices=YES_NO,
                                        message="Select whether patients can choose their own time")
    minutes = _rule_field("Length of the initial assessment, in minutes", "minutes", "Length")
    buffer_minutes = _rule_field("Time kept free after it, in minutes", "buffer_minutes", "Time kept free")
