"""The slot engine: the free appointment times of a clinic, computed from plain data.

Pure Python (no Flask, no database), so the booking pages, the reception diary and the
self-service pages offer the same times, and every rule can be tested directly. Working hours
are London wall-clock times; every instant given and returned is an aware UTC datetime.
Inside, an instant is a whole number of microseconds since the Unix epoch: exact for any
datetime, and cheap enough to search eight weeks of a busy clinic in a few milliseconds
(benchmarks/slot_search.py).
"""

from __future__ import annotations

import heapq
import re
from bisect import bisect_right
from collections import defaultdict
from collections.abc import Collection, Iterable
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone
from typing import NamedTuple
from zoneinfo import ZoneInfo

LONDON = ZoneInfo("Europe/London")
EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)
EPOCH_ORDINAL = EPOCH.date().toordinal()
MICROSECOND = timedelta(microseconds=1)
MINUTE = 60_000_000  # microseconds
DAY = 86_400_000_000  # microseconds
DAY_CODES = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
TIME_BANDS = {"morning": (time(8), time(12)), "afternoon": (time(12), time(17)), "evening": (time(17), time(20))}
SLOT_VALUE = re.compile(r"([1-9][0-9]{0,17})\.([a-z0-9-]{1,40})\.([0-9]{4})([0-9]{2})([0-9]{2})T([0-9]{2})([0-9]{2})Z")


@dataclass(frozen=True)
class WorkingSession:
    """Weekly working hours: one session of one practitioner at one site, in London wall time."""

    practitioner_id: int
    site_code: str
    weekday: int  # 0 = Monday ... 6 = Sunday
    starts: time
    ends: time

    def __post_init__(self) -> None:
        if not self.starts < self.ends:
            raise ValueError("a working session must end after it starts")


@dataclass(frozen=True)
class DiaryException:
    """A one-off change to the diary: time "away" (leave, training, the clinic closed) or an "extra" session.

    An "away" with no practitioner applies to everyone, and with no site to every site;
    an "extra" session needs both a practitioner and a site.
    """

    kind: str
    starts_at: datetime
    ends_at: datetime
    practitioner_id: int | None = None
    site_code: str | None = None

    def __post_init__(self) -> None:
        if self.kind not in ("away", "extra"):
            raise ValueError(f"a diary exception is 'away' or 'extra', not {self.kind!r}")
        if not self.starts_at < self.ends_at:
            raise ValueError("a diary exception must end after it starts")
        if self.kind == "extra" and (self.practitioner_id is None or self.site_code is None):
            raise ValueError("an extra session needs a practitioner and a site")


@dataclass(frozen=True)
class Busy:
    """An appointment that is not cancelled; `ends_at` includes the buffer kept free after it."""

    practitioner_id: int
    starts_at: datetime
    ends_at: datetime


@dataclass(frozen=True)
class BookingRules:
    """How far ahead, on which grid, and for how long appointments are offered."""

    notice_working_days: int = 1  # first bookable day: this many working days after today (0: later today)
    horizon_days: int = 42  # last bookable local day: today + horizon_days
    step_minutes: int = 15  # slots start on this grid, counted from the session's local start
    minutes: int = 45  # the appointment's length
    buffer_minutes: int = 15  # time kept free after it (notes, cleaning)


class Slot(NamedTuple):
    """A free appointment time; `ends_at` is `starts_at` plus the appointment's length (no buffer)."""

    practitioner_id: int
    site_code: str
    starts_at: datetime
    ends_at: datetime

    @property
    def local(self) -> datetime:
        """The start as London wall time (aware)."""
        return self.starts_at.astimezone(LONDON)


class _Window(NamedTuple):
    """A stretch of working time in microseconds; `anchor` is its local start when a clock change lies inside."""

    practitioner_id: int
    site_code: str
    starts: int
    ends: int
    anchor: datetime | None


