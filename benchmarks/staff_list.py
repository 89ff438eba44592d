"""Benchmark: the back-office request list at two sizes (1,000 and 100,000 by default; issue 18: 10,000 and 1,000,000).

Seeds each size into a fresh database (SQLite file by default; PostgreSQL with
--database-url postgresql+psycopg://postgres@127.0.0.1:5432/bench), signs a receptionist
in, and times through the app, in-process, the median of 15 views of: the list in each order
and with each filter, the search by name, email, phone and reference (typed whole; part of a name
and of an email are timed too, not judged), page 40, and a request's own page (with its free times). Target: every page at the larger size no more than 1.5 times its
time at the smaller and, with --million, under 50 ms (without it, the default view under 200 ms).

--million (PostgreSQL only): 10,000 and 1,000,000 requests, each with two outbox emails and an
audit entry, seeded by INSERT ... SELECT over generate_series, and 200,000 past appointments in
the demo clinic's diary; the week diary and the request page's free times are timed too (cold,
after the diary changes, and as kept), against the same clinic with no past appointments.

Run: .venv/bin/python benchmarks/staff_list.py [--database-url URL] [--sizes 1000 100000]
     .venv/bin/python benchmarks/staff_list.py --million --database-url postgresql+psycopg://postgres@127.0.0.1:5432/bench
"""

from __future__ import annotations

import argparse
import random
import re
import statistics
import sys
import tempfile
import time
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from flask import current_app  # noqa: E402
from flask_migrate import downgrade, upgrade  # noqa: E402
from sqlalchemy import insert, text  # noqa: E402

from intake import create_app  # noqa: E402
from intake.appointments.demo import seed_demo_clinic  # noqa: E402
from intake.journey.models import REQUEST_STATUSES, AssessmentRequest  # noqa: E402
from intake.platform.extensions import db  # noqa: E402
from intake.staff import accounts  # noqa: E402
from intake.platform.timeutil import LONDON, utcnow  # noqa: E402
from intake.clinic.vocabulary import BODY_REGIONS, codes  # noqa: E402

PASSWORD = "benchmark passphrase"
ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"
FIRST_NAMES = ["Ada", "Grace", "Alan", "Mary", "Omar", "Priya", "Chen", "Fatima", "Tom", "Zoë"]
LAST_NAMES = ["Lovelace", "Hopper", "Turing", "Seacole", "Khan", "Patel", "Wei", "Begum", "Jones", "Smith"]
# A million patients do not share ten surnames: the --million seed draws from about a thousand
# (these ten and made-up ones), so a search for one surname finds about one request in a thousand.
SURNAMES = LAST_NAMES + [stem + ending for stem in (
    "Ash", "Brook", "Carr", "Dale", "Elm", "Fair", "Glen", "Hart", "Ire", "Kent", "Lang", "Marsh", "Nor", "Oak",
    "Pem", "Rad", "Stan", "Thorn", "Under", "Vane", "Wick", "Yar", "Bel", "Cran", "Dun",
) for ending in (
    "ford", "ley", "ton", "wood", "field", "by", "ham", "well", "bridge", "stone", "hurst", "more", "wick", "combe",
    "thwaite", "dale", "land", "worth", "cott", "bury", "low", "holme", "shaw", "den", "gate", "mere", "wade",
    "berry", "fold", "hill", "lock", "ridge", "brook", "stead", "win", "ney", "ing", "ell", "ard", "ick",
)]
RUNS = 15
# Searches for part of a name or email (the trigram indexes) are timed and shown but not judged:
# their cost grows with the requests that hold the part (a thousand for "seaco" at a million), not
# with the table. The searches judged are those typed whole (a surname, a name, an email address).
PART_OF_A_NAME = "name search, in part (not judged)"
PART_OF_AN_EMAIL = "email search, in part (not judged)"
# A lower-back request's back-pain screen, by risk (the list orders by it after urgency).
SCREENED = {
    risk: {"back_screen": {}, "back_screen_total": total, "back_screen_psychological": psychological, "back_risk": risk, "back_risk_rank": rank}
    for risk, total, psychological, rank in (("low", 2, 1, 2), ("medium", 5, 2, 1), ("high", 7, 4, 0))
}


