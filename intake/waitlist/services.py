"""The waitlist's rules: joining and leaving it, and offering a freed time to those it suits.

A time is freed whenever an appointment is cancelled or moved (by the patient, by reception, by
erasure, or by a patient taking an offer, whose old time is freed in turn). It is offered, by each
patient's channel, to the waiting patients the pure matcher (`appointments.waitlist.matching`)
finds, first to ask first, at most `offers_per_time` of them; the first to confirm gets it.

Cancelling an appointment ends its entry (there is nothing left to bring forward). Moving it
keeps the entry: the patient still wants an earlier time, now earlier than the new one.

Plain functions taking plain arguments (no Flask request, session or app); the caller commits.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError

from intake.appointments import services as appointments
from intake.appointments.models import Appointment, Practitioner
from intake.appointments.slots import DAY_CODES, TIME_BANDS
from intake.appointments.waitlist import Waiting, matching
from intake.clinic.sites import Site, site_by_code
from intake.journey.models import AssessmentRequest
from intake.mail.notifications import MailSettings
from intake.mail.offers import OfferMessage, queue_offer
from intake.platform.extensions import db
from intake.waitlist.models import WaitlistEntry, WaitlistOffer
from intake.waitlist.tokens import new_token

# Offers that ended (let pass or declined) this long ago at most are looked at again by
# `offer_again`: a worker stopped for longer than this leaves those times as they are.
LOOK_BACK = timedelta(days=1)
# An offer closes this long before its time at the latest (half the notice, if that is shorter),
# so whoever takes it can still get there.
CLOSES_BEFORE = timedelta(hours=1)


@dataclass(frozen=True)
class WaitlistRules:
    """The settings the waitlist works by, read once from configuration."""

    mail: MailSettings
    sites: list[Site]
    default_minutes: int
    cutoff_hours: int  # a patient whose own appointment is this close cannot move online, so is not offered
    offer_hours: int  # how long an offer stands
    notice_hours: int  # a freed time closer than this is offered to nobody
    offers_per_time: int  # how many waiting patients one freed time is offered to

    @classmethod
    def from_config(cls, config) -> WaitlistRules:
        return cls(
            mail=MailSettings.from_config(config), sites=config["CLINIC_SITES"], default_minutes=config["APPOINTMENT_MINUTES"],
            cutoff_hours=config["MANAGE_CUTOFF_HOURS"], offer_hours=config["WAITLIST_OFFER_HOURS"],
            notice_hours=config["WAITLIST_NOTICE_HOURS"], offers_per_time=config["WAITLIST_OFFERS_PER_TIME"],
        )


@dataclass(frozen=True)
class FreedTime:
    """A time an appointment no longer holds: with whom, where and when (UTC)."""

    practitioner_id: int
    site_code: str
    starts_at: datetime

    @classmethod
    def of(cls, appointment: Appointment) -> FreedTime:
        """The time the appointment holds now (read it before moving or cancelling it)."""
        return cls(appointment.practitioner_id, appointment.site_code, appointment.starts_at)


def entry_for(appointment_id: int) -> WaitlistEntry | None:
    """The appointment's waiting entry, if its patient is on the waitlist."""
    return db.session.execute(
        select(WaitlistEntry).where(WaitlistEntry.appointment_id == appointment_id, WaitlistEntry.ended_at.is_(None))
    ).scalar_one_or_none()


def join(appointment: Appointment, now: datetime) -> WaitlistEntry:
    """Put the appointment's patient on the waitlist (kept as it is if they are on it already)."""
    entry = entry_for(appointment.id)
    if entry is not None:
        return entry
    try:
        with db.session.begin_nested():  # the database keeps one waiting entry per appointment
            entry = WaitlistEntry(request_id=appointment.request_id, appointment_id=appointment.id, asked_at=now)
            db.session.add(entry)
    except IntegrityError:
        return entry_for(appointment.id)  # asked twice at once: the first stands
    return entry


def end(entry: WaitlistEntry, now: datetime, because: str) -> None:
    """Take the entry off the waitlist; its open offers are withdrawn (their links then say so)."""
    entry.ended_at, entry.ended_because = now, because
    db.session.execute(
        update(WaitlistOffer).where(WaitlistOffer.entry_id == entry.id, WaitlistOffer.outcome.is_(None))
        .values(outcome="withdrawn", answered_at=now)
    )


def after_cancelling(cancelled: Iterable[Appointment], rules: WaitlistRules | None, now: datetime) -> list[int]:
    """Cancelled appointments leave the waitlist, and (given the rules) their times are offered to
    those waiting; return the ids of the offers' messages."""
    messages = []
    for appointment in cancelled:
        entry = entry_for(appointment.id)
        if entry is not None:
            end(entry, now, "appointment_cancelled")
        if rules is not None:
            messages += offer_freed(FreedTime.of(appointment), rules, now)
    return messages


