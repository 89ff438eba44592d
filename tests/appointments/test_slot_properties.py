"""Properties of the slot engine over random clinics, including around the clock changes.

Every offered slot keeps every rule, and every time the rules allow is offered: the engine is
compared with a deliberately simple reference that walks each session's grid in London wall
time, one candidate at a time.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone

from hypothesis import given, settings
from hypothesis import strategies as st

from intake.appointments.slots import (
    LONDON,
    BookingRules,
    Busy,
    DiaryException,
    Slot,
    WorkingSession,
    free_slots,
    parse_slot_value,
    slot_value,
)

UTC = timezone.utc
PRACTITIONERS = (1, 2, 3)
SITES = ("riverside", "northgate")
CLOCK_CHANGES = (date(2026, 3, 29), date(2026, 10, 25), date(2027, 3, 28), date(2027, 10, 31))
PROPERTY_SETTINGS = settings(max_examples=150, deadline=None)


@dataclass(frozen=True)
class Clinic:
    sessions: list[WorkingSession]
    exceptions: list[DiaryException]
    busy: list[Busy]
    rules: BookingRules
    now: datetime
    closed_days: frozenset[date]

    def free_slots(self, **options) -> list[Slot]:
        return free_slots(sessions=self.sessions, exceptions=self.exceptions, busy=self.busy, rules=self.rules,
                          now=self.now, closed_days=self.closed_days, **options)


@st.composite
def moments(draw) -> datetime:
    """Any instant of 2026-2027, mostly in the days before a clock change."""
    if draw(st.integers(0, 2)):
        day = draw(st.sampled_from(CLOCK_CHANGES))
        moment = datetime.combine(day, time(), UTC) + timedelta(minutes=draw(st.integers(-10 * 24 * 60, 0)))
    else:
        moment = datetime(2026, 1, 1, tzinfo=UTC) + timedelta(seconds=draw(st.integers(0, 2 * 365 * 86400)))
    return moment + timedelta(microseconds=draw(st.sampled_from([0, 1, 500_000])))


def clock(minutes: int) -> time:
    return time(minutes // 60, minutes % 60)


@st.composite
def weekly_sessions(draw) -> WorkingSession:
    """A session on any day, often a Sunday night when the clocks change."""
    if draw(st.booleans()):
        weekday, starts = 6, draw(st.integers(0, 30)) * 5
    else:
        weekday, starts = draw(st.integers(0, 6)), draw(st.integers(0, 270)) * 5
    ends = min(starts + draw(st.integers(6, 48)) * 5, 24 * 60 - 5)
    return WorkingSession(draw(st.sampled_from(PRACTITIONERS)), draw(st.sampled_from(SITES)), weekday, clock(starts), clock(ends))


@st.composite
def clinics(draw) -> Clinic:
    now = draw(moments())
    today = now.astimezone(LONDON).date()
    rules = BookingRules(
        notice_working_days=draw(st.integers(0, 3)), horizon_days=draw(st.integers(1, 60)),
        step_minutes=draw(st.integers(5, 60)), minutes=draw(st.integers(15, 90)), buffer_minutes=draw(st.integers(0, 30)),
    )

    next_change = min(CLOCK_CHANGES + (date(2028, 3, 26),), key=lambda day: (day < today, day))

    def stretch(longest_minutes: int) -> tuple[datetime, datetime]:
        """A stretch of time starting on a five-minute London wall time in the bookable weeks, or near the next clock change."""
        if draw(st.booleans()):
            day = today + timedelta(days=draw(st.integers(0, rules.horizon_days + 1)))
            starts = datetime.combine(day, clock(draw(st.integers(0, 287)) * 5), LONDON).astimezone(UTC)
        else:
            starts = datetime.combine(next_change, time(1), UTC) + timedelta(minutes=draw(st.integers(-36, 24)) * 5)
        return starts, starts + timedelta(minutes=draw(st.integers(3, longest_minutes // 5)) * 5)

    exceptions = []
    for _ in range(draw(st.integers(0, 3))):
        starts, ends = stretch(300)
        exceptions.append(DiaryException("extra", starts, ends, draw(st.sampled_from(PRACTITIONERS)), draw(st.sampled_from(SITES))))
    for _ in range(draw(st.integers(0, 3))):
        starts, ends = stretch(2 * 24 * 60)
        exceptions.append(DiaryException("away", starts, ends, draw(st.sampled_from((None, *PRACTITIONERS))),
                                         draw(st.sampled_from((None, *SITES)))))
    busy = []
    for _ in range(draw(st.integers(0, 12))):
        starts, ends = stretch(180)
        busy.append(Busy(draw(st.sampled_from(PRACTITIONERS)), starts, ends))
    closed_days = frozenset(today + timedelta(days=offset) for offset in draw(st.lists(st.integers(0, 62), max_size=4)))
    sessions = draw(st.lists(weekly_sessions(), min_size=1, max_size=3))
    return Clinic(sessions, draw(st.permutations(exceptions)), busy, rules, now, closed_days)


# The reference: slow, simple, obviously right.

def exists(wall: datetime) -> bool:
    moment = wall.replace(tzinfo=LONDON, fold=0)
    return moment.astimezone(UTC).astimezone(LONDON).replace(tzinfo=None) == wall


def first_occurrence(wall: datetime) -> datetime:
    return wall.replace(tzinfo=LONDON, fold=0).astimezone(UTC)


def session_bound(wall: datetime) -> datetime:
    """A session bound: the first wall time at or after it that exists, as an instant."""
    while not exists(wall):
        wall += timedelta(minutes=1)
    return first_occurrence(wall)


def bookable_days(clinic: Clinic) -> tuple[date, date]:
    today = clinic.now.astimezone(LONDON).date()
    first = today
    for _ in range(clinic.rules.notice_working_days):
        first += timedelta(days=1)
        while first.weekday() >= 5 or first in clinic.closed_days:
            first += timedelta(days=1)
    return first, today + timedelta(days=clinic.rules.horizon_days)


def working_windows(clinic: Clinic) -> list[tuple[int, str, datetime, datetime, datetime, bool]]:
    """(practitioner, site, local anchor, start, end, is an extra session) of every stretch of work."""
    first, last = bookable_days(clinic)
    windows = []
    for offset in range((last - first).days + 1):
        day = first + timedelta(days=offset)
        for session in clinic.sessions:
            if session.weekday == day.weekday() and day not in clinic.closed_days:
                anchor = datetime.combine(day, session.starts)
                windows.append((session.practitioner_id, session.site_code, anchor, session_bound(anchor),
                                session_bound(datetime.combine(day, session.ends)), False))
    for extra in clinic.exceptions:
        if extra.kind == "extra":
            anchor = extra.starts_at.astimezone(LONDON).replace(tzinfo=None, fold=0)
            windows.append((extra.practitioner_id, extra.site_code, anchor, extra.starts_at, extra.ends_at, True))
    return windows


def overlaps(starts: datetime, ends: datetime, other_starts: datetime, other_ends: datetime) -> bool:
    return starts < other_ends and other_starts < ends


def away_applies(away: DiaryException, practitioner_id: int, site_code: str) -> bool:
    return away.kind == "away" and away.practitioner_id in (None, practitioner_id) and away.site_code in (None, site_code)


def reference_slots(clinic: Clinic) -> list[Slot]:
    rules = clinic.rules
    first, last = bookable_days(clinic)
    length, step = timedelta(minutes=rules.minutes + rules.buffer_minutes), timedelta(minutes=rules.step_minutes)
    found = set()
    for practitioner_id, site, anchor, starts, ends, _ in working_windows(clinic):
        for number in range((ends - starts + timedelta(hours=2)) // step + 1):
            wall = anchor + number * step
            if not exists(wall):
                continue
            start = first_occurrence(wall)
            if start < starts or start + length > ends or not first <= start.astimezone(LONDON).date() <= last:
                continue
            if rules.notice_working_days == 0 and start <= clinic.now:
                continue
            if any(busy.practitioner_id == practitioner_id and overlaps(start, start + length, busy.starts_at, busy.ends_at)
                   for busy in clinic.busy):
                continue
            if any(away_applies(away, practitioner_id, site) and overlaps(start, start + length, away.starts_at, away.ends_at)
                   for away in clinic.exceptions):
                continue
            found.add(Slot(practitioner_id, site, start, start + timedelta(minutes=rules.minutes)))
    return sorted(found, key=lambda slot: (slot.starts_at, slot.practitioner_id, slot.site_code))


@PROPERTY_SETTINGS
@given(clinics())
def test_every_offered_slot_keeps_every_rule(clinic):
    rules = clinic.rules
    slots = clinic.free_slots()
    first, last = bookable_days(clinic)
    length, step = timedelta(minutes=rules.minutes + rules.buffer_minutes), timedelta(minutes=rules.step_minutes)
    windows = working_windows(clinic)
    seen_walls = set()
    for slot in slots:
        starts, ends = slot.starts_at, slot.starts_at + length
        wall = slot.local.replace(tzinfo=None)
        assert slot.starts_at.utcoffset() == timedelta(0) and slot.ends_at == starts + timedelta(minutes=rules.minutes)
        assert exists(wall) and first_occurrence(wall) == starts
        assert (slot.practitioner_id, slot.site_code, wall) not in seen_walls
        seen_walls.add((slot.practitioner_id, slot.site_code, wall))
        assert not any(busy.practitioner_id == slot.practitioner_id and overlaps(starts, ends, busy.starts_at, busy.ends_at)
                       for busy in clinic.busy)
        assert not any(away_applies(away, slot.practitioner_id, slot.site_code) and overlaps(starts, ends, away.starts_at, away.ends_at)
                       for away in clinic.exceptions)
        holding = [(anchor, extra) for practitioner_id, site, anchor, window_starts, window_ends, extra in windows
                   if (practitioner_id, site) == (slot.practitioner_id, slot.site_code)
                   and window_starts <= starts and ends <= window_ends and (wall - anchor) % step == timedelta(0)]
        assert holding, "a slot lies inside a session or extra session, on its grid"
        if slot.local.date() in clinic.closed_days:
            assert any(extra for _, extra in holding)
        assert first <= slot.local.date() <= last
        if rules.notice_working_days == 0:
            assert starts > clinic.now
        else:
            assert starts >= datetime.combine(first, time(), LONDON)
    keys = [(slot.starts_at, slot.practitioner_id, slot.site_code) for slot in slots]
    assert keys == sorted(set(keys))


@PROPERTY_SETTINGS
@given(clinics())
def test_every_time_the_rules_allow_is_offered(clinic):
    assert clinic.free_slots() == reference_slots(clinic)


@PROPERTY_SETTINGS
@given(clinics(), st.sampled_from((None, *SITES)), st.one_of(st.none(), st.sets(st.sampled_from(PRACTITIONERS))),
       st.integers(-2, 30), st.integers(0, 30))
def test_filters_keep_exactly_the_matching_slots(clinic, site_code, practitioner_ids, first_offset, days):
    today = clinic.now.astimezone(LONDON).date()
    first_day = today + timedelta(days=first_offset)
    last_day = first_day + timedelta(days=days)
    expected = [slot for slot in clinic.free_slots()
                if (site_code is None or slot.site_code == site_code)
                and (practitioner_ids is None or slot.practitioner_id in practitioner_ids)
                and first_day <= slot.local.date() <= last_day]
    assert clinic.free_slots(site_code=site_code, practitioner_ids=practitioner_ids,
                             first_day=first_day, last_day=last_day) == expected


@settings(max_examples=300, deadline=None)
@given(st.integers(1, 10**18 - 1), st.from_regex(r"[a-z0-9-]{1,40}", fullmatch=True),
       st.datetimes(min_value=datetime(1, 1, 1), max_value=datetime(9999, 12, 31, 23, 59)))
def test_a_slot_value_reads_back_as_the_slot_it_names(practitioner_id, site_code, starts):
    starts_at = starts.replace(second=0, microsecond=0, tzinfo=UTC)
    slot = Slot(practitioner_id, site_code, starts_at, starts_at)
    assert parse_slot_value(slot_value(slot)) == (practitioner_id, site_code, starts_at)


@settings(max_examples=500, deadline=None)
@given(st.one_of(st.text(), st.from_regex(r"-?[0-9]{1,25}\.[^.]{0,45}\.[0-9]{0,10}T?[0-9]{0,6}Z?", fullmatch=True)))
def test_reading_any_text_as_a_slot_value_never_raises(text):
    parsed = parse_slot_value(text)
    assert parsed is None or slot_value(Slot(parsed[0], parsed[1], parsed[2], parsed[2])) == text