def seed(size: int) -> None:
    """Insert `size` realistic requests in batches."""
    randomness = random.Random(size)
    now = utcnow()
    regions = codes(BODY_REGIONS)
    batch = []
    for number in range(size):
        urgency = randomness.choices(["routine", "urgent", "emergency"], weights=[90, 8, 2])[0]
        region = randomness.choice(regions)
        batch.append({
            "reference": f"{number:08d}".translate(str.maketrans("0123456789", "ABCDEFGHJK")),
            "submission_key": f"bench-{number}",
            "status": randomness.choice(REQUEST_STATUSES),
            "urgency": urgency,
            "urgency_rank": {"emergency": 0, "urgent": 1, "routine": 2}[urgency],
            "urgency_reasons": [], "soft_flags": [],
            "first_name": randomness.choice(FIRST_NAMES), "last_name": randomness.choice(LAST_NAMES),
            "date_of_birth": date(1950, 1, 1) + timedelta(days=randomness.randrange(20000)),
            "email": f"patient{number}@example.com", "phone": f"+4474{number:08d}", "phone_display": f"074{number // 1000000 % 100:02d} {number % 1000000:06d}", "contact_method": "phone",
            "postcode": None, "region": region, "side": "left", "duration": "2_to_6_weeks",
            "onset": "gradual", "pain_now": 4, "pain_worst": 7, "sensations": [], "description": "", "goals": "",
            "safety_answers": {}, "site_code": randomness.choice(["canal-side", "riverside", "west-green"]),
            "available_days": ["mon"], "available_times": ["morning"], "earliest_date": None, "availability_note": "",
            "consent_given_at": now, "marketing_opt_in": False,
            "created_at": now - timedelta(minutes=number * 5), "updated_at": now,
            **(SCREENED[randomness.choices(list(SCREENED), weights=[50, 30, 20])[0]] if region == "lower_back" else {}),
        })
        if len(batch) == 5000:
            db.session.execute(insert(AssessmentRequest), batch)
            batch = []
    if batch:
        db.session.execute(insert(AssessmentRequest), batch)
    # The per-status counts follow by themselves: the database's triggers count every insert.
    db.session.commit()


