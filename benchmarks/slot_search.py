"""Benchmark: finding every free slot of a busy clinic over eight weeks must take under 20 ms.

Run: .venv/bin/python benchmarks/slot_search.py
20 practitioners at 3 sites, each working at 1 to 3 of them, 09:00-13:00 and 14:00-18:00 five days a
week (some also on Saturday mornings), a few days of leave and two bank holidays, and 2,000
appointments already booked; `free_slots` is asked for the whole eight-week window.
"""

from __future__ import annotations

import random
import statistics
import sys
import time
from datetime import date, datetime, timedelta, timezone
from datetime import time as clock
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from intake.appointments.slots import (  # noqa: E402
    LONDON, BookingRules, Busy, DiaryException, WorkingSession, free_slots,
)

TARGET_MS = 20.0
RUNS = 200
PRACTITIONERS = 20
SITES = ("riverside", "northgate", "high-street")
APPOINTMENTS = 2000
NOW = datetime(2026, 3, 9, 9, 30, tzinfo=timezone.utc)  # a Monday; the clocks go forward on 29 March
BANK_HOLIDAYS = frozenset({date(2026, 4, 3), date(2026, 4, 6), date(2026, 5, 4)})
RULES = BookingRules(notice_working_days=1, horizon_days=56)


def clinic(seed: int = 7):
    """Weekly sessions, leave and booked appointments of a made-up but realistic clinic."""
    rng = random.Random(seed)
    sessions = []
    for practitioner_id in range(1, PRACTITIONERS + 1):
        sites = rng.sample(SITES, rng.randint(1, 3))
        for weekday in range(5):
            sessions.append(WorkingSession(practitioner_id, sites[weekday % len(sites)], weekday, clock(9), clock(13)))
            sessions.append(WorkingSession(practitioner_id, sites[(weekday + 1) % len(sites)], weekday, clock(14), clock(18)))
        if practitioner_id % 4 == 0:
            sessions.append(WorkingSession(practitioner_id, sites[0], 5, clock(9), clock(13)))
    today = NOW.astimezone(LONDON).date()
    exceptions = [
        DiaryException("away", local(today + timedelta(days=start)), local(today + timedelta(days=start + 5)), practitioner_id)
        for practitioner_id, start in ((3, 14), (8, 21), (15, 35))
    ]
    busy = []
    while len(busy) < APPOINTMENTS:
        session = rng.choice(sessions)
        day = today + timedelta(days=rng.randrange(1, 57))
        if day.weekday() != session.weekday:
            continue
        starts = local(day, session.starts) + timedelta(minutes=15 * rng.randrange(0, 13))
        busy.append(Busy(session.practitioner_id, starts.astimezone(timezone.utc), (starts + timedelta(hours=1)).astimezone(timezone.utc)))
    return sessions, exceptions, busy


def local(day: date, at: clock = clock()) -> datetime:
    return datetime.combine(day, at, LONDON).astimezone(timezone.utc)


def main() -> int:
    sessions, exceptions, busy = clinic()

    def search():
        return free_slots(sessions=sessions, exceptions=exceptions, busy=busy, rules=RULES, now=NOW, closed_days=BANK_HOLIDAYS)

    for _ in range(20):  # warm up
        slots = search()
    timings = []
    for _ in range(RUNS):
        started = time.perf_counter()
        search()
        timings.append((time.perf_counter() - started) * 1000)
    median = statistics.median(timings)
    print(f"{PRACTITIONERS} practitioners, {len(SITES)} sites, {len(sessions)} weekly sessions, {len(busy)} appointments, "
          f"{RULES.horizon_days} days: {len(slots)} free slots")
    print(f"free_slots over {RUNS} runs: min {min(timings):.2f} ms, median {median:.2f} ms, max {max(timings):.2f} ms "
          f"(target: median < {TARGET_MS:.0f} ms)")
    passed = median < TARGET_MS
    print("PASS" if passed else "FAIL")
    return 0 if passed else 1


if __name__ == "__main__":
    raise SystemExit(main())
