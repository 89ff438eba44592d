"""The privacy notice's version: the page shows it, and each request stores the one the patient agreed to.

A change to the notice's wording (templates/pages/privacy.html) must come with a new version:
`PRIVACY_NOTICE.sha256` is the template's fingerprint at this version, and a test fails when the
template no longer matches it, saying to raise the version, date it and record the new fingerprint.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from hashlib import sha256
from pathlib import Path

TEMPLATE = Path(__file__).resolve().parents[2] / "templates" / "pages" / "privacy.html"


@dataclass(frozen=True)
class NoticeVersion:
    """One version of the privacy notice: its number, the day it took effect, its template's SHA-256."""

    number: str
    dated: date
    sha256: str


PRIVACY_NOTICE = NoticeVersion("1", date(2026, 11, 30), "37f80045cf77c5aa00dc9a719681a1ce53dc17716bb757659747d32fac1e26eb")


def template_fingerprint() -> str:
    """The SHA-256 of the notice's template as it is on disk now."""
    return sha256(TEMPLATE.read_bytes()).hexdigest()