# The whole seed in the database itself (PostgreSQL): the same kind of requests as seed() makes,
# each with the two emails a submission queues and an audit entry, 50 to 200 times faster.
SEED_REQUESTS = """
INSERT INTO assessment_requests (reference, submission_key, status, urgency, urgency_rank, urgency_reasons, soft_flags,
    first_name, last_name, date_of_birth, email, phone, phone_display, contact_method, postcode, region, side, duration,
    onset, pain_now, pain_worst, sensations, description, goals, safety_answers, site_code, available_days,
    available_times, earliest_date, availability_note, consent_given_at, marketing_opt_in, created_at, updated_at,
    back_screen, back_screen_total, back_screen_psychological, back_risk, back_risk_rank)
SELECT translate(lpad(n::text, 8, '0'), '0123456789', 'ABCDEFGHJK'), 'bench-' || n,
    (CAST(:statuses AS text[]))[1 + floor(draw_status * 7)::int],
    CASE WHEN draw_urgency < 0.02 THEN 'emergency' WHEN draw_urgency < 0.10 THEN 'urgent' ELSE 'routine' END,
    CASE WHEN draw_urgency < 0.02 THEN 0 WHEN draw_urgency < 0.10 THEN 1 ELSE 2 END,
    '[]', '[]',
    (CAST(:first_names AS text[]))[1 + floor(draw_first * cardinality(CAST(:first_names AS text[])))::int],
    (CAST(:surnames AS text[]))[1 + floor(draw_last * cardinality(CAST(:surnames AS text[])))::int],
    DATE '1950-01-01' + floor(draw_birth * 20000)::int,
    'patient' || n || '@example.com', '+4474' || lpad(n::text, 8, '0'),
    '074' || lpad((n / 1000000 % 100)::text, 2, '0') || ' ' || lpad((n % 1000000)::text, 6, '0'), 'phone',
    NULL, region, 'left', '2_to_6_weeks', 'gradual', 4, 7, '[]', '', '', '{}',
    (ARRAY['canal-side', 'riverside', 'west-green'])[1 + floor(draw_site * 3)::int],
    '["mon"]', '["morning"]', NULL, '', CAST(:now AS timestamptz), false,
    CAST(:now AS timestamptz) - n * interval '5 minutes', CAST(:now AS timestamptz),
    '{}',
    CASE WHEN region <> 'lower_back' THEN NULL WHEN draw_risk < 0.5 THEN 2 WHEN draw_risk < 0.8 THEN 5 ELSE 7 END,
    CASE WHEN region <> 'lower_back' THEN NULL WHEN draw_risk < 0.5 THEN 1 WHEN draw_risk < 0.8 THEN 2 ELSE 4 END,
    CASE WHEN region <> 'lower_back' THEN NULL WHEN draw_risk < 0.5 THEN 'low' WHEN draw_risk < 0.8 THEN 'medium' ELSE 'high' END,
    CASE WHEN region <> 'lower_back' THEN 2 WHEN draw_risk < 0.5 THEN 2 WHEN draw_risk < 0.8 THEN 1 ELSE 0 END
FROM (
    SELECT n, random() AS draw_status, random() AS draw_urgency, random() AS draw_first, random() AS draw_last,
        random() AS draw_birth, random() AS draw_site, random() AS draw_risk,
        (CAST(:regions AS text[]))[1 + floor(random() * cardinality(CAST(:regions AS text[])))::int] AS region
    FROM generate_series(0, :size - 1) AS n
) AS drawn
"""
SEED_EMAILS = """
INSERT INTO outbox_messages (channel, kind, request_id, recipient, subject, text_body, html_body, message_id, status,
    attempts, next_attempt_at, sent_at, created_at)
SELECT 'email', kind, id, CASE kind WHEN 'clinic' THEN 'reception@clinic.example' ELSE email END,
    'Your request ' || reference, repeat('A line of the email that tells the patient what happens next. ', 30),
    '<p>' || repeat('A line of the email that tells the patient what happens next. ', 30) || '</p>',
    '<' || kind || '.' || reference || '@bench.example>', 'sent', 1, created_at, created_at, created_at
FROM assessment_requests CROSS JOIN (VALUES ('clinic'), ('patient')) AS kinds (kind)
"""
SEED_AUDIT = """
INSERT INTO audit_events (at, staff_email, action, request_id, detail)
SELECT created_at + interval '1 hour', 'bench@clinic.example', 'request_viewed', id, '{}' FROM assessment_requests
"""
# Past appointments going back from yesterday, one an hour for each demo practitioner at one of
# their sites (so no two of a practitioner's overlap), for the diary's figures.
SEED_PAST_APPOINTMENTS = """
WITH staff AS (
    SELECT row_number() OVER (ORDER BY practitioners.id) - 1 AS place, practitioners.id, min(practitioner_sites.site_code) AS site_code
    FROM practitioners JOIN practitioner_sites ON practitioner_sites.practitioner_id = practitioners.id
    GROUP BY practitioners.id
)
INSERT INTO appointments (request_id, practitioner_id, site_code, starts_at, minutes, buffer_minutes, blocked_until,
    cancelled, cancel_reason, sequence, created_at, updated_at)
SELECT 1 + (n % :requests), staff.id, staff.site_code, starts_at, 45, 0, starts_at + interval '45 minutes',
    false, '', 0, starts_at - interval '7 days', starts_at
FROM generate_series(0, :size - 1) AS n
JOIN staff ON staff.place = n % (SELECT count(*) FROM staff)
CROSS JOIN LATERAL (SELECT CAST(:today AS timestamptz) - interval '1 day' - (n / (SELECT count(*) FROM staff)) * interval '1 hour' AS starts_at) AS hour
"""


