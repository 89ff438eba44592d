"""The offer link's token: 256 random bits, given once in the offer's message; the database keeps
only its SHA-256 digest (as the manage link does), by which the offer is found."""

from __future__ import annotations

import hashlib
import secrets

from sqlalchemy import select

from intake.appointments.manage_links import TOKEN_PATTERN
from intake.platform.extensions import db
from intake.waitlist.models import WaitlistOffer


def new_token() -> tuple[str, str]:
    """A fresh token and the digest to store for it."""
    token = secrets.token_urlsafe(32)  # 43 URL-safe characters, the manage link's shape
    return token, digest(token)


def digest(token: str) -> str:
    return hashlib.sha256(token.encode("ascii")).hexdigest()


def offer_for(token: str) -> WaitlistOffer | None:
    """The offer a token opens, as the database holds it now, or None for anything that is not a token we sent."""
    if not TOKEN_PATTERN.fullmatch(token or ""):
        return None
    return db.session.execute(
        select(WaitlistOffer).where(WaitlistOffer.token_digest == digest(token)).execution_options(populate_existing=True)
    ).scalar_one_or_none()
