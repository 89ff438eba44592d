"""Clinic set-up views, for admins only: practitioners, weekly hours, exceptions and booking rules.

They hang on the back office's blueprint, so its sign-in, idle and role checks apply. The rules
live in intake.appointments.setup; each view reads its form, calls one of those functions,
audits what changed (who and what) and commits, then redirects (303).
"""

from __future__ import annotations

from flask import abort, current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user
from sqlalchemy import select

from intake.appointments import diary, setup
from intake.appointments.setup import SetupError
from intake.journey.models import AssessmentRequest
from intake.platform.extensions import db
from intake.platform.timeutil import LONDON, today_in_london, utcnow
from intake.staff.accounts import clinician_accounts
from intake.staff.audit import audit
from intake.staff.routes import MAX_ROW_ID, bp, roles
from intake.staff.setup_forms import AwayForm, ExtraForm, HoursForm, PractitionerForm, RemoveForm, RulesForm

PRACTITIONER = f"/setup/practitioners/<int(max={MAX_ROW_ID}):practitioner_id>"


def _redirect(endpoint: str, **values):
    return redirect(url_for(endpoint, **values), code=303)


def _site_pairs(codes=None) -> list[tuple[str, str]]:
    """The configured sites (only those in `codes`, when given) as (code, name)."""
    return [(site.code, site.name) for site in current_app.config["CLINIC_SITES"] if codes is None or site.code in codes]


def _practitioner_or_404(practitioner_id: int):
    return setup.find_practitioner(practitioner_id) or abort(404)


def _refused(form, error: SetupError, status: int = 400):
    """Put the rule's message next to its field (the first field if the form has no such one)."""
    db.session.rollback()
    field = form[error.field] if error.field in form else next(iter(form))
    field.errors = [str(error)]
    return status


def _people(active_only: bool = False) -> list[tuple[str, str]]:
    return [(str(person.id), person.name + ("" if person.active else " (not taking appointments)"))
            for person in diary.practitioners(include_inactive=not active_only)]


@bp.get("/setup/")
@roles("admin")
def setup_home():
    """Every practitioner, taking appointments or not, with the way to each set-up page."""
    return render_template("staff/setup/index.html", practitioners=diary.practitioners(include_inactive=True),
                           site_names=dict(_site_pairs()))


def _linkable_accounts(practitioner) -> list[tuple[str, str]]:
    """Clinician accounts not linked to another practitioner (and this one's own link)."""
    linked = setup.linked_staff_ids()
    own = practitioner.id if practitioner else None
    return [(str(user.id), f"{user.name} ({user.email})") for user in clinician_accounts(also=practitioner and practitioner.staff_user_id)
            if linked.get(user.id, own) == own]


def _practitioner_form(practitioner) -> PractitionerForm:
    data = {}  # a post is read as sent: a field left out is missing, not the stored value
    if practitioner is not None and request.method != "POST":
        data = {"name": practitioner.name, "sites": practitioner.site_codes, "active": "yes" if practitioner.active else "no",
                "staff_account": str(practitioner.staff_user_id or "")}
    return PractitionerForm(data=data, sites=_site_pairs(), accounts=_linkable_accounts(practitioner))


def _still_booked(practitioner) -> list[tuple[object, str]]:
    """An inactive practitioner's future appointments, each with its request's reference."""
    if practitioner is None or practitioner.active:
        return []
    appointments = setup.future_appointments(practitioner.id, utcnow())
    references = dict(db.session.execute(select(AssessmentRequest.id, AssessmentRequest.reference).where(
        AssessmentRequest.id.in_([appointment.request_id for appointment in appointments]))).all())
    return [(appointment, references.get(appointment.request_id, "")) for appointment in appointments]


