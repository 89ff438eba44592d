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


def failing_messages(limit: int = FAILING_SHOWN) -> list[OutboxMessage]:
    """Emails that gave up, or are waiting after a failed attempt, newest first."""
    return list(db.session.execute(
        select(OutboxMessage)
        .where((OutboxMessage.status == "dead") | ((OutboxMessage.status == "pending") & (OutboxMessage.attempts > 0)))
        .order_by(OutboxMessage.id.desc())
        .limit(limit)
    ).scalars())


def retry_message(message: OutboxMessage, now: datetime, max_attempts: int) -> None:
    """Make a failed email due now; one that used up its attempts gets them all again."""
    if message.status not in RETRYABLE:
        raise NotRetryable(message.status)
    message.status, message.next_attempt_at = "pending", now
    if message.attempts >= max_attempts:
        message.attempts = 0
