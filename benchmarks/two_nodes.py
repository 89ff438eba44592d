"""Benchmark: two app nodes share one PostgreSQL and one Redis; one is killed mid-run: nothing lost, nothing doubled.

Each node is what the README's production section runs on a server: gunicorn (2 sync workers)
and the outbox worker (`flask outbox send --loop`), here on its own port of 127.0.0.1, both
nodes with the same SECRET_KEY, DATABASE_URL and RATELIMIT_STORAGE_URI (Redis database 5 by
default, flushed first: use a database number nothing else uses). Patients' browsers (threads
keeping cookies and form tokens) send every request to either node at random, as a load
balancer without sticky sessions would, and when a node stops answering they go on with the
other one, as the load balancer would. Half the patients choose a free time themselves (and ask
for texts), half ask to be phoned. Emails go through Resend's API (MAIL_PROVIDER=resend, the
README's production set-up for two servers) to a stand-in that honours idempotency keys as
Resend documents them, or with --mail smtp to a real SMTP server (aiosmtpd); texts go to a
GOV.UK Notify stand-in. Each takes 50 ms to answer, as a real one is not instant, so a kill can
land mid-send; deliveries are counted per Message-ID (Resend: per idempotency key, which is the
Message-ID) and per Notify reference.

Texts: the only texts the app sends are appointment reminders. So that they come due during
the run, the reminder is set for as many days before the first day patients are offered (REMINDER_DAYS_BEFORE)
at a minute of today's clock (REMINDER_AT) about a minute after the patients start, and the
patients choosing a time choose one on that day. Both workers scan for reminders every second.

Mid-run, as soon as node A's outbox worker holds claimed messages after the reminders come due
(within 5 s), node A's gunicorn (master and workers) and outbox worker are killed with SIGKILL.
With --kill-while-sending emails, the kill comes instead halfway to the reminders, while node A's
worker is part way through a batch of emails (one recorded sent, the next in the provider's hands),
so that it is an email that is in flight.
Node B's worker is paused (SIGSTOP) from a second before until the kill, so that it is node A's
worker that claims the texts coming due and the kill lands mid-send. A message node A's worker
had claimed is taken over by node B's worker once its claim is older than the lease, shortened here to 10 s
(OUTBOX_LEASE_SECONDS; 300 s by default) so the run finishes. A message being handed over at the
instant of the kill was delivered but never recorded as sent. A text taken over is first looked
up with the provider (Notify's GET /v2/notifications?reference=...), and recorded as sent if the
provider has it, so texts must arrive exactly once: any text doubled or lost fails the run. An
email taken over is sent again with the same Message-ID, which is its idempotency key: Resend
answers a repeat with the first send's id and sends nothing, so emails too must arrive exactly
once. The run prints how many texts were looked up and how many of those the provider already
had, and how many emails were repeats Resend recognised. With --mail smtp (a server that cannot
be asked) the copy of an email in flight at the kill is allowed, and only that one: SMTP is at
least once.

Also shown: a staff member signed in on node A is signed in on node B, before and after the
kill (same SECRET_KEY); wrong passwords for one account, alternating between the nodes, reach
LOGIN_LIMIT_PER_ACCOUNT (5 per 15 minutes) on the sixth, so the count is shared through Redis.

Targets: every request whose patient saw a confirmation stored once; no patient stored twice;
every self-booking stored once and no two live appointments of a practitioner overlapping;
every text and every email queued delivered exactly once (none lost, none doubled; with --mail
smtp, an email copy is allowed only of the one in flight at the kill); the outbox drained (all
sent, none dead); the two checks above.

Run: .venv/bin/python benchmarks/two_nodes.py [--database-url URL] [--ratelimit-storage-uri URI]
     [--browsers 6] [--after-kill 25] [--mail resend|smtp] [--kill-while-sending texts|emails]
"""

from __future__ import annotations

import argparse
import asyncio
import http.client
import math
import os
import random
import re
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from urllib.parse import urlencode, urlparse

PROJECT_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(PROJECT_ROOT))

import redis  # noqa: E402
from sqlalchemy import create_engine, delete, text  # noqa: E402