@bp.route("/setup/practitioners/new", methods=["GET", "POST"])
@bp.route(PRACTITIONER, methods=["GET", "POST"])
@roles("admin")
def setup_practitioner(practitioner_id: int | None = None):
    """Add a practitioner, or change one (name, sites, taking appointments, staff sign-in)."""
    practitioner = None if practitioner_id is None else _practitioner_or_404(practitioner_id)
    form, status = _practitioner_form(practitioner), 200
    if form.validate_on_submit():
        try:
            saved, changes = setup.save_practitioner(
                practitioner, name=form.name.data, site_codes=form.sites.data, active=form.active.data == "yes",
                staff_user_id=form.staff_account.id_or_none(), known_sites=dict(_site_pairs()),
                linkable_staff_ids={int(value) for value, _ in _linkable_accounts(practitioner)},
            )
        except SetupError as error:
            status = _refused(form, error)
        else:
            if changes:
                audit(current_user, "setup_practitioner", practitioner_id=saved.id, added=practitioner is None, changes=changes)
            db.session.commit()
            flash(f"{saved.name}: saved" if changes else "Nothing changed")
            return _redirect("staff.setup_practitioner", practitioner_id=saved.id)
    elif request.method == "POST":
        status = 400
    return render_template("staff/setup/practitioner.html", form=form, practitioner=practitioner,
                           still_booked=_still_booked(practitioner), london=LONDON), status


@bp.get("/setup/hours")
@bp.route(PRACTITIONER + "/hours", methods=["GET", "POST"])
@roles("admin")
def setup_hours(practitioner_id: int | None = None):
    """Everyone's week; or one practitioner's weekly sessions, where they are added and removed."""
    if practitioner_id is None:
        names = {person.id: person for person in diary.practitioners(include_inactive=True)}
        return render_template("staff/setup/week.html", sessions=setup.weekly_hours(), people=names,
                               site_names=dict(_site_pairs()), weekdays=setup.WEEKDAYS)
    practitioner = _practitioner_or_404(practitioner_id)
    if request.method == "POST" and "remove" in request.form:
        return _remove_hours(practitioner)
    form, status = HoursForm(sites=_site_pairs(practitioner.site_codes)), 200
    if form.validate_on_submit():
        try:
            added = setup.add_working_hours(practitioner, weekday=int(form.weekday.data), site_code=form.site.data,
                                            starts=form.starts.time, ends=form.ends.time)
        except SetupError as error:
            status = _refused(form, error)
        else:
            audit(current_user, "setup_hours_add", **setup.hours_facts(added))
            db.session.commit()
            return _redirect("staff.setup_hours", practitioner_id=practitioner.id)
    elif request.method == "POST":
        status = 400
    return _hours_page(practitioner, form, status)


def _hours_page(practitioner, form, status: int):
    return render_template("staff/setup/hours.html", practitioner=practitioner, form=form, sessions=setup.weekly_hours(practitioner.id),
                           site_names=dict(_site_pairs()), weekdays=setup.WEEKDAYS), status


def _remove_hours(practitioner):
    """Remove one of the practitioner's weekly sessions (any other id is not found)."""
    session_id = RemoveForm().row_id()
    try:
        removed = setup.remove_working_hours(practitioner, session_id) if session_id else abort(404)
    except SetupError:
        abort(404)
    audit(current_user, "setup_hours_remove", **setup.hours_facts(removed))
    db.session.commit()
    return _redirect("staff.setup_hours", practitioner_id=practitioner.id)


@bp.route("/setup/exceptions", methods=["GET", "POST"])
@roles("admin")
def setup_exceptions():
    """Exceptions not yet over, soonest first, each with a button to delete it."""
    if request.method == "POST":
        exception_id = RemoveForm().row_id()
        try:
            removed = setup.delete_exception(exception_id) if exception_id else abort(404)
        except SetupError:
            abort(404)
        audit(current_user, "setup_exception_delete", **setup.exception_facts(removed))
        db.session.commit()
        flash("Exception deleted")
        return _redirect("staff.setup_exceptions")
    names = {person.id: person.name for person in diary.practitioners(include_inactive=True)}
    return render_template("staff/setup/exceptions.html", exceptions=setup.upcoming_exceptions(utcnow()), names=names,
                           site_names=dict(_site_pairs()), london=LONDON)


