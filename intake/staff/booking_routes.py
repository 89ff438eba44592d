"""Back-office views that book, move and cancel a request's appointment, on the `staff` blueprint.

Each reads its form, calls one service in `staff.services`, commits, and redirects to the
request's page; a refusal shows the page again with the message next to the field (400), or
409 with the nearest free times when another booking took the time first. Every change is
audited and emails the patient (rate limited, like every action that sends email).
"""

from __future__ import annotations

from collections.abc import Callable

from flask import abort, current_app
from flask_login import current_user

from intake.appointments.services import BookingError, SlotTaken
from intake.mail.notifications import MailSettings
from intake.mail.outbox import background_sender
from intake.platform.extensions import db, limiter
from intake.platform.timeutil import utcnow
from intake.staff import services
from intake.staff.forms import BookingForm, CancelForm, MoveForm
from intake.waitlist.services import WaitlistRules
from intake.staff.routes import MAX_ROW_ID, _redirect, _request_or_404, _request_page, bp, roles

APPOINTMENT = f"/requests/<reference>/appointments/<int(max={MAX_ROW_ID}):appointment_id>"


def _email_limit() -> str:
    return current_app.config["EMAIL_ACTION_LIMIT"]


def _change(stored, form_name: str, form, first_field: str, change: Callable[[dict], list[int]]):
    """Make the change with the request's context and send the messages it queued (the patient's
    email, and any offers of a freed time to those waiting) straight after; on a refusal show the
    page again with the message next to the field it concerns (nothing was saved)."""
    config = current_app.config
    context = {"sites": config["CLINIC_SITES"], "user": current_user, "now": utcnow(), "settings": MailSettings.from_config(config)}
    try:
        message_ids = change(context)
    except (BookingError, services.StaffError) as error:
        field = getattr(form, error.field, None) if error.field else None
        (field or getattr(form, first_field)).errors = [str(error)]
        taken = isinstance(error, SlotTaken)
        return _request_page(stored, 409 if taken else 400, nearest=error.nearest if taken else (), **{form_name: form})
    db.session.commit()
    background_sender(current_app).send_after_commit(message_ids)
    return _redirect("staff.request_detail", reference=stored.reference)


def _appointment_or_404(stored, appointment_id: int):
    return services.find_appointment(stored, appointment_id) or abort(404)


@bp.post("/requests/<reference>/book")
@roles("reception", "admin")
@limiter.limit(_email_limit)
def book(reference: str):
    """Book a free time and send the patient a confirmation with a calendar invite."""
    stored = _request_or_404(reference)
    form = BookingForm()
    if not form.validate():
        return _request_page(stored, 400, booking_form=form)
    minutes = current_app.config["APPOINTMENT_MINUTES"]
    return _change(stored, "booking_form", form, "slot", lambda context: services.book(
        stored, slot_value=form.slot.data, default_minutes=minutes, **context))


@bp.post(f"{APPOINTMENT}/move")
@roles("reception", "admin")
@limiter.limit(_email_limit)
def move_appointment(reference: str, appointment_id: int):
    """Move the appointment to another free time; the patient's calendar event is updated."""
    stored = _request_or_404(reference)
    appointment = _appointment_or_404(stored, appointment_id)
    form = MoveForm()
    if not form.validate():
        return _request_page(stored, 400, move_form=form)
    minutes = current_app.config["APPOINTMENT_MINUTES"]
    return _change(stored, "move_form", form, "slot", lambda context: services.move(
        stored, appointment, slot_value=form.slot.data, seen_sequence=form.sequence.number(), default_minutes=minutes,
        offers=WaitlistRules.from_config(current_app.config), **context))


@bp.post(f"{APPOINTMENT}/cancel")
@roles("reception", "admin")
@limiter.limit(_email_limit)
def cancel_appointment(reference: str, appointment_id: int):
    """Cancel the appointment with a reason; the patient's calendar event is cancelled."""
    stored = _request_or_404(reference)
    appointment = _appointment_or_404(stored, appointment_id)
    form = CancelForm()
    if not form.validate():
        return _request_page(stored, 400, cancel_form=form)
    return _change(stored, "cancel_form", form, "reason", lambda context: services.cancel(
        stored, appointment, reason=form.reason.data, then=form.then.data, seen_sequence=form.sequence.number(),
        offers=WaitlistRules.from_config(current_app.config), **context))
