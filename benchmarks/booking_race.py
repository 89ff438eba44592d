"""Benchmark: 50 people book the same time at once, over HTTP, against gunicorn on PostgreSQL.

A fresh database (dropped and migrated again) with one practitioner, Clara, working weekdays
09:00-17:00 at Riverside. Half the attempts are patients confirming a time they chose on the
self-booking pages (each with their own draft, answered in-process beforehand); the other half
are reception booking from 25 requests' pages. All 50 are released together (a barrier) on
separate connections. Two rounds:

1. everyone asks for the same time (the first patient-bookable day, 10:00);
2. overlapping but different starts: half ask for 11:00, half for 11:15 (45 minutes plus a
   15-minute buffer, so any two overlap).

Each round must end with exactly one live appointment in the contested span, every other
answer a friendly 409 page saying the time has just been taken and offering other times, and
no 500 or other answer. Target: all of that, in both rounds.

Run: .venv/bin/python benchmarks/booking_race.py [--database-url URL] [--workers N]
"""

from __future__ import annotations

import argparse
import http.client
import re
import sys
import tempfile
import threading
import time as clock
from collections import Counter
from datetime import datetime, time, timedelta, timezone
from pathlib import Path
from urllib.parse import urlencode

PROJECT_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(PROJECT_ROOT))

from sqlalchemy import func, select  # noqa: E402

from load import GUNICORN_SETTINGS, SECRET_KEY, app_settings, serve, session_cookie  # noqa: E402
from staff_list import migrate_afresh  # noqa: E402
from tests.factories import CSRF_PATTERN, STAFF_PASSWORD, Patient, Staff, new_practitioner, new_request  # noqa: E402

from intake import create_app  # noqa: E402
from intake.appointments import diary  # noqa: E402
from intake.appointments.models import Appointment  # noqa: E402
from intake.appointments.slots import slot_value  # noqa: E402
from intake.platform.extensions import db  # noqa: E402
from intake.platform.timeutil import LONDON, utcnow  # noqa: E402
from intake.staff import accounts  # noqa: E402

DEFAULT_DATABASE = "postgresql+psycopg://postgres@127.0.0.1:5432/bench"
DEFAULT_RATELIMIT_STORAGE = "redis://127.0.0.1:6379/0"
STAFF_EMAIL = "race@clinic.example"
ATTEMPTS = 50
TAKEN_WORDS = "just been taken"


class Attempt:
    """One prepared booking: the POST to send (path, cookie, form body) and who sends it."""

    def __init__(self, who: str, path: str, cookie: str, body: dict[str, str]) -> None:
        self.who, self.path, self.cookie, self.body = who, path, cookie, body
        self.status = 0
        self.page = ""


def contested_slots(app, first_start: time, second_start: time) -> tuple[str, str, datetime, datetime]:
    """Two free times on the first day patients may book, and the span they cover together."""
    with app.app_context():
        free = diary.free_times(utcnow(), default_minutes=app.config["APPOINTMENT_MINUTES"], site_code="riverside")
        day = free[0].local.date()
        chosen = [next(slot for slot in free if slot.local.date() == day and slot.local.time() == wanted) for wanted in (first_start, second_start)]
        return slot_value(chosen[0]), slot_value(chosen[1]), chosen[0].starts_at, chosen[1].ends_at


def patient_attempt(app, slot: str) -> Attempt:
    """A patient who has answered everything, consented and chosen `slot`, about to confirm it."""
    patient = Patient(app.test_client())
    patient.answer_all()
    assert patient.submit().headers["Location"].endswith("/book/time"), "a routine patient is offered times"
    confirm_path = f"/book/time/confirm?{urlencode({'slot': slot})}"
    page = patient.client.get(confirm_path).get_data(as_text=True)
    fields = dict(re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)"', page))
    assert "csrf_token" in fields, page
    return Attempt("patient", "/book/time/confirm", session_cookie(patient.client), {**fields, "slot": slot})


def reception_attempt(app, staff: Staff, reference: str, slot: str) -> Attempt:
    """Reception on a request's page, about to book `slot` for it."""
    page = staff.client.get(f"/staff/requests/{reference}").get_data(as_text=True)
    token = CSRF_PATTERN.search(page).group(1)
    return Attempt("reception", f"/staff/requests/{reference}/book", session_cookie(staff.client), {"csrf_token": token, "slot": slot})