def seed_in_database(size: int) -> None:
    """Insert `size` requests, their two emails each and an audit entry each, by INSERT ... SELECT (PostgreSQL)."""
    db.session.execute(text("SELECT setseed(0.18)"))
    # The counting trigger updates one of seven rows per insert: a million versions of those rows in
    # one transaction make each update slower than the last. Count once instead, in the same transaction.
    db.session.execute(text("ALTER TABLE assessment_requests DISABLE TRIGGER request_status_counts_insert_delete"))
    db.session.execute(text(SEED_REQUESTS), {
        "size": size, "now": utcnow(), "statuses": list(REQUEST_STATUSES), "regions": list(codes(BODY_REGIONS)),
        "first_names": FIRST_NAMES, "surnames": SURNAMES,
    })
    db.session.execute(text(
        "INSERT INTO request_status_counts (status, requests) SELECT status, count(*) FROM assessment_requests GROUP BY status"
        " ON CONFLICT (status) DO UPDATE SET requests = request_status_counts.requests + EXCLUDED.requests"
    ))
    db.session.execute(text("ALTER TABLE assessment_requests ENABLE TRIGGER request_status_counts_insert_delete"))
    db.session.execute(text(SEED_EMAILS))
    db.session.execute(text(SEED_AUDIT))
    db.session.commit()


def seed_past_appointments(count: int, requests: int) -> None:
    """Add the demo clinic and `count` past appointments to its diary (PostgreSQL)."""
    seed_demo_clinic([site.code for site in current_app.config["CLINIC_SITES"]], current_app.config["APPOINTMENT_MINUTES"])
    db.session.commit()
    today = datetime.combine(utcnow().date(), datetime.min.time(), tzinfo=timezone.utc)
    db.session.execute(text(SEED_PAST_APPOINTMENTS), {"size": count, "requests": requests, "today": today})
    db.session.commit()


def migrate_afresh() -> None:
    """Drop every table the migrations made (a brand-new database has none) and migrate again."""
    db.session.remove()
    try:
        downgrade(revision="base")
    except Exception:  # noqa: BLE001 - a brand-new database has nothing to undo
        db.session.rollback()
    upgrade()


def middle_reference(size: int) -> str:
    """The reference of the request numbered half the size (as seed() and SEED_REQUESTS draw them)."""
    return f"{size // 2:08d}".translate(str.maketrans("0123456789", "ABCDEFGHJK"))


def list_pages(size: int) -> dict[str, str]:
    """The list's views to time: each order, each filter, each kind of search, a later page."""
    today = utcnow().astimezone(LONDON).date()
    number = size // 2  # a request in the middle: its email, phone and reference
    reference = middle_reference(size)
    return {
        "default (most urgent first)": "/staff/",
        "newest first": "/staff/?order=newest",
        "status filter": "/staff/?status=new",
        "status filter, newest first": "/staff/?status=new&order=newest",
        "site filter": "/staff/?site=riverside",
        "urgency filter (urgent)": "/staff/?urgency=urgent",
        "urgency filter (routine)": "/staff/?urgency=routine",
        "received in the last week": f"/staff/?from={today - timedelta(days=6)}&to={today}",
        "name search": "/staff/?q=seacole",
        "first and last name search": "/staff/?q=ada+seacole",
        "email search": f"/staff/?q=patient{number}%40example.com",
        PART_OF_A_NAME: "/staff/?q=seaco",
        PART_OF_AN_EMAIL: f"/staff/?q=patient{number}%40",
        "phone search": f"/staff/?q=074{number // 1000000 % 100:02d}+{number % 1000000:06d}",
        "reference search": f"/staff/?q={reference.lower()}",
        "page 40": "/staff/?page=40",
        "a request's page": f"/staff/requests/{reference}",
    }


