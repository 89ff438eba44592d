"""Local HTTP servers on 127.0.0.1 that answer as GOV.UK Notify's and Twilio's SMS APIs do.

Each checks the request as the real API would (Notify: a JWT signed with the key's secret and
issued by the service, else 403 AuthError; Twilio: basic auth with the account's SID and token,
else 401 code 20003), keeps what it was sent (`received`) and what it was asked (`looked_up`),
and gives the next scripted answer, or success. The answers are the providers' documented
ones: Notify's POST /v2/notifications/sms (201, 400 ValidationError, 429 RateLimitError or
TooManyRequestsError, 500) and Twilio's POST /2010-04-01/Accounts/{sid}/Messages.json (201 with
a sid, 400 code 21211, 429 code 20429, 503). Each also lists the texts it has taken, as the real
list endpoints do: Notify's GET /v2/notifications (filtered by `reference` and `template_type`,
newest first, as `notifications` with `links`) and Twilio's GET .../Messages.json (filtered by
`To`, `From` and `DateSent>`, newest first, in pages of `page_size` with `next_page_uri`).
"""

from __future__ import annotations

import base64
import json
import re
import threading
import uuid
from dataclasses import dataclass
from datetime import datetime, timezone
from email.utils import format_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlencode

import jwt

NOTIFY_SERVICE_ID = "5d1c58b2-8f3e-4a56-9c0b-0123456789ab"
NOTIFY_SECRET = "0f6e0f5e-1c2d-4e3f-8a9b-abcdefabcdef"
NOTIFY_API_KEY = f"clinic_test-{NOTIFY_SERVICE_ID}-{NOTIFY_SECRET}"
NOTIFY_TEMPLATE_ID = "f33517ff-2a88-4f6e-b855-c550268ce08a"
TWILIO_ACCOUNT_SID = "AC" + "0123456789abcdef" * 2
TWILIO_AUTH_TOKEN = "b3d0c0ffee" * 3 + "00"
TWILIO_FROM_NUMBER = "+447700900001"


@dataclass(frozen=True)
class Answer:
    """What the API answers one request with: an HTTP status and a JSON body."""

    status: int
    body: dict


@dataclass(frozen=True)
class Received:
    """One request the API accepted: its path and its fields (JSON or form)."""

    path: str
    fields: dict


def notify_error(status: int, error: str, message: str) -> Answer:
    return Answer(status, {"status_code": status, "errors": [{"error": error, "message": message}]})


NOTIFY_INVALID_NUMBER = notify_error(400, "ValidationError", "phone_number Not a UK mobile number")
NOTIFY_RATE_LIMIT = notify_error(429, "RateLimitError", "Exceeded rate limit for key type LIVE of 3000 requests per 60 seconds")
NOTIFY_DAILY_LIMIT = notify_error(429, "TooManyRequestsError", "Exceeded send limits (250000) for today")
NOTIFY_OUTAGE = notify_error(500, "Exception", "Internal server error")


def twilio_error(status: int, code: int, message: str) -> Answer:
    return Answer(status, {"code": code, "message": message, "more_info": f"https://www.twilio.com/docs/errors/{code}", "status": status})


def twilio_invalid_number(number: str) -> Answer:
    """Twilio's answer repeats the number, so it is a test of keeping numbers out of errors."""
    return twilio_error(400, 21211, f"The 'To' number {number} is not a valid phone number.")


TWILIO_RATE_LIMIT = twilio_error(429, 20429, "Too Many Requests")
TWILIO_OUTAGE = twilio_error(503, 20503, "Service Unavailable")


