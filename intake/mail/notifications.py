"""The emails a new request sends: one to the clinic, one to the patient, written to the outbox."""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Sequence
from dataclasses import dataclass, field, fields
from datetime import date, datetime, timedelta
from email.utils import parseaddr
from functools import cached_property
from typing import Any, Protocol

from flask import render_template
from icalendar import Calendar, Event
from sqlalchemy import func, insert, select

from intake.clinic import vocabulary
from intake.clinic.sites import Site
from intake.platform.extensions import db
from intake.mail.models import OutboxMessage
from intake.platform.timeutil import LONDON

log = logging.getLogger(__name__)

SUBJECT_PREFIXES = {"emergency": "[EMERGENCY] ", "urgent": "[URGENT] ", "routine": ""}
# The emails a stranger can make the app send to any address by submitting the form; the cap
# on acknowledgements per address counts these.
ACKNOWLEDGEMENT_KINDS = ("patient_acknowledgement", "patient_booking_confirmation")


@dataclass(frozen=True)
class MailSettings:
    """What the message builders need to know, read once from configuration."""

    clinic_name: str
    clinic_phone: str
    clinic_email: str
    sender: str
    public_base_url: str
    include_symptom_summary: bool
    include_urgency_reasons: bool
    acknowledgements_per_address_per_day: int
    link_secret: str = field(default="", repr=False)  # makes the patients' manage links (the app's secret key)

    @classmethod
    def from_config(cls, config) -> MailSettings:
        return cls(
            clinic_name=config["CLINIC_NAME"],
            clinic_phone=config["CLINIC_PHONE"],
            clinic_email=config["CLINIC_EMAIL"],
            sender=config["MAIL_DEFAULT_SENDER"],
            public_base_url=config["PUBLIC_BASE_URL"].rstrip("/"),
            include_symptom_summary=bool(config["MAIL_CLINIC_SYMPTOM_SUMMARY"]),
            include_urgency_reasons=bool(config["MAIL_CLINIC_URGENCY_REASONS"]),
            acknowledgements_per_address_per_day=int(config["MAIL_ACKNOWLEDGEMENTS_PER_ADDRESS_PER_DAY"]),
            link_secret=config["SECRET_KEY"],
        )

    @cached_property
    def message_id_domain(self) -> str:
        """The domain of the sender's address, for Message-IDs (worked out once: a scan names thousands)."""
        address = parseaddr(self.sender)[1]
        return address.rpartition("@")[2] or "localhost"


@dataclass(frozen=True)
class RequestDetails:
    """What the emails say about a stored request: a plain copy, so mail needs no request model."""

    id: int
    reference: str
    urgency: str
    urgency_reasons: list[dict[str, str]]
    first_name: str
    last_name: str
    email: str
    phone: str
    contact_method: str
    site_code: str
    region: str
    side: str
    duration: str
    pain_now: int
    pain_worst: int
    available_days: list[str]
    available_times: list[str]
    earliest_date: date | None
    availability_note: str
    created_at: datetime
    free_text_flags: list[dict[str, Any]] = field(default_factory=list)

    @classmethod
    def of(cls, stored: Any) -> RequestDetails:
        """Copy the fields the emails use from any object that has them (a stored request)."""
        return cls(**{name.name: getattr(stored, name.name) for name in fields(cls)})

    @property
    def care_card(self) -> str | None:
        """The care card the patient was shown (vocabulary.CARE_CARDS), None when routine."""
        return care_card_of(self.urgency, self.urgency_reasons)


# The card of a flagged request stored before each reason kept its own.
CARD_OF_URGENCY = {"emergency": "emergency", "urgent": "gp_today"}
CARD_ORDER = ("emergency", "same_day", "gp_today")


def care_card_of(urgency: str, reasons: Sequence[dict[str, str]]) -> str | None:
    """The most pressing care card of a request's reasons (each with its `advice`), or, for reasons
    stored before they kept one, the card its urgency showed then."""
    if urgency not in CARD_OF_URGENCY:
        return None
    kept = {reason.get("advice") for reason in reasons}
    return next((card for card in CARD_ORDER if card in kept), CARD_OF_URGENCY[urgency])


@dataclass(frozen=True)
class AppointmentDetails:
    """What the emails say about an appointment: when, how long, with whom, and which version
    of it (`sequence` rises with every move, so calendars update the one event)."""

    id: int
    starts_at: datetime
    minutes: int
    created_at: datetime
    clinician_name: str
    sequence: int = 0
    manage_url: str = ""  # where the patient moves or cancels it themselves ("" once cancelled)


@dataclass(frozen=True)
class PatientFacing:
    """All the patient's emails and invites may say about their request: our reference and the
    urgency we worked out, nothing the patient typed.

    No address in this app is proven to belong to whoever typed it, so anything typed that can
    carry a sentence or a web address (a first name may hold dots and 100 characters: "Ann. Your
    booking is cancelled. Pay at ...") would let a stranger send our branded words to anyone.
    Greeting without the name loses little; a "plain name" filter would still let words through.
    """

    reference: str
    urgency: str
    care_card: str | None = None

    @classmethod
    def of(cls, request: RequestDetails) -> PatientFacing:
        return cls(reference=request.reference, urgency=request.urgency, care_card=request.care_card)