def signed_in_client(app):
    """A test client with the benchmark's receptionist signed in."""
    client = app.test_client()
    page = client.get("/staff/login").get_data(as_text=True)
    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    client.post("/staff/login", data={"email": "bench@clinic.example", "password": PASSWORD, "csrf_token": token})
    return client


class Seeded:
    """An app on a seeded database, with a receptionist signed in, and the views to time on it."""

    def __init__(self, database_url: str, size: int, instance: Path, million: bool, past_appointments: int) -> None:
        self.app = create_app({"SQLALCHEMY_DATABASE_URI": database_url, "INSTANCE_PATH": instance, "OUTBOX_SEND_AFTER_REQUEST": False})
        with self.app.app_context():
            migrate_afresh()
            started = time.perf_counter()
            if million:
                seed_in_database(size)
                seed_past_appointments(past_appointments, size)
                print(f"  seeded {size:,} requests, {2 * size:,} emails, {size:,} audit entries and {past_appointments:,} past appointments"
                      f" in {time.perf_counter() - started:.1f} s")
            else:
                seed(size)
                print(f"  seeded {size:,} requests in {time.perf_counter() - started:.1f} s")
            if db.engine.dialect.name == "postgresql":
                started = time.perf_counter()
                with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
                    # As autovacuum leaves a table that has settled: statistics, and the visibility map
                    # that lets counts read the index alone.
                    connection.execute(text("VACUUM ANALYZE"))
                print(f"  vacuumed and analysed in {time.perf_counter() - started:.1f} s")
            accounts.create_staff("bench@clinic.example", "Bench Reception", "reception", PASSWORD)
            # The request whose page is timed is a new one at both sizes, so its page offers free times.
            db.session.execute(text("UPDATE assessment_requests SET status = 'new' WHERE reference = :reference"),
                               {"reference": middle_reference(size)})
            db.session.commit()
        self.client = signed_in_client(self.app)
        self.paths = list_pages(size) if million else {
            "default (most urgent first)": "/staff/",
            "newest first": "/staff/?order=newest",
            "status filter": "/staff/?status=new",
            "name search": "/staff/?q=seacole",
            "page 40": "/staff/?page=40",
        }
        if million:
            week = "/staff/diary/week?site=riverside"
            self.paths |= {"week diary, as kept": week, "week diary, after a change": week,
                           "a request's page, after a change": self.paths["a request's page"]}

    def diary_changes(self) -> None:
        """Raise the diary's version, as any booking would, so nothing kept of it is used."""
        with self.app.app_context():
            db.session.execute(text("UPDATE diary_version SET version = version + 1"))
            db.session.commit()

    def view(self, name: str) -> float:
        """Milliseconds to serve one view (after a diary change, untimed, where its name says so)."""
        if name.endswith("after a change"):
            self.diary_changes()
        started = time.perf_counter()
        response = self.client.get(self.paths[name])
        elapsed = (time.perf_counter() - started) * 1000
        assert response.status_code == 200, (name, response.status_code)
        return elapsed

    def drop(self) -> None:
        with self.app.app_context():
            db.session.remove()
            downgrade(revision="base")
            db.engine.dispose()


def time_side_by_side(seeded: list[Seeded]) -> list[dict[str, float]]:
    """Median milliseconds of each view on each database, their views taken in turn, so a change in
    the machine's load falls on every size alike."""
    timings = [{name: [] for name in one.paths} for one in seeded]
    for name in seeded[0].paths:
        for one in seeded:
            one.view(name)  # warm up
        for _ in range(RUNS):
            for one, times in zip(seeded, timings):
                times[name].append(one.view(name))
    return [{name: statistics.median(values) for name, values in times.items()} for times in timings]


