"""The slot engine: which appointment times a clinic offers, including around the clock changes."""

from __future__ import annotations

import ast
from datetime import date, datetime, time, timedelta, timezone
from pathlib import Path

import pytest

from intake.appointments.slots import (
    LONDON,
    BookingRules,
    Busy,
    DiaryException,
    Slot,
    WorkingSession,
    free_slots,
    nearest,
    parse_slot_value,
    slot_value,
    suits,
)

MONDAY = date(2026, 6, 8)
TUESDAY = date(2026, 6, 9)
NOW = datetime(2026, 6, 5, 12, 0, tzinfo=timezone.utc)  # a Friday afternoon (BST): the first bookable day is Monday
RULES = BookingRules(notice_working_days=1, horizon_days=42, step_minutes=15, minutes=45, buffer_minutes=15)


def london(day: date, hour: int, minute: int = 0) -> datetime:
    """A London wall time on `day`, as an aware UTC datetime."""
    return datetime.combine(day, time(hour, minute), LONDON).astimezone(timezone.utc)


def session(weekday: int = 0, starts: time = time(9), ends: time = time(11), practitioner_id: int = 1,
            site_code: str = "riverside") -> WorkingSession:
    return WorkingSession(practitioner_id, site_code, weekday, starts, ends)


def offered(*, sessions=(session(),), exceptions=(), busy=(), rules=RULES, now=NOW, **options) -> list[Slot]:
    return free_slots(sessions=list(sessions), exceptions=list(exceptions), busy=list(busy), rules=rules, now=now, **options)


def local_times(slots: list[Slot]) -> list[str]:
    return [slot.local.strftime("%Y-%m-%d %H:%M") for slot in slots]


def times_on(slots: list[Slot], day: date) -> list[str]:
    return [slot.local.strftime("%H:%M") for slot in slots if slot.local.date() == day]


def test_a_session_offers_its_grid_of_starts_each_long_enough_for_the_appointment():
    slots = offered(last_day=MONDAY)
    assert times_on(slots, MONDAY) == ["09:00", "09:15", "09:30", "09:45", "10:00"]
    first = slots[0]
    assert first == Slot(1, "riverside", london(MONDAY, 9), london(MONDAY, 9, 45))
    assert first.starts_at.tzinfo == timezone.utc and first.local.tzinfo == LONDON


def test_the_appointment_and_its_buffer_must_fit_before_the_session_ends():
    slots = offered(sessions=[session(ends=time(10, 50))], last_day=MONDAY)
    assert times_on(slots, MONDAY) == ["09:00", "09:15", "09:30", "09:45"]


def test_a_longer_step_and_no_buffer():
    rules = BookingRules(step_minutes=30, minutes=60, buffer_minutes=0)
    assert times_on(offered(rules=rules, last_day=MONDAY), MONDAY) == ["09:00", "09:30", "10:00"]


def test_a_booked_appointment_blocks_its_time_and_buffer_but_touching_ends_are_fine():
    booked = Busy(1, london(MONDAY, 10), london(MONDAY, 11))
    slots = offered(sessions=[session(ends=time(12))], busy=[booked], last_day=MONDAY)
    assert times_on(slots, MONDAY) == ["09:00", "11:00"]


def test_an_appointment_at_another_site_blocks_the_practitioner():
    sessions = [session(site_code="riverside"), session(site_code="northgate", starts=time(10), ends=time(12))]
    booked = Busy(1, london(MONDAY, 10), london(MONDAY, 11))
    slots = offered(sessions=sessions, busy=[booked], last_day=MONDAY)
    assert [(slot.site_code, slot.local.strftime("%H:%M")) for slot in slots] == [("riverside", "09:00"), ("northgate", "11:00")]


def test_another_practitioners_appointment_blocks_nothing():
    booked = Busy(2, london(MONDAY, 9), london(MONDAY, 11))
    assert len(times_on(offered(busy=[booked], last_day=MONDAY), MONDAY)) == 5


@pytest.mark.parametrize("practitioner_id, site_code, still_free", [
    (1, None, []),  # the practitioner's leave, wherever they work
    (None, None, []),  # the whole clinic closed
    (None, "riverside", []),  # this site closed
    (None, "northgate", ["09:00", "09:15", "09:30", "09:45", "10:00"]),  # another site closed
    (2, None, ["09:00", "09:15", "09:30", "09:45", "10:00"]),  # someone else's leave
])
def test_time_away_blocks_the_practitioners_and_sites_it_applies_to(practitioner_id, site_code, still_free):
    away = DiaryException("away", london(MONDAY, 8), london(MONDAY, 12), practitioner_id, site_code)
    assert times_on(offered(exceptions=[away], last_day=MONDAY), MONDAY) == still_free


