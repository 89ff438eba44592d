"""The retention purge (`flask retention purge`): what the clinic no longer needs, taken away in
batches.

- Requests that never became an appointment and have not changed for `retention_months` are
  anonymised as erasure does (`rights.anonymise`): their reference, dates, site, urgency and
  status stay for the counts.
- Sent emails lose their bodies `message_body_days` after they went (the record that they went,
  to whom and when, stays until their request is anonymised).
- Expired drafts are deleted.

The audit log is never touched. Each batch is its own transaction, committed before the next, and
every step picks only rows not yet done: a purge stopped part-way is simply run again, and a second
run finds nothing more. A dry run counts exactly what a real run would change and changes nothing.
Plain functions; no Flask request, session or app.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, fields
from datetime import datetime, timedelta

from dateutil.relativedelta import relativedelta
from sqlalchemy import Select, delete, exists, func, select, update

from intake.appointments.models import Appointment
from intake.journey.models import AssessmentRequest, Draft
from intake.mail.models import OutboxMessage
from intake.platform.extensions import db
from intake.staff.models import RequestNote
from intake.staff.rights import QUEUED, anonymise

BATCH_SIZE = 500
RETENTION = "retention"


@dataclass(frozen=True)
class Policy:
    """How long the clinic keeps what: requests that never became an appointment, sent emails' bodies."""

    retention_months: int = 24
    message_body_days: int = 30


@dataclass
class PurgeCounts:
    """How many of each thing the purge changed (or, in a dry run, would change)."""

    requests_anonymised: int = 0
    notes_erased: int = 0
    queued_emails_dropped: int = 0
    email_bodies_removed: int = 0
    expired_drafts_removed: int = 0

    def lines(self) -> list[str]:
        """One line per kind, for the command's output."""
        return [f"{field.name.replace('_', ' ')}: {getattr(self, field.name)}" for field in fields(self)]


def _stale_requests(now: datetime, policy: Policy) -> Select:
    """Requests never booked (no appointment at all, even one since cancelled) and unchanged for the retention period."""
    cutoff = now - relativedelta(months=policy.retention_months)
    return select(AssessmentRequest.id).where(
        AssessmentRequest.erased_at.is_(None),
        AssessmentRequest.status != "attended",
        AssessmentRequest.updated_at < cutoff,
        ~exists().where(Appointment.request_id == AssessmentRequest.id),
    ).order_by(AssessmentRequest.id)


def _old_bodies(now: datetime, policy: Policy) -> Select:
    """Sent emails whose bodies have been kept for the set number of days."""
    return select(OutboxMessage.id).where(
        OutboxMessage.status == "sent", OutboxMessage.sent_at < now - timedelta(days=policy.message_body_days),
        OutboxMessage.body_removed_at.is_(None),
    ).order_by(OutboxMessage.id)


def _expired_drafts(now: datetime) -> Select:
    return select(Draft.id).where(Draft.expires_at <= now).order_by(Draft.id)


def _count(query: Select) -> int:
    return db.session.execute(select(func.count()).select_from(query.order_by(None).subquery())).scalar_one()


def _in_batches(query: Select, change: Callable[[list], None], batch_size: int) -> int:
    """Change the rows the query finds, `batch_size` at a time, committing each batch; return how many."""
    done, previous = 0, None
    while True:
        ids = list(db.session.execute(query.limit(batch_size)).scalars())
        if not ids:
            return done
        if ids == previous:  # the change did not take these rows out of the query: stop rather than loop
            raise RuntimeError("The retention purge made no progress on a batch; nothing more was changed.")
        change(ids)
        db.session.commit()
        done, previous = done + len(ids), ids


def purge(now: datetime, policy: Policy, *, dry_run: bool = False, batch_size: int = BATCH_SIZE) -> PurgeCounts:
    """Remove what the retention policy says the clinic no longer keeps, as of `now`; commits each batch."""
    stale, bodies, drafts = _stale_requests(now, policy), _old_bodies(now, policy), _expired_drafts(now)
    if dry_run:
        of_stale = RequestNote.request_id.in_(stale.order_by(None))
        return PurgeCounts(
            requests_anonymised=_count(stale),
            notes_erased=_count(select(RequestNote.id).where(of_stale, RequestNote.body != "")),
            queued_emails_dropped=_count(select(OutboxMessage.id).where(
                OutboxMessage.request_id.in_(stale.order_by(None)), OutboxMessage.status.in_(QUEUED))),
            email_bodies_removed=_count(bodies),
            expired_drafts_removed=_count(drafts),
        )
    counts = PurgeCounts()

    def remove_bodies(ids: list[int]) -> None:
        db.session.execute(update(OutboxMessage.__table__).where(OutboxMessage.__table__.c.id.in_(ids)).values(
            text_body="", html_body="", attachment_body=None, body_removed_at=now))

    def anonymise_requests(ids: list[int]) -> None:
        for stored in db.session.execute(select(AssessmentRequest).where(AssessmentRequest.id.in_(ids))).scalars():
            done = anonymise(stored, now, RETENTION)
            counts.notes_erased += done.notes_erased
            counts.queued_emails_dropped += done.messages_dropped

    # Bodies first: anonymising below empties its requests' emails too, but counts only what the dry run counts.
    counts.email_bodies_removed = _in_batches(bodies, remove_bodies, batch_size)
    counts.requests_anonymised = _in_batches(stale, anonymise_requests, batch_size)
    counts.expired_drafts_removed = _in_batches(
        drafts, lambda ids: db.session.execute(delete(Draft.__table__).where(Draft.__table__.c.id.in_(ids))), batch_size)
    return counts
