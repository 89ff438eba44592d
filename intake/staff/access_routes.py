"""A patient's right of access, on the `staff` blueprint (admins only): find their requests, then
give them everything held, as a page to read or print or as a JSON file. Every export is audited
against each request it covers."""

from __future__ import annotations

from flask import Response, render_template, request, stream_template, stream_with_context
from flask_login import current_user

from intake.platform.extensions import db
from intake.platform.forms import select_choices
from intake.platform.streaming import buffered, json_chunks
from intake.platform.timeutil import LONDON, utcnow
from intake.staff import subject_access
from intake.staff.access_forms import ExportForm, FindPatientQuery
from intake.staff.audit import audit
from intake.staff.routes import bp, roles


def _found(query: FindPatientQuery) -> list:
    """The requests the search finds (none before a search, or for one with an error)."""
    searched = "q" in request.args
    return subject_access.find_requests(query.q.data) if searched and query.validate() else []


def _choices(found) -> list:
    """Each request found, as a choice that says whose it is."""
    return select_choices((stored.reference, _whose(stored)) for stored in found)


def _whose(stored) -> str:
    """A found request in words: whose it is and when it was sent (or that its personal data was erased)."""
    sent = f"sent {stored.created_at.astimezone(LONDON):%-d %B %Y}"
    if stored.erased:
        return f"{stored.reference}: personal data erased {stored.erased_at.astimezone(LONDON):%-d %B %Y}, {sent}"
    return f"{stored.reference}: {stored.first_name} {stored.last_name}, born {stored.date_of_birth:%-d %B %Y}, {sent}"


@bp.get("/subject-access")
@roles("admin")
def subject_access_search():
    """Find a patient's requests by reference, email address or phone number."""
    query = FindPatientQuery(request.args)
    found = _found(query)
    form = ExportForm(references=[stored.reference for stored in found] if len(found) == 1 else [])
    form.references.choices = _choices(found)
    status = 400 if "q" in request.args and query.errors else 200
    return render_template("staff/subject_access.html", form=query, export=form, found=found, searched="q" in request.args), status


@bp.post("/subject-access")
@roles("admin")
def subject_access_export():
    """Everything held about the chosen requests, as a page or a JSON file, audited first and then
    sent as it is read (a patient with much on record is never held in memory whole)."""
    query = FindPatientQuery(request.args)
    form = ExportForm()
    form.references.choices = _choices(_found(query))
    if not form.validate():
        return render_template("staff/subject_access.html", form=query, export=form, found=[], searched=True), 400
    chosen = subject_access.requests_by_reference(form.references.data)
    now = utcnow()
    chosen_ids = [stored.id for stored in chosen]
    for request_id in chosen_ids:
        audit(current_user, "subject_access", request_id, now, format=form.format.data)
    db.session.commit()
    record = subject_access.record_of(chosen_ids, now)
    if form.format.data == "json":
        return Response(
            stream_with_context(buffered(json_chunks(record))), mimetype="application/json",
            headers={"Content-Disposition": f'attachment; filename="subject-access-{now.astimezone(LONDON):%Y-%m-%d-%H%M}.json"',
                     "Cache-Control": "no-store"},
        )
    return Response(buffered(stream_template("staff/subject_access_record.html", record=record, prepared=now)))
