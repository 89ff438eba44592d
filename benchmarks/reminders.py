"""Benchmark: queueing the due reminders among 50,000 upcoming appointments, two workers at once.

A fresh PostgreSQL database (dropped and migrated again) with 50,000 requests and 50,000
appointments over the next six weeks: 120 practitioners at three sites, ten appointments a day
each from 08:00 London time, every third patient choosing texts. At 09:50 London time on a
weekday, two worker processes (each with its own app and connection, released together) run the
reminder scan at once: the emails and texts due at 10:00 for the day after tomorrow, and the
morning texts for the rest of today that a worker starting cold has not yet sent.

Target: both scans finished within 2 seconds of their release; every due reminder queued exactly
once (the number found by the pure plan over all 50,000 appointments, and no two messages for one
appointment and kind); a second scan straight after queues nothing.

Run: .venv/bin/python benchmarks/reminders.py [--database-url URL] [--reuse-seed]
"""

from __future__ import annotations

import argparse
import multiprocessing
import sys
import tempfile
import time
from datetime import date, datetime, timedelta, timezone
from datetime import time as clock
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from sqlalchemy import delete, func, insert, select, text  # noqa: E402

from staff_list import migrate_afresh, seed  # noqa: E402

from intake import create_app  # noqa: E402
from intake.appointments import manage_links  # noqa: E402
from intake.appointments.models import Appointment, Practitioner, PractitionerSite  # noqa: E402
from intake.journey.models import AssessmentRequest  # noqa: E402
from intake.mail.models import OutboxMessage  # noqa: E402
from intake.mail.notifications import MailSettings  # noqa: E402
from intake.platform.extensions import db  # noqa: E402
from intake.platform.timeutil import LONDON  # noqa: E402
from intake.reminders.plan import LAST_SENDING, REMINDER_KINDS, plan  # noqa: E402
from intake.reminders.queue import ReminderSettings, queue_due_reminders  # noqa: E402

DEFAULT_DATABASE = "postgresql+psycopg://postgres@127.0.0.1:5432/bench"
APPOINTMENTS = 50_000
PRACTITIONERS = 120
PER_DAY = 10
SITES = ("canal-side", "riverside", "west-green")
TARGET_SECONDS = 2.0
WORKERS = 2


def scan_time(today: date) -> datetime:
    return datetime.combine(today, clock(9, 50), LONDON).astimezone(timezone.utc)


SECRET = "reminders benchmark secret key"


def settings_for(database_url: str, instance: str) -> dict:
    return {"SQLALCHEMY_DATABASE_URI": database_url, "INSTANCE_PATH": instance, "OUTBOX_SEND_AFTER_REQUEST": False, "SECRET_KEY": SECRET}


def seed_appointments(today: date) -> None:
    """120 practitioners, ten back-to-back appointments a day each, for the 50,000 requests."""
    practitioners = [{"name": f"Practitioner {number}", "active": True} for number in range(PRACTITIONERS)]
    ids = list(db.session.execute(insert(Practitioner).returning(Practitioner.id), practitioners).scalars())
    db.session.execute(insert(PractitionerSite), [{"practitioner_id": pid, "site_code": SITES[index % 3]} for index, pid in enumerate(ids)])
    request_ids = list(db.session.execute(select(AssessmentRequest.id).order_by(AssessmentRequest.id)).scalars())
    db.session.execute(text("UPDATE assessment_requests SET contact_method = 'text' WHERE id % 3 = 0"))
    booked_at = datetime.now(timezone.utc) - timedelta(days=30)
    rows, day = [], today
    while len(rows) < APPOINTMENTS:
        for slot in range(PER_DAY):
            starts = datetime.combine(day, clock(8 + slot), LONDON).astimezone(timezone.utc)
            for index, practitioner_id in enumerate(ids):
                if len(rows) == APPOINTMENTS:
                    break
                rows.append({
                    "request_id": request_ids[len(rows)], "practitioner_id": practitioner_id, "site_code": SITES[index % 3],
                    "starts_at": starts, "minutes": 45, "buffer_minutes": 15, "blocked_until": starts + timedelta(hours=1),
                    "created_at": booked_at, "updated_at": booked_at,
                })
        day += timedelta(days=1)
    for start in range(0, len(rows), 5000):
        ids = db.session.execute(insert(Appointment).returning(Appointment.id, sort_by_parameter_order=True), rows[start:start + 5000]).scalars()
        for appointment_id in ids:  # every booking gets its manage link, as booking does
            manage_links.token_for(appointment_id, SECRET, booked_at)
    db.session.commit()
    print(f"{len(rows):,} appointments from {today} to {day - timedelta(days=1)}, {PRACTITIONERS} practitioners")


