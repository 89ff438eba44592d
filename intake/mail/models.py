"""The outbox: every email the app must send, kept until it is delivered or given up on."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from intake.platform.extensions import db
from intake.platform.timeutil import UTCDateTime, utcnow

OUTBOX_STATUSES = ("pending", "sending", "sent", "dead")
CHANNELS = ("email", "sms")


class OutboxMessage(db.Model):
    """One email or text to one recipient.

    A text (`channel` "sms") goes to a number in E.164 form ("+447700900123"); its body is
    `text_body`, and it has no subject or HTML. Nothing is sent before `next_attempt_at`, so a
    message can be queued now to go out later (a reminder).

    A message about an appointment (a reminder) names it, so cancelling or moving the appointment
    withdraws what is still waiting; one with `send_before` is never sent at or after that time
    (it dies instead: a reminder after the appointment is worse than none).

    `pending` waits for its next attempt; `sending` is claimed by a worker (a claim older
    than the lease is taken over, so a crashed worker's message is never lost), or is a text
    held by no worker that may have been handed over, waiting to ask its provider (see
    `intake.mail.delivery`); `sent` is delivered; `dead` failed too many times and keeps its
    last error.
    """

    __tablename__ = "outbox_messages"
    __table_args__ = (
        CheckConstraint(f"status IN ({', '.join(repr(status) for status in OUTBOX_STATUSES)})", name="status_known"),
        CheckConstraint(f"channel IN ({', '.join(repr(channel) for channel in CHANNELS)})", name="channel_known"),
        CheckConstraint("channel <> 'sms' OR recipient LIKE '+%'", name="sms_to_e164"),
        Index("ix_outbox_messages_status_next_attempt", "status", "next_attempt_at"),
        # The retention purge finds sent messages whose bodies are due to go, oldest first.
        Index("ix_outbox_messages_status_sent", "status", "sent_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    channel: Mapped[str] = mapped_column(String(8), default="email", server_default="email")
    kind: Mapped[str] = mapped_column(String(40))
    request_id: Mapped[int | None] = mapped_column(ForeignKey("assessment_requests.id"), index=True)
    appointment_id: Mapped[int | None] = mapped_column(ForeignKey("appointments.id"), index=True)
    recipient: Mapped[str] = mapped_column(String(254))
    subject: Mapped[str] = mapped_column(String(300))
    text_body: Mapped[str] = mapped_column(Text)
    html_body: Mapped[str] = mapped_column(Text)
    attachment_name: Mapped[str | None] = mapped_column(String(100))
    attachment_type: Mapped[str | None] = mapped_column(String(100))
    attachment_body: Mapped[str | None] = mapped_column(Text)
    message_id: Mapped[str] = mapped_column(String(255), unique=True)
    status: Mapped[str] = mapped_column(String(16), default="pending")
    attempts: Mapped[int] = mapped_column(default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    send_before: Mapped[datetime | None] = mapped_column(UTCDateTime)
    claimed_by: Mapped[str | None] = mapped_column(String(100))
    claimed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_error: Mapped[str | None] = mapped_column(Text)
    provider_id: Mapped[str | None] = mapped_column(String(100))
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # When its bodies (and, for an erased request, its recipient) were removed: kept as a record
    # that it was sent, no longer as what it said.
    body_removed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