def _exception_added(exception, notes: list[str]):
    audit(current_user, "setup_exception_add", **setup.exception_facts(exception))
    db.session.commit()
    for note in ["Exception added", *notes]:
        flash(note)
    return _redirect("staff.setup_exceptions")


@bp.route("/setup/exceptions/away", methods=["GET", "POST"])
@roles("admin")
def setup_away():
    """Someone, or everyone, away: leave, training, the clinic closed."""
    form, status = AwayForm(people=_people(), sites=_site_pairs()), 200
    if form.validate_on_submit():
        try:
            away, notes = setup.add_away(
                practitioner_id=form.practitioner.id_or_none(), site_code=form.site.value_or_none(),
                first_day=form.starts_on.data, starts=form.starts_at.time, last_day=form.ends_on.data, ends=form.ends_at.time,
                note=form.note.data or "", known_sites=dict(_site_pairs()), today=today_in_london(),
            )
        except SetupError as error:
            status = _refused(form, error)
        else:
            return _exception_added(away, notes)
    elif request.method == "POST":
        status = 400
    return render_template("staff/setup/away.html", form=form), status


@bp.route("/setup/exceptions/extra", methods=["GET", "POST"])
@roles("admin")
def setup_extra():
    """A one-off session outside someone's weekly hours."""
    form, status = ExtraForm(people=_people(active_only=True), sites=_site_pairs()), 200
    if form.validate_on_submit():
        try:
            extra, notes = setup.add_extra(
                _practitioner_or_404(form.practitioner.id_or_none()), site_code=form.site.data, day=form.day.data,
                starts=form.starts.time, ends=form.ends.time, note=form.note.data or "", today=today_in_london(),
            )
        except SetupError as error:
            status = _refused(form, error)
        else:
            return _exception_added(extra, notes)
    elif request.method == "POST":
        status = 400
    return render_template("staff/setup/extra.html", form=form), status


def _rules_form() -> RulesForm:
    if request.method == "POST":
        return RulesForm()  # read as sent: a field left out is missing, not the stored value
    rules, kind = diary.booking_rules(), diary.assessment_type(current_app.config["APPOINTMENT_MINUTES"])
    values = {"notice_working_days": rules.notice_working_days, "horizon_days": rules.horizon_days, "step_minutes": rules.step_minutes,
              "minutes": kind.minutes, "buffer_minutes": kind.buffer_minutes}
    return RulesForm(data={**{name: str(value) for name, value in values.items()}, "bank_holidays": rules.bank_holidays,
                           "patients_choose_times": "yes" if rules.patients_choose_times else "no"})


@bp.route("/setup/rules", methods=["GET", "POST"])
@roles("admin")
def setup_rules():
    """The booking rules and the initial assessment's length, with the next bank holidays."""
    form, status = _rules_form(), 200
    if form.validate_on_submit():
        numbers = {name: getattr(form, name).number for name in setup.RULE_LIMITS}
        try:
            changes = setup.save_rules(**numbers, bank_holidays=form.bank_holidays.data, default_minutes=current_app.config["APPOINTMENT_MINUTES"],
                                       patients_choose_times=form.patients_choose_times.data == "yes")
        except SetupError as error:
            status = _refused(form, error)
        else:
            if changes:
                audit(current_user, "setup_rules", changes=changes)
            db.session.commit()
            flash("Booking rules saved" if changes else "Nothing changed")
            return _redirect("staff.setup_rules")
    elif request.method == "POST":
        status = 400
    today = today_in_london()
    return render_template("staff/setup/rules.html", form=form, bank_holidays=setup.next_bank_holidays(diary.booking_rules().bank_holidays, today), today=today), status