def free_slots(
    *,
    sessions: Iterable[WorkingSession],
    exceptions: Iterable[DiaryException],
    busy: Iterable[Busy],
    rules: BookingRules,
    now: datetime,
    closed_days: frozenset[date] = frozenset(),
    first_day: date | None = None,
    last_day: date | None = None,
    site_code: str | None = None,
    practitioner_ids: Collection[int] | None = None,
) -> list[Slot]:
    """Every free appointment time in the bookable window, ordered by (starts_at, practitioner_id, site_code).

    The window opens `rules.notice_working_days` working days (Monday to Friday, not a closed day)
    after today, at local midnight, or just after `now` when the notice is 0; it closes at the end of
    local day today + `rules.horizon_days`; `first_day` and `last_day` narrow it further. A slot starts
    on its session's grid (local start + k × step, in wall-clock time), and the appointment with its
    buffer, in real elapsed time, lies inside the session, clear of the practitioner's appointments
    at any site and of the time away that applies to them. Closed days have no weekly sessions; an
    "extra" session opens even on one.

    Clock changes: a wall time the clocks skip is never offered, and a wall time they repeat is
    offered once, as its first occurrence. A session bound the clocks skip means the instant they go
    forward (a session from 01:30 on the spring change starts at 02:00 BST, its grid still counted
    from 01:30); a repeated one means its first occurrence.
    """
    if now.utcoffset() is None:
        raise ValueError("now must be an aware datetime")
    today = now.astimezone(LONDON).date()
    if rules.notice_working_days == 0:
        first = today
    else:
        first = _working_days_after(today, rules.notice_working_days, closed_days)
    last = today + timedelta(days=rules.horizon_days)
    first, last = max(first, first_day or first), min(last, last_day or last)
    if first > last:
        return []
    earliest, latest = _local_midnight(first), _local_midnight(last + timedelta(days=1))
    if rules.notice_working_days == 0:
        earliest = max(earliest, _micros(now) + 1)
    wanted = None if practitioner_ids is None else frozenset(practitioner_ids)

    def chosen(practitioner_id: int | None, site: str | None) -> bool:
        return (site_code is None or site == site_code) and (wanted is None or practitioner_id in wanted)

    exceptions = list(exceptions)
    windows = _weekly_windows([s for s in sessions if chosen(s.practitioner_id, s.site_code)], first, last, closed_days)
    windows += [
        _window(extra.practitioner_id, extra.site_code, extra.starts_at.astimezone(LONDON).replace(tzinfo=None),
                _micros(extra.starts_at), _micros(extra.ends_at))
        for extra in exceptions if extra.kind == "extra" and chosen(extra.practitioner_id, extra.site_code)
    ]
    length = (rules.minutes + rules.buffer_minutes) * MINUTE
    step = rules.step_minutes * MINUTE
    pairs = {(window.practitioner_id, window.site_code) for window in windows}
    blockers = _blockers(busy, [away for away in exceptions if away.kind == "away"], pairs)
    free_at: dict[int, set[tuple[int, str]]] = defaultdict(set)  # start -> (practitioner, site) free then
    for practitioner_id, site, starts, ends, anchor in windows:
        lowest, highest = max(starts, earliest), min(ends - length, latest - 1)
        if lowest > highest:
            continue
        block_starts, block_ends = blockers[practitioner_id, site]
        if anchor is None:
            free = _free_on_steady_grid(starts, lowest, highest, step, length, block_starts, block_ends)
        else:
            free = _free_across_clock_change(anchor, lowest, highest, rules.step_minutes, length, block_starts, block_ends)
        pair = (practitioner_id, site)
        for start in free:
            free_at[start].add(pair)
    return _slots(free_at, rules.minutes * MINUTE)


def _free_on_steady_grid(anchor: int, lowest: int, highest: int, step: int, length: int,
                         block_starts: list[int], block_ends: list[int]) -> list[int]:
    """Grid starts in [lowest, highest] clear of the blockers, where the grid is plain arithmetic from `anchor`."""
    free: list[int] = []
    cursor, index = lowest, bisect_right(block_ends, lowest)
    while cursor <= highest:
        if index < len(block_starts) and block_starts[index] - length < highest:
            stop, resume = block_starts[index] - length, block_ends[index]
            index += 1
        else:
            stop, resume = highest, highest + 1
        free.extend(range(cursor + (anchor - cursor) % step, stop + 1, step))
        cursor = max(cursor, resume)
    return free


