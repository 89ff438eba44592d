"""Queueing texts in the outbox, or an email instead when the number cannot take texts.

Plain functions; the caller commits (in the same transaction as whatever the text is about).
A text is short and plain: at most two SMS segments, no control characters but new lines. A
longer one is a programming error, refused when it is queued, never found out by the worker.
"""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache

import phonenumbers
from phonenumbers import PhoneNumberType

from intake.mail.models import OutboxMessage
from intake.mail.segments import MAX_SEGMENTS, segment_count
from intake.platform.extensions import db
from intake.platform.timeutil import utcnow

# Numbers a text reaches. Fixed lines, premium rate, shared cost, personal and VoIP numbers,
# pagers and the rest do not take texts reliably, so those people get an email instead.
TEXTABLE_TYPES = frozenset({PhoneNumberType.MOBILE, PhoneNumberType.FIXED_LINE_OR_MOBILE})
NOT_PLAIN = re.compile(r"[\x00-\x09\x0b-\x1f\x7f-\x9f\u2028\u2029]")


class TextRefused(ValueError):
    """A text the code should never have asked for: too long, not plain, or to a bad number."""


@dataclass(frozen=True)
class EmailInstead:
    """The email to send when the number cannot take texts (built by the caller, who knows the words)."""

    recipient: str
    subject: str
    text_body: str
    html_body: str
    message_id_domain: str  # for the email's Message-ID, as MailSettings.message_id_domain gives it


@lru_cache(maxsize=4096)
def can_take_texts(number: str) -> bool:
    """Whether a number in E.164 form is valid and of a type that receives texts (a mobile).
    Remembered for the last few thousand numbers: libphonenumber takes most of a millisecond
    a number, and a reminder scan asks about each patient's twice."""
    try:
        parsed = phonenumbers.parse(number, None)
    except phonenumbers.NumberParseException:
        return False
    return phonenumbers.is_valid_number(parsed) and phonenumbers.number_type(parsed) in TEXTABLE_TYPES


def check_text_body(body: str) -> None:
    """Refuse a text that is empty, longer than two segments, or not plain."""
    if not body.strip():
        raise TextRefused("a text needs a body")
    if NOT_PLAIN.search(body):
        raise TextRefused("a text is plain: no control characters but new lines")
    if (segments := segment_count(body)) > MAX_SEGMENTS:
        raise TextRefused(f"a text is at most {MAX_SEGMENTS} SMS segments; this one takes {segments}")


def check_text(number: str, body: str) -> None:
    """Refuse a text `check_text_body` refuses, or one to a number that is not a textable one in E.164 form."""
    check_text_body(body)
    if not number.startswith("+") or not can_take_texts(number):
        raise TextRefused("a text goes to a mobile number in E.164 form (use queue_text_or_email)")


def _new_message(**columns) -> int:
    message = OutboxMessage(status="pending", attempts=0, **columns)
    db.session.add(message)
    db.session.flush()
    return message.id


def text_message_id(kind: str, key: str | None) -> str:
    """A text's id in the outbox: one per kind and key (a fresh random key without one)."""
    return f"sms.{kind}.{key or secrets.token_hex(16)}"[:255]


def email_message_id(kind: str, key: str | None, domain: str) -> str:
    """An email's Message-ID: one per kind and key (a fresh random key without one)."""
    return f"<{kind}.{key or secrets.token_hex(16)}@{domain}>"[:255]


def text_columns(number: str, body: str, kind: str, request_id: int | None, not_before: datetime,
                 *, key: str | None = None, now: datetime | None = None) -> dict:
    """The outbox columns of a text (checked as `queue_text` checks it), for a caller that inserts
    many at once."""
    check_text(number, body)
    return dict(
        channel="sms", kind=kind, request_id=request_id, recipient=number, subject="", text_body=body,
        html_body="", message_id=text_message_id(kind, key),
        next_attempt_at=not_before, created_at=now or utcnow(),
    )


def email_columns(email: EmailInstead, kind: str, request_id: int | None, not_before: datetime,
                  *, key: str | None = None, now: datetime | None = None) -> dict:
    """The outbox columns of an email sent in place of a text (or by a patient's choice)."""
    return dict(
        channel="email", kind=kind, request_id=request_id, recipient=email.recipient, subject=email.subject,
        text_body=email.text_body, html_body=email.html_body, message_id=email_message_id(kind, key, email.message_id_domain),
        next_attempt_at=not_before, created_at=now or utcnow(),
    )


def text_or_email_columns(number: str, body: str, kind: str, request_id: int | None, not_before: datetime,
                          email: EmailInstead, *, key: str | None = None, now: datetime | None = None) -> dict:
    """The outbox columns of a text, or of the given email when the number cannot take texts."""
    if can_take_texts(number):
        return text_columns(number, body, kind, request_id, not_before, key=key, now=now)
    check_text_body(body)  # a text the code got wrong is refused whatever the number
    return email_columns(email, kind, request_id, not_before, key=key, now=now)


def queue_text(number: str, body: str, kind: str, request_id: int | None, not_before: datetime,
               *, key: str | None = None, now: datetime | None = None) -> int:
    """Put a text in the outbox, to be sent no earlier than `not_before`; return its id.

    `key` makes the message unique (the database refuses a second text with the same kind and
    key, so a reminder planned twice is queued once); without one, every call queues a new text.
    """
    return _new_message(**text_columns(number, body, kind, request_id, not_before, key=key, now=now))


def queue_text_or_email(number: str, body: str, kind: str, request_id: int | None, not_before: datetime,
                        email: EmailInstead, *, key: str | None = None, now: datetime | None = None) -> tuple[str, int]:
    """Queue a text, or the given email when the number cannot take texts (a landline); return
    the channel used ("sms" or "email") and the message's id."""
    columns = text_or_email_columns(number, body, kind, request_id, not_before, email, key=key, now=now)
    return columns["channel"], _new_message(**columns)