from load import GUNICORN_SETTINGS, app_settings, wait_until_serving  # noqa: E402
from outbox_outage import SET_COOKIE_PAIR, Page  # noqa: E402
from staff_list import migrate_afresh  # noqa: E402
from tests.factories import CSRF_PATTERN, REFERENCE_PATTERN, STAFF_PASSWORD, Patient, new_practitioner, valid_answers  # noqa: E402
from tests.support.email_provider import RESEND_API_KEY, ResendServer  # noqa: E402
from tests.support.mail_server import Inbox, SMTPServer, free_port  # noqa: E402
from tests.support.sms_providers import NOTIFY_API_KEY, NOTIFY_TEMPLATE_ID, NotifyServer  # noqa: E402

from intake import create_app  # noqa: E402
from intake.journey.models import Draft  # noqa: E402
from intake.platform.extensions import db  # noqa: E402
from intake.platform.timeutil import LONDON, utcnow  # noqa: E402
from intake.staff import accounts  # noqa: E402

DEFAULT_DATABASE = "postgresql+psycopg://postgres@127.0.0.1:5432/bench"
DEFAULT_RATELIMIT_STORAGE = "redis://127.0.0.1:6379/5"
STAFF_EMAIL = "nodes@clinic.example"
LIMITED_EMAIL = "limited@clinic.example"
PRACTITIONERS = 20
LEASE_SECONDS = 10
ANSWER_DELAY_SECONDS = 0.05  # how long the mail server and the text provider take to answer
KILL_WITHIN_SECONDS = 5  # after the reminders come due
DRAIN_LIMIT_SECONDS = 120
HIDDEN_FIELD = re.compile(r'<input type="hidden" name="([^"]+)" value="([^"]*)"')
SLOT_CHOICE = re.compile(r'name="slot" type="radio" value="([^"]+)"')


class SlowInbox(Inbox):
    """An inbox that keeps a message, then takes a moment to say so, as a real server does."""

    async def handle_DATA(self, server, session, envelope):
        answer = await super().handle_DATA(server, session, envelope)
        await asyncio.sleep(ANSWER_DELAY_SECONDS)
        return answer


class SlowToAnswer:
    """A provider's stand-in (mixed in before it) that takes a moment to answer after taking a
    message, and counts the answers it could not give because the worker asking had died."""

    def __init__(self) -> None:
        super().__init__()
        self.unanswered = 0
        self.server.handle_error = self._count_unanswered

    def _count_unanswered(self, request, client_address) -> None:
        self.unanswered += 1

    def answer(self, path, headers, raw):
        answered = super().answer(path, headers, raw)
        time.sleep(ANSWER_DELAY_SECONDS)
        return answered


class SlowResend(SlowToAnswer, ResendServer):
    """Resend's stand-in, slow to answer a send (or a repeat it recognised)."""


class SlowNotify(SlowToAnswer, NotifyServer):
    """Notify's stand-in, slow to answer a send, also counting the lookups that found the text
    already taken."""

    def __init__(self) -> None:
        super().__init__()
        self.found = 0

    def answer_lookup(self, path, headers):
        status, body = super().answer_lookup(path, headers)
        with self.lock:
            self.found += bool(body.get("notifications"))
        return status, body


class Nodes:
    """The ports patients may use: both nodes until one stops answering."""

    def __init__(self, ports: dict[str, int]) -> None:
        self.ports = dict(ports)
        self.live = set(ports)
        self.lock = threading.Lock()

    def pick(self) -> str:
        with self.lock:
            if not self.live:
                raise RuntimeError("no node answers")
            return random.choice(sorted(self.live))

    def down(self, name: str) -> None:
        with self.lock:
            self.live.discard(name)


