"""The forms of two-step sign-in: the code after the password, and an authenticator's code to set
it up or to make new recovery codes."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import StringField
from wtforms.validators import StopValidation

from intake.platform.forms import PlainText, RequiredText, max_length, strip_text
from intake.staff.two_factor import parse_code


def _code_shape(form, field) -> None:
    """Six digits, or a recovery code where the form takes one: anything else is refused with
    words saying what to type, before any code is checked."""
    entered = parse_code(field.data or "")
    if field.data and (entered is None or entered.kind not in form.kinds):
        raise StopValidation(form.shape_message)


class CodeForm(FlaskForm):
    """The second step of signing in: the authenticator app's 6 digits, or a recovery code."""

    kinds = ("totp", "recovery")
    shape_message = "Enter the 6-digit code from your authenticator app, or one of your recovery codes (like abcde-23456)"
    code = StringField(
        "Code",
        filters=[strip_text],
        validators=[
            RequiredText("Enter the 6-digit code from your authenticator app"),
            max_length("The code", 40),
            PlainText("The code"),
            _code_shape,
        ],
    )


class AuthenticatorCodeForm(CodeForm):
    """A code from the authenticator app only: to prove it while setting up, or before new recovery codes."""

    kinds = ("totp",)
    shape_message = "Enter the 6 digits your authenticator app shows, like 123456"