def _free_across_clock_change(anchor: datetime, lowest: int, highest: int, step_minutes: int, length: int,
                              block_starts: list[int], block_ends: list[int]) -> list[int]:
    """Grid starts in [lowest, highest] clear of the blockers, stepping in London wall time from `anchor`."""
    free: list[int] = []
    wall = anchor
    while True:
        start = _instant(wall)
        wall += timedelta(minutes=step_minutes)
        if start is None or start < lowest:
            continue
        if start > highest:
            return free
        index = bisect_right(block_ends, start)
        if index == len(block_starts) or block_starts[index] >= start + length:
            free.append(start)


def _slots(free_at: dict[int, set[tuple[int, str]]], minutes: int) -> list[Slot]:
    """The slots in order of (start, practitioner, site), each instant made a datetime once."""
    slots: list[Slot] = []
    for start in sorted(free_at):
        times = (_datetime(start), _datetime(start + minutes))
        slots += [Slot._make(pair + times) for pair in sorted(free_at[start])]
    return slots


def _weekly_windows(sessions: list[WorkingSession], first: date, last: date, closed_days: frozenset[date]) -> list[_Window]:
    """The weekly sessions laid out on the local days first..last, closed days left out."""
    by_weekday: dict[int, list[tuple[WorkingSession, int, int]]] = defaultdict(list)
    for session in sessions:
        by_weekday[session.weekday].append((session, _time_of_day(session.starts), _time_of_day(session.ends)))
    windows = []
    day = first
    while day <= last:
        if day not in closed_days and by_weekday[day.weekday()]:
            offset = _offset(datetime.combine(day, time(), LONDON))
            if offset == _offset(datetime.combine(day + timedelta(days=1), time(), LONDON)):
                local_midnight = (day.toordinal() - EPOCH_ORDINAL) * DAY - offset
                windows += [_Window(session.practitioner_id, session.site_code, local_midnight + starts, local_midnight + ends, None)
                            for session, starts, ends in by_weekday[day.weekday()]]
            else:
                for session, _, _ in by_weekday[day.weekday()]:
                    anchor = datetime.combine(day, session.starts)
                    windows.append(_window(session.practitioner_id, session.site_code, anchor,
                                           _bound(anchor), _bound(datetime.combine(day, session.ends))))
        day += timedelta(days=1)
    return windows


def _window(practitioner_id: int, site_code: str, anchor: datetime, starts: int, ends: int) -> _Window:
    """A working window, keeping its local anchor only if the grid cannot be plain arithmetic from `starts`."""
    steady = _instant(anchor) == starts and _offset(_datetime(starts)) == _offset(_datetime(ends))
    return _Window(practitioner_id, site_code, starts, ends, None if steady else anchor)


def _blockers(busy: Iterable[Busy], aways: list[DiaryException],
              pairs: set[tuple[int, str]]) -> dict[tuple[int, str], tuple[list[int], list[int]]]:
    """For each (practitioner, site): the sorted, merged starts and ends of the time they cannot be booked."""
    appointments: dict[int, list[tuple[int, int]]] = defaultdict(list)
    for appointment in busy:
        appointments[appointment.practitioner_id].append((_micros(appointment.starts_at), _micros(appointment.ends_at)))
    away_times = [(away.practitioner_id, away.site_code, _micros(away.starts_at), _micros(away.ends_at)) for away in aways]
    merged: dict[tuple[int, tuple[tuple[int, int], ...]], tuple[list[int], list[int]]] = {}
    blockers = {}
    for practitioner_id, site_code in pairs:
        applicable = tuple((starts, ends) for who, where, starts, ends in away_times
                           if who in (None, practitioner_id) and where in (None, site_code))
        if (practitioner_id, applicable) not in merged:  # the sites a practitioner works at mostly share one list
            merged[practitioner_id, applicable] = _merged(appointments[practitioner_id] + list(applicable))
        blockers[practitioner_id, site_code] = merged[practitioner_id, applicable]
    return blockers


def _merged(intervals: list[tuple[int, int]]) -> tuple[list[int], list[int]]:
    """The starts and ends of the union of half-open intervals, in order."""
    starts: list[int] = []
    ends: list[int] = []
    for start, end in sorted(intervals):
        if end <= start:
            continue  # an empty interval overlaps nothing
        if ends and start <= ends[-1]:
            ends[-1] = max(ends[-1], end)
        else:
            starts.append(start)
            ends.append(end)
    return starts, ends


