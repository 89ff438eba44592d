"""Views of the patient journey: thin wrappers that read the form, call a service and redirect."""

from __future__ import annotations

from datetime import timedelta

from flask import Blueprint, abort, current_app, redirect, render_template, request, session, url_for
from flask_wtf.csrf import CSRFError

from intake.appointments.manage_links import existing_token
from intake.appointments.services import Choice, active_appointments
from intake.articles.profiles import profile_from_request, recommendations_for
from intake.journey import offers, services
from intake.journey.answers import summary_sections
from intake.journey.forms import CheckAnswersForm, StepForm
from intake.journey.journey import STEPS, STEPS_BY_SLUG, Step, answer_key, first_unanswered_step, previous_step
from intake.journey.services import LiveDraft
from intake.clinic.sites import site_by_code
from intake.platform.database import reads_without_a_transaction
from intake.platform.extensions import db, limiter
from intake.mail.notifications import MailSettings
from intake.mail.outbox import background_sender
from intake.platform.timeutil import LONDON, today_in_london, utcnow

bp = Blueprint("journey", __name__, url_prefix="/book")

SESSION_DRAFT = "draft_id"
SESSION_SUBMITTED = "submitted_references"
KEEP_SUBMITTED = 5


def draft_lifetime() -> timedelta:
    """How long a draft lives after the patient's last answer."""
    return timedelta(minutes=current_app.config["DRAFT_LIFETIME_MINUTES"])


def see_other(endpoint: str, **values):
    """Redirect with 303 See Other, so a POST is followed by a GET."""
    return redirect(url_for(endpoint, **values), code=303)


def current_draft() -> LiveDraft | None:
    """The live draft of this browser session, if any."""
    with reads_without_a_transaction() as connection:
        return services.read_draft(session.get(SESSION_DRAFT), utcnow(), connection)


def without_draft():
    """Where to send a patient who has no live draft: their confirmation, or a fresh start.

    The draft id in the signed session proves this browser made the request, so a repeated
    submit (even one carrying the cookie from before the first response) lands on it.
    """
    draft_id = session.get(SESSION_DRAFT)
    submitted = services.find_request_by_submission_key(draft_id) if draft_id else None
    if submitted is not None:
        return remember_and_confirm(submitted.reference)
    return see_other("journey.start", expired=1 if draft_id else None)


def _out_of_order(step: Step, draft: LiveDraft):
    """Redirect a patient who reaches a page that does not apply or comes after an unanswered one."""
    if not step.applies(draft.answers):
        return redirect(_next_page(draft.answers), code=303)
    blocking = first_unanswered_step(draft.answers)
    if blocking is not None and STEPS.index(blocking) < STEPS.index(step):
        return see_other("journey.question", slug=blocking.slug)
    return None


def _next_page(answers) -> str:
    """The first page still to answer, or the check-your-answers page when all are done."""
    step = first_unanswered_step(answers)
    return url_for("journey.question", slug=step.slug) if step else url_for("journey.check")


def _form_for(step: Step, draft: LiveDraft | None, formdata=None) -> StepForm:
    """Build a page's form from the posted data, or from the answers already saved."""
    config, answers = current_app.config, (draft.answers if draft else {})
    if formdata is not None:
        return step.build_form(config, answers, formdata=formdata)
    saved = answers.get(answer_key(step))
    if saved is None:
        return step.build_form(config, answers)
    return step.build_form(config, answers, data=step.form.data_from_answers(saved))


def _back_url(step: Step, answers) -> str:
    """Where the page's Back link goes: the check page when changing an answer, else the page before."""
    if request.args.get("change"):
        return url_for("journey.check")
    earlier = previous_step(step, answers)
    return url_for("journey.question", slug=earlier.slug) if earlier else url_for("journey.start")


def _example_date() -> str:
    """A date a month from now, to show how to type one."""
    example = today_in_london() + timedelta(days=30)
    return f"{example.day} {example.month} {example.year}"


def _render_step(
    step: Step, draft: LiveDraft | None, form: StepForm, timed_out: bool = False, save_clashed: bool = False, status: int = 200
):
    return render_template(
        _template(step), step=step, form=form, back_url=_back_url(step, draft.answers if draft else {}),
        timed_out=timed_out, save_clashed=save_clashed, example_date=_example_date(),
        form_action=request.full_path if request.query_string else request.path,
    ), status


def _template(step: Step) -> str:
    return f"journey/steps/{answer_key(step)}.html"


