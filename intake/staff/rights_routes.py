"""A patient's rights to correction and erasure, on the `staff` blueprint (admins only): correct a
request's contact details; erase its personal data after a confirmation page that asks why, then
show what was done. Each is audited without the data itself."""

from __future__ import annotations

from flask import abort, current_app, render_template
from flask_login import current_user

from intake.appointments.services import active_appointments
from intake.mail.outbox import background_sender
from intake.platform.extensions import db
from intake.platform.timeutil import utcnow
from intake.staff import rights
from intake.staff.errors import StaffError
from intake.staff.rights_forms import ContactDetailsForm, ErasureForm
from intake.waitlist.services import WaitlistRules
from intake.staff.routes import _redirect, _request_or_404, bp, roles


def _contact_page(stored, form: ContactDetailsForm, status: int = 200):
    return render_template("staff/contact_details.html", stored=stored, form=form), status


@bp.route("/requests/<reference>/contact-details", methods=["GET", "POST"])
@roles("admin")
def correct_contact_details(reference: str):
    """Put right the email address or phone number a patient gave (the audit names the fields, not the values)."""
    stored = _request_or_404(reference)
    if stored.erased:
        abort(404)
    form = ContactDetailsForm(data={"email": stored.email, "phone": stored.phone_display}, prefers_texts=stored.contact_method == "text")
    if not form.validate_on_submit():
        return _contact_page(stored, form, 400 if form.is_submitted() else 200)
    try:
        rights.correct_contact_details(stored, form.details(), user=current_user, now=utcnow())
    except StaffError as error:
        getattr(form, error.field or "email").errors = [str(error)]
        return _contact_page(stored, form, 400)
    db.session.commit()
    return _redirect("staff.request_detail", reference=reference)


def _erase_page(stored, form: ErasureForm, status: int = 200, refusal: str | None = None):
    now = utcnow()
    return render_template(
        "staff/erase.html", stored=stored, form=form, refusal=refusal or rights.erasure_refusal(stored, now),
        appointments=[appointment for appointment in active_appointments(stored.id) if appointment.starts_at > now],
    ), status


@bp.route("/requests/<reference>/erase", methods=["GET", "POST"])
@roles("admin")
def erase_request(reference: str):
    """Confirm, with a reason, and erase the patient's personal data from a request no treatment followed."""
    stored = _request_or_404(reference)
    if stored.erased:
        return _redirect("staff.erased_request", reference=reference)
    form = ErasureForm()
    if not form.validate_on_submit():
        return _erase_page(stored, form, 400 if form.is_submitted() else 200)
    try:
        offered = rights.erase(stored, reason=form.reason.data, user=current_user, now=utcnow(), offers=WaitlistRules.from_config(current_app.config))
    except rights.ErasureRefused as refused:
        return _erase_page(stored, form, 409, refusal=str(refused))
    except StaffError as error:
        form.reason.errors = [str(error)]
        return _erase_page(stored, form, 400)
    db.session.commit()
    background_sender(current_app).send_after_commit(offered)
    return _redirect("staff.erased_request", reference=reference)


@bp.get("/requests/<reference>/erased")
@roles("admin")
def erased_request(reference: str):
    """What erasing the request's personal data did, from its audit entry."""
    stored = _request_or_404(reference)
    if not stored.erased:
        abort(404)
    return render_template("staff/erased.html", stored=stored, erasure=rights.last_erasure(stored))
