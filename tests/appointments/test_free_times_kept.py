"""Free times, and the clinic's set-up they come from, are worked out once per version of the
diary: any change to the diary, however it is written, raises the version in the same
transaction, so what is kept is never stale."""

from __future__ import annotations

from datetime import datetime, time, timezone

from sqlalchemy import delete, event, insert, select, update

from intake.appointments import diary
from intake.appointments.models import (
    Appointment, AppointmentType, BookingRules, DiaryException, DiaryVersion, Practitioner, PractitionerSite, WorkingHours,
)
from intake.journey.models import AssessmentRequest
from intake.platform.extensions import db
from tests.factories import new_practitioner, new_request

NOW = datetime(2026, 11, 30, 10, 0, tzinfo=timezone.utc)  # a Monday


def times(when: datetime = NOW) -> list[str]:
    return [f"{slot.practitioner_id}@{slot.local:%a %-d %b %H:%M}" for slot in diary.free_times(when, default_minutes=45, site_code="riverside")]


def version() -> int:
    return db.session.execute(select(DiaryVersion.version)).scalar_one()


def test_every_change_to_the_diary_raises_its_version_and_shows_at_once(app):
    clara = new_practitioner(app, "Clara Clinician", hours=((1, time(9), time(11)),))  # Tuesdays 09:00-11:00
    reference = new_request(app)
    with app.app_context():
        request_id = db.session.execute(select(AssessmentRequest.id).where(AssessmentRequest.reference == reference)).scalar_one()
        before = times()
        assert before[0] == f"{clara}@Tue 1 Dec 09:00" and times() == before  # asked again: the same, kept
        changes = [
            insert(Appointment).values(
                request_id=request_id, practitioner_id=clara, site_code="riverside", starts_at=datetime(2026, 12, 1, 9, tzinfo=timezone.utc),
                minutes=45, buffer_minutes=15, blocked_until=datetime(2026, 12, 1, 10, tzinfo=timezone.utc), cancelled=False, sequence=0,
                cancel_reason="", created_at=NOW, updated_at=NOW),
            update(Appointment).values(cancelled=True),
            update(WorkingHours).values(ends=time(12)),
            insert(DiaryException).values(kind="away", starts_at=datetime(2026, 12, 1, tzinfo=timezone.utc),
                                          ends_at=datetime(2026, 12, 2, tzinfo=timezone.utc), note=""),
            delete(DiaryException),
            update(Practitioner).values(active=False),
        ]
        seen = [before]
        for change in changes:
            was = version()
            db.session.execute(change)
            db.session.commit()
            assert version() > was, change
            seen.append(times())
        assert f"{clara}@Tue 1 Dec 09:00" not in seen[1] and f"{clara}@Tue 1 Dec 10:00" in seen[1]  # booked
        assert seen[2] == before  # cancelled: free again
        assert f"{clara}@Tue 1 Dec 11:00" in seen[3]  # longer hours
        assert not any(time_.startswith(f"{clara}@Tue 1 Dec") for time_ in seen[4])  # away that day
        assert seen[5] == seen[3]  # back
        assert seen[6] == []  # no longer taking appointments


def test_the_times_kept_for_a_day_leave_out_those_already_past(app):
    new_practitioner(app, "Clara Clinician", hours=((0, time(9), time(17)),))  # Mondays
    with app.app_context():
        staff_times = [slot.starts_at for slot in diary.free_times(NOW, default_minutes=45, for_staff=True, site_code="riverside")]
        later = [slot.starts_at for slot in diary.free_times(NOW.replace(hour=14), default_minutes=45, for_staff=True, site_code="riverside")]
        assert min(staff_times) > NOW and min(later) > NOW.replace(hour=14)
        assert later == [moment for moment in staff_times if moment > NOW.replace(hour=14)]


def test_another_database_at_the_same_version_never_gets_this_ones_times(app):
    """A copied or rebuilt database may reach the same version number: its own token keeps them apart."""
    new_practitioner(app, "Clara Clinician")
    with app.app_context():
        kept_for = db.session.execute(select(DiaryVersion.version)).scalar_one()
        assert times() != []
        db.session.execute(delete(WorkingHours))
        db.session.execute(update(DiaryVersion).values(token="another-database", version=kept_for))
        db.session.commit()
        assert times() == []


def statements_during(app, action) -> list[str]:
    """The SQL statements `action` sends (inside an app context)."""
    sent: list[str] = []
    listener = lambda *args: sent.append(" ".join(args[2].split()))  # noqa: E731
    event.listen(db.engine, "before_cursor_execute", listener)
    try:
        action()
    finally:
        event.remove(db.engine, "before_cursor_execute", listener)
    return [statement for statement in sent if not statement.upper().startswith(("SAVEPOINT", "RELEASE"))]


def test_the_clinic_set_up_is_read_once_per_version_and_every_change_shows_at_once(app):
    """Rules, the assessment, practitioners, their sites and weekly hours: read with the first
    question at a version, then only the version is read until something changes."""
    clara = new_practitioner(app, "Clara Clinician", hours=((1, time(9), time(11)),))
    with app.app_context():
        first = diary.clinic(45)
        [only] = statements_during(app, lambda: diary.clinic(45))
        assert "FROM diary_version" in only
        assert diary.clinic(45) is first
        assert (first.rules.horizon_days, first.kind.minutes, first.names()) == (42, 45, {clara: "Clara Clinician"})
        assert first.weekly_hours() == [(clara, "riverside", 1, time(9), time(11))]
        changes = [
            (insert(BookingRules).values(id=1, notice_working_days=2, horizon_days=21, step_minutes=30, bank_holidays="scotland",
                                         patients_choose_times=False),
             lambda setup: (setup.rules.horizon_days, setup.rules.patients_choose_times) == (21, False)),
            (insert(AppointmentType).values(code="initial-assessment", name="Free initial assessment", minutes=60, buffer_minutes=10),
             lambda setup: (setup.kind.minutes, setup.kind.buffer_minutes) == (60, 10)),
            (update(Practitioner).values(name="Clara Physio"), lambda setup: setup.names() == {clara: "Clara Physio"}),
            (insert(PractitionerSite).values(practitioner_id=clara, site_code="canal-side"),
             lambda setup: setup.practitioners("canal-side")[0].id == clara),
            (update(WorkingHours).values(ends=time(12)), lambda setup: setup.weekly_hours()[0][4] == time(12)),
            (update(Practitioner).values(active=False), lambda setup: setup.practitioners() == []),
        ]
        for change, shows in changes:
            db.session.execute(change)
            db.session.commit()
            assert shows(diary.clinic(45)), change


def test_a_change_to_what_the_diary_shows_of_a_patient_raises_the_version_and_nothing_else_does(app):
    """The diary shows a booked patient's name, phone, reference and urgency: changing any of them
    is a change to the diary. Their other answers, their status, or the same value saved again are not."""
    reference = new_request(app)
    with app.app_context():
        this_request = AssessmentRequest.reference == reference
        for column, value in (("first_name", "Grace"), ("last_name", "Hopper"), ("phone", "+447700900123"),
                              ("phone_display", "07700 900123"), ("urgency", "urgent"), ("reference", "ZZZZ2222")):
            was = version()
            db.session.execute(update(AssessmentRequest).where(this_request).values({column: value}))
            db.session.commit()
            assert version() == was + 1, column
            this_request = AssessmentRequest.reference == ("ZZZZ2222" if column == "reference" else reference)
        was = version()
        db.session.execute(update(AssessmentRequest).where(this_request).values(status="contacted", first_name="Grace"))
        db.session.commit()
        assert version() == was
