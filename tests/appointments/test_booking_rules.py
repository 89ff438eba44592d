"""The booking rules, called directly with a plain clinician (no back office in between)."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from tests.factories import Patient
from intake.appointments.services import BookingError, Clinician, active_appointments, book_appointment
from intake.platform.extensions import db
from intake.staff.services import find_request

NOW = datetime(2030, 3, 4, 9, 0, tzinfo=timezone.utc)
TOMORROW_TEN = datetime(2030, 3, 5, 10, 0)  # London wall time (GMT in March, before the clocks change)


@pytest.fixture
def booked(app, make_staff):
    """Two submitted requests and a clinician's account id."""
    references = [Patient(app.test_client()).complete() for _ in range(2)]
    make_staff("clinician", name="Clara Clinician")
    return references


def book(reference: str, clinician: Clinician | None, local_start: datetime = TOMORROW_TEN):
    return book_appointment(
        find_request(reference), local_start=local_start, minutes=45, clinician=clinician,
        site_code="riverside", booked_by_id=clinician.id if clinician else 1, now=NOW,
    )


def clara() -> Clinician:
    from intake.staff.accounts import clinicians

    [person] = clinicians()
    return Clinician(person.id, person.name, person.role, person.active)


@pytest.mark.parametrize("who, field", [
    (None, "clinician"),
    ("receptionist", "clinician"),
    ("left", "clinician"),
])
def test_only_an_active_clinician_can_be_booked(app, booked, who, field):
    with app.app_context():
        person = clara()
        chosen = {None: None, "receptionist": Clinician(person.id, "Rita", "reception", True),
                  "left": Clinician(person.id, person.name, "clinician", False)}[who]
        with pytest.raises(BookingError) as refused:
            book(booked[0], chosen)
        assert refused.value.field == field
        assert str(refused.value) == "Choose a clinician who is working here."


def test_a_time_in_the_past_is_refused(app, booked):
    with app.app_context():
        with pytest.raises(BookingError) as refused:
            book(booked[0], clara(), local_start=datetime(2030, 3, 4, 8, 0))
        assert (refused.value.field, str(refused.value)) == ("day", "The appointment must be in the future.")


def test_a_clash_is_refused_and_a_rebooking_replaces_the_earlier_appointment(app, booked):
    with app.app_context():
        first = book(booked[0], clara())
        assert first.rescheduled is False
        assert first.appointment.starts_at == datetime(2030, 3, 5, 10, 0, tzinfo=timezone.utc)
        with pytest.raises(BookingError) as refused:
            book(booked[1], clara(), local_start=TOMORROW_TEN + timedelta(minutes=30))
        assert refused.value.field == "start_time"
        assert str(refused.value) == "Clara Clinician already has an appointment at that time."
        again = book(booked[0], clara(), local_start=TOMORROW_TEN + timedelta(minutes=15))
        assert again.rescheduled is True
        request = find_request(booked[0])
        assert request.status == "booked"
        assert [appointment.id for appointment in active_appointments(request.id)] == [again.appointment.id]
        db.session.rollback()
