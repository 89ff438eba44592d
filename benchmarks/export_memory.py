"""Benchmark: the back office's exports keep a worker's memory bounded and start sending at once.

Seeds 200,000 requests into PostgreSQL (benchmarks/staff_list.py's `seed_in_database`: each with
its two emails and an audit entry, by INSERT ... SELECT), and one patient
with many requests, each with many appointments, emails, notes and audit rows (the subject-access
export's worst case). Serves the app with gunicorn (production's settings, one worker, so its
process is the one measured), then downloads over HTTP:

- the CSV export of every request (`GET /staff/export.csv`),
- that patient's subject-access export as JSON and as the printable page (`POST /staff/subject-access`).

For each: the worker's peak memory growth (its peak resident set, VmHWM, reset through
/proc/<pid>/clear_refs before the download, minus its resident set just before) and the time to
the first byte of the body. Target: growth under 50 MB and first byte within 1 s, every export.

Run: .venv/bin/python benchmarks/export_memory.py [--database-url URL] [--requests 200000] [--no-seed]
(`--no-seed` measures the database as a previous run left it.)
"""

from __future__ import annotations

import argparse
import http.client
import os
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from urllib.parse import urlencode

PROJECT_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(PROJECT_ROOT))

from sqlalchemy import insert, select, text, update  # noqa: E402

from load import GUNICORN_SETTINGS, SECRET_KEY, app_settings, session_cookie, wait_until_serving  # noqa: E402
from staff_list import migrate_afresh, seed_in_database  # noqa: E402
from tests.factories import CSRF_PATTERN, STAFF_PASSWORD, Staff  # noqa: E402
from tests.support.mail_server import free_port  # noqa: E402

from intake import create_app  # noqa: E402
from intake.appointments.models import Appointment, Practitioner  # noqa: E402
from intake.journey.models import AssessmentRequest  # noqa: E402
from intake.mail.models import OutboxMessage  # noqa: E402
from intake.platform.extensions import db  # noqa: E402
from intake.platform.timeutil import utcnow  # noqa: E402
from intake.staff import accounts  # noqa: E402
from intake.staff.models import AuditEvent, RequestNote  # noqa: E402

ADMIN_EMAIL = "export-bench@clinic.example"
PATIENT_EMAIL = "many.requests@example.com"
# The subject-access worst case: the most requests one search lists (subject_access.MOST_REQUESTS),
# each with this much held about it.
PATIENT_REQUESTS = 50
APPOINTMENTS_EACH, EMAILS_EACH, NOTES_EACH, AUDIT_ROWS_EACH = 20, 100, 10, 400
EMAIL_TEXT = ("Thank you for your request. " * 80)[:2000]  # about 2 KB, a long email
GROWTH_LIMIT_MB = 50
FIRST_BYTE_LIMIT_S = 1.0


def seed_patient_with_much_held(admin_id: int) -> None:
    """Give `PATIENT_REQUESTS` of the seeded requests one patient's email address, and each of them
    appointments, emails, notes and audit rows."""
    now = utcnow()
    request_ids = list(db.session.execute(
        select(AssessmentRequest.id).order_by(AssessmentRequest.id).limit(PATIENT_REQUESTS)).scalars())
    db.session.execute(update(AssessmentRequest).where(AssessmentRequest.id.in_(request_ids)).values(email=PATIENT_EMAIL))
    practitioner = Practitioner(name="Bench Practitioner")
    db.session.add(practitioner)
    db.session.flush()
    first_start = (now - timedelta(days=3 * 365)).replace(minute=0, second=0, microsecond=0)
    for number, request_id in enumerate(request_ids):
        starts = [first_start + timedelta(hours=number * APPOINTMENTS_EACH + index) for index in range(APPOINTMENTS_EACH)]
        db.session.execute(insert(Appointment), [
            {"request_id": request_id, "practitioner_id": practitioner.id, "site_code": "riverside", "starts_at": start,
             "minutes": 45, "blocked_until": start + timedelta(minutes=45), "booked_by_id": admin_id, "created_at": now, "updated_at": now}
            for start in starts
        ])
        db.session.execute(insert(OutboxMessage), [
            {"kind": "patient_received", "request_id": request_id, "recipient": PATIENT_EMAIL, "subject": f"Your request, email {index}",
             "text_body": EMAIL_TEXT, "html_body": f"<p>{EMAIL_TEXT}</p>", "message_id": f"<bench-{request_id}-{index}@clinic.example>",
             "status": "sent", "sent_at": now, "created_at": now}
            for index in range(EMAILS_EACH)
        ])
        db.session.execute(insert(RequestNote), [
            {"request_id": request_id, "author_id": admin_id, "body": f"Rang the patient back ({index})", "created_at": now}
            for index in range(NOTES_EACH)
        ])
        db.session.execute(insert(AuditEvent), [
            {"at": now, "staff_id": admin_id, "staff_email": ADMIN_EMAIL, "action": "view_request", "request_id": request_id, "detail": {}}
            for _ in range(AUDIT_ROWS_EACH)
        ])
    db.session.commit()


