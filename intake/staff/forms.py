"""Back-office forms: sign in, status changes, booking, moving and cancelling, notes, and the
query strings of the diary, the free times and the request list's dates."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import Form, PasswordField, SelectField, StringField, TextAreaField
from wtforms.validators import StopValidation, ValidationError

from intake.appointments.diary_view import parse_day
from intake.appointments.statuses import AFTER_CANCELLING
from intake.journey.models import REQUEST_STATUSES
from intake.platform.forms import ChoiceField, PlainText, RequiredChoice, RequiredText, max_length, select_choices, strip_text

STALE_PAGE = "This appointment was changed after the page was shown. Check it and try again."

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


class SeenSequence(StringField):
    """The appointment's version the page showed (a hidden field): a whole number, else the page is stale."""

    def post_validate(self, form, validation_stopped) -> None:
        if not validation_stopped and self.number() is None:
            self.errors.append(STALE_PAGE)

    def number(self) -> int | None:
        text = (self.data or "").strip()
        return int(text) if text.isascii() and text.isdigit() and len(text) <= 9 else None


class MoveForm(BookingForm):
    """Another free time for a booked appointment, and the version of it the page showed."""

    sequence = SeenSequence()


class CancelForm(FlaskForm):
    """Cancel an appointment: why, what the request becomes, and the version the page showed."""

    reason = StringField(
        "Why is the appointment cancelled?",
        filters=[strip_text],
        validators=[RequiredText("Enter why the appointment is cancelled"), max_length("The reason", 200), PlainText("The reason")],
    )
    then = ChoiceField(
        "What happens next?",
        message="Choose what happens next",
        choices=tuple(zip(AFTER_CANCELLING, ("The patient needs a new time", "The patient no longer wants an assessment"))),
    )
    sequence = SeenSequence()


class OutcomeForm(FlaskForm):
    """Mark an appointment that has begun: the button pressed names the outcome."""

    outcome = ChoiceField("Did the patient come?", message="Choose attended or did not attend",
                          choices=(("attended", "Attended"), ("no_show", "Did not attend")))


def _known_day(form, field) -> None:
    if field.data and parse_day(field.data) is None:
        raise ValidationError("Enter a real date between 2000 and 2099, like 2026-12-03")


class DiaryQuery(Form):
    """A diary page's query string: which site and which day (both optional; checked, never trusted)."""

    site = SelectField("Site", choices=(), validate_choice=False)
    day = StringField("Day", filters=[strip_text], validators=[_known_day])

    def __init__(self, args, sites, **kwargs) -> None:
        super().__init__(args, **kwargs)
        self.site.choices = select_choices((site.code, site.name) for site in sites)

    def validate_site(self, field) -> None:
        if field.data is not None and field.data not in {choice.value for choice in field.choices}:
            raise ValidationError("Choose one of the clinic's sites")


class DashboardQuery(Form):
    """The attendance dashboard's query string: one site or every site, and how many months back."""

    site = SelectField("Site", choices=(), validate_choice=False)
    months = SelectField("Months", choices=(), default="12", validate_choice=False)

    def __init__(self, args, sites, **kwargs) -> None:
        super().__init__(args, **kwargs)
        self.site.choices = select_choices([("", "Every site"), *((site.code, site.name) for site in sites)])
        self.months.choices = select_choices((str(count), f"Last {count} months") for count in (3, 6, 12, 24))

    def validate_site(self, field) -> None:
        if field.data and field.data not in {choice.value for choice in field.choices}:
            raise ValidationError("Choose one of the clinic's sites")

    def validate_months(self, field) -> None:
        if field.data not in {choice.value for choice in field.choices}:
            raise ValidationError("Choose how many months to show")


class ListDates(Form):
    """The request list's (and its export's) received-between days from the query string; its
    other filters are allow-listed by RequestFilters, which ignores a bad day."""

    date_from = StringField("Received from", name="from", filters=[strip_text], validators=[_known_day])
    date_to = StringField("Received to", name="to", filters=[strip_text], validators=[_known_day])


class WeekQuery(DiaryQuery):
    """The week view's query string: a site, and any day of the week to show."""

    day = StringField("Week of", name="week", filters=[strip_text], validators=[_known_day])


class WaitlistQuery(Form):
    """The waitlist page's query string: which site (the first when none is given)."""

    site = SelectField("Site", choices=(), validate_choice=False)

    def __init__(self, args, sites, **kwargs) -> None:
        super().__init__(args, **kwargs)
        self.site.choices = select_choices((site.code, site.name) for site in sites)

    def validate_site(self, field) -> None:
        if field.data not in {choice.value for choice in field.choices}:
            raise ValidationError("Choose one of the clinic's sites")
