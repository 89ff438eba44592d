"""The waitlist's offer of an earlier time: a text to those who chose texts (an email when their
number cannot take texts), an email to everyone else. Queued in the caller's transaction.

Like every message to a patient it says nothing of their health and nothing they typed: the
time, the place, until when the offer stands, and the link. The text is two SMS segments at
most: a long clinic or site name is left out rather than the text refused.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from flask import render_template

from intake.clinic.sites import Site
from intake.mail.models import OutboxMessage
from intake.mail.notifications import MailSettings
from intake.mail.segments import MAX_SEGMENTS, segment_count
from intake.mail.texts import EmailInstead, email_columns, text_or_email_columns
from intake.platform.extensions import db
from intake.platform.timeutil import LONDON

KIND = "waitlist_offer"


@dataclass(frozen=True)
class OfferMessage:
    """What an offer's message says and where it goes (plain values: mail knows no waitlist model)."""

    offer_id: int
    request_id: int
    email: str
    phone: str  # E.164
    by_text: bool  # the patient chose texts
    starts_at: datetime
    site: Site | None
    practitioner: str
    expires_at: datetime
    url: str


def offer_text(offer: OfferMessage, settings: MailSettings) -> str:
    """The offer as a text of at most two segments."""
    starts, until = offer.starts_at.astimezone(LONDON), offer.expires_at.astimezone(LONDON)
    when = starts.strftime("%a %-d %b at %H:%M")
    place = f" at {offer.site.name}" if offer.site else ""
    wordings = (
        f"{settings.clinic_name}: an earlier physio assessment is free, {when}{place}. The first to confirm gets it. "
        f"Take it by {until:%H:%M} on {until:%-d %b}: {offer.url}",
        f"An earlier physio assessment is free, {when}{place}. Take it by {until:%H:%M} on {until:%-d %b}: {offer.url}",
        f"An earlier physio time is free, {when}. Take it by {until:%H:%M}: {offer.url}",
    )
    return next((text for text in wordings if segment_count(text) <= MAX_SEGMENTS), wordings[-1])


def _email(offer: OfferMessage, settings: MailSettings) -> EmailInstead:
    context = {"offer": offer, "settings": settings, "starts": offer.starts_at.astimezone(LONDON), "until": offer.expires_at.astimezone(LONDON)}
    return EmailInstead(
        recipient=offer.email,
        subject=f"An earlier assessment time is free – {context['starts']:%-d %B at %H:%M}",
        text_body=render_template(f"mail/{KIND}.txt", **context),
        html_body=render_template(f"mail/{KIND}.html", **context),
        message_id_domain=settings.message_id_domain,
    )


def queue_offer(offer: OfferMessage, settings: MailSettings, now: datetime) -> tuple[str, int]:
    """Queue the offer by the patient's channel, never to be sent once it has expired (the caller
    commits); return the channel used and the message's id."""
    email, key = _email(offer, settings), f"{offer.offer_id}"
    if offer.by_text and offer.phone:
        columns = text_or_email_columns(offer.phone, offer_text(offer, settings), KIND, offer.request_id, now, email, key=key, now=now)
    else:
        columns = email_columns(email, KIND, offer.request_id, now, key=key, now=now)
    message = OutboxMessage(status="pending", attempts=0, send_before=offer.expires_at, **columns)
    db.session.add(message)
    db.session.flush()
    return columns["channel"], message.id
