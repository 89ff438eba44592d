"""A small demo clinic, so a newcomer's `make run` shows a working diary with real free times.

Four invented practitioners (no real people) across the configured sites, with mornings,
afternoons, some evenings and Saturday mornings; the booking rules and the initial assessment at
their defaults. Added only to a diary with no practitioners at all, so it never mixes with a
real clinic's and running it again adds nothing.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import time

from sqlalchemy import func, select

from intake.appointments import diary
from intake.appointments.models import Practitioner, PractitionerSite, WorkingHours
from intake.platform.extensions import db

MON, TUE, WED, THU, FRI, SAT = range(6)
# name: (site number, weekday, starts, ends); site numbers count the configured sites, in their order.
DEMO_PRACTITIONERS: dict[str, list[tuple[int, int, str, str]]] = {
    "Maya Okafor": [(1, MON, "08:00", "12:30"), (0, MON, "13:30", "18:00"), (1, WED, "08:00", "12:30"),
                    (0, WED, "13:30", "18:00"), (1, FRI, "08:00", "12:30")],
    "Tomasz Brennan": [(0, TUE, "09:00", "17:00"), (0, THU, "09:00", "17:00"), (0, SAT, "09:00", "13:00")],
    "Aisha Rahman": [(2, day, "12:00", "20:00") for day in (MON, TUE, WED, THU)],
    "Leo Fairbairn": [(1, TUE, "07:30", "15:30"), (1, THU, "07:30", "15:30"), (2, FRI, "09:00", "17:00"),
                      (1, SAT, "08:30", "12:30")],
}


def seed_demo_clinic(site_codes: Sequence[str], default_minutes: int) -> int:
    """Add the demo practitioners and their weekly hours, and store the default rules and assessment;
    return how many practitioners were added (0 when the diary already has some). The caller commits."""
    if not site_codes:
        raise ValueError("The demo clinic needs at least one configured site.")
    if db.session.execute(select(func.count()).select_from(Practitioner)).scalar_one():
        return 0
    db.session.add_all([diary.booking_rules(), diary.assessment_type(default_minutes)])
    for name, sessions in DEMO_PRACTITIONERS.items():
        sites = sorted({site_codes[number % len(site_codes)] for number, *_ in sessions})
        person = Practitioner(name=name, active=True, sites=[PractitionerSite(site_code=code) for code in sites])
        db.session.add(person)
        db.session.flush()
        db.session.add_all(
            WorkingHours(practitioner_id=person.id, site_code=site_codes[number % len(site_codes)], weekday=weekday,
                         starts=time.fromisoformat(starts), ends=time.fromisoformat(ends))
            for number, weekday, starts, ends in sessions
        )
    return len(DEMO_PRACTITIONERS)
