"""The reception diary's views, on the `staff` blueprint: a site's day and week, a practitioner's
printable day list, and a clinician's own day. They only read (without a transaction: `reads_only`);
every role may see them.

The site and the day come from the query string and are checked (`DiaryQuery`): a bad one gets
the page for the site's today with a message next to the field, and a 400.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta

from flask import abort, current_app, redirect, render_template, request, url_for
from flask_login import current_user
from werkzeug.datastructures import MultiDict

from intake.appointments import diary as appointments_diary
from intake.appointments.diary_view import FIRST_DAY, LAST_DAY, monday_of, parse_day
from intake.appointments.models import Appointment
from intake.clinic.sites import site_by_code
from intake.platform.database import reads_only
from intake.platform.extensions import db
from intake.platform.timeutil import LONDON, utcnow
from intake.staff import diary, services
from intake.staff.errors import StaffError
from intake.staff.forms import DiaryQuery, OutcomeForm, WeekQuery
from intake.staff.routes import ALL_ROLES, MAX_ROW_ID, bp, roles

URGENCY_WORDS = {"emergency": "Emergency", "urgent": "Urgent", "routine": "Routine"}


def _query(form_class=DiaryQuery):
    """The checked query string: the form (with any errors), the site, the day and the page's status."""
    sites = current_app.config["CLINIC_SITES"]
    query = form_class(request.args, sites)
    valid = query.validate()
    site = (None if query.site.errors else site_by_code(sites, query.site.data)) or sites[0]
    today = utcnow().astimezone(LONDON).date()
    day = (parse_day(query.day.data) if query.day.data and not query.day.errors else None) or today
    return query, site, day, today, 200 if valid else 400


def _neighbours(day: date, days: int) -> tuple[date | None, date | None]:
    """The days `days` before and after, within the days a diary page may show."""
    earlier, later = day - timedelta(days=days), day + timedelta(days=days)
    return (earlier if earlier >= FIRST_DAY else None), (later if later <= LAST_DAY else None)


def _page(template: str, form, **values):
    sites = current_app.config["CLINIC_SITES"]
    return render_template(
        template, form=form, sites=sites, site_names={site.code: site.name for site in sites}, urgency_words=URGENCY_WORDS, **values
    )


@bp.app_template_filter("clock")
def clock(moment: datetime) -> str:
    """A UTC time as London wall-clock time, "09:30"."""
    return moment.astimezone(LONDON).strftime("%H:%M")


@bp.get("/diary")
@reads_only
@roles(*ALL_ROLES)
def diary_day():
    """A site's day: practitioners as columns, their appointments, hours and free times."""
    query, site, day, _, status = _query()
    return _day_page(query, site, day), status


@bp.get("/diary/week")
@reads_only
@roles(*ALL_ROLES)
def diary_week():
    """A site's week: a row per day, a column per practitioner."""
    query, site, day, today, status = _query(WeekQuery)
    monday = monday_of(day)
    setup, free = diary.week_free_times(site.code, monday, utcnow(), default_minutes=current_app.config["APPOINTMENT_MINUTES"])
    # The table is kept for this version of the diary: the same week, day and free times still to
    # come show the same table until the diary (or a booked patient's details) changes.
    table = current_app.extensions["kept_fragments"].fragment(
        setup.stamp, (site.code, monday, today, len(free)), "staff/_diary_week_table.html",
        lambda: {"site": site, "view": diary.week_view(site.code, monday, setup, free), "today": today, "urgency_words": URGENCY_WORDS},
    )
    earlier, later = _neighbours(monday, 7)
    return _page("staff/diary_week.html", query, site=site, monday=monday, this_monday=monday_of(today), table=table, today=today, earlier=earlier, later=later), status


@bp.post(f"/diary/appointments/<int(max={MAX_ROW_ID}):appointment_id>/outcome")
@roles("reception", "admin")
def record_outcome(appointment_id: int):
    """Mark an appointment attended or not from the diary, and show that day again."""
    appointment = db.session.get(Appointment, appointment_id) or abort(404)
    form, day = OutcomeForm(), appointment.starts_at.astimezone(LONDON).date()
    try:
        if not form.validate_on_submit():
            raise StaffError(form.outcome.errors[0] if form.outcome.errors else "The form had expired. Try again.")
        services.record_outcome(appointment, form.outcome.data, current_user, utcnow())
    except StaffError as refused:
        db.session.rollback()
        sites = current_app.config["CLINIC_SITES"]
        site = site_by_code(sites, appointment.site_code) or sites[0]
        query = DiaryQuery(MultiDict({"site": site.code, "day": day.isoformat()}), sites)
        return _day_page(query, site, day, problem=str(refused)), 409
    db.session.commit()
    return redirect(url_for("staff.diary_day", site=appointment.site_code, day=day.isoformat()), code=303)


def _day_page(query: DiaryQuery, site, day: date, problem: str = ""):
    """A site's day as the diary shows it (after an action on it, with what went wrong, if anything)."""
    now = utcnow()
    view = diary.day_view(site.code, day, now, default_minutes=current_app.config["APPOINTMENT_MINUTES"])
    earlier, later = _neighbours(day, 1)
    return _page("staff/diary_day.html", query, site=site, day=day, view=view, today=now.astimezone(LONDON).date(),
                 earlier=earlier, later=later, problem=problem, now=now)


@bp.get(f"/diary/practitioners/<int(max={MAX_ROW_ID}):practitioner_id>")
@reads_only
@roles(*ALL_ROLES)
def practitioner_day(practitioner_id: int):
    """A practitioner's day at every site, to print: time, patient, reference, phone, urgency."""
    person = diary.practitioner(practitioner_id) or abort(404)
    query, _, day, today, status = _query()
    earlier, later = _neighbours(day, 1)
    entries = diary.practitioner_day(person.id, day)
    return _page("staff/day_list.html", query, person=person, day=day, today=today, entries=entries, earlier=earlier, later=later,
                 endpoint="staff.practitioner_day"), status


@bp.get("/diary/mine")
@reads_only
@roles(*ALL_ROLES)
def my_day():
    """The signed-in clinician's own day, if their sign-in is linked to a practitioner."""
    person = appointments_diary.practitioner_for_staff(current_user.id)
    query, _, day, today, status = _query()
    earlier, later = _neighbours(day, 1)
    entries = diary.practitioner_day(person.id, day) if person else []
    return _page("staff/day_list.html", query, person=person, day=day, today=today, entries=entries, earlier=earlier, later=later,
                 endpoint="staff.my_day", mine=True), status
