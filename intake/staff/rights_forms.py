"""The forms of a patient's rights to correction and erasure: new contact details, and the reason
for erasing (checked as the patient's own form checks the same fields)."""

from __future__ import annotations

import phonenumbers
from flask_wtf import FlaskForm
from wtforms import StringField, TextAreaField
from wtforms.validators import StopValidation

from intake.journey.forms import MAYBE_MOBILE_TYPES, PHONE_FORMAT, check_email_address, format_phone_for_display, possible_phone_number
from intake.platform.forms import PlainText, RequiredText, max_length, strip_text
from intake.staff.rights import ContactDetails

REASON_LIMIT = 500


class ContactDetailsForm(FlaskForm):
    """The patient's email address and phone number, as they should be."""

    email = StringField(
        "Email address", filters=[strip_text],
        validators=[RequiredText("Enter the email address"), max_length("Email address", 254), PlainText("Email address")],
    )
    phone = StringField(
        "Phone number", filters=[strip_text],
        validators=[RequiredText("Enter the phone number"), max_length("Phone number", 30), PlainText("Phone number")],
    )

    def __init__(self, *args, prefers_texts: bool = False, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.prefers_texts = prefers_texts
        self.number: phonenumbers.PhoneNumber | None = None

    def validate_email(self, field: StringField) -> None:
        check_email_address(field)

    def validate_phone(self, field: StringField) -> None:
        self.number = possible_phone_number(field.data)
        if self.number is None:
            raise StopValidation(PHONE_FORMAT)
        if self.prefers_texts and phonenumbers.number_type(self.number) not in MAYBE_MOBILE_TYPES:
            raise StopValidation("The patient asked for text messages: enter a mobile number")

    def details(self) -> ContactDetails:
        """The checked details: the email normalised, the phone in E.164 and as the patient would write it."""
        e164 = phonenumbers.format_number(self.number, phonenumbers.PhoneNumberFormat.E164)
        return ContactDetails(self.email.data, e164, format_phone_for_display(e164))


class ErasureForm(FlaskForm):
    """Why the patient's personal data is being erased (kept in the audit log)."""

    reason = TextAreaField(
        "Why are you erasing this request's personal data?", filters=[strip_text],
        validators=[RequiredText("Give the reason for erasing this request's personal data"),
                    max_length("The reason", REASON_LIMIT), PlainText("The reason", multiline=True)],
    )
