"""Benchmark: 1,000 requests sent while the mail server is down lose no email once it is back.

Serves the app with gunicorn (2 sync workers) on a fresh database (SQLite file by default;
PostgreSQL with --database-url postgresql+psycopg://postgres@127.0.0.1:5432/bench, whose
tables are dropped first), runs `flask outbox send --loop` as its own process, and points
both at a port on 127.0.0.1 where nothing listens. Patients' browsers (threads keeping
cookies and form tokens) complete 1,000 journeys over HTTP; then an SMTP server starts on
that port and the outbox drains. Target: every request stored, both of its emails (clinic
and patient) delivered exactly once, none dead, drained within 60 s of the server's return.

Retries are shortened so the benchmark is quick (backoff 1 s doubling to at most 5 s), and
the attempt limit raised to match, so a message still survives an outage of many minutes.

Run: .venv/bin/python benchmarks/outbox_outage.py [--database-url URL] [--requests 1000] [--browsers 4]
"""

from __future__ import annotations

import argparse
import http.client
import os
import re
import secrets
import signal
import subprocess
import sys
import tempfile
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import NamedTuple
from urllib.parse import urlencode

PROJECT_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(PROJECT_ROOT))  # the tests' patient answers and SMTP server

from sqlalchemy import create_engine, text  # noqa: E402

from tests.factories import CSRF_PATTERN, REFERENCE_PATTERN, valid_answers  # noqa: E402
from tests.support.mail_server import SMTPServer, free_port  # noqa: E402

DRAIN_TARGET_SECONDS = 60
EMAILS_PER_REQUEST = 2  # the clinic's notification and the patient's acknowledgement
SET_COOKIE_PAIR = re.compile(r"^([^=;\s]+=[^;]*)")


class Page(NamedTuple):
    status: int
    location: str
    text: str


class Browser:
    """One patient's browser: keeps the session cookie and reads the form token from each page."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.cookies: dict[str, str] = {}
        self.unavailable = 0  # 503 answers, each waited out and tried again as a patient would

    def request(self, method: str, path: str, fields: dict | None = None) -> Page:
        while True:
            connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)
            headers = {"Cookie": "; ".join(f"{name}={value}" for name, value in self.cookies.items())}
            body = None
            if fields is not None:
                body = urlencode(fields, doseq=True)
                headers["Content-Type"] = "application/x-www-form-urlencoded"
            connection.request(method, path, body=body, headers=headers)
            response = connection.getresponse()
            page = Page(response.status, response.getheader("Location", ""), response.read().decode("utf-8"))
            connection.close()
            for cookie in response.headers.get_all("Set-Cookie") or []:
                name, _, value = SET_COOKIE_PAIR.match(cookie).group(1).partition("=")
                self.cookies[name] = value
            if page.status != 503:
                return page
            self.unavailable += 1
            time.sleep(1)

    def post_form(self, form_page: str, action: str, fields: dict) -> Page:
        """Open the page holding the form, then send it with that page's token."""
        page = self.request("GET", form_page)
        token = CSRF_PATTERN.search(page.text).group(1)
        sent = self.request("POST", action, {**fields, "csrf_token": token})
        if sent.status != 303:
            raise RuntimeError(f"POST {action} answered {sent.status}")
        return sent


def patient_journey(port: int, number: int) -> tuple[str, int]:
    """Start, answer every page that applies, consent and send; return the reference and 503s met."""
    browser = Browser(port)
    browser.post_form("/book/", "/book/start", {})
    answers = valid_answers()
    answers["about-you"]["email"] = f"patient{number}@example.com"
    for slug, fields in answers.items():
        if browser.request("GET", f"/book/{slug}").status == 303:
            continue  # this page does not apply to these answers
        browser.post_form(f"/book/{slug}", f"/book/{slug}", fields)
    sent = browser.post_form("/book/check", "/book/check", {"consent": "y"})
    return REFERENCE_PATTERN.search(sent.location).group(1), browser.unavailable


def service_environment(database_url: str, smtp_port: int) -> dict[str, str]:
    """Settings for the app and the worker: the dead mail server, quick retries, no rate limits."""
    return {
        **os.environ,
        "FLASK_APP": "wsgi.py",
        "DATABASE_URL": database_url,
        "SECRET_KEY": secrets.token_hex(32),
        "MAIL_SERVER": "127.0.0.1",
        "MAIL_PORT": str(smtp_port),
        "MAIL_USE_TLS": "0",
        "OUTBOX_RETRY_BASE_SECONDS": "1",
        "OUTBOX_RETRY_MAX_SECONDS": "5",
        "OUTBOX_MAX_ATTEMPTS": "1000",
        "OUTBOX_POLL_SECONDS": "1",
        "SUBMIT_LIMIT_PER_ADDRESS": "100000 per hour",
        "START_LIMIT_PER_ADDRESS": "100000 per hour",
    }


def flask(environment: dict[str, str], *arguments: str) -> None:
    done = subprocess.run([sys.executable, "-m", "flask", *arguments], cwd=PROJECT_ROOT, env=environment, capture_output=True, text=True)
    if done.returncode:
        raise RuntimeError(f"flask {' '.join(arguments)} failed:\n{done.stderr}")