def _unanswered_step(step: Step, draft: LiveDraft) -> str:
    """A page the patient has not answered yet: the same for everyone who reaches it by the same
    route on the same day and is asked the same questions (no answers, no errors), so it is
    rendered once and reused."""
    back_url = _back_url(step, draft.answers)
    example_date = _example_date()
    variant = step.variant_of(draft.answers)
    return current_app.extensions["page_cache"].page((step.slug, variant, back_url, example_date), _template(step), lambda: {
        "step": step, "form": step.build_form(current_app.config, draft.answers), "back_url": back_url,
        "timed_out": False, "save_clashed": False, "example_date": example_date, "form_action": request.path,
    })


@bp.get("/")
def start():
    """Explain the request and offer to start (or carry on with) one."""
    return render_template("journey/start.html", has_draft=current_draft() is not None, expired=bool(request.args.get("expired")))


@bp.post("/start")
@limiter.limit(lambda: current_app.config["START_LIMIT_PER_ADDRESS"])
def begin():
    """Start a new draft tied to this browser session, dropping any unfinished one."""
    draft_id = services.start_draft(session.get(SESSION_DRAFT), utcnow(), draft_lifetime())
    db.session.commit()
    session[SESSION_DRAFT] = draft_id
    session.permanent = True
    return see_other("journey.question", slug=STEPS[0].slug)


@bp.route("/<slug>", methods=["GET", "POST"])
def question(slug: str):
    """Show a question page, or save its answers and move on."""
    step = STEPS_BY_SLUG.get(slug) or abort(404)
    draft = current_draft()
    if draft is None:
        return without_draft()
    detour = _out_of_order(step, draft)
    if detour is not None:
        return detour

    if request.method == "GET" and step.same_for_everyone and answer_key(step) not in draft.answers and not request.query_string:
        return _unanswered_step(step, draft)
    form = _form_for(step, draft, formdata=request.form if request.method == "POST" else None)
    if request.method == "POST" and form.validate():
        return _save_step(step, draft, form)
    return _render_step(step, draft, form)


def _save_step(step: Step, draft: LiveDraft, form: StepForm):
    """Save a page's answers and move on: to the care card first if they raised the urgency."""
    try:
        saved = services.save_answers(
            draft, answer_key(step), form.answers(), now=utcnow(), lifetime=draft_lifetime(), today=today_in_london()
        )
    except services.DraftGone:
        return without_draft()
    except services.DraftBusy:
        return _render_step(step, draft, form, save_clashed=True, status=409)
    db.session.commit()
    session.modified = True  # the cookie is signed again: like the draft, it lasts a lifetime from this answer
    if saved.raised_to is not None:
        # An answer made the request more urgent: the care card comes before anything else.
        return see_other("journey.care_card", level=saved.raised_to.value)
    return redirect(_next_page(saved.answers), code=303)


@bp.get("/advice/<level>")
def care_card(level: str):
    """Tell the patient where to get help now, before they carry on with their request."""
    if level not in {"emergency", "urgent"}:
        abort(404)
    draft = current_draft()
    if draft is None:
        return without_draft()
    triage = services.triage_answers(draft.answers, today_in_london())
    if triage.urgency.value != level:
        return redirect(_next_page(draft.answers), code=303)
    return render_template(
        "journey/care_card.html", level=level, continue_url=_next_page(draft.answers), reasons=triage.reasons, advice=triage.advice,
    )


@bp.route("/check", methods=["GET", "POST"])
@limiter.limit(lambda: current_app.config["SUBMIT_LIMIT_PER_ADDRESS"], methods=["POST"])
def check():
    """Show every answer with a change link; on consent, store the request once."""
    draft, elsewhere = checkable_draft()
    if elsewhere is not None:
        return elsewhere
    form = CheckAnswersForm()
    if form.validate_on_submit():
        if _offers_times(draft):
            return _choose_a_time_next(draft, form)
        return send_request(draft, seen_version=form.answers_seen.data, marketing_opt_in=form.marketing.data)
    return _render_check(draft, form)


def _offers_times(draft: LiveDraft) -> bool:
    """Whether this patient chooses their own time next: a routine request from an adult, and the
    clinic lets patients choose and has a free time somewhere."""
    return services.may_choose_own_time(draft.answers, today_in_london()) and offers.self_booking_open(
        utcnow(), default_minutes=current_app.config["APPOINTMENT_MINUTES"]
    )


def _choose_a_time_next(draft: LiveDraft, form: CheckAnswersForm):
    """Keep the consent with the answers it was given to, and go on to choose a time."""
    if form.answers_seen.data and form.answers_seen.data != services.answers_version(draft):
        return see_other("journey.check", changed=1)
    try:
        services.record_consent(draft, marketing_opt_in=form.marketing.data, now=utcnow(), lifetime=draft_lifetime())
    except services.DraftChanged:
        db.session.rollback()
        return see_other("journey.check", changed=1)
    db.session.commit()
    session.modified = True  # the cookie is signed again, so it lasts as long as the draft
    return see_other("journey.choose_time")