class ArticleLink(Protocol):
    """An article the acknowledgement suggests: its title and its address on the site."""

    title: str
    slug: str


def symptom_summary(request: RequestDetails) -> str:
    """One line about the problem, for clinics that choose to include it in their email."""
    return (
        f"{vocabulary.label_for(vocabulary.BODY_REGIONS, request.region)}, "
        f"{vocabulary.label_for(vocabulary.SIDES, request.side).lower()}, "
        f"{vocabulary.label_for(vocabulary.DURATIONS, request.duration).lower()}, "
        f"pain {request.pain_now}/10 now and {request.pain_worst}/10 at worst"
    )


@dataclass(frozen=True)
class WordsFlag:
    """What the clinic's email says of the red flags in the patient's own words: always the
    highest level, and the reasons (our words, never theirs) only where the settings allow."""

    level: str
    reasons: tuple[str, ...]


ANSWERED = {"yes": "they answered yes when asked directly", "no": "they answered no when asked directly", None: "not asked again"}


def words_flag(request: RequestDetails, settings: MailSettings) -> WordsFlag | None:
    """The email's line about the red flags in the patient's words, if their words showed any."""
    flags = request.free_text_flags
    if not flags:
        return None
    level = "emergency" if any(flag["level"] == "emergency" for flag in flags) else "urgent"
    reasons = tuple(
        f"{flag['reason']} ({ANSWERED[flag['answer']]}{'' if flag['current'] else '; the words were taken out before sending'})"
        for flag in flags
    ) if settings.include_urgency_reasons else ()
    return WordsFlag(level, reasons)


OUTBOX = OutboxMessage.__table__
# Plain inserts that give back the new messages' ids, in the order the messages were given.
INSERT_MESSAGES = insert(OUTBOX).returning(OUTBOX.c.id, sort_by_parameter_order=True)


def _add_to_outbox(messages: list[dict[str, Any]]) -> list[int]:
    """Insert the messages in the session's transaction (the caller commits); return their ids."""
    return list(db.session.execute(INSERT_MESSAGES, messages).scalars())


def _message(kind: str, request: RequestDetails, recipient: str, subject: str, settings: MailSettings, **context) -> dict[str, Any]:
    """The outbox row of one email about a request, its bodies rendered from the kind's templates.

    Only the clinic's emails see the whole request; the patient's see a PatientFacing copy.
    """
    shown = request if kind.startswith("clinic_") else PatientFacing.of(request)
    context = {"request": shown, "settings": settings, **context}
    return dict(
        kind=kind,
        request_id=request.id,
        recipient=recipient,
        subject=subject,
        text_body=render_template(f"mail/{kind}.txt", **context),
        html_body=render_template(f"mail/{kind}.html", **context),
        message_id=f"<{kind}.{request.reference}@{settings.message_id_domain}>",
        status="pending",
        attempts=0,
        next_attempt_at=request.created_at,
        created_at=request.created_at,
        attachment_name=None,
        attachment_type=None,
        attachment_body=None,
    )


def address_digest(address: str) -> str:
    """A short fingerprint of an address, to tell addresses apart in logs without showing them."""
    return hashlib.sha256(address.strip().lower().encode("utf-8")).hexdigest()[:12]


def acknowledgements_sent_to(address: str, since: datetime) -> int:
    """How many acknowledgements the outbox holds for `address` (in any letter case) since then:
    the outbox is shared by every worker and server, so the count is too."""
    return db.session.execute(
        select(func.count()).select_from(OUTBOX).where(
            func.lower(OUTBOX.c.recipient) == address.strip().lower(),
            OUTBOX.c.kind.in_(ACKNOWLEDGEMENT_KINDS),
            OUTBOX.c.created_at > since,
        )
    ).scalar_one()


def may_acknowledge(request: RequestDetails, settings: MailSettings) -> bool:
    """Whether the request's address may get one more acknowledgement: at most the setting's
    number in 24 hours, whoever submits, so the form cannot be used to flood an address."""
    sent = acknowledgements_sent_to(request.email, request.created_at - timedelta(hours=24))
    if sent < settings.acknowledgements_per_address_per_day:
        return True
    log.warning(
        "No acknowledgement queued for request %s: its address (digest %s) has had %d in 24 hours",
        request.reference, address_digest(request.email), sent,
    )
    return False


