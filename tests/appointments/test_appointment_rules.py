"""The booking rules called directly (no pages): only free times are booked, the database itself
refuses an overlap however it is written, a lost race becomes SlotTaken with nearby times,
moves keep the appointment's row and raise its sequence, and cancelled time is free at once."""

from __future__ import annotations

import threading
from datetime import date, datetime, time, timedelta, timezone

import pytest
from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError

from intake.appointments import diary, services
from intake.appointments.models import Appointment, Practitioner
from intake.appointments.slots import slot_value
from intake.journey.models import AssessmentRequest
from intake.platform.extensions import db
from intake.platform.timeutil import LONDON
from tests.factories import new_practitioner, new_request, new_staff, staff_id

# A Monday; the next working day (the first bookable one for patients) is Tuesday 1 December.
NOW = datetime(2026, 11, 30, 10, 0, tzinfo=timezone.utc)
TUESDAY = date(2026, 12, 1)


def london(day: date, hour: int, minute: int = 0) -> datetime:
    return datetime.combine(day, time(hour, minute), LONDON).astimezone(timezone.utc)


def value(practitioner: int, starts_at: datetime, site: str = "riverside") -> str:
    return f"{practitioner}.{site}.{starts_at.astimezone(timezone.utc):%Y%m%dT%H%MZ}"


@pytest.fixture
def clinic(app):
    """Two requests and Clara, who works weekdays 09:00-17:00 at Riverside and Canal Side."""
    requests = [new_request(app, email=f"patient{number}@example.com") for number in range(2)]
    clara = new_practitioner(app, "Clara Clinician", sites=("riverside", "canal-side"))
    with app.app_context():
        ids = [db.session.execute(select(AssessmentRequest.id).where(AssessmentRequest.reference == ref)).scalar_one() for ref in requests]
    return ids, clara


def book(request_id: int, slot: str, *, now: datetime = NOW, staff: int | None = None) -> Appointment:
    return services.book(request_id, services.Choice.parse(slot), now=now, default_minutes=45, booked_by_id=staff)


def raw_appointment(request_id: int, practitioner: int, starts_at: datetime, blocked_minutes: int = 60, **values) -> Appointment:
    return Appointment(
        request_id=request_id, practitioner_id=practitioner, site_code="riverside", starts_at=starts_at, minutes=45,
        buffer_minutes=blocked_minutes - 45, blocked_until=starts_at + timedelta(minutes=blocked_minutes), **values,
    )


def test_a_booking_blocks_its_length_and_buffer_and_is_stored_in_utc(app, clinic):
    (first, _), clara = clinic
    with app.app_context():
        booked = book(first, value(clara, london(TUESDAY, 9)))
        db.session.commit()
        assert (booked.starts_at, booked.blocked_until) == (london(TUESDAY, 9), london(TUESDAY, 10))
        assert booked.booked_by_id is None and booked.minutes == 45 and booked.buffer_minutes == 15
        free = {slot.local.strftime("%H:%M") for slot in diary.free_times(NOW, default_minutes=45, first_day=TUESDAY, last_day=TUESDAY)}
        assert {"09:00", "09:15", "09:30", "09:45"}.isdisjoint(free) and "10:00" in free


def test_the_database_refuses_an_overlap_written_round_the_rules(app, clinic):
    """Whatever writes the row (a script, a bug), two live appointments of one practitioner cannot overlap."""
    (first, second), clara = clinic
    with app.app_context():
        db.session.add(raw_appointment(first, clara, london(TUESDAY, 10)))
        db.session.commit()
        for starts in (london(TUESDAY, 10), london(TUESDAY, 10, 15), london(TUESDAY, 9, 15)):
            db.session.add(raw_appointment(second, clara, starts))
            with pytest.raises(IntegrityError, match="appointments_no_overlap"):
                db.session.flush()
            db.session.rollback()
        db.session.add(raw_appointment(second, clara, london(TUESDAY, 11)))  # touching the buffer's end is fine
        db.session.add(raw_appointment(second, clara, london(TUESDAY, 10), cancelled=True))  # cancelled rows never clash
        db.session.commit()
        moved = db.session.execute(select(Appointment).where(Appointment.starts_at == london(TUESDAY, 11))).scalar_one()
        with pytest.raises(IntegrityError, match="appointments_no_overlap"):
            db.session.execute(update(Appointment).where(Appointment.id == moved.id).values(
                starts_at=london(TUESDAY, 10, 30), blocked_until=london(TUESDAY, 11, 30)))
        db.session.rollback()
        with pytest.raises(IntegrityError, match="appointments_no_overlap"):
            db.session.execute(update(Appointment).where(Appointment.cancelled.is_(True)).values(cancelled=False))
        db.session.rollback()


def test_another_practitioner_may_be_booked_at_the_same_time(app, clinic):
    (first, second), clara = clinic
    priya = new_practitioner(app, "Priya Physio")
    with app.app_context():
        book(first, value(clara, london(TUESDAY, 9)))
        book(second, value(priya, london(TUESDAY, 9)))
        db.session.commit()
        assert db.session.execute(select(func.count()).select_from(Appointment)).scalar_one() == 2


def test_a_taken_time_is_refused_with_the_nearest_free_times(app, clinic):
    (first, second), clara = clinic
    with app.app_context():
        book(first, value(clara, london(TUESDAY, 10)))
        db.session.commit()
        with pytest.raises(services.SlotTaken) as refused:
            book(second, value(clara, london(TUESDAY, 10, 15)))  # overlaps 10:00 + 45 minutes + buffer
        nearest = [slot.local.strftime("%H:%M") for slot in refused.value.nearest]
        assert "10:15" not in nearest and {"09:00", "11:00"} <= set(nearest)
        assert db.session.execute(select(func.count()).select_from(Appointment)).scalar_one() == 1