def prepare(database_url: str, folder: Path, size: int, seeding: bool) -> dict[str, str]:
    """Seed (unless told not to) and return a signed-in admin's cookie and a form token for the subject-access export."""
    app = create_app({
        "SQLALCHEMY_DATABASE_URI": database_url, "SECRET_KEY": SECRET_KEY, "INSTANCE_PATH": folder, "MAIL_SERVER": "",
        "OUTBOX_SEND_AFTER_REQUEST": False, "RATELIMIT_ENABLED": False, "STAFF_2FA_REQUIRED": "off",
    })
    with app.app_context():
        if seeding:
            migrate_afresh()
            started = time.perf_counter()
            seed_in_database(size)
            admin = accounts.create_staff(ADMIN_EMAIL, "Export Bench", "admin", STAFF_PASSWORD)
            db.session.commit()
            seed_patient_with_much_held(admin.id)
            with db.engine.begin() as connection:
                connection.execute(text("ANALYZE"))
            print(f"  seeded {size:,} requests and one patient's {PATIENT_REQUESTS} in {time.perf_counter() - started:.1f} s")
        held = db.session.execute(select(db.func.count()).select_from(AssessmentRequest)).scalar_one()
        print(f"  {held:,} requests held")
        references = list(db.session.execute(
            select(AssessmentRequest.reference).where(AssessmentRequest.email == PATIENT_EMAIL)).scalars())
    staff = Staff(app.test_client())
    assert staff.login(ADMIN_EMAIL).status_code == 303
    page = staff.client.get("/staff/subject-access", query_string={"q": PATIENT_EMAIL}).get_data(as_text=True)
    token = CSRF_PATTERN.search(page).group(1)
    with app.app_context():
        db.engine.dispose()
    return {"cookie": session_cookie(staff.client), "token": token, "references": references, "held": held}


@dataclass
class Server:
    port: int
    master_pid: int

    @property
    def worker_pid(self) -> int:
        """The one worker (a new one if gunicorn replaced a worker it timed out)."""
        for _ in range(100):
            children = Path(f"/proc/{self.master_pid}/task/{self.master_pid}/children").read_text().split()
            if len(children) == 1:
                return int(children[0])
            time.sleep(0.1)
        raise RuntimeError(f"gunicorn has {len(children)} workers, not one")


@contextmanager
def serve(settings: dict[str, str], log: Path) -> Iterator[Server]:
    """gunicorn with production's settings but one worker, on a free port; stopped afterwards."""
    port = free_port()
    command = [sys.executable, "-m", "gunicorn", *GUNICORN_SETTINGS, "--workers", "1", "--bind", f"127.0.0.1:{port}", "wsgi:app"]
    environment = {name: value for name, value in os.environ.items() if name != "FLASK_DEBUG"}
    with log.open("w") as output:
        server = subprocess.Popen(command, cwd=PROJECT_ROOT, env={**environment, **settings}, stdout=output, stderr=subprocess.STDOUT)
    try:
        wait_until_serving(port, server)
        yield Server(port, server.pid)
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=30)


def memory_kb(pid: int) -> dict[str, int]:
    """The process's resident set now (VmRSS) and at its peak (VmHWM), in KB."""
    figures = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        name, _, value = line.partition(":")
        if name in ("VmRSS", "VmHWM"):
            figures[name] = int(value.split()[0])
    return figures


@dataclass
class Download:
    name: str
    status: int
    first_byte_s: float
    total_s: float
    body_bytes: int
    lines: int
    growth_mb: float | None  # None: the worker was gone by the end (gunicorn timed it out, or it ran out of memory)
    complete: bool

    @property
    def passed(self) -> bool:
        return (self.status == 200 and self.complete and self.growth_mb is not None and self.growth_mb < GROWTH_LIMIT_MB
                and self.first_byte_s < FIRST_BYTE_LIMIT_S)