class Browser:
    """One browser behind the load balancer: each request to a live node at random (or to `node`
    when given), the session cookie kept across them."""

    def __init__(self, nodes: Nodes) -> None:
        self.nodes = nodes
        self.cookies: dict[str, str] = {}
        self.failovers = 0  # requests that met a dead node and were sent again to the other

    def request(self, method: str, path: str, fields: dict | None = None, node: str | None = None) -> Page:
        while True:
            chosen = node or self.nodes.pick()
            try:
                return self._send(self.nodes.ports[chosen], method, path, fields)
            except (OSError, http.client.HTTPException):
                if node:
                    raise
                self.nodes.down(chosen)
                self.failovers += 1

    def _send(self, port: int, method: str, path: str, fields: dict | None) -> Page:
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        headers = {"Cookie": "; ".join(f"{name}={value}" for name, value in self.cookies.items())}
        body = None
        if fields is not None:
            body = urlencode(fields, doseq=True)
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        try:
            connection.request(method, path, body=body, headers=headers)
            response = connection.getresponse()
            page = Page(response.status, response.getheader("Location", ""), response.read().decode("utf-8", "replace"))
        finally:
            connection.close()
        for cookie in response.headers.get_all("Set-Cookie") or []:
            name, _, value = SET_COOKIE_PAIR.match(cookie).group(1).partition("=")
            self.cookies[name] = value
        return page

    def post_form(self, form_page: str, action: str, fields: dict, node: str | None = None) -> Page:
        """Open the page holding the form, then send it with that page's token (perhaps to the other node)."""
        page = self.request("GET", form_page, node=node)
        token = CSRF_PATTERN.search(page.text).group(1)
        return self.request("POST", action, {**fields, "csrf_token": token}, node=node)


@dataclass
class Outcome:
    """What one patient saw."""

    email: str
    chooses_time: bool
    reference: str | None = None
    booked_slot: str | None = None
    taken: int = 0  # times shown as just taken when confirming
    failovers: int = 0
    problem: str = ""


def patient(nodes: Nodes, number: int, day_prefix: str) -> Outcome:
    """Answer every page, consent, then book a time on the reminder day (or be phoned)."""
    chooses_time = number % 2 == 0
    outcome = Outcome(f"patient{number}@example.com", chooses_time)
    browser = Browser(nodes)
    try:
        browser.post_form("/book/", "/book/start", {})
        answers = valid_answers()
        answers["about-you"].update(email=outcome.email, contact_method="text" if chooses_time else "phone")
        for slug, fields in answers.items():
            if browser.request("GET", f"/book/{slug}").status == 303:
                continue  # this page does not apply to these answers
            browser.post_form(f"/book/{slug}", f"/book/{slug}", fields)
        checked = browser.post_form("/book/check", "/book/check", {"consent": "y"})
        if not checked.location.endswith("/book/time"):
            raise RuntimeError(f"consent answered {checked.status} {checked.location}")
        sent = book_a_time(browser, outcome, day_prefix) if chooses_time else browser.post_form("/book/time", "/book/time/phone-me", {})
        found = REFERENCE_PATTERN.search(sent.location)
        if found:
            outcome.reference = found.group(1)
        else:
            outcome.problem = f"sending answered {sent.status} {urlparse(sent.location).path}"
    except Exception as error:  # noqa: BLE001 - reported with the others
        outcome.problem = f"{type(error).__name__}: {error}"
    outcome.failovers = browser.failovers
    return outcome


def book_a_time(browser: Browser, outcome: Outcome, day_prefix: str) -> Page:
    """Choose one of the first free times on the day, confirm it, and choose again while it has just been taken."""
    while True:
        page = browser.request("GET", "/book/time")
        offered = [slot for slot in SLOT_CHOICE.findall(page.text) if day_prefix in slot] or SLOT_CHOICE.findall(page.text)
        if not offered:
            raise RuntimeError("no free time offered")
        slot = random.choice(offered[:4])  # near the top of the list, as people choose, so choices collide
        confirm = browser.request("GET", f"/book/time/confirm?{urlencode({'slot': slot})}")
        fields = dict(HIDDEN_FIELD.findall(confirm.text))
        sent = browser.request("POST", "/book/time/confirm", {**fields, "slot": slot})
        if sent.status != 409:
            outcome.booked_slot = slot
            return sent
        outcome.taken += 1


