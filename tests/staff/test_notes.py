"""Notes on a request: kept with author and time, audited, never empty, never edited or deleted."""

from __future__ import annotations

import html
import re

from sqlalchemy import func, select

from intake.platform.extensions import db
from intake.platform.timeutil import LONDON, utcnow
from intake.staff import services as staff_services
from intake.staff.models import RequestNote
from tests.support.back_office import audit_events, error_messages


# --- 5. notes -----------------------------------------------------------------------------

def test_notes_are_kept_with_author_and_time_shown_and_audited(desk):
    """Each note keeps who wrote it and when, appears on the page and is audited."""
    desk.set_status("new")
    notes_before = audit_events(desk.app, "add_note", desk.reference)
    started = utcnow()
    for body in ("Rang, left a voicemail.", "Patient called back; prefers mornings."):
        assert desk.staff.post(desk.path("notes"), {"body": body}).status_code == 303
    finished = utcnow()
    with desk.app.app_context():
        notes = [(note.body, note.author.email, note.created_at) for note in staff_services.notes(staff_services.find_request(desk.reference))][-2:]
    assert [(body, author) for body, author, _ in notes] == [
        ("Rang, left a voicemail.", desk.email), ("Patient called back; prefers mornings.", desk.email)
    ]
    assert all(started <= at <= finished for _, _, at in notes)
    page = html.unescape(desk.staff.client.get(desk.path()).get_data(as_text=True))
    for body, _, at in notes:
        assert re.search(rf"{re.escape(body)}</p><p class=\"hint\">Rita Reception, {re.escape(at.astimezone(LONDON).strftime('%-d %b %Y, %H:%M'))}", page)
    new = audit_events(desk.app, "add_note", desk.reference)[len(notes_before):]
    assert [entry["staff_email"] for entry in new] == [desk.email, desk.email]


def test_an_empty_note_is_refused(desk):
    """A blank note is a 400 with a message; nothing is stored or audited."""
    with desk.app.app_context():
        count = db.session.execute(select(func.count()).select_from(RequestNote)).scalar_one()
    before = audit_events(desk.app, "add_note")
    response = desk.staff.post(desk.path("notes"), {"body": "   \n  "})
    assert response.status_code == 400
    assert "Write a note before adding it" in error_messages(response.get_data(as_text=True))
    with desk.app.app_context():
        assert db.session.execute(select(func.count()).select_from(RequestNote)).scalar_one() == count
    assert audit_events(desk.app, "add_note") == before


def test_there_is_no_way_to_edit_or_delete_a_note(desk):
    """Notes are only ever added: the only note URL takes POST to add, nothing edits or deletes."""
    rules = [rule for rule in desk.app.url_map.iter_rules() if "note" in rule.rule or "note" in rule.endpoint]
    assert [(rule.rule, sorted(rule.methods - {"HEAD", "OPTIONS"})) for rule in rules] == [
        ("/staff/requests/<reference>/notes", ["POST"])
    ]
    assert not [rule.rule for rule in desk.app.url_map.iter_rules() if rule.methods & {"PUT", "PATCH", "DELETE"}]
    assert desk.staff.client.delete(desk.path("notes")).status_code == 405
    assert desk.staff.post(desk.path("notes") + "/1", {"body": "changed"}).status_code == 404