def test_time_away_blocks_only_the_slots_it_overlaps():
    away = DiaryException("away", london(MONDAY, 10, 30), london(MONDAY, 11), 1)
    assert times_on(offered(exceptions=[away], last_day=MONDAY), MONDAY) == ["09:00", "09:15", "09:30"]


def test_an_extra_session_opens_slots_on_a_grid_from_its_own_start():
    extra = DiaryException("extra", london(TUESDAY, 14, 10), london(TUESDAY, 15, 40), 1, "northgate")
    slots = offered(exceptions=[extra], first_day=TUESDAY, last_day=TUESDAY)
    assert [(slot.site_code, slot.local.strftime("%H:%M")) for slot in slots] == [
        ("northgate", "14:10"), ("northgate", "14:25"), ("northgate", "14:40")]


def test_a_bank_holiday_has_no_weekly_sessions_but_an_extra_session_still_opens():
    extra = DiaryException("extra", london(TUESDAY, 13), london(TUESDAY, 14), 1, "riverside")
    tuesdays = [session(weekday=1)]
    assert offered(sessions=tuesdays, closed_days=frozenset({TUESDAY}), last_day=TUESDAY) == []
    with_extra = offered(sessions=tuesdays, exceptions=[extra], closed_days=frozenset({TUESDAY}), last_day=TUESDAY)
    assert times_on(with_extra, TUESDAY) == ["13:00"]


def test_an_extra_session_needs_a_practitioner_and_a_site():
    with pytest.raises(ValueError):
        DiaryException("extra", london(MONDAY, 13), london(MONDAY, 14), 1)
    with pytest.raises(ValueError):
        DiaryException("holiday", london(MONDAY, 13), london(MONDAY, 14))


def test_with_one_working_day_of_notice_friday_books_from_monday():
    every_day = [session(weekday) for weekday in range(7)]
    assert offered(sessions=every_day)[0].local.date() == MONDAY


def test_the_notice_skips_a_bank_holiday_monday():
    friday = datetime(2026, 5, 22, 12, tzinfo=timezone.utc)
    every_day = [session(weekday) for weekday in range(7)]
    slots = offered(sessions=every_day, now=friday, closed_days=frozenset({date(2026, 5, 25)}))
    assert slots[0].local.date() == date(2026, 5, 26)


def test_two_working_days_of_notice_from_a_monday_start_on_wednesday():
    rules = BookingRules(notice_working_days=2)
    monday_morning = london(MONDAY, 8)
    slots = offered(sessions=[session(weekday) for weekday in range(5)], rules=rules, now=monday_morning)
    assert slots[0].local.date() == date(2026, 6, 10)


def test_with_no_notice_only_times_strictly_after_now_are_offered():
    rules = BookingRules(notice_working_days=0)
    assert times_on(offered(rules=rules, now=london(MONDAY, 9, 15)), MONDAY) == ["09:30", "09:45", "10:00"]
    assert times_on(offered(rules=rules, now=london(MONDAY, 9, 15) - timedelta(microseconds=1)), MONDAY)[0] == "09:15"


def test_a_naive_now_is_refused_rather_than_read_as_the_servers_local_time():
    with pytest.raises(ValueError):
        offered(now=datetime(2026, 6, 5, 12, 0))


def test_nothing_is_offered_after_the_horizon():
    rules = BookingRules(horizon_days=10)
    slots = offered(sessions=[session(weekday) for weekday in range(7)], rules=rules)
    assert slots[-1].local.date() == date(2026, 6, 15)  # today, Friday 5 June, + 10 days


def test_first_and_last_day_narrow_the_window_but_never_widen_it():
    every_day = [session(weekday) for weekday in range(7)]
    slots = offered(sessions=every_day, first_day=date(2026, 6, 1), last_day=TUESDAY)
    assert sorted({slot.local.date() for slot in slots}) == [MONDAY, TUESDAY]
    assert offered(sessions=every_day, first_day=date(2026, 9, 1)) == []


def test_site_and_practitioner_filters():
    sessions = [session(practitioner_id=1, site_code="riverside"), session(practitioner_id=2, site_code="northgate"),
                session(practitioner_id=3, site_code="riverside")]
    assert {slot.practitioner_id for slot in offered(sessions=sessions, site_code="riverside")} == {1, 3}
    assert {slot.practitioner_id for slot in offered(sessions=sessions, practitioner_ids=[2, 3])} == {2, 3}
    assert offered(sessions=sessions, site_code="northgate", practitioner_ids={1}) == []


def test_slots_are_ordered_by_start_then_practitioner_then_site():
    sessions = [session(practitioner_id=2), session(practitioner_id=1, site_code="westfield"),
                session(practitioner_id=1, site_code="northgate", starts=time(9, 15))]
    slots = offered(sessions=sessions, last_day=MONDAY)
    assert [(slot.local.strftime("%H:%M"), slot.practitioner_id, slot.site_code) for slot in slots[:4]] == [
        ("09:00", 1, "westfield"), ("09:00", 2, "riverside"), ("09:15", 1, "northgate"), ("09:15", 1, "westfield")]