class ProviderServer:
    """A provider's API on a free port of 127.0.0.1: scripted answers first (to a send or a
    lookup alike), then success (`SUCCESS_STATUS`)."""

    SUCCESS_STATUS = 201

    def __init__(self) -> None:
        self.answers: list[Answer] = []
        self.received: list[Received] = []
        self.looked_up: list[dict] = []
        self.refused: list[str] = []
        self.taken: list[dict] = []  # every text it took, as its list endpoint shows it
        self.lock = threading.Lock()
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - the name http.server calls
                raw = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                self.reply(*server.answer(self.path, self.headers, raw))

            def do_GET(self) -> None:  # noqa: N802
                self.reply(*server.answer_lookup(self.path, self.headers))

            def reply(self, status: int, body: dict) -> None:
                payload = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def log_message(self, *args) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        self.base_url = f"http://127.0.0.1:{self.port}"
        # Polled often, so stopping it (each test's teardown) waits milliseconds, not half a second.
        self.thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True)
        self.thread.start()

    def answer(self, path: str, headers, raw: bytes) -> tuple[int, dict]:
        """A send: the text is taken, unless a scripted answer comes first."""
        refusal = self._refusal("POST", path, headers)
        if refusal:
            return refusal.status, refusal.body
        fields = self.fields(headers, raw)
        with self.lock:
            self.received.append(Received(path, fields))
            scripted = self.answers.pop(0) if self.answers else None
            if scripted is None:
                body = self.success(fields)
                self.taken.insert(0, self.listed(fields, body))
        if scripted is not None:
            return scripted.status, scripted.body
        return self.SUCCESS_STATUS, body

    def answer_lookup(self, path: str, headers) -> tuple[int, dict]:
        """A lookup: the texts taken that match its query, unless a scripted answer comes first."""
        refusal = self._refusal("GET", path, headers)
        if refusal:
            return refusal.status, refusal.body
        route, _, query = path.partition("?")
        parameters = {name: values[0] for name, values in parse_qs(query).items()}
        with self.lock:
            self.looked_up.append(parameters)
            scripted = self.answers.pop(0) if self.answers else None
            taken = list(self.taken)
        if scripted is not None:
            return scripted.status, scripted.body
        return 200, self.listing(route, parameters, taken)

    def _refusal(self, method: str, path: str, headers) -> Answer | None:
        problem = self.check(method, path.partition("?")[0], headers)
        if problem:
            with self.lock:
                self.refused.append(problem)
            return self.refusal(problem)
        return None

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def check(self, method: str, path: str, headers) -> str | None:
        raise NotImplementedError

    def fields(self, headers, raw: bytes) -> dict:
        raise NotImplementedError

    def refusal(self, problem: str) -> Answer:
        raise NotImplementedError

    def success(self, fields: dict) -> dict:
        raise NotImplementedError

    def listed(self, fields: dict, answer: dict) -> dict:
        raise NotImplementedError

    def listing(self, path: str, parameters: dict, taken: list[dict]) -> dict:
        raise NotImplementedError


def _now() -> datetime:
    return datetime.now(timezone.utc)


class NotifyServer(ProviderServer):
    """GOV.UK Notify's POST /v2/notifications/sms and GET /v2/notifications."""

    PATHS = {"POST": "/v2/notifications/sms", "GET": "/v2/notifications"}

    def check(self, method: str, path: str, headers) -> str | None:
        if path != self.PATHS[method]:
            return f"no such path {path}"
        token = headers.get("Authorization", "").removeprefix("Bearer ")
        try:
            claims = jwt.decode(token, NOTIFY_SECRET, algorithms=["HS256"])
        except jwt.InvalidTokenError:
            return "Invalid token: signature, api token not found"
        return None if claims.get("iss") == NOTIFY_SERVICE_ID else "Invalid token: service not found"

    def fields(self, headers, raw: bytes) -> dict:
        return json.loads(raw)

    def refusal(self, problem: str) -> Answer:
        return notify_error(404, "ResourceNotFound", problem) if problem.startswith("no such") else notify_error(403, "AuthError", problem)

    def success(self, fields: dict) -> dict:
        notification_id = str(uuid.uuid4())
        body = fields["personalisation"]["body"]
        return {
            "id": notification_id,
            "reference": fields.get("reference"),
            "content": {"body": body, "from_number": "CLINIC"},
            "uri": f"{self.base_url}/v2/notifications/{notification_id}",
            "template": {"id": fields["template_id"], "version": 1, "uri": f"{self.base_url}/services/{NOTIFY_SERVICE_ID}/templates/{fields['template_id']}"},
            "scheduled_for": None,
        }

    def listed(self, fields: dict, answer: dict) -> dict:
        """The notification as Notify's GET endpoints show it."""
        return {
            "id": answer["id"], "reference": fields.get("reference"), "email_address": None,
            "phone_number": fields["phone_number"], **{f"line_{number}": None for number in range(1, 7)}, "postcode": None,
            "type": "sms", "status": "sending", "template": answer["template"], "body": answer["content"]["body"],
            "subject": None, "created_at": _now().strftime("%Y-%m-%dT%H:%M:%S.%fZ"), "created_by_name": None,
            "sent_at": None, "completed_at": None, "scheduled_for": None, "postage": None,
        }

    def listing(self, path: str, parameters: dict, taken: list[dict]) -> dict:
        """Notify's page of notifications, newest first, with the link to the next (older) page."""
        found = [notification for notification in taken
                 if parameters.get("reference") in (None, notification["reference"])
                 and parameters.get("template_type") in (None, notification["type"])]
        links = {"current": f"{self.base_url}{path}?{urlencode(parameters)}"}
        if found:
            links["next"] = f"{self.base_url}{path}?{urlencode({**parameters, 'older_than': found[-1]['id']})}"
        return {"notifications": found, "links": links}


