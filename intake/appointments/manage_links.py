"""The patient's manage link: a token that opens one appointment, and finding the appointment by it.

The token is 256 bits: an HMAC-SHA256, with the app's secret key, of a random nonce kept for the
appointment. It names no person, no request and no appointment number, and carries nothing of
anyone's health. Plain functions taking plain arguments (the secret too), reading through `db.session`.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import secrets
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.dialects import postgresql, sqlite

from intake.appointments.models import Appointment, ManageLink
from intake.platform.extensions import db

# What a token looks like: 43 URL-safe base64 characters (256 bits, unpadded).
TOKEN_PATTERN = re.compile(r"[A-Za-z0-9_-]{43}", re.ASCII)


def token_of(nonce: str, secret: str) -> str:
    """The token a link's nonce gives with the app's secret key."""
    signed = hmac.new(secret.encode(), f"manage-appointment:{nonce}".encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(signed).rstrip(b"=").decode("ascii")


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode("ascii")).hexdigest()


def token_for(appointment_id: int, secret: str, now: datetime) -> str:
    """The appointment's manage token, made the first time it is asked for (the caller commits).
    Two transactions making it at once (two reminder workers) agree on one: the second's insert
    gives way to the first's, and both read the nonce that was kept."""
    link = db.session.get(ManageLink, appointment_id)
    if link is not None:
        return token_of(link.nonce, secret)
    nonce = secrets.token_hex(16)
    dialect = postgresql if db.engine.dialect.name == "postgresql" else sqlite
    db.session.execute(dialect.insert(ManageLink).values(
        appointment_id=appointment_id, nonce=nonce, token_digest=_digest(token_of(nonce, secret)), created_at=now,
    ).on_conflict_do_nothing(index_elements=["appointment_id"]))
    kept = db.session.execute(select(ManageLink.nonce).where(ManageLink.appointment_id == appointment_id)).scalar_one()
    return token_of(kept, secret)


def existing_token(appointment_id: int, secret: str) -> str | None:
    """The appointment's manage token if it has one (made when it was booked); reads only."""
    link = db.session.get(ManageLink, appointment_id)
    return None if link is None else token_of(link.nonce, secret)


def appointment_for(token: str) -> Appointment | None:
    """The appointment a token opens, or None for anything that is not a token we gave."""
    if not TOKEN_PATTERN.fullmatch(token or ""):
        return None
    return db.session.execute(
        select(Appointment).join(ManageLink, ManageLink.appointment_id == Appointment.id).where(ManageLink.token_digest == _digest(token))
    ).scalar_one_or_none()


def manage_url(appointment_id: int, *, secret: str, base_url: str, now: datetime) -> str:
    """The address of the appointment's manage page, for emails (its token made the first time)."""
    return address(base_url, token_for(appointment_id, secret, now))


def address(base_url: str, token: str) -> str:
    """The manage page's address for a token."""
    return f"{base_url}/appointment?token={token}"
