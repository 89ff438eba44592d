"""The outbox worker: claim due messages, send them, and retry failures with backoff until dead.

Emails go through the mail transport, texts through the SMS transport; nothing is claimed
before its `next_attempt_at`. A text the provider refuses for good (an invalid number) is dead
at once, with the provider's error kept; a temporary failure waits for its backoff, like email.

Claiming is safe with several workers at once: PostgreSQL uses SELECT ... FOR UPDATE SKIP
LOCKED, SQLite an atomic conditional UPDATE. A claim older than the lease is taken over, so a
worker that dies between sending and recording loses nothing. Nor does it double a text: a text
taken over from `sending` may already be with the provider, so the provider is asked first and,
if it has the text, it is recorded as sent with the provider's id instead of being sent again.
While the provider cannot be asked, the text stays `sending`, held by no worker, and is asked
about again after its backoff: never sent blindly. A text whose send got no answer at all (a
timeout: the provider may have taken it) is asked about the same way before it is tried again;
a fresh text is sent without asking. An email taken over is sent again with the same Message-ID,
which is also its idempotency key: Resend recognises the repeat and sends nothing (exactly
once), while an SMTP server, which cannot be asked, may deliver a copy that receivers can drop
by its Message-ID (at least once).
"""

from __future__ import annotations

import logging
import random
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import and_, or_, select, update

from intake.platform.extensions import db
from intake.mail.models import OutboxMessage
from intake.mail.sms import PermanentSmsError, ProviderUnreachable, SmsError, SmsTransport
from intake.mail.transport import Attachment, Email, Transport
from intake.platform.timeutil import utcnow

log = logging.getLogger(__name__)
ERROR_TEXT_LIMIT = 1000
TOO_LATE = "Too late: it could not be sent before the time it was for."


@dataclass(frozen=True)
class RetryPolicy:
    """How often and how long to keep trying a message."""

    max_attempts: int = 8
    base_delay: float = 30.0
    max_delay: float = 3600.0
    lease: float = 300.0

    def delay_after(self, attempts: int) -> timedelta:
        """Exponential backoff with jitter: half the step is fixed, half random."""
        step = min(self.max_delay, self.base_delay * 2 ** max(attempts - 1, 0))
        return timedelta(seconds=step / 2 + random.uniform(0, step / 2))

    @classmethod
    def from_config(cls, config) -> RetryPolicy:
        return cls(
            max_attempts=int(config["OUTBOX_MAX_ATTEMPTS"]),
            base_delay=float(config["OUTBOX_RETRY_BASE_SECONDS"]),
            max_delay=float(config["OUTBOX_RETRY_MAX_SECONDS"]),
            lease=float(config["OUTBOX_LEASE_SECONDS"]),
        )


@dataclass(frozen=True)
class Claimed:
    """The messages a worker now holds, and which of them were `sending` before (taken over from
    a lapsed claim, or waiting to ask the provider): those may already have been handed over."""

    messages: list[OutboxMessage]
    taken_over: frozenset[int]


@dataclass
class DeliveryReport:
    """What one pass of the worker did."""

    sent: list[int] = field(default_factory=list)
    retrying: list[int] = field(default_factory=list)
    dead: list[int] = field(default_factory=list)

    @property
    def handled(self) -> int:
        return len(self.sent) + len(self.retrying) + len(self.dead)


def _waiting(now: datetime, policy: RetryPolicy):
    """Messages not sent and not given up on: pending; or sending but held by no worker (a text
    whose provider could not be asked) or by one that has gone quiet."""
    return or_(
        OutboxMessage.status == "pending",
        and_(OutboxMessage.status == "sending",
             or_(OutboxMessage.claimed_by.is_(None), OutboxMessage.claimed_at <= now - timedelta(seconds=policy.lease))),
    )


def _due(now: datetime, policy: RetryPolicy):
    """Waiting messages whose next attempt has come, and that are not too late to send (a lapsed
    claim's next attempt came before it was claimed)."""
    return and_(
        _waiting(now, policy),
        OutboxMessage.next_attempt_at <= now,
        or_(OutboxMessage.send_before.is_(None), OutboxMessage.send_before > now),
    )


