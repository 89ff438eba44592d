"""Back-office forms: sign in, status changes, booking and notes."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import PasswordField, SelectField, StringField, TextAreaField
from wtforms.validators import StopValidation

from intake.journey.models import REQUEST_STATUSES
from intake.platform.forms import PlainText, RequiredChoice, RequiredText, max_length, select_choices, strip_text

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
    """A free time from the diary: the value names the practitioner, the site and the time.
    Any value is accepted here; whether it is still free is the booking rules' question."""

    slot = SelectField("Free time", choices=(), validate_choice=False, validators=[RequiredChoice("Choose a free time")])

    def __init__(self, *args, times=(), **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.slot.choices = select_choices(times)
