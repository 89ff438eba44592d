"""Views of a patient choosing their own time: the free times, the time to confirm, booking it,
and sending the request without a time. They register on the journey's blueprint."""

from __future__ import annotations

from flask import current_app, render_template, request
from werkzeug.datastructures import MultiDict

from intake.appointments import diary
from intake.appointments.services import BookingError, Choice, SlotTaken
from intake.appointments.slots import slot_value
from intake.clinic.sites import site_by_code
from intake.journey import offers, services
from intake.journey.forms import ChooseTimeForm, ConfirmTimeForm, PhoneMeForm
from intake.journey.routes import bp, checkable_draft, remember_and_confirm, see_other, send_request
from intake.journey.services import LiveDraft
from intake.platform.database import reads_only
from intake.platform.extensions import limiter
from intake.platform.timeutil import today_in_london, utcnow

# What the page keeps of its query string in the links and forms it shows.
VIEW_ARGUMENTS = ("site", "from", "all")


@bp.get("/time")
@reads_only
def choose_time():
    """Show free times at the patient's clinic, those that suit them first."""
    draft, setup, elsewhere = _booking_draft()
    if elsewhere is not None:
        return elsewhere
    return _render_times(draft, setup, ChooseTimeForm())


@bp.get("/time/confirm")
def confirm_time():
    """Show the chosen time with a button to book it (nothing changes yet), or the times again."""
    draft, setup, elsewhere = _booking_draft()
    if elsewhere is not None:
        return elsewhere
    form = ChooseTimeForm(request.args)
    try:
        chosen = _chosen(form.slot.data, setup)
    except BookingError as refused:
        return _refused(draft, setup, refused, form)
    confirm = ConfirmTimeForm(slot=form.slot.data, answers_seen=services.answers_version(draft))
    return render_template(
        "journey/time_confirm.html", chosen=chosen, form=confirm, minutes=current_app.config["APPOINTMENT_MINUTES"],
        view_args=_view_args(),
    )


@bp.post("/time/confirm")
@limiter.limit(lambda: current_app.config["SUBMIT_LIMIT_PER_ADDRESS"])
def book_time():
    """Store the request and book the chosen time together, or explain why the time cannot be had."""
    form = ConfirmTimeForm()
    draft, setup, elsewhere = _booking_draft(seen_version=form.answers_seen.data)
    if elsewhere is not None:
        return elsewhere
    if not form.validate_on_submit():
        return see_other("journey.choose_time")
    try:
        chosen = _chosen(form.slot.data, setup)  # a forged or stale time is explained before anything is stored
        return send_request(
            draft, seen_version=form.answers_seen.data, choice=chosen.choice,
            marketing_opt_in=services.consent_of(draft)["marketing"],
        )
    except services.NotBookableOnline:
        return see_other("journey.check")
    except BookingError as refused:
        return _refused(draft, setup, refused, ChooseTimeForm(MultiDict({"slot": form.slot.data or ""})))


@bp.post("/time/phone-me")
@limiter.limit(lambda: current_app.config["SUBMIT_LIMIT_PER_ADDRESS"])
def phone_me():
    """Send the request without a time, as before self-booking: reception will contact the patient."""
    form = PhoneMeForm()
    draft, elsewhere = checkable_draft()
    if elsewhere is not None:
        return elsewhere
    consent = services.consent_of(draft)
    if consent is None or not form.validate_on_submit():
        changed = form.answers_seen.data and form.answers_seen.data != services.answers_version(draft)
        return see_other("journey.check", changed=1 if changed else None)
    return send_request(draft, seen_version=form.answers_seen.data, marketing_opt_in=consent["marketing"])


def _booking_draft(seen_version: str | None = None) -> tuple[LiveDraft | None, diary.Clinic | None, object | None]:
    """The draft of a patient who may choose a time now with the diary's set-up, or where to send
    them instead: the check page if they have not consented to these answers, or may not choose
    (flagged, or booking is off), and saying so if the answers changed since the page posting
    `seen_version` showed them."""
    draft, elsewhere = checkable_draft()
    if elsewhere is not None:
        return None, None, elsewhere
    if seen_version and seen_version != services.answers_version(draft):
        return None, None, see_other("journey.check", changed=1)
    if services.consent_of(draft) is None or not services.may_choose_own_time(draft.answers, today_in_london()):
        return None, None, see_other("journey.check")
    setup = diary.clinic(current_app.config["APPOINTMENT_MINUTES"])
    if not setup.rules.patients_choose_times:
        return None, None, see_other("journey.check")
    return draft, setup, None


def _chosen(value: str | None, setup: diary.Clinic) -> offers.ChosenTime:
    """The free time a slot value names, checked against the diary now."""
    config = current_app.config
    return offers.chosen_time(
        value, now=utcnow(), default_minutes=config["APPOINTMENT_MINUTES"], sites=config["CLINIC_SITES"], setup=setup
    )


def _view_args() -> dict[str, str]:
    """The page's own query values (site, from, all), to keep in its links and forms."""
    return {name: request.args[name] for name in VIEW_ARGUMENTS if request.args.get(name)}


def _refused(draft: LiveDraft, setup: diary.Clinic, refused: BookingError, form: ChooseTimeForm):
    """A time that cannot be booked: the nearest free times if it was just taken, else the times
    with the reason. If this browser's request was stored meanwhile (a double click), its confirmation."""
    stored = services.find_request_by_submission_key(draft.id)
    if stored is not None:
        return remember_and_confirm(stored.reference)
    if isinstance(refused, SlotTaken):
        return _render_taken(draft, setup, refused, Choice.parse(form.slot.data).site_code)
    form.slot.errors = [str(refused)]
    return _render_times(draft, setup, form, status=400)


def _render_times(draft: LiveDraft, setup: diary.Clinic, form: ChooseTimeForm, status: int = 200):
    """The times page for the view its query string asks for (or the default view)."""
    config, today = current_app.config, today_in_london()
    wishes = offers.Wishes.of(draft.answers)
    view = offers.read_view(
        request.args, sites=config["CLINIC_SITES"], wishes=wishes, today=today, last_day=offers.last_bookable_day(today, setup)
    )
    page = offers.page_of_times(wishes, view, now=utcnow(), default_minutes=config["APPOINTMENT_MINUTES"], setup=setup)
    return render_template(
        "journey/times.html", form=form, page=page, view=view, wishes=wishes, sites=config["CLINIC_SITES"],
        minutes=config["APPOINTMENT_MINUTES"], phone_form=_phone_form(draft), slot_value=slot_value,
        contact_method=draft.answers["about_you"]["contact_method"],
    ), status


def _render_taken(draft: LiveDraft, setup: diary.Clinic, taken: SlotTaken, site_code: str):
    """The time was taken since it was shown: offer the nearest free times at the same clinic."""
    days, _ = offers.by_day(taken.nearest)
    return render_template(
        "journey/time_taken.html", form=ChooseTimeForm(), days=days, names=setup.names(),
        site=site_by_code(current_app.config["CLINIC_SITES"], site_code), view_args=_view_args(),
        phone_form=_phone_form(draft), slot_value=slot_value, contact_method=draft.answers["about_you"]["contact_method"],
    ), 409


def _phone_form(draft: LiveDraft) -> PhoneMeForm:
    """The "contact me instead" button's form, for the answers as this page read them."""
    return PhoneMeForm(answers_seen=services.answers_version(draft))