def expected_reminders(now: datetime, settings: ReminderSettings) -> int:
    """How many reminders a scan at `now` must queue, by the pure plan over every appointment."""
    rows = db.session.execute(
        select(Appointment.starts_at, Appointment.updated_at, AssessmentRequest.contact_method)
        .join(AssessmentRequest, AssessmentRequest.id == Appointment.request_id).where(Appointment.starts_at > now + LAST_SENDING)
    ).all()
    return sum(
        1 for row in rows
        if any(reminder.due_at <= now + settings.lookahead for reminder in plan(row.starts_at, now=row.updated_at, contact_method=row.contact_method, rules=settings.rules))
    )


def worker(database_url: str, instance: str, now: datetime, ready, go, results) -> None:
    """One worker process: its own app and connection, scanning when released."""
    app = create_app(settings_for(database_url, instance))
    with app.app_context():
        db.session.execute(select(1))  # connected before the start
        db.session.commit()
        settings, mail = ReminderSettings.from_config(app.config), MailSettings.from_config(app.config)
        ready.release()
        go.wait()
        started = time.perf_counter()
        queued = queue_due_reminders(now, settings=settings, mail=mail, sites=app.config["CLINIC_SITES"])
        results.put((queued, time.perf_counter() - started, time.time()))


def race(database_url: str, instance: str, now: datetime) -> tuple[list[tuple[int, float, float]], float]:
    context = multiprocessing.get_context("spawn")
    ready, go, results = context.Semaphore(0), context.Event(), context.Queue()
    processes = [context.Process(target=worker, args=(database_url, instance, now, ready, go, results)) for _ in range(WORKERS)]
    for process in processes:
        process.start()
    for _ in processes:
        ready.acquire()
    released = time.time()
    go.set()
    outcomes = [results.get(timeout=120) for _ in processes]
    for process in processes:
        process.join()
    return outcomes, max(finished for _, _, finished in outcomes) - released


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", default=DEFAULT_DATABASE)
    parser.add_argument("--reuse-seed", action="store_true", help="keep the appointments of an earlier run (same day), emptying only the outbox")
    arguments = parser.parse_args()
    instance = tempfile.mkdtemp(prefix="reminders-bench-")
    app = create_app(settings_for(arguments.database_url, instance))
    today = datetime.now(LONDON).date() + timedelta(days=1)
    while today.weekday() >= 5:
        today += timedelta(days=1)
    now = scan_time(today)
    with app.app_context():
        if arguments.reuse_seed:
            db.session.execute(delete(OutboxMessage))
            db.session.commit()
        else:
            migrate_afresh()
            seed(APPOINTMENTS)
            seed_appointments(today)
        expected = expected_reminders(now, ReminderSettings.from_config(app.config))
    outcomes, wall = race(arguments.database_url, instance, now)
    with app.app_context():
        stored = db.session.execute(select(func.count()).where(OutboxMessage.kind.in_(REMINDER_KINDS))).scalar_one()
        doubled = db.session.execute(
            select(OutboxMessage.appointment_id, OutboxMessage.kind).where(OutboxMessage.kind.in_(REMINDER_KINDS))
            .group_by(OutboxMessage.appointment_id, OutboxMessage.kind).having(func.count() > 1)
        ).all()
        channels = dict(db.session.execute(
            select(OutboxMessage.channel, func.count()).where(OutboxMessage.kind.in_(REMINDER_KINDS)).group_by(OutboxMessage.channel)
        ).all())
        started = time.perf_counter()
        again = queue_due_reminders(now, settings=ReminderSettings.from_config(app.config), mail=MailSettings.from_config(app.config),
                                    sites=app.config["CLINIC_SITES"])
        rescan = time.perf_counter() - started
    queued = sum(count for count, _, _ in outcomes)
    print(f"scan at {now.astimezone(LONDON):%A %d %B %H:%M} London time, {WORKERS} workers at once")
    for number, (count, seconds, _) in enumerate(outcomes, 1):
        print(f"  worker {number}: queued {count:,} in {seconds:.2f} s")
    print(f"both finished {wall:.2f} s after release (target {TARGET_SECONDS} s)")
    print(f"reminders stored {stored:,} ({channels}), expected {expected:,}, queued by the workers together {queued:,}, "
          f"appointments with a reminder twice: {len(doubled)}")
    print(f"a second scan straight after: queued {again} in {rescan:.2f} s")
    ok = wall < TARGET_SECONDS and stored == expected == queued and not doubled and again == 0
    print("PASS" if ok else "FAIL")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