@dataclass
class Node:
    """One server: gunicorn and the outbox worker, each in its own process group."""

    name: str
    port: int
    processes: list[subprocess.Popen] = field(default_factory=list)

    def start(self, settings: dict[str, str], folder: Path, workers: int) -> None:
        environment = {**{k: v for k, v in os.environ.items() if k != "FLASK_DEBUG"}, **settings, "FLASK_APP": "wsgi.py"}
        commands = {
            "web": [sys.executable, "-m", "gunicorn", *GUNICORN_SETTINGS, "--workers", str(workers),
                    "--control-socket", str(folder / f"{self.name}.ctl"), "--bind", f"127.0.0.1:{self.port}", "wsgi:app"],
            "worker": [sys.executable, "-m", "flask", "outbox", "send", "--loop"],
        }
        for role, command in commands.items():
            with (folder / f"{self.name}-{role}.log").open("w") as log:
                self.processes.append(subprocess.Popen(command, cwd=PROJECT_ROOT, env=environment, stdout=log,
                                                       stderr=subprocess.STDOUT, start_new_session=True))

    @property
    def worker_pid(self) -> int:
        return self.processes[1].pid

    def signal_all(self, number: int) -> None:
        for process in self.processes:
            try:
                os.killpg(process.pid, number)  # the gunicorn master and its workers together
            except ProcessLookupError:
                pass

    def stop(self) -> None:
        self.signal_all(signal.SIGTERM)
        for process in self.processes:
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)


def reminder_minute(earliest: datetime) -> datetime:
    """The first whole minute at or after `earliest` (UTC), when the reminders will come due."""
    return datetime.fromtimestamp(math.ceil(earliest.timestamp() / 60) * 60, timezone.utc)


def prepare(database_url: str, folder: Path) -> tuple[date, int]:
    """Migrate afresh, add the staff and practitioners; return the first day a patient is offered
    times on (London) and how many days ahead it is."""
    app = create_app({"SQLALCHEMY_DATABASE_URI": database_url, "SECRET_KEY": "setup", "INSTANCE_PATH": folder,
                      "MAIL_SERVER": "", "OUTBOX_SEND_AFTER_REQUEST": False, "RATELIMIT_ENABLED": False})
    with app.app_context():
        migrate_afresh()
        for email in (STAFF_EMAIL, LIMITED_EMAIL):
            accounts.create_staff(email, "Node Reception", "reception", STAFF_PASSWORD)
        db.session.commit()
    for number in range(PRACTITIONERS):
        new_practitioner(app, f"Practitioner {number + 1}", sites=("riverside",))
    probe = Patient(app.test_client())
    probe.answer_all()
    assert probe.submit().headers["Location"].endswith("/book/time"), "a routine patient is offered times"
    first_offered = SLOT_CHOICE.search(probe.client.get("/book/time").get_data(as_text=True)).group(1)
    with app.app_context():
        db.session.execute(delete(Draft))
        db.session.commit()
        db.engine.dispose()
    day = datetime.strptime(first_offered.split(".")[-1], "%Y%m%dT%H%MZ").replace(tzinfo=timezone.utc).astimezone(LONDON).date()
    return day, (day - utcnow().astimezone(LONDON).date()).days


def check_shared_sign_in(nodes: Nodes, browser: Browser | None = None) -> tuple[bool, Browser]:
    """Sign in on node A (unless `browser` is signed in already) and open the back office on every live node."""
    if browser is None:
        browser = Browser(nodes)
        signed_in = browser.post_form("/staff/login", "/staff/login", {"email": STAFF_EMAIL, "password": STAFF_PASSWORD}, node="A")
        print(f"  staff sign in on node A: {signed_in.status}")
    passed = True
    for name in sorted(nodes.live):
        page = browser.request("GET", "/staff/", node=name)
        print(f"  back office on node {name} with that cookie: {page.status}")
        passed &= page.status == 200 and "Sign out" in page.text
    return passed, browser


def check_shared_limit(nodes: Nodes) -> bool:
    """Wrong passwords for one account, alternating nodes: the sixth is refused (5 per 15 minutes)."""
    browser = Browser(nodes)
    answers = []
    for attempt in range(6):
        node = "AB"[attempt % 2]
        page = browser.post_form("/staff/login", "/staff/login", {"email": LIMITED_EMAIL, "password": "not the password"}, node=node)
        answers.append(f"{node} {page.status}")
    passed = all(not answer.endswith("429") for answer in answers[:5]) and answers[5].endswith("429")
    print(f"  wrong passwords, alternating nodes: {', '.join(answers)} (the sixth must be 429)")
    return passed


