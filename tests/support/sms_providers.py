"""Local HTTP servers on 127.0.0.1 that answer as GOV.UK Notify's and Twilio's SMS APIs do.

Each checks the request as the real API would (Notify: a JWT signed with the key's secret and
issued by the service, else 403 AuthError; Twilio: basic auth with the account's SID and token,
else 401 code 20003), keeps what it was
sent, and gives the next scripted answer, or success. The answers are the providers' documented
ones: Notify's POST /v2/notifications/sms (201, 400 ValidationError, 429 RateLimitError or
TooManyRequestsError, 500) and Twilio's POST /2010-04-01/Accounts/{sid}/Messages.json (201 with
a sid, 400 code 21211, 429 code 20429, 503).
"""

from __future__ import annotations

import base64
import json
import re
import threading
import uuid
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs

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
    """A provider's API on a free port of 127.0.0.1: scripted answers first, then success."""

    def __init__(self) -> None:
        self.answers: list[Answer] = []
        self.received: list[Received] = []
        self.refused: list[str] = []
        self.lock = threading.Lock()
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - the name http.server calls
                raw = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                status, body = server.answer(self.path, self.headers, raw)
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
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def answer(self, path: str, headers, raw: bytes) -> tuple[int, dict]:
        problem = self.check(path, headers)
        if problem:
            with self.lock:
                self.refused.append(problem)
            refusal = self.refusal(problem)
            return refusal.status, refusal.body
        fields = self.fields(headers, raw)
        with self.lock:
            self.received.append(Received(path, fields))
            scripted = self.answers.pop(0) if self.answers else None
        if scripted is not None:
            return scripted.status, scripted.body
        return 201, self.success(fields)

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def check(self, path: str, headers) -> str | None:
        raise NotImplementedError

    def fields(self, headers, raw: bytes) -> dict:
        raise NotImplementedError

    def refusal(self, problem: str) -> Answer:
        raise NotImplementedError

    def success(self, fields: dict) -> dict:
        raise NotImplementedError


class NotifyServer(ProviderServer):
    """GOV.UK Notify's POST /v2/notifications/sms."""

    def check(self, path: str, headers) -> str | None:
        if path != "/v2/notifications/sms":
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


class TwilioServer(ProviderServer):
    """Twilio's POST /2010-04-01/Accounts/{AccountSid}/Messages.json."""

    PATH = re.compile(r"^/2010-04-01/Accounts/(AC[0-9a-f]{32})/Messages\.json$")

    def check(self, path: str, headers) -> str | None:
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