def download(server: Server, name: str, method: str, path: str, cookie: str, body: str = "") -> Download:
    """Fetch `path` from the server, reading the body as it comes, with the worker's peak memory growth."""
    worker = server.worker_pid
    Path(f"/proc/{worker}/clear_refs").write_text("5")  # peak resident set := current
    before = memory_kb(worker)["VmRSS"]
    headers = {"Cookie": cookie}
    if body:
        headers["Content-Type"] = "application/x-www-form-urlencoded"
    connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=600)
    started = time.perf_counter()
    connection.request(method, path, body=body or None, headers=headers)
    response = connection.getresponse()
    first = response.read(1)
    first_byte = time.perf_counter() - started
    size, lines, complete = len(first), first.count(b"\n"), True
    try:
        while chunk := response.read(1 << 16):
            size += len(chunk)
            lines += chunk.count(b"\n")
    except http.client.IncompleteRead as cut_off:  # the worker stopped part-way
        size, lines, complete = size + len(cut_off.partial), lines + cut_off.partial.count(b"\n"), False
    total = time.perf_counter() - started
    connection.close()
    try:
        growth = (memory_kb(worker)["VmHWM"] - before) / 1024
    except (FileNotFoundError, KeyError):  # gone, or a zombie not yet reaped
        growth = None
    return Download(name, response.status, first_byte, total, size, lines, growth, complete)


def growth(result: Download) -> str:
    return "worker gone" if result.growth_mb is None else f"{result.growth_mb:.1f} MB"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", default="postgresql+psycopg://postgres@127.0.0.1:5432/bench_streaming")
    parser.add_argument("--requests", type=int, default=200_000)
    parser.add_argument("--no-seed", action="store_true", help="measure the database as a previous run left it")
    arguments = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        print(f"database: {arguments.database_url.split('@')[-1]}")
        prepared = prepare(arguments.database_url, Path(folder), arguments.requests, not arguments.no_seed)
        assert len(prepared["references"]) == PATIENT_REQUESTS, prepared["references"]
        settings = {**app_settings(arguments.database_url, "memory://"), "STAFF_2FA_REQUIRED": "off"}
        cookie = prepared["cookie"]
        choice = urlencode({"references": prepared["references"], "csrf_token": prepared["token"]}, doseq=True)
        access_path = "/staff/subject-access?" + urlencode({"q": PATIENT_EMAIL})
        with serve(settings, Path(folder) / "gunicorn.log") as server:
            # Warm up each route once on little data, so the figures are the data's, not first-use imports.
            download(server, "warm-up", "GET", "/staff/export.csv?q=nobody-at-all", cookie)
            warm = urlencode({"references": prepared["references"][:1], "csrf_token": prepared["token"]}, doseq=True)
            download(server, "warm-up", "POST", access_path, cookie, warm + "&format=json")
            download(server, "warm-up", "POST", access_path, cookie, warm + "&format=html")
            results = [
                download(server, f"CSV export, all {prepared['held']:,} requests", "GET", "/staff/export.csv", cookie),
                download(server, f"subject access JSON, {PATIENT_REQUESTS} requests", "POST", access_path, cookie, choice + "&format=json"),
                download(server, f"subject access page, {PATIENT_REQUESTS} requests", "POST", access_path, cookie, choice + "&format=html"),
            ]
            print(f"  worker resident set after: {memory_kb(server.worker_pid)['VmRSS'] / 1024:.0f} MB")
        if not all(result.complete for result in results):
            print("gunicorn's log on the worker cut off:", *[line for line in (Path(folder) / "gunicorn.log").read_text().splitlines()
                                                             if "WORKER" in line or "orker" in line][:5], sep="\n  ")
    print(f"{'export':<42} {'status':>6} {'first byte':>10} {'total':>8} {'size':>9} {'lines':>8} {'peak growth':>11}")
    for result in results:
        print(f"{result.name:<42} {result.status:>6} {result.first_byte_s * 1000:>7.0f} ms {result.total_s:>6.1f} s"
              f" {result.body_bytes / 1e6:>6.1f} MB {result.lines:>8,} {growth(result):>11}  {'PASS' if result.passed else 'FAIL'}"
              f"{'' if result.complete else ' (cut off part-way)'}")
    csv_rows = results[0].lines - 1
    complete = csv_rows == prepared["held"]
    print(f"CSV rows: {csv_rows:,} of {prepared['held']:,} ({'all' if complete else 'MISSING ROWS'})")
    passed = complete and all(result.passed for result in results)
    print(f"target: peak growth < {GROWTH_LIMIT_MB} MB and first byte < {FIRST_BYTE_LIMIT_S:.0f} s for every export")
    print("PASS" if passed else "FAIL")
    return 0 if passed else 1


if __name__ == "__main__":
    raise SystemExit(main())
