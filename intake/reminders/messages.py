"""The words of appointment reminders, by email and by text, as outbox rows.

A reminder carries the first name (only when it is a plain name: see `plain_name`), the day and
time, the site and its address, what to bring, and the manage link (or the clinic's number when
the link can no longer change anything); nothing clinical.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from flask import render_template

from intake.reminders.plan import Reminder
from intake.clinic.sites import Site
from intake.mail.notifications import MailSettings
from intake.mail.segments import fits_in_segments
from intake.mail.texts import EmailInstead, can_take_texts, email_columns, email_message_id, text_columns, text_message_id
from intake.platform.timeutil import LONDON

# A first name we repeat to whoever holds the address: one or two words of letters, with
# hyphens or apostrophes inside, nothing that could carry a sentence or a web address (no
# address here is proven to be the patient's, so a typed name could be words aimed at someone else).
PLAIN_NAME = re.compile(r"[^\W\d_]+(?:['’-][^\W\d_]+)*(?: [^\W\d_]+(?:['’-][^\W\d_]+)*)?")
PLAIN_NAME_LIMIT = 30
# The parts of a text left out, in turn, until it fits in two segments. The name goes last: one
# letter outside the GSM alphabet (Zoë) makes the whole text UCS-2, with 67 characters a segment.
TEXT_VERSIONS = (
    {"with_where": True, "with_advice": True, "with_name": True},
    {"with_where": False, "with_advice": True, "with_name": True},
    {"with_where": False, "with_advice": False, "with_name": True},
    {"with_where": False, "with_advice": False, "with_name": False},
)


def plain_name(first_name: str) -> str:
    """The first name if it is plainly a name, else "" (the greeting is then just "Hello")."""
    name = " ".join(first_name.split())
    return name if len(name) <= PLAIN_NAME_LIMIT and PLAIN_NAME.fullmatch(name) else ""


@dataclass(frozen=True)
class ReminderFor:
    """The appointment a reminder is about and the patient it goes to."""

    appointment_id: int
    request_id: int
    reference: str
    first_name: str
    email: str
    phone: str  # E.164
    starts_at: datetime
    minutes: int
    clinician: str
    site: Site | None
    manage_url: str  # "" when the link will no longer move or cancel it: the reminder says to call

    @property
    def key(self) -> str:
        return reminder_key(self.appointment_id, self.starts_at)


def reminder_key(appointment_id: int, starts_at: datetime) -> str:
    """One per appointment and start time: a moved appointment is reminded again, of its new time."""
    return f"{appointment_id}.{starts_at:%Y%m%dT%H%MZ}"


def message_ids(reminder: Reminder, appointment_id: int, starts_at: datetime, settings: MailSettings) -> set[str]:
    """The ids the reminder's message has in the outbox, as a text or as an email."""
    key = reminder_key(appointment_id, starts_at)
    return {text_message_id(reminder.kind, key), email_message_id(reminder.kind, key, settings.message_id_domain)}


@dataclass(frozen=True)
class _Reference:
    """All a reminder says about the request: our reference."""

    reference: str


def _context(reminder: Reminder, about: ReminderFor, settings: MailSettings) -> dict[str, Any]:
    return dict(
        kind=reminder.kind, name=plain_name(about.first_name), starts=about.starts_at.astimezone(LONDON), minutes=about.minutes,
        clinician=about.clinician, site=about.site, manage_url=about.manage_url, settings=settings,
        request=_Reference(about.reference),
    )


def _email(context: dict[str, Any], about: ReminderFor, settings: MailSettings) -> EmailInstead:
    subject = f"Reminder: your physiotherapy assessment on {context['starts'].strftime('%A %-d %B at %H:%M')}"
    return EmailInstead(
        recipient=about.email, subject=subject, text_body=render_template("mail/patient_reminder.txt", **context),
        html_body=render_template("mail/patient_reminder.html", **context), message_id_domain=settings.message_id_domain,
    )


def text_body(context: dict[str, Any]) -> str | None:
    """The fullest version of the text that fits in two segments; None if none does (a site
    name far too long to text): the reminder then goes by email."""
    for version in TEXT_VERSIONS:
        body = render_template("mail/sms_reminder.txt", **context, **version)
        if fits_in_segments(body):
            return body
    return None


def reminder_columns(reminder: Reminder, about: ReminderFor, settings: MailSettings, *, now: datetime,
                     send_before: datetime) -> dict[str, Any] | None:
    """The outbox row of one reminder, due at its time and dead if not sent before `send_before`;
    None when the patient has no address for its channel."""
    context = _context(reminder, about, settings)
    body = text_body(context) if reminder.channel == "sms" and can_take_texts(about.phone) else None
    if body is not None:
        columns = text_columns(about.phone, body, reminder.kind, about.request_id, reminder.due_at, key=about.key, now=now)
    elif about.email:  # by choice, or because the number cannot take texts or the text cannot fit
        columns = email_columns(_email(context, about, settings), reminder.kind, about.request_id, reminder.due_at, key=about.key, now=now)
    else:
        return None
    return columns | dict(appointment_id=about.appointment_id, send_before=send_before, status="pending", attempts=0)