def test_overlapping_sessions_offer_each_time_once():
    sessions = [session(ends=time(11)), session(starts=time(10), ends=time(12))]
    assert times_on(offered(sessions=sessions, last_day=MONDAY), MONDAY) == [
        "09:00", "09:15", "09:30", "09:45", "10:00", "10:15", "10:30", "10:45", "11:00"]


SPRING_FORWARD = date(2026, 3, 29)  # 01:00 GMT becomes 02:00 BST
FALL_BACK = date(2026, 10, 25)  # 02:00 BST becomes 01:00 GMT
NIGHT = BookingRules(notice_working_days=0, horizon_days=60, minutes=45, buffer_minutes=15)


def night_slots(day: date, starts: time = time(0), ends: time = time(4), rules: BookingRules = NIGHT) -> list[Slot]:
    return offered(sessions=[session(6, starts, ends)], rules=rules, now=london(day, 0) - timedelta(days=3),
                   first_day=day, last_day=day)


def test_spring_forward_never_offers_a_wall_time_the_clocks_skip_and_durations_are_real():
    slots = night_slots(SPRING_FORWARD)
    assert times_on(slots, SPRING_FORWARD) == ["00:00", "00:15", "00:30", "00:45", "02:00", "02:15", "02:30", "02:45", "03:00"]
    assert slots[3].starts_at == datetime(2026, 3, 29, 0, 45, tzinfo=timezone.utc)
    assert slots[4].starts_at == datetime(2026, 3, 29, 1, 0, tzinfo=timezone.utc)
    assert all(slot.ends_at - slot.starts_at == timedelta(minutes=45) for slot in slots)
    # the session ends at 04:00 BST, three real hours after midnight: the last start leaves one hour
    assert slots[-1].starts_at == datetime(2026, 3, 29, 2, 0, tzinfo=timezone.utc)


def test_a_session_starting_in_the_skipped_hour_starts_when_the_clocks_go_forward_on_its_own_grid():
    slots = night_slots(SPRING_FORWARD, starts=time(1, 30), ends=time(3, 30),
                        rules=BookingRules(notice_working_days=0, horizon_days=60, step_minutes=20))
    assert times_on(slots, SPRING_FORWARD) == ["02:10", "02:30"]  # the grid counts from 01:30: 01:50 never exists


def test_fall_back_offers_each_repeated_wall_time_once_as_its_first_occurrence():
    slots = night_slots(FALL_BACK)
    assert times_on(slots, FALL_BACK) == [
        "00:00", "00:15", "00:30", "00:45", "01:00", "01:15", "01:30", "01:45",
        "02:00", "02:15", "02:30", "02:45", "03:00"]
    one_am = slots[4]
    assert one_am.starts_at == datetime(2026, 10, 25, 0, 0, tzinfo=timezone.utc) and one_am.local.fold == 0
    assert one_am.local.utcoffset() == timedelta(hours=1)
    assert slots[8].starts_at == datetime(2026, 10, 25, 2, 0, tzinfo=timezone.utc)
    # five real hours from 00:00 BST to 04:00 GMT: the last start is 03:00 GMT
    assert slots[-1].starts_at == datetime(2026, 10, 25, 3, 0, tzinfo=timezone.utc)


def test_on_the_fall_back_night_a_booked_appointment_still_blocks_by_real_time_and_touching_is_fine():
    booked = Busy(1, datetime(2026, 10, 25, 0, 0, tzinfo=timezone.utc), datetime(2026, 10, 25, 2, 0, tzinfo=timezone.utc))
    slots = offered(sessions=[session(6, time(0), time(4))], busy=[booked], rules=NIGHT,
                    now=london(FALL_BACK, 0) - timedelta(days=3), first_day=FALL_BACK, last_day=FALL_BACK)
    # 00:00 BST ends with its buffer at 01:00 BST, when the booking starts; 02:00 GMT starts as it ends
    assert [slot.local.strftime("%H:%M %Z") for slot in slots] == [
        "00:00 BST", "02:00 GMT", "02:15 GMT", "02:30 GMT", "02:45 GMT", "03:00 GMT"]


@pytest.mark.parametrize("day, utc_hour", [(date(2026, 3, 30), 8), (date(2026, 10, 26), 9)])
def test_a_nine_oclock_session_the_day_after_a_clock_change_starts_at_nine_local(day, utc_hour):
    slots = offered(rules=BookingRules(notice_working_days=0, horizon_days=60), now=london(day, 0) - timedelta(days=2),
                    first_day=day, last_day=day)
    assert slots[0].local.strftime("%H:%M") == "09:00"
    assert slots[0].starts_at == datetime.combine(day, time(utc_hour), timezone.utc)