class TwilioServer(ProviderServer):
    """Twilio's POST and GET /2010-04-01/Accounts/{AccountSid}/Messages.json."""

    PATH = re.compile(r"^/2010-04-01/Accounts/(AC[0-9a-f]{32})/Messages\.json$")
    page_size = 50  # Twilio's default

    def check(self, method: str, path: str, headers) -> str | None:
        found = self.PATH.match(path)
        if not found or found.group(1) != TWILIO_ACCOUNT_SID:
            return f"no such path {path}"
        expected = base64.b64encode(f"{TWILIO_ACCOUNT_SID}:{TWILIO_AUTH_TOKEN}".encode()).decode()
        return None if headers.get("Authorization") == f"Basic {expected}" else "Authenticate"

    def fields(self, headers, raw: bytes) -> dict:
        return {name: values[0] for name, values in parse_qs(raw.decode()).items()}

    def refusal(self, problem: str) -> Answer:
        return twilio_error(404, 20404, "The requested resource was not found") if problem.startswith("no such") else twilio_error(401, 20003, problem)

    def success(self, fields: dict) -> dict:
        sid = "SM" + uuid.uuid4().hex
        return {
            "sid": sid, "account_sid": TWILIO_ACCOUNT_SID, "to": fields["To"], "from": fields["From"],
            "body": fields["Body"], "status": "queued", "num_segments": "1", "direction": "outbound-api",
            "api_version": "2010-04-01", "price": None, "error_code": None, "error_message": None,
            "uri": f"/2010-04-01/Accounts/{TWILIO_ACCOUNT_SID}/Messages/{sid}.json",
        }

    def listed(self, fields: dict, answer: dict) -> dict:
        """The message as Twilio lists it once sent (at once, here), its dates in RFC 2822 form."""
        now = format_datetime(_now())
        return {**answer, "status": "sent", "date_created": now, "date_updated": now, "date_sent": now}

    def listing(self, path: str, parameters: dict, taken: list[dict]) -> dict:
        """One page of the messages matching `To`, `From` and `DateSent>` (a day: on or after its
        midnight, GMT), newest first; `Page` and `PageSize` choose the page."""
        since = parameters.get("DateSent>", "")[:10]
        found = [message for message in taken
                 if parameters.get("To") in (None, message["to"]) and parameters.get("From") in (None, message["from"])
                 and (not since or _sent_day(message) >= since)]
        page, size = int(parameters.get("Page", 0)), int(parameters.get("PageSize", self.page_size))
        on_page = found[page * size:(page + 1) * size]

        def page_uri(number: int) -> str:
            return f"{path}?{urlencode({**parameters, 'Page': number, 'PageSize': size})}"

        return {
            "messages": on_page, "page": page, "page_size": size, "start": page * size, "end": page * size + max(len(on_page) - 1, 0),
            "uri": page_uri(page), "first_page_uri": page_uri(0),
            "next_page_uri": page_uri(page + 1) if (page + 1) * size < len(found) else None,
            "previous_page_uri": page_uri(page - 1) if page else None,
        }


def _sent_day(message: dict) -> str:
    """The GMT day a listed Twilio message was sent, as YYYY-MM-DD."""
    return datetime.strptime(message["date_sent"], "%a, %d %b %Y %H:%M:%S %z").astimezone(timezone.utc).strftime("%Y-%m-%d")
