"""The patient's side of the waitlist: asking for an earlier time and leaving (through the manage
link), and answering an offer (through the offer's own link). Every action is audited.

Taking an offer moves the patient's appointment with `appointments.services.move`, so the
database's no-overlap rule decides between two patients confirming the same time at once: one
wins, the other's appointment is unchanged and they are told the time has gone. The winner's old
time is freed, and offered in turn.

Plain functions taking plain arguments (no Flask request, session or app); the caller commits.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select, update

from intake.appointments import services as appointments
from intake.appointments.models import Appointment, Practitioner
from intake.clinic.sites import Site, site_by_code
from intake.journey.models import AssessmentRequest
from intake.mail.notifications import RequestDetails, queue_appointment_email
from intake.platform.extensions import db
from intake.platform.timeutil import LONDON
from intake.self_service import services as manage
from intake.staff.audit import audit
from intake.staff.services import appointment_details
from intake.waitlist import services as waitlist
from intake.waitlist.models import WaitlistEntry, WaitlistOffer
from intake.waitlist.tokens import offer_for

OFFER_ACTOR = "The patient (waitlist offer link)"


class OfferUnknown(Exception):
    """The token opens no offer: mistyped, forged, or never sent."""


class OfferClosed(Exception):
    """The offer can no longer be taken; `why` says which way (for the page), `offered` what it was."""

    def __init__(self, why: str, offered: Offered) -> None:
        super().__init__(why)
        self.why = why
        self.offered = offered


@dataclass(frozen=True)
class Offered:
    """What an offer's page shows: the first name, the time offered, and the appointment it would replace."""

    offer: WaitlistOffer
    first_name: str
    starts: datetime  # London time, as are the others
    site: Site | None
    practitioner: str
    current: datetime
    expires: datetime


def _read(offer: WaitlistOffer, sites: list[Site]) -> tuple[WaitlistEntry, Appointment, AssessmentRequest, Offered]:
    entry = db.session.get(WaitlistEntry, offer.entry_id, populate_existing=True)
    appointment = db.session.get(Appointment, entry.appointment_id, populate_existing=True)
    request = db.session.get(AssessmentRequest, entry.request_id)
    offered = Offered(offer, request.first_name, offer.starts_at.astimezone(LONDON), site_by_code(sites, offer.site_code),
                      db.session.get(Practitioner, offer.practitioner_id).name, appointment.starts_at.astimezone(LONDON),
                      offer.expires_at.astimezone(LONDON))
    return entry, appointment, request, offered


def _refuse_unless_open(offer: WaitlistOffer, appointment: Appointment, request: AssessmentRequest, offered: Offered,
                        *, now: datetime, rules: waitlist.WaitlistRules) -> None:
    """Raise OfferClosed unless the patient may take the offer now (whether the time is still free aside)."""
    state = offer.state(now)
    if state != "open":
        raise OfferClosed(state, offered)
    if appointment.cancelled or request.erased or appointment.starts_at <= now:
        raise OfferClosed("withdrawn", offered)
    if appointment.starts_at <= offer.starts_at:
        raise OfferClosed("not_earlier", offered)  # they moved to an earlier time themselves meanwhile
    if appointment.starts_at - timedelta(hours=rules.cutoff_hours) <= now:
        raise OfferClosed("too_late", offered)


def _audited_refusal(offer: WaitlistOffer, appointment: Appointment, request: AssessmentRequest, offered: Offered,
                     *, now: datetime, rules: waitlist.WaitlistRules) -> None:
    """As `_refuse_unless_open`, auditing an answer to an offer that is closed (the caller commits it)."""
    try:
        _refuse_unless_open(offer, appointment, request, offered, now=now, rules=rules)
    except OfferClosed as closed:
        audit(None, "waitlist_offer_closed", request.id, now, email=OFFER_ACTOR, starts_at=offer.starts_at.isoformat(), why=closed.why)
        raise


def _choice(offer: WaitlistOffer) -> appointments.Choice:
    return appointments.Choice(offer.practitioner_id, offer.site_code, offer.starts_at)


def _offer(token: str) -> WaitlistOffer:
    """The offer a link's token opens. Raises OfferUnknown for anything that is not a token we gave."""
    offer = offer_for(token)
    if offer is None:
        raise OfferUnknown()
    return offer


def open_offer(token: str, *, now: datetime, rules: waitlist.WaitlistRules) -> Offered:
    """What the offer's link shows now. Raises OfferUnknown, or OfferClosed (taken by them, gone, expired, ...)."""
    offer = _offer(token)
    _, appointment, request, offered = _read(offer, rules.sites)
    _refuse_unless_open(offer, appointment, request, offered, now=now, rules=rules)
    try:
        appointments.offered(_choice(offer), now, default_minutes=rules.default_minutes, for_staff=True)
    except appointments.BookingError:
        raise OfferClosed("gone", offered) from None
    return offered


