"""A local HTTP server on 127.0.0.1 that answers as Resend's email API does, for the outbox's
Resend transport driven through Resend's own Python client.

It checks the key as Resend does (401 missing_api_key, 403 invalid_api_key), takes POST /emails
(200 with the email's id) and honours the Idempotency-Key header as Resend documents it: a
repeat with the same key and the same email within 24 hours gets the first answer and sends
nothing (kept in `repeats`); a repeat with another email gets 409 invalid_idempotent_request; one
arriving while the first is still being taken gets 409 concurrent_idempotent_requests. A key is
kept only once an email is taken, so a send that failed can be tried again with it. Errors come
in Resend's form, {"statusCode", "name", "message"}: 422 validation_error, 429
rate_limit_exceeded, 500 application_error.
"""

from __future__ import annotations

import json
import uuid

from tests.support.sms_providers import Answer, ProviderServer

RESEND_API_KEY = "re_" + "Test1234abcd" * 3


def resend_error(status: int, name: str, message: str) -> Answer:
    return Answer(status, {"statusCode": status, "name": name, "message": message})


RESEND_INVALID_ADDRESS = resend_error(422, "validation_error", "Invalid `to` field. The email address needs to follow the `email@example.com` format.")
RESEND_RATE_LIMIT = resend_error(429, "rate_limit_exceeded", "Too many requests. You can only make 2 requests per second.")
RESEND_OUTAGE = resend_error(500, "application_error", "An unexpected error occurred, please try again later.")


class ResendServer(ProviderServer):
    """Resend's POST /emails, with idempotency keys; `delivered` lists the key of every email taken."""

    SUCCESS_STATUS = 200

    def __init__(self) -> None:
        self.kept: dict[str, tuple[dict, dict]] = {}  # key: the email first taken with it, and the answer
        self.taking: set[str] = set()
        self.repeats: list[str] = []
        self.delivered: list[str | None] = []
        super().__init__()

    def answer(self, path: str, headers, raw: bytes) -> tuple[int, dict]:
        key = headers.get("Idempotency-Key")
        if self.check("POST", path, headers):
            return super().answer(path, headers, raw)  # refused, as without a key
        fields = self.fields(headers, raw)
        with self.lock:
            if key in self.kept:
                first, answered = self.kept[key]
                if first != fields:
                    return 409, resend_error(409, "invalid_idempotent_request",
                                             "Same idempotency key used with a different request payload.").body
                self.repeats.append(key)
                return self.SUCCESS_STATUS, answered
            if key is not None and key in self.taking:
                return 409, resend_error(409, "concurrent_idempotent_requests",
                                         "Same idempotency key used while original request is still in progress.").body
            if key is not None:
                self.taking.add(key)
        try:
            status, body = super().answer(path, headers, raw)
            with self.lock:
                if status == self.SUCCESS_STATUS:
                    self.delivered.append(key)
                    if key is not None:
                        self.kept[key] = (fields, body)
            return status, body
        finally:
            with self.lock:
                self.taking.discard(key)

    def check(self, method: str, path: str, headers) -> str | None:
        if (method, path.partition("?")[0]) != ("POST", "/emails"):
            return f"no such path {path}"
        key = headers.get("Authorization", "").removeprefix("Bearer ").strip()
        if not key or key == "None":  # Resend's client sends "Bearer None" with no key set
            return "missing"
        return None if key == RESEND_API_KEY else "invalid"

    def fields(self, headers, raw: bytes) -> dict:
        return json.loads(raw)

    def refusal(self, problem: str) -> Answer:
        if problem == "missing":
            return resend_error(401, "missing_api_key", "Missing API key in the authorization header.")
        if problem == "invalid":
            return resend_error(403, "invalid_api_key", "API key is invalid")
        return resend_error(404, "not_found", "The requested endpoint does not exist.")

    def success(self, fields: dict) -> dict:
        return {"id": str(uuid.uuid4())}

    def listed(self, fields: dict, answer: dict) -> dict:
        return {"id": answer["id"], "to": fields["to"], "subject": fields["subject"]}

    def listing(self, path: str, parameters: dict, taken: list[dict]) -> dict:
        return {"object": "list", "data": taken}
