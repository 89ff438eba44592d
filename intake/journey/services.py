"""The rules of the patient journey: drafts, triage of a draft, and submitting a request.

Plain functions taking plain arguments; they never touch the Flask request or session.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from typing import Any

from sqlalchemy import Connection, bindparam, delete, insert, select, update
from sqlalchemy.exc import IntegrityError, OperationalError

from intake.appointments import diary
from intake.appointments.manage_links import manage_url
from intake.appointments.services import BookingError, Choice, book
from intake.journey.forms import MINIMUM_AGE, format_phone_for_display
from intake.journey.back_screen import back_screen_columns
from intake.journey.journey import Answers, first_unanswered_step, problem_of, questions_asked, relevant_answers, safety_answers
from intake.journey.words import answered_flags, flags_in_words, with_words_seen, words_ever_flagged
from intake.journey.models import AssessmentRequest, Draft
from intake.articles.matcher import ArticleIndex
from intake.articles.profiles import profile_from_request, recommendations_for
from intake.clinic.sites import Site, site_by_code
from intake.pages.privacy import PRIVACY_NOTICE
from intake.platform.extensions import db
from intake.platform.timeutil import age_on
from intake.mail.notifications import AppointmentDetails, MailSettings, RequestDetails, queue_new_request_emails
from intake.triage import ADVICE_RANK, CAUDA_EQUINA_QUESTIONS, TriageResult, Urgency, assess
from intake.triage.free_text import with_free_text

# No 0/O or 1/I, so a reference read out over the phone cannot be misheard.
REFERENCE_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"
REFERENCE_LENGTH = 8
# The smallest step of a stored time: every save moves a draft's time on by at least this much.
MOMENT = timedelta(microseconds=1)
EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)


class DraftIncomplete(Exception):
    """The draft is missing answers that must be given before it can be submitted."""


class DraftChanged(Exception):
    """The answers were changed (in another window) after the patient checked them: they must check again."""


class NotBookableOnline(Exception):
    """The patient may not choose their own time (any more): the request must be read by the clinic first."""


@dataclass(frozen=True)
class Submission:
    """The outcome of submitting a draft: the stored request and its reference, whether this
    call stored it, and the outbox emails it queued (all committed)."""

    request: AssessmentRequest
    reference: str
    created: bool
    email_ids: tuple[int, ...] = ()


def new_reference() -> str:
    """Make a random, human-friendly request reference."""
    return "".join(secrets.choice(REFERENCE_ALPHABET) for _ in range(REFERENCE_LENGTH))


def start_draft(replacing: str | None, now: datetime, lifetime: timedelta) -> str:
    """Create an empty draft, dropping the one it replaces (the patient chose to start again)
    and any that have expired; return its id. The caller commits.
    """
    draft_id = secrets.token_urlsafe(32)
    if replacing:
        db.session.execute(DISCARD_DRAFT, {"draft_id": replacing})
    db.session.execute(PURGE_EXPIRED, {"now": now})
    db.session.execute(NEW_DRAFT, {
        "id": draft_id, "answers": {}, "created_at": now, "updated_at": now, "expires_at": now + lifetime,
    })
    return draft_id


@dataclass(frozen=True)
class LiveDraft:
    """What the pages need of a draft that has not expired: its id, the answers so far, and when
    they last changed (which a save checks, so it never overwrites a save it has not seen)."""

    id: str
    answers: Answers
    updated_at: datetime


def answers_version(draft: LiveDraft) -> str:
    """The draft's version, as the check page shows it and sends it back: every save changes it."""
    return str((draft.updated_at - EPOCH) // MOMENT)


DRAFTS = Draft.__table__
# Plain table statements, built once at import.
LIVE_DRAFT = select(DRAFTS.c.id, DRAFTS.c.answers, DRAFTS.c.updated_at).where(
    DRAFTS.c.id == bindparam("draft_id"), DRAFTS.c.expires_at > bindparam("now")
)
SAVE_IF_UNCHANGED = (
    update(DRAFTS)
    .where(DRAFTS.c.id == bindparam("draft_id"), DRAFTS.c.updated_at == bindparam("seen_at"), DRAFTS.c.expires_at > bindparam("now"))
    .values(answers=bindparam("answers"), updated_at=bindparam("saved_at"), expires_at=bindparam("expires_at"))
)
DISCARD_DRAFT = delete(DRAFTS).where(DRAFTS.c.id == bindparam("draft_id"))
PURGE_EXPIRED = delete(DRAFTS).where(DRAFTS.c.expires_at <= bindparam("now"))
NEW_DRAFT = insert(DRAFTS)
DISCARD_CHECKED_DRAFT = delete(DRAFTS).where(DRAFTS.c.id == bindparam("draft_id"), DRAFTS.c.updated_at == bindparam("seen_at"))
# Each failed attempt means another save of the same draft (another tab) landed in between.
SAVE_ATTEMPTS = 5
# A reference is drawn again only if the one drawn is taken: one chance in about 10^12 a request.
REFERENCE_ATTEMPTS = 3


def read_draft(draft_id: str | None, now: datetime, connection: Connection | None = None) -> LiveDraft | None:
    """Return the live draft with this id, or None if there is none or it has expired.

    Read through `connection` when given (a page that only reads), else in the session's transaction.
    """
    if not draft_id:
        return None
    row = (connection or db.session).execute(LIVE_DRAFT, {"draft_id": draft_id, "now": now}).first()
    return LiveDraft(row.id, row.answers, row.updated_at) if row else None


# Where the draft keeps the consent given on the check page while the patient chooses a time.
CONSENT = "consent"
URGENCY_RANK = {Urgency.ROUTINE: 0, Urgency.URGENT: 1, Urgency.EMERGENCY: 2}


class DraftGone(Exception):
    """The draft expired or was sent between reading it and saving to it."""


class DraftBusy(Exception):
    """Other saves of the same draft kept landing first; the patient can simply send the page again."""


@dataclass(frozen=True)
class SavedAnswers:
    """All the draft's answers after a save, and, when they made its care card more pressing (a
    new card, or same-day help in place of a GP today), the urgency of that card."""

    answers: Answers
    raised_to: Urgency | None


def save_answers(
    draft: LiveDraft, key: str, answers: dict[str, Any], *, now: datetime, lifetime: timedelta, today: date
) -> SavedAnswers:
    """Store one page's answers and keep the draft alive for another lifetime.

    One UPDATE, made only if the draft is as it was read: if another page of the same draft
    (another tab) was saved in between, the draft is read again and the answers merged anew,
    so both pages keep their answers. Reports the new urgency when these answers made the care
    card more pressing, because the patient must then see it before anything else. The caller commits.
    """
    for _ in range(SAVE_ATTEMPTS):
        merged = {**draft.answers, key: answers}
        merged.pop(CONSENT, None)  # consent covers the answers as checked: a changed answer needs it again
        merged = with_words_seen(merged)
        saved = db.session.execute(SAVE_IF_UNCHANGED, {
            "draft_id": draft.id, "seen_at": draft.updated_at, "now": now,
            "answers": merged, "saved_at": max(now, draft.updated_at + MOMENT), "expires_at": now + lifetime,
        }).rowcount
        if saved:
            before, after = triage_answers(draft.answers, today), triage_answers(merged, today)
            raised = ADVICE_RANK[after.advice] > ADVICE_RANK[before.advice]  # a more pressing card, even at the same urgency
            return SavedAnswers(merged, after.urgency if raised else None)
        draft = read_draft(draft.id, now)
        if draft is None:
            raise DraftGone(key)
    raise DraftBusy(key)


def record_consent(draft: LiveDraft, *, marketing_opt_in: bool, now: datetime, lifetime: timedelta) -> None:
    """Keep the consent given on the check page in the draft while the patient chooses a time.

    One guarded UPDATE, only if the draft is exactly as the check page read it, else DraftChanged:
    consent given to some answers never covers answers saved from another window meanwhile.
    Consent is not an answer, so the draft's version stays the one the check page showed (a
    second press of its button does the same again), and any later answer takes it back
    (`save_answers`). The caller commits.
    """
    consent = {"marketing": bool(marketing_opt_in), "given_at": now.isoformat(), "privacy_notice": PRIVACY_NOTICE.number}
    saved = db.session.execute(SAVE_IF_UNCHANGED, {
        "draft_id": draft.id, "seen_at": draft.updated_at, "now": now, "answers": {**draft.answers, CONSENT: consent},
        "saved_at": draft.updated_at, "expires_at": now + lifetime,
    }).rowcount
    if not saved:
        raise DraftChanged("The answers changed after the check page showed them.")


def consent_of(draft: LiveDraft) -> dict[str, Any] | None:
    """The consent the patient gave on the check page to the answers as they are, if they did."""
    return draft.answers.get(CONSENT)


def may_choose_own_time(answers: Answers, today: date) -> bool:
    """Whether the patient may pick their own time: only for a routine request from someone 16 or
    over, whose words raised no red flag (now or before they changed them). Anything flagged is
    read by a clinician first, who decides what the patient needs."""
    born = answers.get("about_you", {}).get("date_of_birth")
    adult = bool(born) and age_on(date.fromisoformat(born), today) >= MINIMUM_AGE
    return adult and not words_ever_flagged(answers) and triage_answers(answers, today).urgency is Urgency.ROUTINE


def purge_expired_drafts(now: datetime) -> int:
    """Delete every expired draft; return how many were deleted."""
    return db.session.execute(PURGE_EXPIRED, {"now": now}).rowcount or 0


def _safety_answers(raw_answers: Answers, today: date) -> dict[str, bool]:
    """The yes/no safety answers to the questions asked now, on the pages that apply: an answer
    kept from before the patient changed their problem, to a question it no longer calls for, is left out."""
    asked = {*questions_asked(raw_answers, today), *(question.code for question in CAUDA_EQUINA_QUESTIONS)}
    return {code: said for code, said in safety_answers(relevant_answers(raw_answers)).items() if code in asked}


def triage_answers(raw_answers: Answers, today: date) -> TriageResult:
    """Work out the urgency of the answers given so far, the red flags in the patient's words included."""
    problem = problem_of(raw_answers, today)
    ticked = assess(
        _safety_answers(raw_answers, today), region=problem.region, duration=problem.duration, onset=problem.onset,
        age=problem.age, sensations=problem.sensations,
    )
    return with_free_text(ticked, answered_flags(relevant_answers(raw_answers)))


def find_request_by_submission_key(key: str) -> AssessmentRequest | None:
    """Return the request already stored from this draft, if any."""
    return db.session.execute(select(AssessmentRequest).where(AssessmentRequest.submission_key == key)).scalar_one_or_none()


def find_request_by_reference(reference: str) -> AssessmentRequest | None:
    """Return the request with this reference, if any."""
    return db.session.execute(select(AssessmentRequest).where(AssessmentRequest.reference == reference)).scalar_one_or_none()


def _request_row(draft: LiveDraft, reference: str, marketing_opt_in: bool, now: datetime, today: date) -> dict[str, Any]:
    """Turn a complete draft into the column values of a request."""
    answers = relevant_answers(draft.answers)
    about, where = answers["about_you"], answers["where_it_hurts"]
    feels, when = answers["how_it_feels"], answers["when_and_where"]
    triage = triage_answers(draft.answers, today)
    return dict(
        reference=reference,
        submission_key=draft.id,
        status="new",
        urgency=triage.urgency.value,
        urgency_rank=2 - URGENCY_RANK[triage.urgency],
        urgency_reasons=[{"code": reason.code, "text": reason.text, "advice": reason.advice.value} for reason in triage.reasons],
        soft_flags=[{"code": flag.code, "text": flag.text} for flag in triage.soft_flags],
        free_text_flags=flags_in_words(draft.answers),
        first_name=about["first_name"],
        last_name=about["last_name"],
        date_of_birth=date.fromisoformat(about["date_of_birth"]),
        email=about["email"],
        phone=about["phone"],
        phone_display=format_phone_for_display(about["phone"]),
        contact_method=about["contact_method"],
        postcode=about.get("postcode") or None,
        region=where["region"],
        side=where["side"],
        duration=where["duration"],
        onset=where["onset"],
        pain_now=int(feels["pain_now"]),
        pain_worst=int(feels["pain_worst"]),
        sensations=list(feels.get("sensations") or []),
        description=feels.get("description") or "",
        goals=feels.get("goals") or "",
        safety_answers=_safety_answers(draft.answers, today),
        **back_screen_columns(answers.get("back_pain")),
        site_code=when["site"],
        available_days=list(when["days"]),
        available_times=list(when["times"]),
        earliest_date=date.fromisoformat(when["earliest_date"]) if when.get("earliest_date") else None,
        availability_note=when.get("note") or "",
        consent_given_at=_consent_time(draft, now),
        privacy_notice_version=(consent_of(draft) or {}).get("privacy_notice") or PRIVACY_NOTICE.number,
        marketing_opt_in=marketing_opt_in,
        created_at=now,
        updated_at=now,
    )


def _consent_time(draft: LiveDraft, now: datetime) -> datetime:
    """When the patient consented: on the check page, if they went on to choose a time; else now."""
    given = (consent_of(draft) or {}).get("given_at")
    return datetime.fromisoformat(given) if given else now


def submit_draft(
    draft: LiveDraft,
    *,
    seen_version: str | None = None,
    marketing_opt_in: bool,
    now: datetime,
    today: date,
    sites: list[Site],
    mail_settings: MailSettings,
    article_index: ArticleIndex,
    choice: Choice | None = None,
    default_minutes: int = 45,
) -> Submission:
    """Store the request made from a draft, exactly once, queue its emails and delete the draft.

    The request, its outbox emails and the draft's removal are one transaction, which this
    function owns: it commits it, or rolls it back when another submit of the draft won. The
    emails are delivered after the commit, never here. Nothing is stored if the
    answers are not the version the patient checked (`seen_version`, when the page sent one),
    and the draft is deleted only if it is still as read. A second submit of the same draft (double
    click, back and resubmit, a retried POST) returns the request the first one stored
    instead of storing another: the draft's id is unique among requests.

    With a `choice` (the patient chose their own time) the appointment is booked in the same
    transaction and the request stored as booked; if the time cannot be booked, the
    BookingError (or SlotTaken) is raised with nothing stored. NotBookableOnline if the
    answers (triaged again now) or the clinic's rules no longer let the patient choose.
    """
    if first_unanswered_step(draft.answers) is not None:
        raise DraftIncomplete("Some questions have not been answered yet.")
    if seen_version and seen_version != answers_version(draft):
        raise DraftChanged("The answers changed after the check page showed them.")
    if choice is not None and not (may_choose_own_time(draft.answers, today) and diary.booking_rules().patients_choose_times):
        raise NotBookableOnline("These answers must be read by the clinic before a time is booked.")
    attempt = 0
    while True:
        attempt += 1
        row = _request_row(draft, new_reference(), marketing_opt_in, now, today)
        if choice is not None:
            # Booked, and at the site of the time chosen (it may not be the one first asked for).
            row.update(status="booked", site_code=choice.site_code)
        try:
            request = AssessmentRequest(**row)
            db.session.add(request)
            db.session.flush()  # stored now: a repeated submit or a taken reference fails here
            if not db.session.execute(DISCARD_CHECKED_DRAFT, {"draft_id": draft.id, "seen_at": draft.updated_at}).rowcount:
                db.session.rollback()
                return _submitted_already(draft, now)
            appointment = _book_chosen_time(request, choice, now, default_minutes, mail_settings)
            email_ids = queue_new_request_emails(
                RequestDetails.of(request), site_by_code(sites, request.site_code), mail_settings,
                articles=[item.article for item in recommendations_for(profile_from_request(request), article_index)],
                appointment=appointment,
            )
            db.session.commit()
        except (IntegrityError, OperationalError) as error:
            # Another submit of this draft won the race: drop this attempt and use what it
            # stored. Otherwise, once in about 10^12 requests, the reference was taken: draw
            # another. (No savepoint: pysqlite's transaction handling does not support them reliably.)
            # PostgreSQL may end a booking deadlocked with reception's booking of the same time
            # (each waits for the other's lock): try again, when the time will show as taken.
            db.session.rollback()
            existing = find_request_by_submission_key(draft.id)
            if existing is not None:
                return Submission(existing, existing.reference, created=False)
            if (isinstance(error, OperationalError) and not _rolled_back_by_the_database(error)) or attempt == REFERENCE_ATTEMPTS:
                raise
        else:
            return Submission(request, row["reference"], created=True, email_ids=tuple(email_ids))


def _rolled_back_by_the_database(error: OperationalError) -> bool:
    """A deadlock or serialization failure (SQLSTATE class 40): the same work may simply be tried again."""
    return str(getattr(error.orig, "sqlstate", None) or "").startswith("40")


def _book_chosen_time(
    request: AssessmentRequest, choice: Choice | None, now: datetime, default_minutes: int, settings: MailSettings,
) -> AppointmentDetails | None:
    """Book the time the patient chose for the request being stored, with its manage link; on a refusal nothing is kept."""
    if choice is None:
        return None
    try:
        appointment = book(request.id, choice, now=now, default_minutes=default_minutes, booked_by_id=None)
    except BookingError:
        db.session.rollback()  # SlotTaken has rolled back already; any other refusal leaves the request unstored too
        raise
    return AppointmentDetails(
        id=appointment.id, starts_at=appointment.starts_at, minutes=appointment.minutes, created_at=now,
        clinician_name=appointment.practitioner.name, sequence=appointment.sequence,
        manage_url=manage_url(appointment.id, secret=settings.link_secret, base_url=settings.public_base_url, now=now),
    )


def _submitted_already(draft: LiveDraft, now: datetime) -> Submission:
    """The draft was not as checked: sent already, expired, or changed in another tab since."""
    existing = find_request_by_submission_key(draft.id)
    if existing is not None:
        return Submission(existing, existing.reference, created=False)
    if read_draft(draft.id, now) is not None:
        raise DraftChanged("The answers changed after they were checked.")
    raise DraftIncomplete("The draft has expired or does not exist.")