def _gone(token: str, now: datetime, sites: list[Site]) -> OfferClosed:
    """After a refused move (rolled back): the offer is marked gone, and the attempt audited, in a new transaction."""
    db.session.rollback()
    offer = offer_for(token)
    entry, _, _, offered = _read(offer, sites)
    if offer.outcome is None:
        offer.outcome, offer.answered_at = "gone", now
    audit(None, "waitlist_offer_gone", entry.request_id, now, email=OFFER_ACTOR, starts_at=offer.starts_at.isoformat())
    return OfferClosed("gone", offered)


def take(token: str, *, now: datetime, rules: waitlist.WaitlistRules) -> list[int]:
    """Move the patient's appointment to the offered time, close the offer's other copies, take
    them off the waitlist, email them, and offer their old time in turn; return the messages' ids.
    Raises OfferUnknown or OfferClosed (after marking the offer gone, to be committed, if the time went)."""
    offer = _offer(token)
    entry = db.session.get(WaitlistEntry, offer.entry_id)
    # One answer per patient at a time: their appointment's row is held until the commit.
    db.session.execute(select(Appointment.id).where(Appointment.id == entry.appointment_id).with_for_update())
    offer = offer_for(token)
    entry, appointment, request, offered = _read(offer, rules.sites)
    _audited_refusal(offer, appointment, request, offered, now=now, rules=rules)
    freed = waitlist.FreedTime.of(appointment)
    earlier = {"starts_at": appointment.starts_at.isoformat(), "clinician": appointment.practitioner.name, "site": appointment.site_code}
    try:
        appointments.move(appointment, _choice(offer), now=now, default_minutes=rules.default_minutes,
                          seen_sequence=appointment.sequence, for_staff=True)
    except appointments.BookingError:
        raise _gone(token, now, rules.sites) from None
    db.session.refresh(appointment, ["practitioner"])
    offer.outcome, offer.answered_at = "taken", now
    db.session.execute(
        update(WaitlistOffer).where(WaitlistOffer.practitioner_id == offer.practitioner_id, WaitlistOffer.starts_at == offer.starts_at,
                                    WaitlistOffer.outcome.is_(None), WaitlistOffer.id != offer.id)
        .values(outcome="gone", answered_at=now)
    )
    waitlist.end(entry, now, "offer_taken")
    later = {"starts_at": appointment.starts_at.isoformat(), "clinician": appointment.practitioner.name, "site": appointment.site_code}
    audit(None, "waitlist_take_offer", request.id, now, email=OFFER_ACTOR, appointment_id=appointment.id, **{"from": earlier, "to": later})
    request.updated_at = now
    email = queue_appointment_email(RequestDetails.of(request), appointment_details(appointment, now, rules.mail),
                                    site_by_code(rules.sites, appointment.site_code), rules.mail, change="moved")
    return [email, *waitlist.offer_freed(freed, rules, now)]


def decline(token: str, *, now: datetime, rules: waitlist.WaitlistRules) -> None:
    """Say no to the offer (the patient stays on the waitlist for other times). Raises OfferUnknown or OfferClosed."""
    offer = _offer(token)
    entry, appointment, request, offered = _read(offer, rules.sites)
    _audited_refusal(offer, appointment, request, offered, now=now, rules=rules)
    offer.outcome, offer.answered_at = "declined", now
    audit(None, "waitlist_decline_offer", entry.request_id, now, email=OFFER_ACTOR, starts_at=offer.starts_at.isoformat())


@dataclass(frozen=True)
class Wishes:
    """When the patient said they can come (their request's answers: the times they are offered), and how they hear."""

    days: list[str]
    times: list[str]
    by_text: bool


def wishes(appointment: Appointment) -> Wishes:
    """The waiting page's words about which times the patient would be offered, and how."""
    request = db.session.get(AssessmentRequest, appointment.request_id)
    return Wishes(list(request.available_days), list(request.available_times), request.contact_method == "text")


def join(token: str, *, now: datetime, cutoff_hours: int, sites: list[Site]) -> WaitlistEntry:
    """Put the manage link's appointment on the waitlist. Raises LinkUnknown, LinkEnded or TooLate."""
    managed = manage.open_link(token, now=now, cutoff_hours=cutoff_hours, sites=sites)
    if not managed.changeable:
        raise manage.TooLate()
    already = waitlist.entry_for(managed.appointment.id)
    entry = already or waitlist.join(managed.appointment, now)
    if already is None:
        audit(None, "waitlist_join", managed.appointment.request_id, now, email=manage.PATIENT_ACTOR, appointment_id=managed.appointment.id)
    return entry


def leave(token: str, *, now: datetime, cutoff_hours: int, sites: list[Site]) -> None:
    """Take the manage link's appointment off the waitlist (nothing to do if it is not on it). Raises LinkUnknown or LinkEnded."""
    managed = manage.open_link(token, now=now, cutoff_hours=cutoff_hours, sites=sites)
    entry = waitlist.entry_for(managed.appointment.id)
    if entry is not None:
        waitlist.end(entry, now, "left")
        audit(None, "waitlist_leave", managed.appointment.request_id, now, email=manage.PATIENT_ACTOR, appointment_id=managed.appointment.id)
