"""What the back office does with the outbox: list the emails and texts that are failing, and retry one.

Plain functions; the caller commits.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select

from intake.mail.models import OutboxMessage
from intake.platform.extensions import db

FAILING_SHOWN = 200
RETRYABLE = ("dead", "pending")


class NotRetryable(Exception):
    """The email is being sent or has been sent: there is nothing to retry."""


def _waiting_to_ask(message: OutboxMessage) -> bool:
    """A text `sending` but held by no worker: its provider could not be asked whether it already has it."""
    return message.status == "sending" and message.claimed_by is None


def failing_messages(limit: int = FAILING_SHOWN) -> list[OutboxMessage]:
    """Emails and texts that gave up, or are waiting after a failed attempt, newest first."""
    return list(db.session.execute(
        select(OutboxMessage)
        .where((OutboxMessage.status == "dead") | ((OutboxMessage.status == "pending") & (OutboxMessage.attempts > 0))
               | ((OutboxMessage.status == "sending") & OutboxMessage.claimed_by.is_(None)))
        .order_by(OutboxMessage.id.desc())
        .limit(limit)
    ).scalars())


def retry_message(message: OutboxMessage, now: datetime, max_attempts: int) -> None:
    """Make a failed email or text due now; one that used up its attempts gets them all again. A
    text waiting to ask its provider stays `sending`, so the provider is still asked first."""
    if message.status not in RETRYABLE and not _waiting_to_ask(message):
        raise NotRetryable(message.status)
    if message.status != "sending":
        message.status = "pending"
    message.next_attempt_at = now
    if message.attempts >= max_attempts:
        message.attempts = 0
