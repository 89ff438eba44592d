"""Benchmark: the back-office request list with 1,000 and with 100,000 requests.

Seeds each size into a fresh database (SQLite file by default; PostgreSQL with
--database-url postgresql+psycopg://postgres@127.0.0.1:5432/bench), signs a receptionist
in, and times the list page (default order, a status filter, a name search and page 50)
through the app, reporting the median. Target: the 100,000 list no more than 1.5 times
slower than the 1,000 list, and under 200 ms for the default view.

Run: .venv/bin/python benchmarks/staff_list.py [--database-url URL] [--sizes 1000 100000]
"""

from __future__ import annotations

import argparse
import random
import re
import statistics
import sys
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from flask_migrate import downgrade, upgrade  # noqa: E402
from sqlalchemy import insert, text  # noqa: E402

from intake import create_app  # noqa: E402
from intake.journey.models import REQUEST_STATUSES, AssessmentRequest  # noqa: E402
from intake.platform.extensions import db  # noqa: E402
from intake.staff import accounts  # noqa: E402
from intake.platform.timeutil import utcnow  # noqa: E402
from intake.clinic.vocabulary import BODY_REGIONS, codes  # noqa: E402

PASSWORD = "benchmark passphrase"
ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"
FIRST_NAMES = ["Ada", "Grace", "Alan", "Mary", "Omar", "Priya", "Chen", "Fatima", "Tom", "Zoë"]
LAST_NAMES = ["Lovelace", "Hopper", "Turing", "Seacole", "Khan", "Patel", "Wei", "Begum", "Jones", "Smith"]
RUNS = 15
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


def migrate_afresh() -> None:
    """Drop every table the migrations made (a brand-new database has none) and migrate again."""
    db.session.remove()
    try:
        downgrade(revision="base")
    except Exception:  # noqa: BLE001 - a brand-new database has nothing to undo
        db.session.rollback()
    upgrade()


def time_page(client, path: str) -> float:
    """Median milliseconds to serve a page."""
    client.get(path)  # warm up
    timings = []
    for _ in range(RUNS):
        started = time.perf_counter()
        response = client.get(path)
        timings.append((time.perf_counter() - started) * 1000)
        assert response.status_code == 200, response.status_code
    return statistics.median(timings)


def measure(database_url: str, size: int, instance: Path) -> dict[str, float]:
    """Seed a fresh database with `size` requests and time the list page variants."""
    app = create_app({"SQLALCHEMY_DATABASE_URI": database_url, "INSTANCE_PATH": instance, "OUTBOX_SEND_AFTER_REQUEST": False})
    with app.app_context():
        migrate_afresh()
        started = time.perf_counter()
        seed(size)
        print(f"  seeded {size:,} requests in {time.perf_counter() - started:.1f} s")
        if db.engine.dialect.name == "postgresql":
            with db.engine.begin() as connection:
                connection.execute(text("ANALYZE assessment_requests"))
        accounts.create_staff("bench@clinic.example", "Bench Reception", "reception", PASSWORD)
        db.session.commit()
    client = app.test_client()
    page = client.get("/staff/login").get_data(as_text=True)
    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    client.post("/staff/login", data={"email": "bench@clinic.example", "password": PASSWORD, "csrf_token": token})
    results = {
        "default (most urgent first)": time_page(client, "/staff/"),
        "newest first": time_page(client, "/staff/?order=newest"),
        "status filter": time_page(client, "/staff/?status=new"),
        "name search": time_page(client, "/staff/?q=seacole"),
        "page 40": time_page(client, "/staff/?page=40"),
    }
    with app.app_context():
        db.session.remove()
        downgrade(revision="base")
        db.engine.dispose()
    return results


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", default="")
    parser.add_argument("--sizes", type=int, nargs=2, default=[1000, 100_000])
    arguments = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        instance = Path(folder)
        url = arguments.database_url or f"sqlite:///{instance / 'bench.sqlite3'}"
        print(f"database: {url.split('@')[-1]}")
        small, large = arguments.sizes
        results = {}
        for size in (small, large):
            print(f"{size:,} requests:")
            results[size] = measure(url, size, instance)
            for name, milliseconds in results[size].items():
                print(f"  {name:<28} {milliseconds:7.1f} ms")
    ratio = results[large]["default (most urgent first)"] / results[small]["default (most urgent first)"]
    worst = max(results[large][name] / results[small][name] for name in results[large])
    print(f"default view: {large:,} is {ratio:.2f}x the time of {small:,} (target <= 1.5); worst variant {worst:.2f}x")
    passed = ratio <= 1.5 and results[large]["default (most urgent first)"] < 200
    print("PASS" if passed else "FAIL")
    return 0 if passed else 1


if __name__ == "__main__":
    raise SystemExit(main())