@pytest.mark.parametrize("slot, message", [
    ("", "Choose one of the times shown."),
    ("not-a-slot", "Choose one of the times shown."),
    ("99999999999999999999.riverside.20261201T0900Z", "Choose one of the times shown."),
    ("1.riverside.99991231T2359Z", "just been taken"),  # a real datetime, but nobody works then
    ("CLARA.west-green.20261201T0900Z", "Choose one of the times shown."),  # a site Clara does not work at
    ("CLARA.riverside.20261201T0700Z", "just been taken"),  # 07:00, before her hours
    ("CLARA.riverside.20261201T0907Z", "just been taken"),  # off the 15-minute grid
    ("CLARA.riverside.20261130T0900Z", "That time has passed."),
    ("CLARA.riverside.20261225T1000Z", "just been taken"),  # Christmas Day, a bank holiday
])
def test_a_time_that_is_not_free_is_refused_clearly(app, clinic, slot, message):
    (first, _), clara = clinic
    with app.app_context():
        with pytest.raises(services.BookingError, match=message):
            book(first, slot.replace("CLARA", str(clara)))
        assert db.session.execute(select(func.count()).select_from(Appointment)).scalar_one() == 0


def test_patients_keep_to_the_notice_and_horizon_but_reception_need_not(app, clinic):
    (first, second), clara = clinic
    monday_afternoon = london(date(2026, 11, 30), 15)
    receptionist = staff_id(app, new_staff(app, "reception"))
    with app.app_context():
        with pytest.raises(services.SlotTaken):
            book(first, value(clara, monday_afternoon))  # same day: inside the patients' notice
        with pytest.raises(services.SlotTaken):
            book(first, value(clara, london(date(2027, 1, 20), 10)))  # beyond six weeks
        assert book(first, value(clara, monday_afternoon), staff=receptionist).starts_at == monday_afternoon
        assert book(second, value(clara, london(date(2027, 1, 20), 10)), staff=receptionist).booked_by_id == receptionist


def test_a_deactivated_practitioner_offers_no_times_and_cannot_be_booked(app, clinic):
    (first, _), clara = clinic
    with app.app_context():
        db.session.execute(update(Practitioner).where(Practitioner.id == clara).values(active=False))
        db.session.commit()
        assert diary.free_times(NOW, default_minutes=45) == []
        with pytest.raises(services.BookingError, match="no longer taking appointments"):
            book(first, value(clara, london(TUESDAY, 9)))


def test_a_move_keeps_the_row_raises_the_sequence_and_may_overlap_its_old_time(app, clinic):
    (first, _), clara = clinic
    with app.app_context():
        booked = book(first, value(clara, london(TUESDAY, 10)))
        db.session.commit()
        moved = services.move(booked, services.Choice.parse(value(clara, london(TUESDAY, 10, 30))), now=NOW,
                              default_minutes=45, seen_sequence=0)
        db.session.commit()
        assert (moved.id, moved.sequence, moved.starts_at, moved.blocked_until) == (
            booked.id, 1, london(TUESDAY, 10, 30), london(TUESDAY, 11, 30))
        with pytest.raises(services.BookingError, match="changed after the page was shown"):
            services.move(moved, services.Choice.parse(value(clara, london(TUESDAY, 14))), now=NOW, default_minutes=45, seen_sequence=0)


def test_a_cancelled_time_is_free_at_once(app, clinic):
    (first, second), clara = clinic
    with app.app_context():
        booked = book(first, value(clara, london(TUESDAY, 10)))
        db.session.commit()
        services.cancel(booked, now=NOW, reason="Patient feels better")
        db.session.commit()
        assert book(second, value(clara, london(TUESDAY, 10))).request_id == second
        with pytest.raises(services.BookingError, match="already been cancelled"):
            services.cancel(booked, now=NOW, reason="again")


def test_times_across_the_clock_change_are_stored_unambiguously(app, clinic):
    """Sunday 25 October 2026 the clocks go back; a 09:00 the next morning is 09:00 GMT, the Friday before 08:00 UTC."""
    (first, second), clara = clinic
    autumn = datetime(2026, 10, 20, 12, tzinfo=timezone.utc)
    with app.app_context():
        friday = book(first, value(clara, datetime(2026, 10, 23, 8, tzinfo=timezone.utc)), now=autumn)
        monday = book(second, value(clara, datetime(2026, 10, 26, 9, tzinfo=timezone.utc)), now=autumn)
        db.session.commit()
        assert [appointment.starts_at.astimezone(LONDON).strftime("%H:%M") for appointment in (friday, monday)] == ["09:00", "09:00"]


def test_the_first_of_two_racing_bookings_wins_and_the_other_is_told(app, clinic):
    """Two sessions book one time at once: the database settles it (on SQLite by its write lock)."""
    (first, second), clara = clinic
    slot = value(clara, london(TUESDAY, 9))
    outcomes: list[str] = []
    barrier = threading.Barrier(2)

    def attempt(request_id: int) -> None:
        with app.app_context():
            try:
                barrier.wait()
                book(request_id, slot)
                db.session.commit()
                outcomes.append("booked")
            except services.SlotTaken:
                outcomes.append("taken")
            finally:
                db.session.remove()

    threads = [threading.Thread(target=attempt, args=(request_id,)) for request_id in (first, second)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(outcomes) == ["booked", "taken"]
    with app.app_context():
        assert db.session.execute(select(func.count()).select_from(Appointment)).scalar_one() == 1


def test_each_offered_slot_value_books(app, clinic):
    (first, _), clara = clinic
    with app.app_context():
        offered = diary.free_times(NOW, default_minutes=45, site_code="canal-side")
        assert book(first, slot_value(offered[-1])).starts_at == offered[-1].starts_at
