"""The patient's manage pages: see the appointment, cancel it, or move it to another free time.

No sign-in: the manage link's token opens one appointment. It travels in the query string and in
forms, never in the path (which the access log keeps). A token that opens nothing counts against
the address that sent it (MANAGE_LINK_LIMIT_PER_ADDRESS), so guessing is slowed to a crawl.
"""

from __future__ import annotations

from flask import Blueprint, current_app, redirect, render_template, request, url_for
from werkzeug.datastructures import MultiDict

from intake.appointments import diary
from intake.appointments.services import BookingError, SlotTaken
from intake.appointments.slots import slot_value
from intake.journey import offers
from intake.mail.notifications import MailSettings
from intake.mail.outbox import background_sender
from intake.platform.extensions import db, limiter
from intake.platform.timeutil import today_in_london, utcnow
from intake.self_service import services
from intake.self_service.forms import CancelForm, ChooseNewTimeForm, MoveForm, seen_sequence
from intake.waitlist.services import WaitlistRules, entry_for

bp = Blueprint("self_service", __name__, url_prefix="/appointment")
guesses_limited = limiter.shared_limit(
    lambda: current_app.config["MANAGE_LINK_LIMIT_PER_ADDRESS"], scope="manage-link", deduct_when=lambda response: response.status_code == 404,
)


def _rules() -> dict:
    config = current_app.config
    return {"now": utcnow(), "cutoff_hours": config["MANAGE_CUTOFF_HOURS"], "sites": config["CLINIC_SITES"]}


def _opened(token: str) -> tuple[services.Managed | None, object | None]:
    """What the link opens, or the page saying it opens nothing (404) or no longer works (410)."""
    try:
        return services.open_link(token, **_rules()), None
    except services.LinkUnknown:
        return None, (render_template("self_service/link_unknown.html"), 404)
    except services.LinkEnded:
        return None, (render_template("self_service/link_ended.html"), 410)


def _manage_page(managed: services.Managed, token: str, form: CancelForm | None = None, status: int = 200):
    form = form or CancelForm(token=token, seen=managed.appointment.sequence)
    return render_template("self_service/manage.html", managed=managed, token=token, form=form, waiting=entry_for(managed.appointment.id),
                           moved=request.args.get("moved") == "1", waitlist=request.args.get("waitlist"), minutes=managed.appointment.minutes), status


@bp.get("")
@guesses_limited
def manage():
    """The appointment: when, where and with whom, and the ways to move or cancel it."""
    token = request.args.get("token", "")
    managed, elsewhere = _opened(token)
    return elsewhere or _manage_page(managed, token)


@bp.post("/cancel")
@guesses_limited
def cancel():
    """Cancel the appointment (its time is free at once) and say so, or explain why not."""
    form = CancelForm()
    managed, elsewhere = _opened(form.token.data or "")
    if elsewhere or not form.validate_on_submit():
        return elsewhere or _manage_page(managed, form.token.data, form, 400)
    try:
        messages = services.cancel(form.token.data, seen=seen_sequence(form.seen.data), reason=form.reason.data or "",
                                   settings=MailSettings.from_config(current_app.config), offers=WaitlistRules.from_config(current_app.config),
                                   **_rules())
    except (services.TooLate, BookingError) as refused:
        return _refused(managed, form, refused)
    db.session.commit()
    background_sender(current_app).send_after_commit(messages)
    return redirect(url_for("self_service.cancelled"), code=303)


def _refused(managed: services.Managed, form, refused: Exception):
    """The manage page again: inside the cut-off it says to phone; otherwise why it did not work."""
    db.session.rollback()
    cancel_form = form if isinstance(form, CancelForm) else None
    if isinstance(refused, BookingError) and cancel_form is not None:
        cancel_form.reason.errors = [str(refused)]
    fresh, elsewhere = _opened(form.token.data)
    return elsewhere or _manage_page(fresh, form.token.data, cancel_form, 409)


@bp.get("/cancelled")
def cancelled():
    """Confirm the cancellation (no token: the link no longer works)."""
    return render_template("self_service/cancelled.html")


@bp.get("/move")
@guesses_limited
def choose_new_time():
    """Free times patients may book at the appointment's clinic (or another), to move to."""
    token = request.args.get("token", "")
    managed, elsewhere = _opened(token)
    return elsewhere or _times_page(managed, token, ChooseNewTimeForm())


def _times_page(managed: services.Managed, token: str, form: ChooseNewTimeForm, status: int = 200, taken: bool = False):
    config, now = current_app.config, utcnow()
    setup = diary.clinic(config["APPOINTMENT_MINUTES"])
    today = today_in_london()
    wishes = offers.Wishes(managed.appointment.site_code, (), (), None)
    view = offers.read_view(request.args, sites=config["CLINIC_SITES"], wishes=wishes, today=today,
                            last_day=offers.last_bookable_day(today, setup))
    page = offers.page_of_times(wishes, offers.View(view.site, view.starting, True, view.problem), now=now,
                                default_minutes=config["APPOINTMENT_MINUTES"], setup=setup)
    return render_template("self_service/move.html", managed=managed, token=token, form=form, page=page, view=view,
                           sites=config["CLINIC_SITES"], slot_value=slot_value, taken=taken), status


@bp.get("/move/confirm")
@guesses_limited
def confirm_new_time():
    """The new time to confirm, beside the current one (nothing changes yet)."""
    token, form = request.args.get("token", ""), ChooseNewTimeForm(request.args)
    managed, elsewhere = _opened(token)
    if elsewhere:
        return elsewhere
    config = current_app.config
    try:
        chosen = offers.chosen_time(form.slot.data, now=utcnow(), default_minutes=config["APPOINTMENT_MINUTES"],
                                    sites=config["CLINIC_SITES"], setup=diary.clinic(config["APPOINTMENT_MINUTES"]))
    except BookingError as refused:
        form.slot.errors = [str(refused)]
        return _times_page(managed, token, form, 409 if isinstance(refused, SlotTaken) else 400, taken=isinstance(refused, SlotTaken))
    move_form = MoveForm(token=token, seen=managed.appointment.sequence, slot=form.slot.data)
    return render_template("self_service/move_confirm.html", managed=managed, chosen=chosen, form=move_form, token=token)


@bp.post("/move")
@guesses_limited
def move():
    """Move the appointment to the confirmed time and show it, or explain why not."""
    form = MoveForm()
    managed, elsewhere = _opened(form.token.data or "")
    if elsewhere or not form.validate_on_submit():
        return elsewhere or _manage_page(managed, form.token.data, status=400)
    try:
        messages = services.move(form.token.data, seen=seen_sequence(form.seen.data), slot_value=form.slot.data or "",
                                 settings=MailSettings.from_config(current_app.config), offers=WaitlistRules.from_config(current_app.config),
                                 default_minutes=current_app.config["APPOINTMENT_MINUTES"], **_rules())
    except services.TooLate as refused:
        return _refused(managed, form, refused)
    except BookingError as refused:
        db.session.rollback()
        chosen = ChooseNewTimeForm(MultiDict({"slot": form.slot.data or ""}))
        chosen.slot.errors = [str(refused)]
        return _times_page(services.open_link(form.token.data, **_rules()), form.token.data, chosen, 409, taken=isinstance(refused, SlotTaken))
    db.session.commit()
    background_sender(current_app).send_after_commit(messages)
    return redirect(url_for("self_service.manage", token=form.token.data, moved=1), code=303)