def kill_mid_send(node: Node, other: Node, engine, reminders_due: datetime) -> list:
    """Kill the node as soon as its worker holds claimed messages (within a few seconds of the
    reminders coming due), so the kill lands mid-send; return the claims it held. The other
    node's worker is paused (SIGSTOP) meanwhile, so it cannot claim every text first."""
    os.killpg(other.worker_pid, signal.SIGSTOP)
    try:
        time.sleep(max(0.0, (reminders_due - utcnow()).total_seconds()))
        return _kill_when_claiming(node, engine)
    finally:
        os.killpg(other.worker_pid, signal.SIGCONT)


def kill_mid_email(node: Node, other: Node, engine) -> list:
    """Kill the node while its worker is part way through a batch of emails: once it has recorded
    one of them sent, a random moment within the provider's answer time later, when the next is
    most likely in the provider's hands; return the claims it held. The other node's worker is
    paused meanwhile, so that node A's worker claims the emails."""
    os.killpg(other.worker_pid, signal.SIGSTOP)
    try:
        emails_held = ("SELECT COUNT(*) FROM outbox_messages WHERE status = 'sending' AND channel = 'email' "
                       "AND claimed_by LIKE :worker")
        claimed_by = f"%:{node.worker_pid}:%"
        deadline = time.monotonic() + 4 * KILL_WITHIN_SECONDS
        held_before = 0
        while time.monotonic() < deadline:
            held = rows(engine, emails_held, worker=claimed_by)[0][0]
            if 0 < held < held_before:
                break
            held_before = held
            time.sleep(0.005)
        time.sleep(random.uniform(0, ANSWER_DELAY_SECONDS))
        node.signal_all(signal.SIGKILL)
        return rows(engine, "SELECT message_id FROM outbox_messages WHERE status = 'sending' AND claimed_by LIKE :worker", worker=claimed_by)
    finally:
        os.killpg(other.worker_pid, signal.SIGCONT)


def _kill_when_claiming(node: Node, engine) -> list:
    claimed_by = f"%:{node.worker_pid}:%"
    deadline = time.monotonic() + KILL_WITHIN_SECONDS
    held = []
    while not held and time.monotonic() < deadline:
        held = rows(engine, "SELECT message_id FROM outbox_messages WHERE status = 'sending' AND claimed_by LIKE :worker", worker=claimed_by)
        time.sleep(0.02)
    node.signal_all(signal.SIGKILL)
    # What it held at the instant of the kill: sending, and still claimed by it.
    return rows(engine, "SELECT message_id FROM outbox_messages WHERE status = 'sending' AND claimed_by LIKE :worker", worker=claimed_by)


def rows(engine, query: str, **parameters) -> list:
    with engine.connect() as connection:
        return list(connection.execute(text(query), parameters).all())


def outbox_waiting(engine) -> int:
    return rows(engine, "SELECT COUNT(*) FROM outbox_messages WHERE status IN ('pending', 'sending')")[0][0]


