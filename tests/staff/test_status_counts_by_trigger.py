"""The per-status counts the back office shows are kept by the database, so they stay right
whatever changes a status: a submission, staff, a booking, or SQL that goes round the app."""

from __future__ import annotations

from flask_migrate import upgrade
from sqlalchemy import delete, func, insert, select, text, update

from intake.appointments.services import active_appointments
from intake.staff.services import find_request
from tests.factories import Patient, booking_form, free_slot, new_practitioner
from tests.support.database import reset_database
from intake.journey.models import AssessmentRequest, StatusCount
from intake.platform.extensions import db

REQUESTS = AssessmentRequest.__table__


def counts_match(app) -> dict[str, int]:
    """Assert the stored counts equal a count of the rows; return them (statuses with requests)."""
    with app.app_context():
        stored = {status: number for status, number in db.session.execute(select(StatusCount.status, StatusCount.requests)) if number}
        counted = dict(db.session.execute(select(AssessmentRequest.status, func.count()).group_by(AssessmentRequest.status)).all())
        db.session.remove()
    assert stored == counted
    return stored


def copy_request(reference: str, new_reference: str, status: str) -> None:
    """Insert a copy of a stored request with a plain Core INSERT (no app code runs)."""
    row = dict(db.session.execute(select(REQUESTS).where(REQUESTS.c.reference == reference)).mappings().one())
    del row["id"]
    row.update(reference=new_reference, submission_key=f"copy-{new_reference}", status=status)
    db.session.execute(insert(REQUESTS), row)
    db.session.commit()


def test_every_way_a_status_changes_keeps_the_counts_right(app, make_staff, staff_client):
    first = Patient(app.test_client()).complete()
    second = Patient(app.test_client()).complete()
    assert counts_match(app) == {"new": 2}  # submission

    reception = staff_client("reception")
    assert reception.post(f"/staff/requests/{first}/status", {"status": "contacted"}).status_code == 303
    assert counts_match(app) == {"new": 1, "contacted": 1}  # a staff status change

    new_practitioner(app)
    assert reception.post(f"/staff/requests/{second}/book", booking_form(free_slot(app))).status_code == 303
    assert counts_match(app) == {"contacted": 1, "booked": 1}  # a booking
    with app.app_context():
        [appointment] = active_appointments(find_request(second).id)
        appointment_id = appointment.id
    moved = reception.post(f"/staff/requests/{second}/appointments/{appointment_id}/move",
                           {**booking_form(free_slot(app, index=4)), "sequence": "0"})
    assert moved.status_code == 303
    assert counts_match(app) == {"contacted": 1, "booked": 1}  # moved: still booked, counted once

    with app.app_context():
        db.session.execute(text("UPDATE assessment_requests SET status = 'declined' WHERE reference = :ref"), {"ref": first})
        db.session.commit()
        copy_request(first, "COPY2345", "cancelled")
        copy_request(first, "COPY3456", "new")
    assert counts_match(app) == {"declined": 1, "booked": 1, "cancelled": 1, "new": 1}  # raw SQL and Core inserts

    with app.app_context():
        db.session.execute(update(REQUESTS).where(REQUESTS.c.reference == "COPY3456").values(status="attended"))
        db.session.execute(update(REQUESTS).where(REQUESTS.c.reference == "COPY2345").values(first_name="Ada"))
        db.session.execute(delete(REQUESTS).where(REQUESTS.c.reference == "COPY2345"))
        db.session.commit()
    assert counts_match(app) == {"declined": 1, "booked": 1, "attended": 1}  # a bulk update and a delete

    with app.app_context():
        db.session.execute(update(REQUESTS).values(status="new"))
        db.session.rollback()  # a change that is rolled back takes its counts with it
    assert counts_match(app) == {"declined": 1, "booked": 1, "attended": 1}


def test_a_migrated_database_keeps_the_counts_by_trigger_too(make_app):
    app = make_app()
    with app.app_context():
        reset_database()
        upgrade()
    first = Patient(app.test_client()).complete()
    with app.app_context():
        copy_request(first, "COPY2345", "new")
        db.session.execute(update(REQUESTS).where(REQUESTS.c.reference == first).values(status="declined"))
        db.session.commit()
    assert counts_match(app) == {"new": 1, "declined": 1}
    with app.app_context():
        db.session.execute(delete(REQUESTS).where(REQUESTS.c.reference == "COPY2345"))
        db.session.commit()
    assert counts_match(app) == {"declined": 1}
