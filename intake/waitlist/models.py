"""Who is waiting for an earlier time, and the offers made to them.

An entry belongs to one appointment (the one the patient would like earlier); it ends when they
leave, take an offer, or their appointment is cancelled. An offer names a freed time (practitioner,
site, start) and keeps only the SHA-256 digest of its link's token, so a copy of the database opens
no offer. An offer with no `outcome` is open until `expires_at`.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, Index, String, text
from sqlalchemy.orm import Mapped, mapped_column

from intake.platform.extensions import db
from intake.platform.timeutil import UTCDateTime, utcnow

# Why an entry stopped waiting.
ENDINGS = ("left", "offer_taken", "appointment_cancelled")
# What became of an offer: the patient took it; someone else did (or the time went); they said no;
# it was withdrawn because they stopped waiting.
OUTCOMES = ("taken", "gone", "declined", "withdrawn")
CHANNELS = ("email", "sms")


def _in(values: tuple[str, ...]) -> str:
    return ", ".join(f"'{value}'" for value in values)


class WaitlistEntry(db.Model):
    """A patient asking to hear of a time earlier than their appointment; first to ask, first offered."""

    __tablename__ = "waitlist_entries"
    __table_args__ = (
        CheckConstraint(f"ended_because IS NULL OR ended_because IN ({_in(ENDINGS)})", name="ending_known"),
        CheckConstraint("(ended_at IS NULL) = (ended_because IS NULL)", name="ending_recorded"),
        # One waiting entry per appointment: asking twice (two tabs, a double click) keeps the first.
        Index("ix_waitlist_entries_one_waiting", "appointment_id", unique=True,
              sqlite_where=text("ended_at IS NULL"), postgresql_where=text("ended_at IS NULL")),
        Index("ix_waitlist_entries_waiting_asked", "asked_at", "id",
              sqlite_where=text("ended_at IS NULL"), postgresql_where=text("ended_at IS NULL")),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    request_id: Mapped[int] = mapped_column(ForeignKey("assessment_requests.id"), index=True)
    appointment_id: Mapped[int] = mapped_column(ForeignKey("appointments.id"))
    asked_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    ended_because: Mapped[str | None] = mapped_column(String(24))


class WaitlistOffer(db.Model):
    """A freed time offered to one waiting patient, through a link only they were sent."""

    __tablename__ = "waitlist_offers"
    __table_args__ = (
        CheckConstraint(f"outcome IS NULL OR outcome IN ({_in(OUTCOMES)})", name="outcome_known"),
        CheckConstraint(f"channel IN ({_in(CHANNELS)})", name="channel_known"),
        CheckConstraint("(outcome IS NULL) = (answered_at IS NULL)", name="answer_recorded"),
        CheckConstraint("expires_at > offered_at", name="expires_after_offered"),
        # The other offers of the same time, closed when one is taken.
        Index("ix_waitlist_offers_time", "practitioner_id", "starts_at"),
        # The dashboard's count of times refilled, per site and month.
        Index("ix_waitlist_offers_site_starts", "site_code", "starts_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    entry_id: Mapped[int] = mapped_column(ForeignKey("waitlist_entries.id"), index=True)
    practitioner_id: Mapped[int] = mapped_column(ForeignKey("practitioners.id"))
    site_code: Mapped[str] = mapped_column(String(40))
    starts_at: Mapped[datetime] = mapped_column(UTCDateTime)
    token_digest: Mapped[str] = mapped_column(String(64), unique=True)
    channel: Mapped[str] = mapped_column(String(8))
    offered_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    outcome: Mapped[str | None] = mapped_column(String(12))
    answered_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    def state(self, now: datetime) -> str:
        """"open", "expired", or the outcome."""
        if self.outcome is not None:
            return self.outcome
        return "open" if now < self.expires_at else "expired"
