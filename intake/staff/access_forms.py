"""The forms of a patient's right of access: finding their requests, and choosing what to export."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import Form, RadioField, SelectMultipleField, StringField
from wtforms.validators import ValidationError

from intake.platform.forms import PlainText, RequiredText, max_length, select_choices, strip_text

FORMATS = select_choices((("html", "A page to read or print"), ("json", "A JSON file")))


class FindPatientQuery(Form):
    """The search's query string: a reference, an email address or a phone number."""

    q = StringField(
        "Reference, email address or phone number", filters=[strip_text],
        validators=[RequiredText("Enter a reference, an email address or a phone number"), max_length("The search", 254),
                    PlainText("The search")],
    )


class ExportForm(FlaskForm):
    """Which of the found requests are the patient's, and in which form to give them."""

    references = SelectMultipleField("Requests that are this patient's", choices=(), validate_choice=False)
    format = RadioField("Format", choices=FORMATS, default="html", validate_choice=False)

    def validate_references(self, field) -> None:
        known = {choice.value for choice in field.choices}
        if not field.data:
            raise ValidationError("Select the requests that are this patient's")
        if not set(field.data) <= known:
            raise ValidationError("Select from the requests found")

    def validate_format(self, field) -> None:
        if field.data not in {choice.value for choice in FORMATS}:
            raise ValidationError("Choose a page or a JSON file")