def queue_new_request_emails(
    request: RequestDetails,
    site: Site | None,
    settings: MailSettings,
    articles: Sequence[ArticleLink] = (),
    appointment: AppointmentDetails | None = None,
) -> list[int]:
    """Add the clinic's notification and the patient's acknowledgement to the outbox (caller
    commits); return their ids. When the patient chose a time themselves, the clinic's email
    says when, and the patient's acknowledgement is their booking confirmation with its invite.
    An address that has had its day's acknowledgements gets none (the clinic's email still goes).

    The clinic email holds what reception needs to call back and the urgency level, not the
    clinical answers (ICO advice on health data in email); settings may add the urgency reasons
    and a symptom summary, and its footer says which. Headers carry only configured text, the
    reference and the single validated recipient address.
    """
    clinic_subject = f"{SUBJECT_PREFIXES[request.urgency]}New assessment request {request.reference}"
    if appointment is not None:
        clinic_subject = f"Booked online: {appointment.starts_at.astimezone(LONDON).strftime('%-d %b %H:%M')}, {request.reference}"
    if site is not None:
        clinic_subject += f" – {site.name}"
    link_list = [{"title": article.title, "url": f"{settings.public_base_url}/articles/{article.slug}"} for article in articles]
    messages = [
        _message(
            "clinic_new_request",
            request,
            (site.email if site and site.email else settings.clinic_email),
            clinic_subject,
            settings,
            site=site,
            staff_url=f"{settings.public_base_url}/staff/requests/{request.reference}",
            summary=symptom_summary(request) if settings.include_symptom_summary else "",
            reasons=[reason for reason in request.urgency_reasons if not reason["code"].startswith("words_")] if settings.include_urgency_reasons else [],
            words=words_flag(request, settings),
            appointment=appointment,
            starts=appointment.starts_at.astimezone(LONDON) if appointment else None,
        ),
    ]
    if may_acknowledge(request, settings):
        messages.append(
            _message(
                "patient_acknowledgement",
                request,
                request.email,
                f"We have your request – reference {request.reference}",
                settings,
                site=site,
                articles=link_list,
            ) if appointment is None else _booking_message(request, appointment, site, settings, articles=link_list)
        )
    return _add_to_outbox(messages)


def calendar_invite(
    appointment: AppointmentDetails, site: Site | None, settings: MailSettings, request: PatientFacing,
    *, cancelled: bool = False,
) -> str:
    """An iCalendar file for the appointment, in Europe/London time, that any calendar app accepts.

    The UID is the appointment's for its whole life and SEQUENCE its version, so a moved or
    cancelled appointment updates the event already in the patient's calendar. Every field is
    our own text and the reference: no attendee, nothing the patient typed (see PatientFacing).
    """
    calendar = Calendar()
    calendar.add("prodid", f"-//{settings.clinic_name}//Assessment booking//EN")
    calendar.add("version", "2.0")
    calendar.add("method", "CANCEL" if cancelled else "PUBLISH")
    visit = Event()
    visit.add("uid", f"appointment-{appointment.id}-{request.reference}@{settings.message_id_domain}")
    visit.add("sequence", appointment.sequence + (1 if cancelled else 0))
    visit.add("dtstamp", appointment.created_at)
    visit.add("dtstart", appointment.starts_at.astimezone(LONDON))
    visit.add("dtend", (appointment.starts_at + timedelta(minutes=appointment.minutes)).astimezone(LONDON))
    visit.add("summary", f"Physiotherapy assessment at {settings.clinic_name}")
    if cancelled:
        visit.add("status", "CANCELLED")
    if site is not None:
        visit.add("location", f"{site.name}, {site.address}")
    visit.add("description", f"Your reference: {request.reference}. To change or cancel, call {settings.clinic_phone}.")
    calendar.add_component(visit)
    calendar.add_missing_timezones()  # a VTIMEZONE for Europe/London, for calendars that need one
    return calendar.to_ical().decode("utf-8")


def _booking_message(
    request: RequestDetails, appointment: AppointmentDetails, site: Site | None, settings: MailSettings,
    *, change: str = "booked", articles: Sequence[dict[str, str]] = (),
) -> dict[str, Any]:
    """The patient's email about their appointment (booked, moved or cancelled), with its calendar file."""
    starts = appointment.starts_at.astimezone(LONDON)
    subjects = {
        "booked": f"Your assessment is booked – {starts.strftime('%-d %B at %H:%M')}",
        "moved": f"Your assessment has moved – now {starts.strftime('%-d %B at %H:%M')}",
        "cancelled": f"Your assessment on {starts.strftime('%-d %B at %H:%M')} is cancelled",
    }
    kind = "patient_appointment_cancelled" if change == "cancelled" else "patient_booking_confirmation"
    message = _message(
        kind, request, request.email, subjects[change], settings,
        site=site, appointment=appointment, starts=starts, clinician=appointment.clinician_name, change=change, articles=articles,
    )
    message.update(
        message_id=f"<{kind}.{request.reference}.{appointment.id}.{appointment.sequence}@{settings.message_id_domain}>",
        next_attempt_at=appointment.created_at,
        created_at=appointment.created_at,
        attachment_name="assessment.ics",
        attachment_type="text/calendar",
        attachment_body=calendar_invite(appointment, site, settings, PatientFacing.of(request), cancelled=change == "cancelled"),
    )
    return message


def queue_appointment_email(
    request: RequestDetails, appointment: AppointmentDetails, site: Site | None, settings: MailSettings, change: str = "booked"
) -> int:
    """Tell the patient their appointment is booked, moved or cancelled, with the calendar
    update (caller commits); return the message's id. `appointment.created_at` is when this
    change was made: the message is due then."""
    [message_id] = _add_to_outbox([_booking_message(request, appointment, site, settings, change=change)])
    return message_id