def send_request(draft: LiveDraft, *, seen_version: str | None, marketing_opt_in: bool, choice: Choice | None = None):
    """Store the request (with the appointment, when the patient chose a time), start its emails
    and show the confirmation. A refused booking is raised for the caller to explain."""
    try:
        submission = services.submit_draft(
            draft,
            seen_version=seen_version,
            marketing_opt_in=marketing_opt_in,
            now=utcnow(),
            today=today_in_london(),
            sites=current_app.config["CLINIC_SITES"],
            mail_settings=MailSettings.from_config(current_app.config),
            article_index=current_app.extensions["article_index"],
            choice=choice,
            default_minutes=current_app.config["APPOINTMENT_MINUTES"],
        )
    except (services.DraftIncomplete, services.DraftChanged) as refused:
        return _not_sent(refused)
    background_sender(current_app).send_after_commit(list(submission.email_ids))
    return remember_and_confirm(submission.reference)


def checkable_draft() -> tuple[LiveDraft | None, object | None]:
    """The live draft with every question answered, or else where to send the patient instead."""
    draft = current_draft()
    if draft is None:
        return None, without_draft()
    if first_unanswered_step(draft.answers) is not None:
        return None, redirect(_next_page(draft.answers), code=303)
    return draft, None


def _not_sent(refused: Exception):
    """Where a patient goes when their answers were not sent."""
    if isinstance(refused, services.DraftChanged):
        # Another window changed an answer after this page was shown: show them before sending.
        return see_other("journey.check", changed=1)
    return without_draft()


def _render_check(draft: LiveDraft, form: CheckAnswersForm, timed_out: bool = False, status: int = 200):
    form.answers_seen.data = services.answers_version(draft)  # the answers this page shows
    triage = services.triage_answers(draft.answers, today_in_london())
    sections = summary_sections(draft.answers, current_app.config)
    return render_template(
        "journey/check.html", form=form, sections=sections, triage=triage, timed_out=timed_out,
        answers_changed=bool(request.args.get("changed")), offers_times=_offers_times(draft),
    ), status


def remember_and_confirm(reference: str):
    """Let this browser session, and only it, see the confirmation page."""
    references = [ref for ref in session.get(SESSION_SUBMITTED, []) if ref != reference]
    session[SESSION_SUBMITTED] = [*references, reference][-KEEP_SUBMITTED:]
    return see_other("journey.confirmation", reference=reference)


@bp.get("/confirmation/<reference>")
def confirmation(reference: str):
    """Show the reference, the time booked if the patient chose one, what happens next and,
    when flagged, the care card again."""
    if reference not in session.get(SESSION_SUBMITTED, []):
        abort(404)
    stored = services.find_request_by_reference(reference)
    if stored is None or stored.erased:  # an erased request has no answers left to show
        abort(404)
    site = site_by_code(current_app.config["CLINIC_SITES"], stored.site_code)
    appointment = next(iter(active_appointments(stored.id)), None)
    articles = [
        {"title": item.article.title, "url": url_for("articles.article", slug=item.article.slug), "reason": item.reason}
        for item in recommendations_for(profile_from_request(stored), current_app.extensions["article_index"])
    ]
    return render_template(
        "journey/confirmation.html", stored=stored, site=site, articles=articles, appointment=appointment,
        starts=appointment.starts_at.astimezone(LONDON) if appointment else None,
        manage_token=existing_token(appointment.id, current_app.secret_key) if appointment else None,
        cutoff_hours=current_app.config["MANAGE_CUTOFF_HOURS"],
    )


@bp.errorhandler(CSRFError)
def form_timed_out(error: CSRFError):
    """Show the page again with what the patient typed, and ask them to press the button again."""
    slug = (request.view_args or {}).get("slug")
    draft = current_draft()
    if draft is None:
        return render_template("errors/form_timed_out.html"), 400
    if request.endpoint == "journey.question" and slug in STEPS_BY_SLUG:
        step = STEPS_BY_SLUG[slug]
        detour = _out_of_order(step, draft)
        if detour is not None:
            return detour
        return _render_step(step, draft, _form_for(step, draft, formdata=request.form), timed_out=True, status=400)
    if request.endpoint == "journey.check" and first_unanswered_step(draft.answers) is None:
        return _render_check(draft, CheckAnswersForm(formdata=request.form), timed_out=True, status=400)
    return render_template("errors/form_timed_out.html"), 400


@bp.after_request
def never_cache(response):
    """Patients' answers must not be kept in browser or proxy caches (shared computers, Back)."""
    response.headers["Cache-Control"] = "no-store"
    return response
