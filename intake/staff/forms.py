"""Back-office forms: sign in, status changes, booking and notes."""

from __future__ import annotations

import re
from datetime import datetime, time

from flask_wtf import FlaskForm
from wtforms import PasswordField, SelectField, StringField, TextAreaField
from wtforms.validators import StopValidation

from intake.journey.models import REQUEST_STATUSES
from intake.platform.forms import DateInputField, PlainText, RequiredChoice, RequiredText, max_length, select_choices, strip_text

TIME_PATTERN = re.compile(r"^([01]?\d|2[0-3])[:.]([0-5]\d)$")
# ASCII digits, and few enough to fit the database's integer (str.isdigit() also passes "²" and huge numbers).
ACCOUNT_NUMBER = re.compile(r"[0-9]{1,9}")


class LoginForm(FlaskForm):
    """Email and password."""

    email = StringField(
        "Email address",
        filters=[strip_text],
        # PlainText keeps a NUL out of the account lookup (PostgreSQL refuses to compare text holding one).
        validators=[RequiredText("Enter your email address"), max_length("Email address", 254), PlainText("Email address")],
    )
    password = PasswordField("Password", validators=[RequiredText("Enter your password"), max_length("Password", 200)])


class StatusForm(FlaskForm):
    """Move a request to another status. Any known status is accepted here; whether the
    move is allowed is the service's rule, which explains a refusal in words."""

    status = SelectField(
        "New status",
        choices=select_choices((status, status) for status in REQUEST_STATUSES),
        validators=[RequiredChoice("Choose the new status")],
    )


class NoteForm(FlaskForm):
    """A note for the request's record."""

    body = TextAreaField(
        "Add a note",
        filters=[strip_text],
        validators=[RequiredText("Write a note before adding it"), max_length("A note", 2000), PlainText("A note", multiline=True)],
    )


class BookingForm(FlaskForm):
    """When, with whom and where the assessment will be."""

    day = DateInputField("Date", noun="Date", empty_message="Enter the date of the appointment")
    start_time = StringField("Time (24-hour, UK time)", filters=[strip_text], validators=[RequiredText("Enter the time, like 14:30"), max_length("Time", 5)])
    # Not limited to the listed choices: a clinician disabled after the page loaded gets the
    # service's clear message rather than a generic one.
    clinician = SelectField("Clinician", choices=(), validate_choice=False, validators=[RequiredChoice("Choose a clinician")])
    site = SelectField("Site", choices=(), validators=[RequiredChoice("Choose a site")])

    def __init__(self, *args, clinicians=(), sites=(), **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.clinician.choices = select_choices((str(person.id), person.name) for person in clinicians)
        self.site.choices = select_choices((site.code, site.name) for site in sites)

    def validate_clinician(self, field: SelectField) -> None:
        """A clinician is chosen by their account number."""
        if not ACCOUNT_NUMBER.fullmatch(str(field.data or "")):
            raise StopValidation("Choose a clinician")

    def validate_start_time(self, field: StringField) -> None:
        """Accept 9:30, 09:30 or 14.30."""
        if not TIME_PATTERN.match(field.data or ""):
            raise StopValidation("Enter the time as hours and minutes, like 14:30")

    def local_start(self) -> datetime:
        """The appointment start as typed, in clinic (Europe/London) time, without a zone yet."""
        hours, minutes = TIME_PATTERN.match(self.start_time.data).groups()
        return datetime.combine(self.day.data, time(int(hours), int(minutes)))