def bare_view_milliseconds() -> float:
    """Median milliseconds of benchmarks/bare_app.py's view through a test client, timed as the
    pages are: the machine's speed at the time, to read the figures against."""
    from bare_app import app as bare_app

    client = bare_app.test_client()
    client.get("/")
    timings = []
    for _ in range(RUNS * 20):
        started = time.perf_counter()
        client.get("/")
        timings.append((time.perf_counter() - started) * 1000)
    return statistics.median(timings)


def measure(database_url: str, size: int, instance: Path, million: bool = False, past_appointments: int = 0) -> dict[str, float]:
    """Seed a fresh database with `size` requests and time the list page variants (and, with
    `million`, the diary with `past_appointments` on record)."""
    seeded = Seeded(database_url, size, instance, million, past_appointments)
    [results] = time_side_by_side([seeded])
    seeded.drop()
    return results


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", default="")
    parser.add_argument("--small-database-url", default="",
                        help="seed the smaller size here and keep both, timing their views in turn (by default one after the other in --database-url)")
    parser.add_argument("--sizes", type=int, nargs=2, default=None)
    parser.add_argument("--keep", action="store_true", help="with --small-database-url, leave both databases seeded (to look at query plans)")
    parser.add_argument("--million", action="store_true", help="10,000 and 1,000,000 requests seeded in PostgreSQL, every view, and the diary")
    arguments = parser.parse_args()
    if arguments.million and not arguments.database_url.startswith("postgresql"):
        parser.error("--million seeds with PostgreSQL's generate_series: give --database-url postgresql+psycopg://...")
    small, large = arguments.sizes or ([10_000, 1_000_000] if arguments.million else [1000, 100_000])
    past = {small: 0, large: 200_000 if arguments.million else 0}
    with tempfile.TemporaryDirectory() as folder:
        instance = Path(folder)
        url = arguments.database_url or f"sqlite:///{instance / 'bench.sqlite3'}"
        print(f"database: {url.split('@')[-1]}")
        results = {}
        if arguments.small_database_url:
            print(f"{small:,} requests (in {arguments.small_database_url.split('@')[-1]}) and {large:,}, timed in turn:")
            seeded = [Seeded(arguments.small_database_url, small, instance / "small", arguments.million, past[small]),
                      Seeded(url, large, instance / "large", arguments.million, past[large])]
            results[small], results[large] = time_side_by_side(seeded)
            for one in seeded if not arguments.keep else ():
                one.drop()
        else:
            for size in (small, large):
                print(f"{size:,} requests:")
                results[size] = measure(url, size, instance, arguments.million, past[size])
                for name, milliseconds in results[size].items():
                    print(f"  {name:<36} {milliseconds:7.1f} ms")
    print(f"bare view (benchmarks/bare_app.py, in-process): {bare_view_milliseconds():.3f} ms")
    ratios = {name: results[large][name] / results[small][name] for name in results[large]}
    if arguments.million:
        print(f"{'view':<36} {small:>9,} {large:>11,}  ratio")
        judged = {name: ratio for name, ratio in ratios.items() if name not in (PART_OF_A_NAME, PART_OF_AN_EMAIL)}
        for name, ratio in ratios.items():
            verdict = "-" if name not in judged else "ok" if ratio <= 1.5 and results[large][name] < 50 else "MISS"
            print(f"{name:<36} {results[small][name]:7.1f} ms {results[large][name]:7.1f} ms  {ratio:4.2f}x  {verdict}")
        passed = all(ratio <= 1.5 and results[large][name] < 50 for name, ratio in judged.items())
    else:
        ratio = ratios["default (most urgent first)"]
        print(f"default view: {large:,} is {ratio:.2f}x the time of {small:,} (target <= 1.5); worst variant {max(ratios.values()):.2f}x")
        passed = ratio <= 1.5 and results[large]["default (most urgent first)"] < 200
    print("PASS" if passed else "FAIL")
    return 0 if passed else 1


if __name__ == "__main__":
    raise SystemExit(main())