def _working_days_after(today: date, count: int, closed_days: frozenset[date]) -> date:
    """The `count`-th working day (Monday to Friday, not closed) after `today`."""
    day = today
    while count:
        day += timedelta(days=1)
        if day.weekday() < 5 and day not in closed_days:
            count -= 1
    return day


def _micros(moment: datetime) -> int:
    return (moment - EPOCH) // MICROSECOND


def _datetime(micros: int) -> datetime:
    return EPOCH + timedelta(microseconds=micros)


def _offset(moment: datetime) -> int:
    """The London UTC offset at an aware instant, in microseconds."""
    return moment.astimezone(LONDON).utcoffset() // MICROSECOND


def _time_of_day(clock: time) -> int:
    return ((clock.hour * 60 + clock.minute) * 60 + clock.second) * 1_000_000 + clock.microsecond


def _local_midnight(day: date) -> int:
    return _micros(datetime.combine(day, time(), LONDON))


def _instant(wall: datetime) -> int | None:
    """The instant a naive London wall time names (its first occurrence if repeated), or None if the clocks skip it."""
    moment = wall.replace(tzinfo=LONDON, fold=0)
    if moment.astimezone(timezone.utc).astimezone(LONDON).replace(tzinfo=None) != wall:
        return None
    return _micros(moment)


def _bound(wall: datetime) -> int:
    """A session bound as an instant: `_instant`, or the moment the clocks go forward if they skip it."""
    instant = _instant(wall)
    if instant is not None:
        return instant
    before, after = sorted(_micros(wall.replace(tzinfo=LONDON, fold=fold)) for fold in (0, 1))
    while before + 1 < after:  # the first instant whose wall time is past `wall`
        middle = (before + after) // 2
        if _datetime(middle).astimezone(LONDON).replace(tzinfo=None) >= wall:
            after = middle
        else:
            before = middle
    return after


def suits(slot: Slot, days: Collection[str], times: Collection[str]) -> bool:
    """Whether a slot suits a patient's preferred days ("mon".."sun") and times ("morning", "afternoon", "evening").

    Judged on the slot's local start; empty preferences mean any. Unknown codes raise ValueError.
    """
    unknown = (set(days) - set(DAY_CODES)) | (set(times) - set(TIME_BANDS))
    if unknown:
        raise ValueError(f"unknown day or time codes: {sorted(unknown)}")
    local = slot.local
    if days and DAY_CODES[local.weekday()] not in days:
        return False
    clock = local.time()
    return not times or any(TIME_BANDS[band][0] <= clock < TIME_BANDS[band][1] for band in times)


def nearest(slots: Iterable[Slot], target: datetime, limit: int) -> list[Slot]:
    """The `limit` slots starting closest to `target` (the earlier on a tie), in time order.

    Offered when the time a patient chose has just been taken.
    """
    closest = heapq.nsmallest(max(limit, 0), slots, key=lambda slot: (abs(slot.starts_at - target), slot.starts_at))
    return sorted(closest, key=lambda slot: (slot.starts_at, slot.practitioner_id, slot.site_code))


def slot_value(slot: Slot) -> str:
    """A short text naming a slot in a form: practitioner, site and UTC start to the minute, e.g. "12.riverside.20261203T1000Z"."""
    starts = slot.starts_at.astimezone(timezone.utc)  # %Y is not zero-padded before year 1000 everywhere, so spelt out
    return f"{slot.practitioner_id}.{slot.site_code}.{starts.year:04}{starts.month:02}{starts.day:02}T{starts.hour:02}{starts.minute:02}Z"


def parse_slot_value(text: object) -> tuple[int, str, datetime] | None:
    """(practitioner id, site code, aware UTC start) from a `slot_value`, or None for anything else; never raises."""
    match = SLOT_VALUE.fullmatch(text) if isinstance(text, str) else None
    if match is None:
        return None
    practitioner_id, site_code, *fields = match.groups()
    try:
        starts_at = datetime(*map(int, fields), tzinfo=timezone.utc)
    except ValueError:
        return None
    return int(practitioner_id), site_code, starts_at