def run(arguments, folder: Path) -> bool:
    database_url = arguments.database_url
    redis.Redis.from_url(arguments.ratelimit_storage_uri).flushdb()
    reminder_day, days_ahead = prepare(database_url, folder)
    reminders_due = reminder_minute(utcnow() + timedelta(seconds=arguments.booking_seconds))
    smtp, resend = (None, SlowResend()) if arguments.mail == "resend" else (SMTPServer(), None)
    if smtp:
        smtp.inbox = SlowInbox()
        smtp.start()
        mail = {"MAIL_PROVIDER": "smtp", "MAIL_SERVER": "127.0.0.1", "MAIL_PORT": str(smtp.port), "MAIL_USE_TLS": "0"}
    else:
        mail = {"MAIL_PROVIDER": "resend", "RESEND_API_KEY": RESEND_API_KEY, "RESEND_BASE_URL": resend.base_url}
    notify = SlowNotify()
    settings = {
        **app_settings(database_url, arguments.ratelimit_storage_uri),
        "LOGIN_LIMIT_PER_ACCOUNT": "5 per 15 minutes",
        **mail,
        "SMS_PROVIDER": "notify", "NOTIFY_API_KEY": NOTIFY_API_KEY, "NOTIFY_SMS_TEMPLATE_ID": NOTIFY_TEMPLATE_ID,
        "NOTIFY_BASE_URL": notify.base_url,
        "OUTBOX_LEASE_SECONDS": str(LEASE_SECONDS), "OUTBOX_POLL_SECONDS": "1",
        "OUTBOX_RETRY_BASE_SECONDS": "1", "OUTBOX_RETRY_MAX_SECONDS": "5",
        "REMINDER_DAYS_BEFORE": str(days_ahead), "REMINDER_AT": reminders_due.astimezone(LONDON).strftime("%H:%M"),
        "REMINDER_MORNING_TEXT_AT": "off", "REMINDER_SCAN_SECONDS": "1",
    }
    day_prefix = "riverside." + reminder_day.strftime("%Y%m%d")
    nodes = {name: Node(name, free_port()) for name in "AB"}
    for node in nodes.values():
        node.start(settings, folder, arguments.workers)
    engine = create_engine(database_url)
    results: list[Outcome] = []
    killed_claims: list = []
    try:
        for node in nodes.values():
            wait_until_serving(node.port, node.processes[0])
        balancer = Nodes({name: node.port for name, node in nodes.items()})
        print(f"nodes A (127.0.0.1:{nodes['A'].port}) and B (127.0.0.1:{nodes['B'].port}), {arguments.workers} gunicorn workers "
              f"and an outbox worker each; reminders due at {reminders_due:%H:%M:%S} UTC for times on {reminder_day:%A %d %B}")
        print("before the run:")
        limit_shared = check_shared_limit(balancer)
        sign_in_shared, staff = check_shared_sign_in(balancer)

        stop_at = reminders_due + timedelta(seconds=KILL_WITHIN_SECONDS + arguments.after_kill)
        counter = iter(range(10**6))
        counter_lock = threading.Lock()

        def keep_sending() -> list[Outcome]:
            mine = []
            while utcnow() < stop_at:
                with counter_lock:
                    number = next(counter)
                mine.append(patient(balancer, number, day_prefix))
            return mine

        started = time.monotonic()
        with ThreadPoolExecutor(max_workers=arguments.browsers) as pool:
            sending = [pool.submit(keep_sending) for _ in range(arguments.browsers)]
            if arguments.kill_while_sending == "emails":
                time.sleep(max(0.0, (reminders_due - utcnow()).total_seconds() / 2))
                killed_claims = kill_mid_email(nodes["A"], nodes["B"], engine)
            else:
                time.sleep(max(0.0, (reminders_due - utcnow()).total_seconds() - 1))
                killed_claims = kill_mid_send(nodes["A"], nodes["B"], engine, reminders_due)
            print(f"killed node A (web and worker, SIGKILL) at {utcnow():%H:%M:%S} UTC; "
                  f"its worker held {len(killed_claims)} claimed message(s) then")
            results = [outcome for future in sending for outcome in future.result()]
        seconds = time.monotonic() - started
        print(f"{len(results)} patients in {seconds:.0f} s with {arguments.browsers} browsers; requests sent again to node B "
              f"after meeting dead node A: {sum(outcome.failovers for outcome in results)}")
        print("after the kill:")
        sign_in_kept, _ = check_shared_sign_in(balancer, staff)

        drain_started = time.monotonic()
        while outbox_waiting(engine) and time.monotonic() - drain_started < DRAIN_LIMIT_SECONDS:
            time.sleep(0.5)
        print(f"outbox drained by node B {time.monotonic() - drain_started:.1f} s after the patients stopped")
    finally:
        for node in nodes.values():
            node.stop()
        (smtp or resend).stop()
        notify.stop()

    emails = Counter(resend.delivered if resend else smtp.inbox.message_ids())
    return judge(engine, results, killed_claims, emails, resend, notify, reminders_due, day_prefix,
                 limit_shared, sign_in_shared and sign_in_kept)