def slot_at(day: date, hour: int, minute: int = 0) -> Slot:
    return Slot(1, "riverside", london(day, hour, minute), london(day, hour, minute) + timedelta(minutes=45))


@pytest.mark.parametrize("hour, minute, times, suited", [
    (8, 0, ["morning"], True),
    (11, 59, ["morning"], True),
    (12, 0, ["morning"], False),
    (12, 0, ["afternoon"], True),
    (17, 0, ["afternoon"], False),
    (17, 0, ["evening"], True),
    (19, 45, ["evening"], True),
    (20, 0, ["evening"], False),
    (7, 45, ["morning", "afternoon", "evening"], False),
    (7, 45, [], True),
])
def test_a_slot_suits_the_times_of_day_by_its_local_start(hour, minute, times, suited):
    assert suits(slot_at(MONDAY, hour, minute), [], times) is suited


def test_a_slot_suits_the_days_chosen_and_empty_choices_mean_any():
    monday_morning = slot_at(MONDAY, 9)
    assert suits(monday_morning, ["mon", "wed"], ["morning"])
    assert not suits(monday_morning, ["tue"], [])
    assert suits(monday_morning, [], [])
    with pytest.raises(ValueError):
        suits(monday_morning, ["monday"], [])


def test_suits_judges_the_london_time_not_utc():
    nine_am_bst = slot_at(MONDAY, 12)  # 11:00 UTC
    assert suits(nine_am_bst, [], ["afternoon"]) and not suits(nine_am_bst, [], ["morning"])


def test_nearest_gives_the_closest_free_times_in_time_order():
    slots = [slot_at(MONDAY, hour) for hour in (9, 10, 11, 14, 15)]
    assert nearest(slots, london(MONDAY, 13, 10), 3) == [slots[2], slots[3], slots[4]]
    assert nearest(slots, london(MONDAY, 12, 30), 1) == [slots[2]]  # a tie goes to the earlier
    assert nearest(slots, london(MONDAY, 9), 0) == []
    assert nearest([], london(MONDAY, 9), 3) == []


def test_a_slot_value_names_the_slot_and_reads_back():
    slot = Slot(12, "riverside", datetime(2026, 12, 3, 10, 0, tzinfo=timezone.utc), datetime(2026, 12, 3, 10, 45, tzinfo=timezone.utc))
    assert slot_value(slot) == "12.riverside.20261203T1000Z"
    assert parse_slot_value(slot_value(slot)) == (12, "riverside", slot.starts_at)


def test_a_slot_value_is_written_in_utc_even_from_a_london_time():
    slot = Slot(3, "north-gate", datetime(2026, 7, 1, 9, 30, tzinfo=LONDON), datetime(2026, 7, 1, 10, 15, tzinfo=LONDON))
    assert slot_value(slot) == "3.north-gate.20260701T0830Z"


@pytest.mark.parametrize("text", [
    "", "x", "1", "1.riverside", "1.riverside.", "99999999999999999999.a.20261203T1000Z", "0.riverside.20261203T1000Z",
    "01.riverside.20261203T1000Z", "-1.riverside.20261203T1000Z", "1.UPPER.20261203T1000Z", "1.river side.20261203T1000Z",
    "1." + "a" * 41 + ".20261203T1000Z", "1.riverside.20261303T1000Z", "1.riverside.20260230T1000Z", "1.riverside.20261203T2400Z",
    "1.riverside.20261203T1060Z", "1.riverside.00001203T1000Z", "1.riverside.20261203T1000", "1.riverside.2026123T1000Z",
    "1.riverside.20261203T1000Z\n", " 1.riverside.20261203T1000Z", "1.riverside.２０２６1203T1000Z", "١.riverside.20261203T1000Z",
    "1.riversidé.20261203T1000Z", "1.riverside.202612031000Z", "1.riverside.20261203t1000z", None, 12, b"1.a.20261203T1000Z",
])
def test_a_forged_or_malformed_slot_value_reads_as_none(text):
    assert parse_slot_value(text) is None


def test_the_latest_representable_minute_parses_without_overflowing():
    assert parse_slot_value("1.riverside.99991231T2359Z") == (1, "riverside", datetime(9999, 12, 31, 23, 59, tzinfo=timezone.utc))


def test_the_slot_engine_imports_nothing_of_flask_the_database_or_the_platform():
    source = Path(__file__).resolve().parents[2] / "intake" / "appointments" / "slots.py"
    imported = set()
    for node in ast.walk(ast.parse(source.read_text())):
        if isinstance(node, ast.Import):
            imported.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            imported.add(node.module or "")
    assert not {name for name in imported if name.split(".")[0] in {"flask", "sqlalchemy", "flask_sqlalchemy", "intake"}}
