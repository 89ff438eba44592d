"""The clinic set-up rules (intake.appointments.setup): what the diary takes and what it refuses,
with the field each refusal belongs to; London times stored in UTC across the clock changes; and
that a change shows at once in the free times patients are offered."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta, timezone

import pytest
from sqlalchemy import func, select

from intake.appointments import diary, setup
from intake.appointments.models import Appointment, AppointmentType, BookingRules, DiaryException, WorkingHours
from intake.appointments.setup import SetupError
from intake.platform.extensions import db
from intake.platform.timeutil import LONDON, utcnow
from intake.staff import services as staff_services
from tests.factories import new_practitioner, new_request, new_staff, staff_id

UTC = timezone.utc
SITES = ("canal-side", "riverside", "west-green")
TODAY = date(2027, 1, 4)  # a Monday: the clock changes below are ahead of it
SPRING_FORWARD = date(2027, 3, 28)  # 01:00 GMT becomes 02:00 BST
FALL_BACK = date(2027, 10, 31)  # 02:00 BST becomes 01:00 GMT


def practitioner(practitioner_id: int):
    return setup.find_practitioner(practitioner_id)


def refusal(call, *args, **kwargs) -> tuple[str, str]:
    """The field and message of the SetupError a call raises (nothing is stored after it)."""
    with pytest.raises(SetupError) as raised:
        call(*args, **kwargs)
    db.session.rollback()
    return raised.value.field, str(raised.value)


def save(person=None, **changes):
    values = {"name": "Nell Harrow", "site_codes": ["riverside"], "active": True, "staff_user_id": None,
              "known_sites": SITES, "linkable_staff_ids": (), **changes}
    return setup.save_practitioner(person, **values)


# --- practitioners --------------------------------------------------------------------------

def test_a_new_practitioner_is_stored_with_their_sites_and_the_change_is_described(app):
    with app.app_context():
        person, changes = save(name="  Nell Harrow ", site_codes=["west-green", "riverside", "riverside"])
        db.session.commit()
        assert (person.name, person.site_codes, person.active) == ("Nell Harrow", ["riverside", "west-green"], True)
        assert changes == {"name": [None, "Nell Harrow"], "sites": [None, ["riverside", "west-green"]], "active": [None, True]}


@pytest.mark.parametrize(("changes", "field"), [
    ({"name": "   "}, "name"),
    ({"name": "x" * 101}, "name"),
    ({"site_codes": []}, "sites"),
    ({"site_codes": ["riverside", "atlantis"]}, "sites"),
    ({"staff_user_id": 999}, "staff_account"),
])
def test_a_practitioner_is_refused_without_a_name_sites_from_the_list_or_a_linkable_account(app, changes, field):
    with app.app_context():
        assert refusal(save, **changes)[0] == field
        assert diary.practitioners(include_inactive=True) == []


def test_a_staff_account_links_to_one_practitioner_only(app):
    first = staff_id(app, new_staff(app, "clinician"))
    with app.app_context():
        nell, _ = save(staff_user_id=first, linkable_staff_ids={first})
        db.session.commit()
        assert refusal(save, name="Ivo Marsh", staff_user_id=first, linkable_staff_ids={first}) == (
            "staff_account", "Select a clinician account that is not linked to someone else")
        _, changes = save(practitioner(nell.id), name="Nell Harrow-Price", staff_user_id=first, linkable_staff_ids={first})
        assert changes == {"name": ["Nell Harrow", "Nell Harrow-Price"]}


def test_a_site_with_weekly_hours_cannot_be_taken_away_until_the_hours_are(app):
    person_id = new_practitioner(app, sites=("riverside", "canal-side"), hours=[(0, time(9), time(12))])
    with app.app_context():
        field, message = refusal(save, practitioner(person_id), site_codes=["riverside"])
        assert field == "sites" and "canal-side" in message
        for session in setup.weekly_hours(person_id):
            if session.site_code == "canal-side":
                setup.remove_working_hours(practitioner(person_id), session.id)
        _, changes = save(practitioner(person_id), name="Clara Clinician", site_codes=["riverside"])
        assert changes == {"sites": [["canal-side", "riverside"], ["riverside"]]}


def test_someone_not_taking_appointments_is_offered_no_new_times_at_once(app):
    person_id = new_practitioner(app, sites=("riverside",))
    with app.app_context():
        now = utcnow()
        assert diary.free_times(now, default_minutes=45, practitioner_ids=[person_id], for_staff=True)
        save(practitioner(person_id), name="Clara Clinician", active=False)
        db.session.commit()
        assert diary.free_times(now, default_minutes=45, practitioner_ids=[person_id], for_staff=True) == []


def test_future_appointments_are_those_still_to_come_and_not_cancelled(app):
    reference = new_request(app)
    person_id = new_practitioner(app)
    with app.app_context():
        request_id = staff_services.find_request(reference).id
        now = utcnow()
        for days, cancelled in ((-2, False), (3, False), (4, True), (9, False)):
            starts = now + timedelta(days=days)
            db.session.add(Appointment(request_id=request_id, practitioner_id=person_id, site_code="riverside", starts_at=starts,
                                       blocked_until=starts + timedelta(minutes=60), cancelled=cancelled))
        db.session.commit()
        found = setup.future_appointments(person_id, now)
        assert [round((appointment.starts_at - now) / timedelta(days=1)) for appointment in found] == [3, 9]


# --- weekly hours -----------------------------------------------------------------------------

def test_weekly_sessions_may_be_several_a_day_but_never_overlap_even_at_another_site(app):
    person_id = new_practitioner(app, sites=("riverside", "canal-side"), hours=[])
    with app.app_context():
        person = practitioner(person_id)
        setup.add_working_hours(person, weekday=0, site_code="riverside", starts=time(9), ends=time(13))
        setup.add_working_hours(person, weekday=0, site_code="canal-side", starts=time(13), ends=time(17))  # back to back
        setup.add_working_hours(person, weekday=1, site_code="canal-side", starts=time(9), ends=time(13))  # another day
        db.session.commit()
        # Overlaps only the riverside session: one overlapping both could be refused naming either.
        field, message = refusal(setup.add_working_hours, person, weekday=0, site_code="canal-side", starts=time(12, 30), ends=time(13))
        assert field == "starts" and "Monday session from 09:00 to 13:00" in message
        assert refusal(setup.add_working_hours, person, weekday=0, site_code="riverside", starts=time(8), ends=time(18))[0] == "starts"
        assert [(s.weekday, s.site_code, s.starts) for s in setup.weekly_hours(person_id)] == [
            (0, "riverside", time(9)), (0, "canal-side", time(13)), (1, "canal-side", time(9))]


@pytest.mark.parametrize(("values", "field"), [
    ({"starts": time(13), "ends": time(13)}, "ends"),
    ({"starts": time(13), "ends": time(9)}, "ends"),
    ({"site_code": "west-green"}, "site"),
    ({"site_code": "atlantis"}, "site"),
    ({"weekday": 7}, "weekday"),
])
def test_a_session_is_refused_ending_before_it_starts_or_at_a_site_they_do_not_work_at(app, values, field):
    person_id = new_practitioner(app, sites=("riverside",), hours=[])
    with app.app_context():
        wanted = {"weekday": 2, "site_code": "riverside", "starts": time(9), "ends": time(12), **values}
        assert refusal(setup.add_working_hours, practitioner(person_id), **wanted)[0] == field
        assert setup.weekly_hours(person_id) == []


def test_only_the_practitioners_own_session_can_be_removed(app):
    nell = new_practitioner(app, "Nell Harrow", hours=[(0, time(9), time(12))])
    ivo = new_practitioner(app, "Ivo Marsh", hours=[(0, time(9), time(12))])
    with app.app_context():
        [ivos_session] = setup.weekly_hours(ivo)
        assert refusal(setup.remove_working_hours, practitioner(nell), ivos_session.id)[0] == "remove"
        assert refusal(setup.remove_working_hours, practitioner(nell), 2**31 - 1)[0] == "remove"
        setup.remove_working_hours(practitioner(ivo), ivos_session.id)
        db.session.commit()
        assert setup.weekly_hours(ivo) == [] and len(setup.weekly_hours(nell)) == 1


# --- London times -----------------------------------------------------------------------------

def test_a_london_time_becomes_utc_by_the_clock_of_its_day():
    assert setup.london_moment(date(2027, 1, 12), time(9), "x") == setup.Moment(datetime(2027, 1, 12, 9, tzinfo=UTC))
    assert setup.london_moment(date(2027, 7, 12), time(9), "x") == setup.Moment(datetime(2027, 7, 12, 8, tzinfo=UTC))


def test_a_time_the_clocks_skip_is_refused_with_what_to_enter_instead():
    with pytest.raises(SetupError) as raised:
        setup.london_moment(SPRING_FORWARD, time(1, 30), "starts_at")
    assert raised.value.field == "starts_at"
    assert str(raised.value) == "01:30 on 28 March 2027 does not exist in London: the clocks go forward an hour at 01:00. Enter 02:00 or later"


def test_a_time_the_clocks_show_twice_is_taken_as_the_first_and_said_so():
    moment = setup.london_moment(FALL_BACK, time(1, 30), "starts_at")
    assert moment.utc == datetime(2027, 10, 31, 0, 30, tzinfo=UTC)  # 01:30 BST
    assert "happens twice" in moment.note and "taken as the first, in British Summer Time" in moment.note


# --- exceptions -------------------------------------------------------------------------------

def away(**values):
    wanted = {"practitioner_id": None, "site_code": None, "first_day": SPRING_FORWARD, "starts": None, "last_day": SPRING_FORWARD,
              "ends": None, "note": "", "known_sites": SITES, "today": TODAY, **values}
    return setup.add_away(**wanted)


def test_whole_days_away_run_from_midnight_to_midnight_in_london_however_long_the_day(app):
    with app.app_context():
        spring, notes = away(note="  Clinic closed  ")
        autumn, _ = away(first_day=FALL_BACK, last_day=FALL_BACK)
        db.session.commit()
        assert (spring.starts_at, spring.ends_at - spring.starts_at) == (datetime(2027, 3, 28, 0, tzinfo=UTC), timedelta(hours=23))
        assert autumn.ends_at - autumn.starts_at == timedelta(hours=25)
        assert (spring.kind, spring.practitioner_id, spring.site_code, spring.note, notes) == ("away", None, None, "Clinic closed", [])


def test_time_away_between_two_times_is_stored_in_utc_with_a_note_for_an_ambiguous_end(app):
    person_id = new_practitioner(app)
    with app.app_context():
        stored, notes = away(practitioner_id=person_id, site_code="riverside", first_day=date(2027, 10, 30), starts=time(14),
                             last_day=FALL_BACK, ends=time(1, 15))
        assert (stored.starts_at, stored.ends_at) == (datetime(2027, 10, 30, 13, tzinfo=UTC), datetime(2027, 10, 31, 0, 15, tzinfo=UTC))
        assert len(notes) == 1 and "01:15 on 31 October 2027 happens twice" in notes[0]


@pytest.mark.parametrize(("values", "field"), [
    ({"practitioner_id": 2**31 - 1}, "practitioner"),
    ({"site_code": "atlantis"}, "site"),
    ({"last_day": date(2027, 3, 27)}, "ends_on"),
    ({"starts": time(10), "ends": time(10)}, "ends_on"),
    ({"first_day": date(2026, 12, 1), "last_day": date(2026, 12, 24)}, "ends_on"),  # over before today
    ({"last_day": date(2030, 3, 28)}, "ends_on"),  # more than three years ahead
    ({"starts": time(1, 5)}, "starts_at"),
    ({"ends": time(1, 59)}, "ends_at"),
])
def test_time_away_is_refused_for_someone_or_somewhere_unknown_backwards_past_too_far_or_in_the_clock_gap(app, values, field):
    with app.app_context():
        assert refusal(away, **values)[0] == field
        assert setup.upcoming_exceptions(datetime(2027, 1, 1, tzinfo=UTC)) == []


def test_an_extra_session_is_stored_in_utc_and_refused_for_someone_inactive_or_elsewhere(app):
    person_id = new_practitioner(app, sites=("riverside",))
    resting = new_practitioner(app, "Ivo Marsh", active=False)
    with app.app_context():
        extra = {"site_code": "riverside", "day": date(2027, 6, 6), "starts": time(9), "ends": time(13), "note": "", "today": TODAY}
        stored, notes = setup.add_extra(practitioner(person_id), **extra)
        assert (stored.kind, stored.starts_at, stored.ends_at, notes) == (
            "extra", datetime(2027, 6, 6, 8, tzinfo=UTC), datetime(2027, 6, 6, 12, tzinfo=UTC), [])
        assert refusal(setup.add_extra, practitioner(resting), **extra)[0] == "practitioner"
        assert refusal(setup.add_extra, practitioner(person_id), **{**extra, "site_code": "west-green"})[0] == "site"
        assert refusal(setup.add_extra, practitioner(person_id), **{**extra, "ends": time(8)})[0] == "ends"
        assert refusal(setup.add_extra, practitioner(person_id), **{**extra, "day": date(2026, 12, 1)})[0] == "day"
        assert refusal(setup.add_extra, practitioner(person_id), **{**extra, "day": SPRING_FORWARD, "starts": time(1, 30)})[0] == "starts"


def test_exceptions_change_the_free_times_and_can_be_deleted(app):
    person_id = new_practitioner(app, sites=("riverside",), hours=[(day, time(9), time(17)) for day in range(5)])
    with app.app_context():
        now = utcnow()
        today = now.astimezone(LONDON).date()
        monday = today + timedelta(days=14 - today.weekday())
        sunday = monday + timedelta(days=6)

        def days_offered() -> set[date]:
            found = diary.free_times(now, default_minutes=45, for_staff=True, first_day=monday, last_day=sunday)
            return {slot.local.date() for slot in found}

        assert days_offered() == {monday + timedelta(days=n) for n in range(5)}
        closed, _ = away(first_day=monday, last_day=monday, today=today)
        setup.add_extra(practitioner(person_id), site_code="riverside", day=sunday, starts=time(10), ends=time(12), note="", today=today)
        db.session.commit()
        assert days_offered() == {monday + timedelta(days=n) for n in range(1, 5)} | {sunday}
        setup.delete_exception(closed.id)
        db.session.commit()
        assert monday in days_offered()
        assert refusal(setup.delete_exception, closed.id)[0] == "delete"


# --- booking rules ----------------------------------------------------------------------------

RULES = {"notice_working_days": 2, "horizon_days": 28, "step_minutes": 10, "bank_holidays": "scotland",
         "patients_choose_times": False, "minutes": 60, "buffer_minutes": 5, "default_minutes": 45}


def rows(model) -> int:
    return db.session.execute(select(func.count()).select_from(model)).scalar_one()


def test_the_rules_and_the_assessment_are_stored_the_first_time_they_are_saved(app):
    with app.app_context():
        assert (rows(BookingRules), rows(AppointmentType)) == (0, 0)
        changes = setup.save_rules(**RULES)
        db.session.commit()
        assert changes == {"notice_working_days": [1, 2], "horizon_days": [42, 28], "step_minutes": [15, 10], "minutes": [45, 60],
                           "buffer_minutes": [15, 5], "bank_holidays": ["england", "scotland"], "patients_choose_times": [True, False]}
        rules, kind = diary.booking_rules(), diary.assessment_type(45)
        assert (rules.horizon_days, rules.bank_holidays, kind.minutes, kind.buffer_minutes) == (28, "scotland", 60, 5)
        assert setup.save_rules(**RULES) == {}
        assert (rows(BookingRules), rows(AppointmentType)) == (1, 1)


@pytest.mark.parametrize(("field", "value"), [
    ("notice_working_days", -1), ("notice_working_days", 21), ("horizon_days", 0), ("horizon_days", 367),
    ("step_minutes", 4), ("step_minutes", 121), ("minutes", 4), ("minutes", 481), ("buffer_minutes", -1), ("buffer_minutes", 121),
    ("bank_holidays", "wales"),
])
def test_rules_outside_what_the_database_allows_are_refused_on_their_field(app, field, value):
    with app.app_context():
        assert refusal(setup.save_rules, **{**RULES, field: value})[0] == field
        assert (rows(BookingRules), rows(AppointmentType)) == (0, 0)


def test_the_next_bank_holidays_follow_the_region():
    summer = date(2027, 7, 1)
    assert setup.next_bank_holidays("england", summer)[0] == (date(2027, 8, 30), "Late Summer Bank Holiday")
    assert setup.next_bank_holidays("scotland", summer)[0][0] == date(2027, 8, 2)
    assert setup.next_bank_holidays("northern-ireland", summer)[0][0] == date(2027, 7, 12)
    assert setup.next_bank_holidays("none", summer) == []
    assert len(setup.next_bank_holidays("england", date(2027, 12, 20), count=6)) == 6  # into the next year

