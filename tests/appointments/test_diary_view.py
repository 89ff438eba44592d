"""The diary's layout, pure: days asked for in query strings, rows of a day (23 and 25 hours when
the clocks change), cells of appointments, free and working time, and the week's table."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta, timezone

import pytest

from intake.appointments.diary_view import (
    Away, LAST_DAY, Column, Entry, changes_clocks, day_rows, day_span, monday_of, parse_day, sessions_on, week_days,
)
from intake.appointments.slots import Slot

UTC = timezone.utc
CLARA, DEV = Column(1, "Clara"), Column(2, "Dev")


@pytest.mark.parametrize("text", ["9999-12-31", "0001-01-01", "1999-12-31", "2100-01-01", "2026-02-30", "2026-13-01", "2026-12-3",
                                  "20261203", " 2026-12-03", "２０２６-１２-０３", "2026-12-03\x00", "", None, 20261203])
def test_a_day_outside_2000_to_2099_or_not_written_yyyy_mm_dd_is_no_day(text):
    assert parse_day(text) is None


def test_the_last_day_a_page_shows_still_has_a_next_day_and_week():
    """The bound keeps date arithmetic (a day or a week after) far from 9999-12-31."""
    assert parse_day("2099-12-31") == LAST_DAY
    assert day_span(LAST_DAY)[1] > day_span(LAST_DAY)[0] and monday_of(LAST_DAY) + timedelta(days=13) > LAST_DAY


@pytest.mark.parametrize(("day", "hours"), [(date(2027, 3, 28), 23), (date(2026, 10, 25), 25), (date(2026, 12, 3), 24)])
def test_a_london_day_is_23_or_25_hours_when_the_clocks_change(day, hours):
    starts, ends = day_span(day)
    assert ends - starts == timedelta(hours=hours)
    assert changes_clocks(day) == (hours != 24)


def _labels(day: date, starts: time, ends: time) -> list[str]:
    rows = day_rows(day, [CLARA], sessions_on(day, [(1, starts, ends)]), [], [], 30)
    return [row.label for row in rows]


def test_the_spring_change_skips_the_hour_from_one_to_two():
    """Sunday 28 March 2027, working 00:00-04:00: 3 hours of real time, and no 01:xx row."""
    assert _labels(date(2027, 3, 28), time(0), time(4)) == [
        "00:00 GMT", "00:30 GMT", "02:00 BST", "02:30 BST", "03:00 BST", "03:30 BST",
    ]


def test_the_autumn_change_repeats_the_hour_from_one_to_two():
    """Sunday 25 October 2026, working 00:00-03:00: 4 hours of real time, 01:00 twice."""
    assert _labels(date(2026, 10, 25), time(0), time(3)) == [
        "00:00 BST", "00:30 BST", "01:00 BST", "01:30 BST", "01:00 GMT", "01:30 GMT", "02:00 GMT", "02:30 GMT",
    ]


def test_an_ordinary_day_has_plain_labels():
    assert _labels(date(2026, 12, 3), time(9), time(10, 30)) == ["09:00", "09:30", "10:00"]


def test_cells_show_an_appointment_where_it_starts_while_it_lasts_free_times_working_time_and_time_off():
    day = date(2026, 12, 3)  # a Thursday, GMT: wall time = UTC
    at = lambda hour, minute=0: datetime(2026, 12, 3, hour, minute, tzinfo=UTC)  # noqa: E731
    sessions = sessions_on(day, [(1, time(9), time(11)), (2, time(10), time(11))])
    entry = Entry(1, at(9, 15), at(10), at(10, 15), details="Ada")
    free = [Slot(1, "riverside", at(10, 15), at(11)), Slot(2, "riverside", at(10), at(10, 45))]
    rows = day_rows(day, [CLARA, DEV], sessions, [entry], free, 15)
    table = {row.label: [cell.kind for cell in row.cells] for row in rows}
    assert table == {
        "09:00": ["busy", "off"], "09:15": ["appointment", "off"], "09:30": ["during", "off"], "09:45": ["during", "off"],
        "10:00": ["busy", "free"], "10:15": ["free", "busy"], "10:30": ["busy", "busy"], "10:45": ["busy", "busy"],
    }
    assert rows[1].cells[0].entries == [entry]


def test_time_away_is_labelled_where_they_would_work_with_its_note_said_once():
    """Clara away 09:30-10:30 (a course), the whole clinic closed from 10:45: her column says so."""
    day = date(2026, 12, 3)
    at = lambda hour, minute=0: datetime(2026, 12, 3, hour, minute, tzinfo=UTC)  # noqa: E731
    away = [Away(1, at(9, 30), at(10, 30), "Training course"), Away(None, at(10, 45), at(12), "Staff meeting")]
    rows = day_rows(day, [CLARA], sessions_on(day, [(1, time(9), time(11))]), [], [Slot(1, "riverside", at(9), at(9, 45))], 15, away)
    assert [(row.label, row.cells[0].kind, row.cells[0].note) for row in rows] == [
        ("09:00", "free", ""), ("09:15", "busy", ""), ("09:30", "away", "Training course"), ("09:45", "away", ""),
        ("10:00", "away", ""), ("10:15", "away", ""), ("10:30", "busy", ""), ("10:45", "away", "Staff meeting"),
    ]


def test_an_appointment_off_the_grid_is_shown_in_the_row_it_starts_in():
    day = date(2026, 12, 3)
    entry = Entry(1, datetime(2026, 12, 3, 9, 50, tzinfo=UTC), datetime(2026, 12, 3, 10, 35, tzinfo=UTC), datetime(2026, 12, 3, 10, 50, tzinfo=UTC))
    rows = day_rows(day, [CLARA], [], [entry], [], 15)
    assert [(row.label, row.cells[0].kind) for row in rows] == [
        ("09:45", "appointment"), ("10:00", "during"), ("10:15", "during"), ("10:30", "during"),
    ]


def test_nobody_working_and_nothing_booked_is_no_rows():
    assert day_rows(date(2026, 12, 3), [CLARA], [], [], [], 15) == []


def test_the_week_puts_hours_appointments_and_free_times_on_their_london_day():
    """An appointment at 00:30 BST on Tuesday is Tuesday's, although it is Monday in UTC."""
    monday = date(2026, 6, 1)
    late = Entry(1, datetime(2026, 6, 1, 23, 30, tzinfo=UTC), datetime(2026, 6, 2, 0, 15, tzinfo=UTC), datetime(2026, 6, 2, 0, 30, tzinfo=UTC))
    free = [Slot(2, "riverside", datetime(2026, 6, 5, 8, 0, tzinfo=UTC), datetime(2026, 6, 5, 8, 45, tzinfo=UTC))]
    days = week_days(monday, [CLARA, DEV], [(1, 0, time(9), time(13)), (1, 0, time(14), time(17)), (3, 0, time(9), time(17))], [late], free)
    assert [day.day for day in days] == [monday + timedelta(days=offset) for offset in range(7)]
    assert days[0].cells[0].hours == ["09:00–13:00", "14:00–17:00"] and days[0].cells[1].hours == []
    assert days[1].cells[0].entries == [late] and days[0].cells[0].entries == []
    assert days[4].cells[1].free == free