def give_up_late_messages(now: datetime, policy: RetryPolicy) -> list[int]:
    """Mark dead every waiting message whose `send_before` has come (a reminder that could not go
    out before its appointment), so it is never sent late; return their ids (the caller commits)."""
    late = list(db.session.execute(
        select(OutboxMessage.id).where(OutboxMessage.send_before <= now, _waiting(now, policy))
    ).scalars())
    if late:
        db.session.execute(
            update(OutboxMessage).where(OutboxMessage.id.in_(late), _waiting(now, policy))
            .values(status="dead", claimed_by=None, last_error=TOO_LATE)
        )
        log.error("%d message(s) could not be sent in time and are dead", len(late))
    return late


def claim_messages(worker_id: str, now: datetime, policy: RetryPolicy, limit: int, only_ids=None) -> Claimed:
    """Mark up to `limit` due messages as this worker's, so no other worker sends them, noting
    which were `sending` before."""
    candidates = (select(OutboxMessage.id, OutboxMessage.status).where(_due(now, policy))
                  .order_by(OutboxMessage.next_attempt_at, OutboxMessage.id).limit(limit))
    if only_ids is not None:
        candidates = candidates.where(OutboxMessage.id.in_(list(only_ids)))
    claim = {"status": "sending", "claimed_by": worker_id, "claimed_at": now, "attempts": OutboxMessage.attempts + 1}

    if db.engine.dialect.name == "postgresql":
        claimed = dict(db.session.execute(candidates.with_for_update(skip_locked=True)).all())
        if claimed:
            db.session.execute(update(OutboxMessage).where(OutboxMessage.id.in_(claimed)).values(**claim))
        db.session.commit()
    else:
        claimed = {}
        for message_id, status in db.session.execute(candidates).all():
            result = db.session.execute(
                update(OutboxMessage).where(OutboxMessage.id == message_id, OutboxMessage.status == status, _due(now, policy))
                .values(**claim)
            )
            db.session.commit()
            if result.rowcount == 1:
                claimed[message_id] = status
    messages = list(db.session.execute(
        select(OutboxMessage).where(OutboxMessage.id.in_(claimed)).order_by(OutboxMessage.id)
    ).scalars()) if claimed else []
    return Claimed(messages, frozenset(message_id for message_id, status in claimed.items() if status == "sending"))


def email_of(message: OutboxMessage, sender: str, reply_to: str) -> Email:
    """The email as the transports hand it over, built the same way every time it is tried."""
    attachment = (Attachment(message.attachment_name, message.attachment_type, message.attachment_body)
                  if message.attachment_name else None)
    return Email(message.message_id, sender, reply_to, message.recipient, message.subject, message.text_body,
                 message.html_body, message.created_at, attachment)


def _label(message: OutboxMessage) -> str:
    return "Text" if message.channel == "sms" else "Email"


def _record_failure(message: OutboxMessage, error: BaseException, now: datetime, policy: RetryPolicy, report: DeliveryReport,
                    *, unconfirmed: bool = False) -> None:
    """Give the message up, or make it wait for its backoff: `pending`, or still `sending` when it
    is `unconfirmed` (it may be with the provider, which could not be asked)."""
    # An SmsError's text is already free of numbers; any other error from a text's send is not
    # trusted to be, so only its kind is kept.
    detail = str(error) if message.channel == "email" or isinstance(error, SmsError) else "(message withheld)"
    message.last_error = f"{type(error).__name__}: {detail}"[:ERROR_TEXT_LIMIT]
    message.claimed_by = None
    if isinstance(error, PermanentSmsError):
        message.status = "dead"
        report.dead.append(message.id)
        log.error("Text %s is dead: the provider refused it for good (%s)", message.id, type(error).__name__)
    elif message.attempts >= policy.max_attempts:
        message.status = "dead"
        report.dead.append(message.id)
        log.error("%s %s is dead after %d attempts (%s)", _label(message), message.id, message.attempts, type(error).__name__)
    else:
        message.status = "sending" if unconfirmed else "pending"
        message.next_attempt_at = now + policy.delay_after(message.attempts)
        report.retrying.append(message.id)
        log.warning("%s %s failed (attempt %d, %s); will retry", _label(message), message.id, message.attempts, type(error).__name__)


