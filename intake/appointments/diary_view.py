"""The reception diary laid out for the screen: a day as rows of time by practitioner, a week as
days by practitioner, and the dates a diary page may be asked for.

Pure Python (no Flask, no database): the staff pages gather plain rows and pass them here, so
the layout, and the clock changes in it, can be tested directly. Instants are aware UTC
datetimes; rows are labelled in London wall time.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta, timezone
from typing import Any

from intake.appointments.slots import LONDON, Slot

# The days a diary page shows: wide enough for any real diary, far from date arithmetic's limits
# (a day after 9999-12-31 does not exist, and would be a server error).
FIRST_DAY = date(2000, 1, 1)
LAST_DAY = date(2099, 12, 31)
ISO_DAY = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")


def parse_day(text: object) -> date | None:
    """A day written YYYY-MM-DD between FIRST_DAY and LAST_DAY, or None for anything else; never raises."""
    if not isinstance(text, str) or not ISO_DAY.fullmatch(text):
        return None
    try:
        day = date.fromisoformat(text)
    except ValueError:
        return None
    return day if FIRST_DAY <= day <= LAST_DAY else None


def monday_of(day: date) -> date:
    """The Monday of the week a day falls in (never before FIRST_DAY's week)."""
    return day - timedelta(days=day.weekday())


def local_instant(day: date, clock: time) -> datetime:
    """A London wall time on a day as a UTC instant (a time the clocks skip counts as before the change)."""
    return datetime.combine(day, clock, LONDON).astimezone(timezone.utc)


def day_span(day: date) -> tuple[datetime, datetime]:
    """A London day as a UTC span: 23 or 25 hours on the days the clocks change."""
    return local_instant(day, time(0)), local_instant(day + timedelta(days=1), time(0))


def changes_clocks(day: date) -> bool:
    """Whether the clocks change on this London day."""
    starts, ends = day_span(day)
    return ends - starts != timedelta(days=1)


def clock_label(moment: datetime, with_zone: bool = False) -> str:
    """A UTC instant as London wall time, "09:30", or "01:30 GMT" where the hour repeats or is skipped."""
    local = moment.astimezone(LONDON)
    return local.strftime("%H:%M %Z") if with_zone else local.strftime("%H:%M")


@dataclass(frozen=True)
class Column:
    """A practitioner as a column of the diary."""

    practitioner_id: int
    name: str
    active: bool = True


@dataclass(frozen=True)
class Entry:
    """An appointment as the diary shows it: who, when (UTC), until when the practitioner is busy,
    and what the page prints about it (`details`, any plain object)."""

    practitioner_id: int
    starts_at: datetime
    ends_at: datetime
    blocked_until: datetime
    details: Any = None


@dataclass(frozen=True)
class Session:
    """A practitioner's working time on one day (UTC)."""

    practitioner_id: int
    starts_at: datetime
    ends_at: datetime


@dataclass(frozen=True)
class Away:
    """Time away from the diary (UTC): one practitioner's, or everyone's when `practitioner_id` is None."""

    practitioner_id: int | None
    starts_at: datetime
    ends_at: datetime
    note: str = ""


@dataclass
class Cell:
    """One practitioner in one row: "appointment" (one starts here), "during" (one continues),
    "free" (a bookable time starts here), "away" (time away, with its note), "busy" (working,
    nothing bookable) or "off"."""

    kind: str
    entries: list[Entry] = field(default_factory=list)
    free: list[datetime] = field(default_factory=list)
    note: str = ""


@dataclass
class Row:
    """A stretch of `step` minutes from `starts_at`, with one cell per column."""

    starts_at: datetime
    label: str
    cells: list[Cell]


def sessions_on(day: date, hours: Iterable[tuple[int, time, time]]) -> list[Session]:
    """Weekly (practitioner, starts, ends) wall-clock hours as the UTC spans they cover on a day."""
    return [Session(practitioner_id, local_instant(day, starts), local_instant(day, ends)) for practitioner_id, starts, ends in hours]


def day_rows(
    day: date, columns: Sequence[Column], sessions: Sequence[Session], entries: Sequence[Entry], free: Iterable[Slot], step_minutes: int,
    away: Sequence[Away] = (),
) -> list[Row]:
    """The day's rows, one every `step_minutes` of real time, from the first working time or
    appointment to the last; none when nobody works or is booked. On a clock-change day the
    labels carry the zone (01:00 BST, then 01:00 GMT in October)."""
    starts = [session.starts_at for session in sessions] + [entry.starts_at for entry in entries]
    ends = [session.ends_at for session in sessions] + [entry.ends_at for entry in entries]
    if not starts:
        return []
    step = timedelta(minutes=step_minutes)
    day_starts, day_ends = day_span(day)
    first, last = max(min(starts), day_starts), min(max(ends), day_ends)
    local_first = first.astimezone(LONDON)
    cursor = first - timedelta(minutes=local_first.minute % step_minutes, seconds=local_first.second, microseconds=local_first.microsecond)
    free_starts: dict[int, list[datetime]] = {}
    for slot in free:
        free_starts.setdefault(slot.practitioner_id, []).append(slot.starts_at)
    with_zone = changes_clocks(day)
    rows = []
    while cursor < last:
        stop = cursor + step
        rows.append(Row(cursor, clock_label(cursor, with_zone), [
            _cell(column.practitioner_id, cursor, stop, sessions, entries, free_starts.get(column.practitioner_id, ()), away)
            for column in columns
        ]))
        cursor = stop
    for position in range(len(columns)):  # a note is said once, where the time away is first shown
        said = None
        for row in rows:
            cell = row.cells[position]
            if cell.kind != "away":
                said = None
            elif cell.note == said:
                cell.note = ""
            else:
                said = cell.note
    return rows


def _cell(practitioner_id: int, starts: datetime, ends: datetime, sessions: Sequence[Session], entries: Sequence[Entry],
          free_starts: Iterable[datetime], away: Sequence[Away]) -> Cell:
    theirs = [entry for entry in entries if entry.practitioner_id == practitioner_id]
    beginning = [entry for entry in theirs if starts <= entry.starts_at < ends]
    if beginning:
        return Cell("appointment", entries=beginning)
    if any(entry.starts_at < ends and entry.ends_at > starts for entry in theirs):
        return Cell("during")
    free = [moment for moment in free_starts if starts <= moment < ends]
    if free:
        return Cell("free", free=free)
    working = any(session.practitioner_id == practitioner_id and session.starts_at < ends and session.ends_at > starts for session in sessions)
    if working:
        for time_away in away:
            if time_away.practitioner_id in (None, practitioner_id) and time_away.starts_at < ends and time_away.ends_at > starts:
                return Cell("away", note=time_away.note)
    return Cell("busy" if working else "off")


@dataclass
class WeekCell:
    """One practitioner on one day of the week: their hours, appointments and free times."""

    hours: list[str]
    entries: list[Entry]
    free: list[Slot]


@dataclass
class WeekDay:
    """A day of the week view, with one cell per column."""

    day: date
    cells: list[WeekCell]


def week_days(
    monday: date, columns: Sequence[Column], hours: Iterable[tuple[int, int, time, time]], entries: Iterable[Entry], free: Iterable[Slot]
) -> list[WeekDay]:
    """Seven days from `monday`, each with every column's hours ("09:00–13:00"), appointments and
    free times, in time order. `hours` are weekly (practitioner, weekday, starts, ends) rows."""
    days = [monday + timedelta(days=offset) for offset in range(7)]
    index = {column.practitioner_id: position for position, column in enumerate(columns)}
    table = [[WeekCell([], [], []) for _ in columns] for _ in days]
    for practitioner_id, weekday, starts, ends in sorted(hours, key=lambda row: (row[1], row[2])):
        if practitioner_id in index:
            table[weekday][index[practitioner_id]].hours.append(f"{starts:%H:%M}–{ends:%H:%M}")
    for entry in sorted(entries, key=lambda entry: entry.starts_at):
        offset = (entry.starts_at.astimezone(LONDON).date() - monday).days
        if 0 <= offset < 7 and entry.practitioner_id in index:
            table[offset][index[entry.practitioner_id]].entries.append(entry)
    for slot in free:
        offset = (slot.local.date() - monday).days
        if 0 <= offset < 7 and slot.practitioner_id in index:
            table[offset][index[slot.practitioner_id]].free.append(slot)
    return [WeekDay(day, cells) for day, cells in zip(days, table)]
