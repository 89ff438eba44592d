"""Reminder times: in London wall-clock time across the clock changes, by the patient's channel,
never already due, never at or after the appointment."""

from __future__ import annotations

from datetime import datetime, time, timedelta, timezone

from hypothesis import given, settings, strategies as st

from intake.reminders.plan import LONDON, Reminder, ReminderRules, plan

UTC = timezone.utc
RULES = ReminderRules()


def london(*parts) -> datetime:
    return datetime(*parts, tzinfo=LONDON).astimezone(UTC)


def test_two_days_before_at_ten_by_email_and_a_text_on_the_morning_for_those_who_chose_texts():
    starts, booked = london(2026, 12, 10, 14, 30), london(2026, 12, 1, 9)
    assert plan(starts, now=booked, contact_method="email", rules=RULES) == [
        Reminder("reminder_before", "email", london(2026, 12, 8, 10)),
    ]
    assert plan(starts, now=booked, contact_method="text", rules=RULES) == [
        Reminder("reminder_before", "sms", london(2026, 12, 8, 10)), Reminder("reminder_morning", "sms", london(2026, 12, 10, 7, 30)),
    ]
    assert [reminder.channel for reminder in plan(starts, now=booked, contact_method="phone", rules=RULES)] == ["email"]


def test_across_the_clock_changes_the_reminder_keeps_its_local_time():
    # The clocks go forward on Sunday 29 March 2026 and back on Sunday 25 October 2026.
    spring = plan(london(2026, 3, 30, 9), now=london(2026, 3, 1, 9), contact_method="text", rules=RULES)
    assert [reminder.due_at.astimezone(LONDON).strftime("%d %H:%M %Z") for reminder in spring] == ["28 10:00 GMT", "30 07:30 BST"]
    autumn = plan(london(2026, 10, 26, 9), now=london(2026, 10, 1, 9), contact_method="text", rules=RULES)
    assert [reminder.due_at.astimezone(LONDON).strftime("%d %H:%M %Z") for reminder in autumn] == ["24 10:00 BST", "26 07:30 GMT"]


def test_a_reminder_in_the_hour_the_clocks_skip_goes_at_the_hour_after():
    rules = ReminderRules(days_before=1, at=time(1, 30), morning_text_at=None)
    [reminder] = plan(london(2026, 3, 30, 9), now=london(2026, 3, 1), contact_method="email", rules=rules)
    assert reminder.due_at.astimezone(LONDON).strftime("%d %H:%M %Z") == "29 02:30 BST"


def test_no_reminder_that_is_due_already_and_an_early_appointment_gets_its_text_an_hour_before():
    starts = london(2026, 12, 10, 8)
    assert plan(starts, now=london(2026, 12, 9, 12), contact_method="text", rules=RULES) == [
        Reminder("reminder_morning", "sms", london(2026, 12, 10, 7)),
    ]
    assert plan(starts, now=london(2026, 12, 10, 7, 30), contact_method="text", rules=RULES) == []
    assert plan(starts, now=london(2026, 12, 1), contact_method="email", rules=ReminderRules(days_before=0, morning_text_at=None)) == []


@settings(max_examples=400)
@given(
    starts=st.datetimes(min_value=datetime(2026, 1, 1), max_value=datetime(2028, 12, 31), timezones=st.just(UTC)),
    lead=st.timedeltas(min_value=timedelta(0), max_value=timedelta(days=20)),
    method=st.sampled_from(["email", "text", "phone"]),
    days=st.integers(min_value=0, max_value=7),
    at=st.times(),
    morning=st.none() | st.times(),
)
def test_every_reminder_is_between_booking_and_the_appointment_at_its_local_time(starts, lead, method, days, at, morning):
    rules = ReminderRules(days_before=days, at=at.replace(microsecond=0), morning_text_at=morning and morning.replace(microsecond=0))
    found = plan(starts, now=starts - lead, contact_method=method, rules=rules)
    day = starts.astimezone(LONDON).date()
    assert len({reminder.kind for reminder in found}) == len(found)
    for reminder in found:
        assert starts - lead < reminder.due_at < starts
        assert reminder.channel == ("sms" if method == "text" else "email") or reminder.kind == "reminder_morning"
        local = reminder.due_at.astimezone(LONDON)
        if reminder.kind == "reminder_before":
            assert local.date() == day - timedelta(days=days)
            assert local.time() in (rules.at, (datetime.combine(day, rules.at) + timedelta(hours=1)).time())  # the skipped hour moves on
        else:
            assert method == "text" and local.date() <= day