def start(command: list[str], environment: dict[str, str], log: Path) -> subprocess.Popen:
    with log.open("w") as output:
        return subprocess.Popen(command, cwd=PROJECT_ROOT, env=environment, stdout=output, stderr=subprocess.STDOUT)


def wait_for_health(port: int, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if Browser(port).request("GET", "/healthz").status == 200:
                return
        except OSError:
            pass
        time.sleep(0.2)
    raise RuntimeError("the app did not start")


def outbox_statuses(engine) -> Counter:
    with engine.connect() as connection:
        return Counter(dict(connection.execute(text("SELECT status, COUNT(*) FROM outbox_messages GROUP BY status")).all()))


def stored_rows(engine, query: str) -> list:
    with engine.connect() as connection:
        return list(connection.execute(text(query)).scalars())


def run(database_url: str, requests: int, browsers: int, folder: Path) -> bool:
    smtp_port, app_port = free_port(), free_port()
    environment = service_environment(database_url, smtp_port)
    flask(environment, "db", "downgrade", "base")
    flask(environment, "db", "upgrade")
    server = SMTPServer(port=smtp_port)
    app = start([sys.executable, "-m", "gunicorn", "--workers", "2", "--bind", f"127.0.0.1:{app_port}", "wsgi:app"], environment, folder / "gunicorn.log")
    worker = start([sys.executable, "-m", "flask", "outbox", "send", "--loop"], environment, folder / "worker.log")
    engine = create_engine(database_url)
    try:
        wait_for_health(app_port)
        print(f"mail server down (nothing listens on 127.0.0.1:{smtp_port}); sending {requests:,} requests with {browsers} browsers")
        started = time.monotonic()
        with ThreadPoolExecutor(max_workers=browsers) as pool:
            results = list(pool.map(lambda number: patient_journey(app_port, number), range(requests)))
        journeys_seconds = time.monotonic() - started
        print(f"  {requests:,} journeys in {journeys_seconds:.1f} s ({requests / journeys_seconds:.1f} a second); "
              f"503 answers met and retried: {sum(unavailable for _, unavailable in results)}")
        print(f"  outbox while the server is down: {dict(outbox_statuses(engine))}")

        server.start()
        back = time.monotonic()
        while (waiting := outbox_statuses(engine))["pending"] + waiting["sending"] and time.monotonic() - back < 10 * DRAIN_TARGET_SECONDS:
            time.sleep(0.2)
        drain_seconds = time.monotonic() - back
    finally:
        for process in (worker, app):
            process.send_signal(signal.SIGTERM)
            process.wait(timeout=30)
        server.stop()

    references = {reference for reference, _ in results}
    stored = set(stored_rows(engine, "SELECT reference FROM assessment_requests"))
    queued = set(stored_rows(engine, "SELECT message_id FROM outbox_messages"))
    attempts = stored_rows(engine, "SELECT attempts FROM outbox_messages")
    statuses = outbox_statuses(engine)
    if database_url.startswith("postgresql"):
        flask(environment, "db", "downgrade", "base")
    engine.dispose()
    delivered = server.inbox.message_ids()
    unique = set(delivered)
    lost = queued - unique
    duplicates = len(delivered) - len(unique)
    print(f"mail server back: outbox drained in {drain_seconds:.1f} s (target under {DRAIN_TARGET_SECONDS} s); final outbox {dict(statuses)}")
    print(f"  requests stored      {len(stored):6,} (expected {requests:,}; every patient's reference among them: {references <= stored})")
    print(f"  emails queued        {len(queued):6,} (expected {requests * EMAILS_PER_REQUEST:,})")
    print(f"  attempts per email   {min(attempts, default=0)} to {max(attempts, default=0)}")
    print(f"  emails delivered     {len(delivered):6,}")
    print(f"  unique Message-IDs   {len(unique):6,}")
    print(f"  lost                 {len(lost):6,}")
    print(f"  duplicates           {duplicates:6,}")
    return (
        len(stored) == len(references) == requests
        and references == stored
        and len(queued) == requests * EMAILS_PER_REQUEST
        and unique == queued
        and duplicates == 0
        and statuses == Counter(sent=len(queued))
        and drain_seconds < DRAIN_TARGET_SECONDS
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", default="")
    parser.add_argument("--requests", type=int, default=1000)
    parser.add_argument("--browsers", type=int, default=4, help="patients sending at once")
    arguments = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        url = arguments.database_url or f"sqlite:///{Path(folder) / 'outage.sqlite3'}"
        print(f"database: {url.split('@')[-1]}")
        try:
            passed = run(url, arguments.requests, arguments.browsers, Path(folder))
        except Exception:
            for log in sorted(Path(folder).glob("*.log")):
                print(f"--- last lines of {log.name}:", *log.read_text().splitlines()[-20:], sep="\n")
            raise
    print("PASS" if passed else "FAIL")
    return 0 if passed else 1


if __name__ == "__main__":
    raise SystemExit(main())