def _record_sent(message: OutboxMessage, report: DeliveryReport, provider_id: str | None = None) -> None:
    message.status, message.sent_at, message.last_error, message.claimed_by = "sent", utcnow(), None, None
    message.provider_id = provider_id
    report.sent.append(message.id)


def _deliver_texts(texts: list[OutboxMessage], taken_over: frozenset[int], sms_transport: SmsTransport,
                   policy: RetryPolicy, report: DeliveryReport) -> None:
    """Hand each claimed text to the provider, recording each outcome as it happens.

    A text that may already be with the provider is looked up first (since it was queued: no
    hand-over can be earlier) and only sent if the provider does not have it: one `taken_over`,
    and so, next time, one whose send got no answer (the provider may have taken it before the
    answer was lost). When the provider does not answer at all, the texts not yet tried wait too
    (as emails do when the mail server is down), so a hung provider cannot hold a batch past its
    lease."""
    for position, message in enumerate(texts):
        unconfirmed = message.id in taken_over
        try:
            provider_id = (sms_transport.already_sent(message.recipient, message.text_body, message.message_id, message.created_at)
                           if unconfirmed else None)
            unconfirmed = False  # the provider answered: it has the text, or the text may be sent
            if provider_id is None:
                try:
                    provider_id = sms_transport.send(message.recipient, message.text_body, message.message_id)
                except ProviderUnreachable:
                    unconfirmed = True  # handed over, but no answer came back
                    raise
                log.info("Text %s sent", message.id)
            else:
                log.warning("Text %s was already with the provider: recorded as sent, not sent again", message.id)
        except ProviderUnreachable as error:
            _record_failure(message, error, utcnow(), policy, report, unconfirmed=unconfirmed)
            for waiting in texts[position + 1:]:
                _record_failure(waiting, error, utcnow(), policy, report, unconfirmed=waiting.id in taken_over)
            db.session.commit()
            return
        except Exception as error:  # noqa: BLE001 - any failure is recorded: retried, or dead if permanent
            _record_failure(message, error, utcnow(), policy, report, unconfirmed=unconfirmed)
        else:
            _record_sent(message, report, provider_id)
        db.session.commit()


def deliver_pending(
    transport: Transport,
    *,
    sms_transport: SmsTransport,
    sender: str,
    reply_to: str,
    policy: RetryPolicy,
    worker_id: str,
    limit: int = 50,
    only_ids=None,
    due_by: datetime | None = None,
) -> DeliveryReport:
    """Claim up to `limit` messages due by `due_by` (default now), try each once, and record
    every outcome as it happens."""
    report = DeliveryReport()
    now = due_by or utcnow()
    report.dead.extend(give_up_late_messages(now, policy))
    db.session.commit()
    claimed = claim_messages(worker_id, now, policy, limit, only_ids)
    _deliver_texts([message for message in claimed.messages if message.channel == "sms"], claimed.taken_over, sms_transport, policy, report)
    remaining = [message for message in claimed.messages if message.channel == "email"]
    if not remaining:
        return report
    try:
        with transport.session() as send:
            while remaining:
                message = remaining[0]
                if message.id in claimed.taken_over and not transport.repeats_are_harmless:
                    log.warning("Email %s was taken over from a worker that went quiet: it is sent again and may arrive twice", message.id)
                try:
                    provider_id = send(email_of(message, sender, reply_to))
                except Exception as error:  # noqa: BLE001 - any failure is recorded and retried
                    _record_failure(message, error, utcnow(), policy, report)
                else:
                    _record_sent(message, report, provider_id)
                db.session.commit()
                remaining.pop(0)
    except Exception as error:  # noqa: BLE001
        # The connection itself failed: every message not yet tried waits for another attempt.
        for message in remaining:
            _record_failure(message, error, utcnow(), policy, report)
        db.session.commit()
    return report
