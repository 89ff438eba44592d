"""Reception's view of the waitlist: who is waiting at a site, first to ask first, with what each
has been offered and what became of it; and the times lately refilled from it. Reads only."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select

from intake.appointments.models import Appointment, Practitioner
from intake.journey.models import AssessmentRequest
from intake.platform.extensions import db
from intake.waitlist.models import WaitlistEntry, WaitlistOffer

# How far back the list of offers already answered or ended reaches.
RECENT = timedelta(days=14)


@dataclass(frozen=True)
class OfferLine:
    """One offer: the time offered, with whom, how it was sent, until when, and what became of it."""

    starts_at: datetime
    practitioner: str
    channel: str
    offered_at: datetime
    expires_at: datetime
    state: str  # open, expired, taken, gone, declined, withdrawn


@dataclass(frozen=True)
class WaitingLine:
    """One patient waiting: who, their appointment now, when they asked, when they can come, and their offers."""

    reference: str
    name: str
    appointment_starts_at: datetime
    asked_at: datetime
    days: list[str]
    times: list[str]
    offers: list[OfferLine]


def _offers(entry_ids: list[int], now: datetime) -> dict[int, list[OfferLine]]:
    found: dict[int, list[OfferLine]] = {entry_id: [] for entry_id in entry_ids}
    rows = db.session.execute(
        select(WaitlistOffer, Practitioner.name).join(Practitioner, Practitioner.id == WaitlistOffer.practitioner_id)
        .where(WaitlistOffer.entry_id.in_(entry_ids)).order_by(WaitlistOffer.offered_at, WaitlistOffer.id)
    )
    for offer, practitioner in rows:
        found[offer.entry_id].append(
            OfferLine(offer.starts_at, practitioner, offer.channel, offer.offered_at, offer.expires_at, offer.state(now)))
    return found


def waiting_at(site_code: str, now: datetime) -> list[WaitingLine]:
    """Everyone waiting for an earlier time at the site (their appointment still to come), first to ask first."""
    rows = db.session.execute(
        select(WaitlistEntry, Appointment.starts_at, AssessmentRequest)
        .join(Appointment, Appointment.id == WaitlistEntry.appointment_id)
        .join(AssessmentRequest, AssessmentRequest.id == WaitlistEntry.request_id)
        .where(WaitlistEntry.ended_at.is_(None), Appointment.cancelled.is_(False), Appointment.site_code == site_code,
               Appointment.starts_at > now)
        .order_by(WaitlistEntry.asked_at, WaitlistEntry.id)
    ).all()
    offers = _offers([entry.id for entry, _, _ in rows], now)
    return [
        WaitingLine(request.reference, f"{request.first_name} {request.last_name}", starts_at, entry.asked_at,
                    list(request.available_days), list(request.available_times), offers[entry.id])
        for entry, starts_at, request in rows
    ]


@dataclass(frozen=True)
class RefilledLine:
    """A time lately taken from the waitlist, and by whom."""

    starts_at: datetime
    practitioner: str
    reference: str
    name: str
    taken_at: datetime


def lately_refilled(site_code: str, now: datetime) -> list[RefilledLine]:
    """The site's offers taken in the last fortnight, newest first."""
    rows = db.session.execute(
        select(WaitlistOffer, Practitioner.name, AssessmentRequest)
        .join(Practitioner, Practitioner.id == WaitlistOffer.practitioner_id)
        .join(WaitlistEntry, WaitlistEntry.id == WaitlistOffer.entry_id)
        .join(AssessmentRequest, AssessmentRequest.id == WaitlistEntry.request_id)
        .where(WaitlistOffer.site_code == site_code, WaitlistOffer.outcome == "taken", WaitlistOffer.answered_at > now - RECENT)
        .order_by(WaitlistOffer.answered_at.desc(), WaitlistOffer.id.desc())
    )
    return [RefilledLine(offer.starts_at, practitioner, request.reference, f"{request.first_name} {request.last_name}", offer.answered_at)
            for offer, practitioner, request in rows]


def refilled_times(site_codes: list[str], starts: datetime, ends: datetime) -> list[tuple[str, datetime]]:
    """(site, start) of every time refilled from the waitlist starting in [starts, ends): for the dashboard."""
    return [(site, starts_at) for site, starts_at in db.session.execute(
        select(WaitlistOffer.site_code, WaitlistOffer.starts_at).where(
            WaitlistOffer.outcome == "taken", WaitlistOffer.site_code.in_(site_codes),
            WaitlistOffer.starts_at >= starts, WaitlistOffer.starts_at < ends)
    )]