def send(port: int, attempt: Attempt, start: threading.Barrier) -> None:
    """Post the attempt as soon as every thread is ready."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    connection.connect()
    start.wait()
    connection.request("POST", attempt.path, urlencode(attempt.body), {
        "Content-Type": "application/x-www-form-urlencoded", "Cookie": attempt.cookie,
    })
    response = connection.getresponse()
    attempt.status, attempt.page = response.status, response.read().decode("utf-8", "replace")
    connection.close()


def race(port: int, attempts: list[Attempt]) -> float:
    """Release every attempt at once; return how long the slowest took, in seconds."""
    start = threading.Barrier(len(attempts))
    threads = [threading.Thread(target=send, args=(port, attempt, start)) for attempt in attempts]
    began = clock.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return clock.perf_counter() - began


def live_appointments(app, starts: datetime, ends: datetime) -> int:
    with app.app_context():
        count = db.session.execute(select(func.count()).select_from(Appointment).where(
            Appointment.cancelled.is_(False), Appointment.starts_at < ends, Appointment.blocked_until > starts)).scalar_one()
        db.session.remove()
        return count


def judge(name: str, attempts: list[Attempt], booked: int, seconds: float) -> bool:
    """Print the round's outcome; it passes with one booking and every other answer the friendly refusal."""
    outcomes = Counter()
    for attempt in attempts:
        if attempt.status == 303:
            outcomes[f"{attempt.who} booked"] += 1
        elif attempt.status == 409 and TAKEN_WORDS in attempt.page and 'name="slot"' in attempt.page:
            outcomes[f"{attempt.who} told it was taken, with other times"] += 1
        else:
            outcomes[f"{attempt.who} answered {attempt.status}"] += 1
    winners = sum(count for outcome, count in outcomes.items() if outcome.endswith("booked"))
    friendly = sum(count for outcome, count in outcomes.items() if "taken" in outcome)
    passed = booked == 1 and winners == 1 and friendly == len(attempts) - 1
    print(f"{name}: {booked} appointment(s) stored, {len(attempts)} attempts in {seconds:.2f} s")
    for outcome, count in sorted(outcomes.items()):
        print(f"  {count:>3}  {outcome}")
    print(f"  {'PASS' if passed else 'FAIL'}")
    return passed


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", default=DEFAULT_DATABASE)
    parser.add_argument("--ratelimit-storage-uri", default=DEFAULT_RATELIMIT_STORAGE)
    parser.add_argument("--workers", type=int, help="gunicorn workers (default: gunicorn.conf.py's)")
    arguments = parser.parse_args()
    with tempfile.TemporaryDirectory() as name:
        folder = Path(name)
        app = create_app({
            "SQLALCHEMY_DATABASE_URI": arguments.database_url, "SECRET_KEY": SECRET_KEY, "INSTANCE_PATH": folder,
            "MAIL_SERVER": "", "OUTBOX_SEND_AFTER_REQUEST": False, "RATELIMIT_ENABLED": False,
        })
        with app.app_context():
            migrate_afresh()
            accounts.create_staff(STAFF_EMAIL, "Race Reception", "reception", STAFF_PASSWORD)
            db.session.commit()
        new_practitioner(app, "Clara Clinician", sites=("riverside",))
        staff = Staff(app.test_client())
        assert staff.login(STAFF_EMAIL).status_code == 303
        rounds = [("same time", time(10, 0), time(10, 0)), ("overlapping times", time(11, 0), time(11, 15))]
        prepared = []
        for round_name, first, second in rounds:
            slot_a, slot_b, starts, ends = contested_slots(app, first, second)
            halves = ATTEMPTS // 2
            attempts = [patient_attempt(app, slot_a if number % 2 == 0 else slot_b) for number in range(halves)]
            attempts += [
                reception_attempt(app, staff, new_request(app, email=f"race{round_name[0]}{number}@example.com"), slot_b if number % 2 == 0 else slot_a)
                for number in range(ATTEMPTS - halves)
            ]
            prepared.append((round_name, attempts, starts, ends))
        with app.app_context():
            db.engine.dispose()
        settings = app_settings(arguments.database_url, arguments.ratelimit_storage_uri)
        gunicorn_flags = GUNICORN_SETTINGS + (["--workers", str(arguments.workers)] if arguments.workers else [])
        print(f"database: {arguments.database_url.split('@')[-1]}; gunicorn {' '.join(gunicorn_flags)}; {ATTEMPTS} attempts a round")
        all_passed = True
        with serve("wsgi:app", settings, gunicorn_flags, folder / "app.log") as port:
            for round_name, attempts, starts, ends in prepared:
                seconds = race(port, attempts)
                all_passed &= judge(round_name, attempts, live_appointments(app, starts, ends), seconds)
        errors = [line for line in (folder / "app.log").read_text().splitlines() if "Traceback" in line or "ERROR" in line]
        if errors:
            print("app log errors:", *errors[:10], sep="\n")
            all_passed = False
    print("PASS" if all_passed else "FAIL")
    return 0 if all_passed else 1


if __name__ == "__main__":
    raise SystemExit(main())
