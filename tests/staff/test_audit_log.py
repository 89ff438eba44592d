"""The audit log: one entry per action with who, what and when; read by admins only; append-only."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import delete, func, select, update

from intake.platform.extensions import db
from intake.platform.timeutil import utcnow
from intake.staff import services as staff_services
from intake.staff.models import AuditEvent, AuditLogIsAppendOnly
from tests.factories import booking_form, free_slot, give_up_on_an_email, new_practitioner, new_request, sign_in, staff_id
from tests.support.back_office import audit_events, request_id


# --- 6. the audit log ---------------------------------------------------------------------


def test_each_action_on_a_record_writes_one_audit_entry_with_who_what_and_when(app, patient, make_staff, staff_client):
    """View, status change, note, booking, export and email retry: one entry each."""
    reference = patient.complete()
    message_id = give_up_on_an_email(app, reference)
    new_practitioner(app, "Clara Clinician")
    email = make_staff("reception")
    staff = sign_in(app, email)
    started = utcnow()
    assert staff.client.get(f"/staff/requests/{reference}").status_code == 200
    assert staff.post(f"/staff/requests/{reference}/status", {"status": "contacted"}).status_code == 303
    assert staff.post(f"/staff/requests/{reference}/notes", {"body": "Rang back."}).status_code == 303
    assert staff.post(f"/staff/requests/{reference}/book", booking_form(free_slot(app))).status_code == 303
    assert staff.client.get("/staff/export.csv?status=booked").status_code == 200
    assert staff.post(f"/staff/outbox/{message_id}/retry").status_code == 303
    finished = utcnow()

    entries = [entry for entry in audit_events(app) if entry["at"] >= started]
    assert sorted(entry["action"] for entry in entries) == sorted(["view_request", "change_status", "add_note", "book", "export_csv", "retry_email"])
    user = staff_id(app, email)
    the_request = request_id(app, reference)
    for entry in entries:
        assert (entry["staff_email"], entry["staff_id"]) == (email, user), entry
        assert started <= entry["at"] <= finished
        assert entry["request_id"] == (None if entry["action"] == "export_csv" else the_request), entry
    detail = {entry["action"]: entry["detail"] for entry in entries}
    assert detail["change_status"] == {"from": "new", "to": "contacted"}
    assert detail["book"]["from"] == "contacted" and detail["book"]["clinician"] == "Clara Clinician"
    assert detail["export_csv"] == {"filters": {"status": "booked"}, "rows": 1}
    assert detail["retry_email"]["message_id"] == message_id


def test_admins_read_the_audit_log_and_can_filter_it_by_reference(app, patient, make_staff, staff_client):
    """The admin sees who viewed what, and can narrow it to one request (any case)."""
    first = patient.complete()
    second = new_request(app, first="Grace", last="Hopper", email="grace@example.com")
    email = make_staff("reception")
    reception = sign_in(app, email)
    for reference in (first, second, second):
        assert reception.client.get(f"/staff/requests/{reference}").status_code == 200
    admin = staff_client("admin")

    def shown(query: str = "") -> list[tuple[str, str, str]]:
        response = admin.client.get(f"/staff/audit{query}")
        assert response.status_code == 200
        body = response.get_data(as_text=True)
        rows = re.findall(r"<tr>\s*<td>([^<]*)</td>\s*<td>([^<]*)</td>\s*<td>([^<]*)</td>\s*<td>(?:<a [^>]*>)?([^<]*)(?:</a>)?</td>", body)
        return [(who, what, request) for _, who, what, request in rows]

    everything = shown()
    assert (email, "view request", first) in everything
    assert {what for _, what, _ in everything} >= {"view request", "login"}
    for query in (f"?reference={second}", f"?reference={second.lower()}"):
        filtered = shown(query)
        assert filtered == [(email, "view request", second)] * 2
    assert "2 entries" in admin.client.get(f"/staff/audit?reference={second}").get_data(as_text=True)


@pytest.mark.parametrize("role", ["reception", "clinician"])
def test_only_admins_may_read_the_audit_log(app, staff_client, role):
    """Reception and clinicians get a 403."""
    assert staff_client(role).client.get("/staff/audit").status_code == 403


def test_audit_entries_cannot_be_changed_or_deleted_through_the_orm(desk):
    """Editing or deleting a loaded entry raises AuditLogIsAppendOnly and leaves it as it was."""
    with desk.app.app_context():
        entry_id = db.session.execute(select(func.min(AuditEvent.id))).scalar_one()
    original = [e for e in audit_events(desk.app) if e["id"] == entry_id]
    with desk.app.app_context():
        entry = db.session.get(AuditEvent, entry_id)
        entry.action, entry.staff_email, entry.detail = "nothing_to_see", "someone@else.example", {}
        with pytest.raises(AuditLogIsAppendOnly):
            db.session.commit()
        db.session.rollback()
        db.session.delete(db.session.get(AuditEvent, entry_id))
        with pytest.raises(AuditLogIsAppendOnly):
            db.session.flush()
        db.session.rollback()
    assert [e for e in audit_events(desk.app) if e["id"] == entry_id] == original


def test_audit_entries_cannot_be_changed_or_deleted_with_orm_bulk_statements(app):
    """session.execute(update(AuditEvent)) and delete(AuditEvent) are the ORM too: refused, nothing changes."""
    with app.app_context():
        staff_services.audit(None, "login_failed", email="someone@example.com")
        db.session.commit()
    before = audit_events(app)
    refused = {}
    for name, statement in (("update", update(AuditEvent).values(action="nothing_to_see")), ("delete", delete(AuditEvent))):
        with app.app_context():
            try:
                db.session.execute(statement)
                db.session.commit()
                refused[name] = False
            except AuditLogIsAppendOnly:
                db.session.rollback()
                refused[name] = True
    assert (refused, audit_events(app)) == ({"update": True, "delete": True}, before)