def offer_url(token: str, settings: MailSettings) -> str:
    return f"{settings.public_base_url}/appointment/offer?token={token}"


def _known(codes: Iterable[str], known: Iterable[str]) -> tuple[str, ...]:
    return tuple(code for code in codes if code in known)


def _waiting_for(freed: FreedTime) -> list[tuple[Waiting, AssessmentRequest]]:
    """Everyone waiting at the freed time's site whose appointment is later than it, with their request."""
    rows = db.session.execute(
        select(WaitlistEntry, Appointment.starts_at, AssessmentRequest)
        .join(Appointment, Appointment.id == WaitlistEntry.appointment_id)
        .join(AssessmentRequest, AssessmentRequest.id == WaitlistEntry.request_id)
        .where(WaitlistEntry.ended_at.is_(None), Appointment.cancelled.is_(False), Appointment.site_code == freed.site_code,
               Appointment.starts_at > freed.starts_at, AssessmentRequest.erased_at.is_(None))
    ).all()
    return [
        (Waiting(entry.id, freed.site_code, _known(request.available_days, DAY_CODES), _known(request.available_times, TIME_BANDS),
                 current_start, entry.asked_at), request)
        for entry, current_start, request in rows
    ]


def offer_freed(freed: FreedTime, rules: WaitlistRules, now: datetime) -> list[int]:
    """Offer a freed time to the waiting patients it suits, first to ask first (the caller
    commits); return the ids of the offers' messages. A time no longer free, or too soon, is
    offered to nobody."""
    notice = timedelta(hours=rules.notice_hours)
    if freed.starts_at < now + notice:
        return []
    try:
        slot = appointments.offered(appointments.Choice(freed.practitioner_id, freed.site_code, freed.starts_at), now,
                                    default_minutes=rules.default_minutes, for_staff=True)
    except appointments.BookingError:
        return []  # taken again already, or no longer a time the diary offers
    waiting = dict(_waiting_for(freed))
    # Nobody is offered the same time twice: not while an offer stands, nor after they let it
    # pass or said no.
    already = set(db.session.execute(select(WaitlistOffer.entry_id).where(
        WaitlistOffer.practitioner_id == slot.practitioner_id, WaitlistOffer.starts_at == slot.starts_at,
    )).scalars())
    chosen = [found for found in matching(slot, list(waiting), now=now, cutoff=timedelta(hours=rules.cutoff_hours), notice=notice)
              if found.entry_id not in already][:rules.offers_per_time]
    expires = min(now + timedelta(hours=rules.offer_hours), slot.starts_at - min(CLOSES_BEFORE, notice / 2))
    practitioner = db.session.get(Practitioner, slot.practitioner_id).name
    messages = []
    for found in chosen:
        request = waiting[found]
        token, digest = new_token()
        offer = WaitlistOffer(entry_id=found.entry_id, practitioner_id=slot.practitioner_id, site_code=slot.site_code,
                              starts_at=slot.starts_at, token_digest=digest, channel="email", offered_at=now, expires_at=expires)
        db.session.add(offer)
        db.session.flush()
        offer.channel, message_id = queue_offer(OfferMessage(
            offer.id, request.id, request.email, request.phone, request.contact_method == "text", slot.starts_at,
            site_by_code(rules.sites, slot.site_code), practitioner, expires, offer_url(token, rules.mail),
        ), rules.mail, now)
        messages.append(message_id)
    return messages


def offer_again(rules: WaitlistRules, now: datetime) -> list[int]:
    """Offer each time whose offers have all ended untaken (let pass or declined) to the next
    patients waiting who suit it, if it is still free and far enough ahead (the caller commits);
    return the offers' message ids. Run by the outbox worker every few minutes; on PostgreSQL the
    ended offers of a time are locked by the worker that reads them, so two workers never offer
    the same time twice at once."""
    since = now - LOOK_BACK
    ended = (
        select(WaitlistOffer.practitioner_id, WaitlistOffer.site_code, WaitlistOffer.starts_at)
        .where(WaitlistOffer.starts_at > now + timedelta(hours=rules.notice_hours),
               ((WaitlistOffer.outcome == "declined") & (WaitlistOffer.answered_at > since))
               | (WaitlistOffer.outcome.is_(None) & (WaitlistOffer.expires_at <= now) & (WaitlistOffer.expires_at > since)))
    )
    if db.engine.dialect.name == "postgresql":
        ended = ended.with_for_update(skip_locked=True)
    messages = []
    for time_ in sorted(set(db.session.execute(ended).all())):
        still_open = db.session.execute(select(WaitlistOffer.id).where(
            WaitlistOffer.practitioner_id == time_.practitioner_id, WaitlistOffer.starts_at == time_.starts_at,
            (WaitlistOffer.outcome == "taken") | (WaitlistOffer.outcome.is_(None) & (WaitlistOffer.expires_at > now)),
        ).limit(1)).first()
        if still_open is None:
            messages += offer_freed(FreedTime(*time_), rules, now)
    return messages