def judge(engine, results, killed_claims, emails: Counter, resend: SlowResend | None, notify, reminders_due, day_prefix,
          limit_shared, sign_in_shared) -> bool:
    """Count everything, print it, and say whether every target was met: `emails` counts each
    email delivered per Message-ID; `resend` is Resend's stand-in, or None when SMTP was used."""
    confirmed = {outcome.reference: outcome for outcome in results if outcome.reference}
    problems = Counter(outcome.problem.split(":")[0] for outcome in results if outcome.problem)
    stored = rows(engine, "SELECT reference, email FROM assessment_requests")
    stored_references = Counter(reference for reference, _ in stored)
    per_patient = Counter(email for _, email in stored)
    booked = {outcome.reference for outcome in confirmed.values() if outcome.booked_slot}
    appointments = rows(engine, "SELECT r.reference FROM appointments a JOIN assessment_requests r ON r.id = a.request_id WHERE NOT a.cancelled")
    appointment_counts = Counter(reference for (reference,) in appointments)
    overlapping = rows(engine, """
        SELECT COUNT(*) FROM appointments a JOIN appointments b
          ON a.practitioner_id = b.practitioner_id AND a.id < b.id
         AND a.starts_at < b.blocked_until AND b.starts_at < a.blocked_until
         WHERE NOT a.cancelled AND NOT b.cancelled""")[0][0]
    statuses = dict(rows(engine, "SELECT status, COUNT(*) FROM outbox_messages GROUP BY status"))
    queued = {channel: {message_id for message_id, kind in rows(engine, "SELECT message_id, channel FROM outbox_messages") if kind == channel}
              for channel in ("email", "sms")}
    attempts = Counter(attempt for (attempt,) in rows(engine, "SELECT attempts FROM outbox_messages"))
    reminder_day = datetime.strptime(day_prefix.split(".")[1], "%Y%m%d").date()
    day_starts = datetime.combine(reminder_day, datetime.min.time(), LONDON)
    texts_expected = rows(engine, """
        SELECT COUNT(*) FROM appointments a JOIN assessment_requests r ON r.id = a.request_id
         WHERE NOT a.cancelled AND r.contact_method = 'text' AND a.updated_at < :due
           AND a.starts_at >= :day_starts AND a.starts_at < :day_ends""",
        due=reminders_due, day_starts=day_starts, day_ends=day_starts + timedelta(days=1))[0][0]
    on_reminder_day = sum(1 for outcome in confirmed.values() if outcome.booked_slot and day_prefix in outcome.booked_slot)
    delivered = {"email": emails, "sms": Counter(received.fields.get("reference") for received in notify.received)}
    in_flight = {message_id for (message_id,) in killed_claims}

    print("\nrequests")
    print(f"  patients                              {len(results):6,} ({sum(o.chooses_time for o in results)} choosing a time, "
          f"the others asking to be phoned)")
    print(f"  confirmations seen                    {len(confirmed):6,}")
    print(f"  patients with no confirmation         {len(results) - len(confirmed):6,} {dict(problems) or ''}")
    print(f"  requests stored                       {len(stored):6,}")
    missing = [reference for reference in confirmed if stored_references[reference] != 1]
    twice = [email for email, count in per_patient.items() if count > 1]
    unseen = len(stored) - len(confirmed)
    print(f"  confirmed but not stored once         {len(missing):6,}")
    print(f"  patients stored twice                 {len(twice):6,}")
    print(f"  stored, confirmation not seen         {unseen:6,} (the answer lost in the kill)")
    print("bookings")
    print(f"  times booked by patients              {len(booked):6,} ({on_reminder_day} on {reminder_day:%d %B}); "
          f"'just been taken' answers met: {sum(o.taken for o in results)}")
    unbooked = [reference for reference in booked if appointment_counts[reference] != 1]
    booked_twice = [reference for reference, count in appointment_counts.items() if count > 1]
    print(f"  booked but not one live appointment   {len(unbooked):6,}")
    print(f"  requests with two live appointments   {len(booked_twice):6,}")
    print(f"  live appointments                     {len(appointments):6,}")
    print(f"  overlapping pairs (double bookings)   {overlapping:6,}")
    print("outbox")
    print(f"  final statuses                        {statuses}")
    print(f"  attempts per message                  {dict(sorted(attempts.items()))}")
    print(f"  texts expected                        {texts_expected:6,} (times on {reminder_day:%d %B} booked before {reminders_due:%H:%M} UTC)")
    delivered_once, copies = {}, {}
    for channel, label in (("email", "emails"), ("sms", "texts")):
        unique = set(delivered[channel]) - {None}
        lost = queued[channel] - unique
        copies[channel] = {message_id: count - 1 for message_id, count in delivered[channel].items() if count > 1}
        stray = unique - queued[channel]
        print(f"  {label:<6} queued {len(queued[channel]):6,}  delivered {sum(delivered[channel].values()):6,}  unique {len(unique):6,}  "
              f"lost {len(lost):3}  copies {sum(copies[channel].values()):3}"
              + (f" ({'each held by the killed worker' if set(copies[channel]) <= in_flight else 'NOT all held by the killed worker'})"
                 if copies[channel] else "")
              + (f"  not queued {len(stray)}" if stray else ""))
        delivered_once[channel] = not lost and not stray
    print(f"  texts taken by the provider whose answer found the worker dead: {notify.unanswered}")
    print(f"  texts taken over and looked up with the provider first: {len(notify.looked_up)}, "
          f"of which it already had {notify.found} (recorded as sent, not sent again)")
    email_copies = sum(copies["email"].values())
    if resend:
        print(f"  emails taken by Resend whose answer found the worker dead: {resend.unanswered}")
        print(f"  emails sent again and recognised by Resend as repeats (same idempotency key; nothing sent): {len(resend.repeats)}")
        print(f"  email copies allowed: none; found {email_copies}; text copies allowed: none; found {sum(copies['sms'].values())}")
    else:
        print(f"  email copies allowed (SMTP cannot be asked): at most 1, the email in flight when the killed worker died; "
              f"found {email_copies}; text copies allowed: none; found {sum(copies['sms'].values())}")

    checks = {
        "every confirmed request stored once, no patient twice": not missing and not twice and len(results) > 0,
        "every booking stored once, no slot booked twice": not unbooked and not booked_twice and overlapping == 0 and len(booked) > 0,
        "every text delivered exactly once (none lost, none doubled)": delivered_once["sms"] and not copies["sms"],
        **({"every email delivered exactly once (none lost, none doubled)": delivered_once["email"] and not copies["email"]} if resend else
           {"every email delivered, no copy but of the one in flight at the kill (SMTP)":
            delivered_once["email"] and set(copies["email"]) <= in_flight and email_copies <= 1}),
        "texts: one per time on the reminder day booked before they came due": len(queued["sms"]) == texts_expected > 0,
        "outbox drained: everything sent, nothing dead": set(statuses) == {"sent"},
        "rate limit counted across both nodes": limit_shared,
        "staff signed in on A are signed in on B (before and after the kill)": sign_in_shared,
    }
    print("checks")
    for name, passed in checks.items():
        print(f"  {'PASS' if passed else 'FAIL'}  {name}")
    return all(checks.values())


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", default=DEFAULT_DATABASE)
    parser.add_argument("--ratelimit-storage-uri", default=DEFAULT_RATELIMIT_STORAGE,
                        help="a Redis database for this run alone: it is flushed first")
    parser.add_argument("--workers", type=int, default=2, help="gunicorn workers per node")
    parser.add_argument("--browsers", type=int, default=6, help="patients at once")
    parser.add_argument("--booking-seconds", type=int, default=60, help="at least this long from the start to the reminders coming due")
    parser.add_argument("--after-kill", type=int, default=25, help="seconds patients go on using node B after the kill")
    parser.add_argument("--mail", choices=("resend", "smtp"), default="resend",
                        help="emails through Resend's API (exactly once) or an SMTP server (at least once)")
    parser.add_argument("--kill-while-sending", choices=("texts", "emails"), default="texts",
                        help="kill node A as its worker sends the reminder texts, or part way through a batch of emails")
    arguments = parser.parse_args()
    print(f"database: {arguments.database_url.split('@')[-1]}; rate limits: {arguments.ratelimit_storage_uri}; "
          f"outbox lease {LEASE_SECONDS} s; emails through {arguments.mail}")
    with tempfile.TemporaryDirectory() as name:
        folder = Path(name)
        try:
            passed = run(arguments, folder)
        finally:
            for log in sorted(folder.glob("*.log")):
                errors = [line for line in log.read_text().splitlines() if "Traceback" in line or "ERROR" in line]
                if errors:
                    print(f"--- {log.name}: {len(errors)} error line(s), the first:", *errors[:5], sep="\n")
    print("PASS" if passed else "FAIL")
    return 0 if passed else 1


if __name__ == "__main__":
    raise SystemExit(main())
