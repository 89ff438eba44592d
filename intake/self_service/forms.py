"""The manage pages' forms: the token rides in each form, never in a path the access log writes."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import Form, HiddenField, StringField, TextAreaField
from wtforms.validators import Length, Optional

from intake.appointments.services import MAX_ROW_ID

REASON_MAX = 200


class CancelForm(FlaskForm):
    """Cancel the appointment, with a reason if the patient wants to give one."""

    token = HiddenField()
    seen = HiddenField()
    reason = TextAreaField(
        "Why are you cancelling? (optional)", validators=[Optional(), Length(max=REASON_MAX, message=f"Keep the reason to {REASON_MAX} characters or fewer")],
    )


class MoveForm(FlaskForm):
    """Move the appointment to the time shown on the confirm page."""

    token = HiddenField()
    seen = HiddenField()
    slot = HiddenField()


class ChooseNewTimeForm(Form):
    """The time picked on the times page, sent by GET: choosing changes nothing, confirming does."""

    slot = StringField("Choose a new time")


def seen_sequence(value: str | None) -> int | None:
    """The appointment's version the page showed, or None for anything else."""
    return int(value) if value and value.isdigit() and int(value) <= MAX_ROW_ID else None


class LinkActionForm(FlaskForm):
    """A button acting on what a link opens (join or leave the waitlist, take or decline an offer)."""

    token = HiddenField()
