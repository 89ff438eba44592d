"""Ways to hand a text over: GOV.UK Notify, Twilio, or one file per text when no provider is set.

Every transport has two methods. `send(number, body, reference) -> provider id` raises
`PermanentSmsError` when the provider refuses this text for good (an invalid number: retrying
cannot help, so the outbox gives up at once) or `TemporarySmsError` when trying again later may
work (a rate limit, an outage, a refused connection, a key the clinic has yet to fix).
`already_sent(number, body, reference, since) -> provider id or None` asks whether the provider
already has this text, for one whose worker may have handed it over and died before recording
it; when the provider cannot be asked it raises `TemporarySmsError` (never a permanent one: the
question failing says nothing about the text). Error texts are kept without phone numbers,
since they are stored and logged.
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
from dataclasses import dataclass
from datetime import datetime
from functools import cached_property
from pathlib import Path

import requests
from notifications_python_client.errors import APIError
from notifications_python_client.notifications import NotificationsAPIClient
from twilio.base.exceptions import TwilioException
from twilio.http.http_client import TwilioHttpClient
from twilio.rest import Client as TwilioClient

log = logging.getLogger(__name__)

PROVIDERS = ("file", "notify", "twilio")
PROVIDER_SETTINGS = {
    "file": ("SMS_FILE_DIR",),
    "notify": ("NOTIFY_API_KEY", "NOTIFY_SMS_TEMPLATE_ID", "NOTIFY_BASE_URL"),
    "twilio": ("TWILIO_ACCOUNT_SID", "TWILIO_AUTH_TOKEN", "TWILIO_FROM_NUMBER", "TWILIO_BASE_URL"),
}
# The one placeholder of the Notify template: the template's whole content is ((body)).
NOTIFY_BODY_PLACEHOLDER = "body"
# A Notify API key ends with the service id and the secret, two UUIDs joined by a dash.
NOTIFY_KEY_LENGTH = 73
# Statuses that say this text itself is wrong (a bad number, a recipient who opted out). Every
# other failure (429, 5xx, a key or account problem, no answer) may pass, so it is retried.
PERMANENT_STATUSES = frozenset({400, 422})
UNSAFE_FILENAME = re.compile(r"[^A-Za-z0-9._-]+")
# A run of digits long enough to be part of a phone number (with the spaces, dashes and
# brackets numbers are written with): kept out of stored and logged errors.
NUMBER_LIKE = re.compile(r"\+?\d[\d\s().-]{4,}\d")


class SmsError(Exception):
    """A text could not be handed to the provider; the message is safe to store and log."""


class PermanentSmsError(SmsError):
    """The provider refused this text for good: trying again cannot help."""


class TemporarySmsError(SmsError):
    """The provider could not take the text now: try again later."""


class ProviderUnreachable(TemporarySmsError):
    """No answer from the provider (refused connection, timeout): the texts after this one wait too."""


class SmsConfigurationError(RuntimeError):
    """SMS_PROVIDER names no known provider, or the chosen provider lacks a setting."""


def without_numbers(text: str) -> str:
    """The text with anything that looks like a phone number replaced, for errors and logs."""
    return NUMBER_LIKE.sub("[number]", text)


def _failure(status: int, description: str, permanent_statuses: frozenset[int] = PERMANENT_STATUSES) -> SmsError:
    """The error for a provider's answer: permanent for this text's own faults, else temporary."""
    kind = PermanentSmsError if status in permanent_statuses else TemporarySmsError
    return kind(without_numbers(f"{status} {description}"))


def _lookup_failure(status: int, description: str) -> SmsError:
    """The error for a provider's answer to "do you have this text?": always temporary."""
    return _failure(status, f"{description} (asking whether the text already went)", frozenset())


@dataclass(frozen=True)
class FileSmsTransport:
    """Write each text as a file named after its reference, so the app works fully with no
    provider; a text's id comes from its reference, so asking again gives the same one."""

    directory: Path

    def send(self, number: str, body: str, reference: str) -> str:
        self.directory.mkdir(parents=True, exist_ok=True)
        path = self._path(reference)
        path.write_text(f"To: {number}\nReference: {reference}\n\n{body}\n", encoding="utf-8")
        log.info("Text written to %s", path)
        return _file_id(reference)

    def already_sent(self, number: str, body: str, reference: str, since: datetime) -> str | None:
        return _file_id(reference) if self._path(reference).exists() else None

    def _path(self, reference: str) -> Path:
        return self.directory / f"{UNSAFE_FILENAME.sub('_', reference).strip('_')}.txt"

    def describe(self) -> str:
        return f"texts are not sent to anyone: they are written as files to {self.directory.resolve()}"


def _file_id(reference: str) -> str:
    return f"file-{hashlib.sha256(reference.encode()).hexdigest()[:16]}"


@dataclass(frozen=True)
class NotifySmsTransport:
    """Send through GOV.UK Notify with its Python client, a template carrying the whole body."""

    api_key: str
    template_id: str
    base_url: str
    timeout: float

    @cached_property
    def client(self) -> NotificationsAPIClient:
        """One client (and connection) for the transport's batch; like Notify's, never shared across threads."""
        return NotificationsAPIClient(self.api_key, base_url=self.base_url, timeout=self.timeout)

    def send(self, number: str, body: str, reference: str) -> str:
        try:
            answer = self.client.send_sms_notification(
                phone_number=number, template_id=self.template_id,
                personalisation={NOTIFY_BODY_PLACEHOLDER: body}, reference=reference,
            )
        except APIError as error:
            if error.response is None:  # the client's word for no answer at all
                raise ProviderUnreachable("no answer from GOV.UK Notify") from None
            raise _failure(error.status_code, _notify_errors(error)) from None
        return str(answer["id"])

    def already_sent(self, number: str, body: str, reference: str, since: datetime) -> str | None:
        """Notify's id for the text sent with this reference (our message id), if it has one."""
        try:
            answer = self.client.get_all_notifications(template_type="sms", reference=reference)
        except APIError as error:
            if error.response is None:
                raise ProviderUnreachable("no answer from GOV.UK Notify") from None
            raise _lookup_failure(error.status_code, _notify_errors(error)) from None
        found = answer.get("notifications") or []
        return str(found[0]["id"]) if found else None

    def describe(self) -> str:
        return f"texts are sent through GOV.UK Notify at {self.base_url}"


def _notify_errors(error: APIError) -> str:
    """Notify's error names and messages ("ValidationError: phone_number Not a UK mobile number")."""
    message = error.message
    if isinstance(message, list):
        return "; ".join(f"{item.get('error', 'Error')}: {item.get('message', '')}" for item in message if isinstance(item, dict))
    return str(message)


@dataclass(frozen=True)
class TwilioSmsTransport:
    """Send through Twilio's Messages API with its Python client."""

    account_sid: str
    auth_token: str
    from_number: str
    base_url: str
    timeout: float

    @cached_property
    def client(self) -> TwilioClient:
        """One client (and connection) for the transport's batch, never shared across threads."""
        client = TwilioClient(self.account_sid, self.auth_token, http_client=TwilioHttpClient(timeout=self.timeout))
        client.api.base_url = self.base_url  # the Api domain's public address attribute: another host in tests
        return client

    def send(self, number: str, body: str, reference: str) -> str:
        try:
            message = self.client.messages.create(to=number, from_=self.from_number, body=body)
        except TwilioException as error:
            raise _failure(*_twilio_error(error)) from None
        except requests.RequestException as error:
            raise ProviderUnreachable(f"no answer from Twilio ({type(error).__name__})") from None
        return str(message.sid)

    def already_sent(self, number: str, body: str, reference: str, since: datetime) -> str | None:
        """The sid of a message Twilio sent to this number from ours, on or after the day of
        `since`, with this very body: Twilio keeps no reference of ours to look up."""
        try:
            messages = self.client.messages.list(to=number, from_=self.from_number, date_sent_after=since.date())
        except TwilioException as error:
            raise _lookup_failure(*_twilio_error(error)) from None
        except requests.RequestException as error:
            raise ProviderUnreachable(f"no answer from Twilio ({type(error).__name__})") from None
        return next((str(message.sid) for message in messages if message.body == body), None)

    def describe(self) -> str:
        return f"texts are sent through Twilio at {self.base_url}"


def _twilio_error(error: TwilioException) -> tuple[int, str]:
    """The HTTP status (0 when there is none) and the description of Twilio's error. A list page
    refused comes as TwilioException("Unable to fetch page", response), the answer in the response."""
    response = error.args[1] if len(error.args) == 2 and hasattr(error.args[1], "status_code") else None
    if response is not None:
        try:
            answer = json.loads(response.text)
        except ValueError:
            answer = {}
        return response.status_code, f"code {answer.get('code')}: {answer.get('message') or error.args[0]}"
    code = getattr(error, "code", None)
    detail = getattr(error, "msg", None) or getattr(error, "detail", None) or type(error).__name__
    return getattr(error, "status", 0) or 0, f"code {code}: {detail}"


SmsTransport = FileSmsTransport | NotifySmsTransport | TwilioSmsTransport


def sms_transport_from_config(config) -> SmsTransport:
    """The transport SMS_PROVIDER chooses, refusing an unknown provider or a missing setting."""
    provider = str(config["SMS_PROVIDER"]).strip().lower()
    if provider not in PROVIDERS:
        raise SmsConfigurationError(f"SMS_PROVIDER is {provider!r}; it must be one of {', '.join(PROVIDERS)}.")
    missing = [name for name in PROVIDER_SETTINGS[provider] if not str(config.get(name) or "").strip()]
    if missing:
        raise SmsConfigurationError(f"SMS_PROVIDER is {provider}, but {', '.join(missing)} {'is' if len(missing) == 1 else 'are'} not set.")
    timeout = float(config["SMS_TIMEOUT_SECONDS"])
    if provider == "notify":
        if len(config["NOTIFY_API_KEY"].strip()) < NOTIFY_KEY_LENGTH:
            raise SmsConfigurationError("NOTIFY_API_KEY is not a whole Notify API key (name-service id-secret, as Notify shows it once).")
        return NotifySmsTransport(config["NOTIFY_API_KEY"].strip(), config["NOTIFY_SMS_TEMPLATE_ID"].strip(),
                                  config["NOTIFY_BASE_URL"].strip(), timeout)
    if provider == "twilio":
        return TwilioSmsTransport(config["TWILIO_ACCOUNT_SID"].strip(), config["TWILIO_AUTH_TOKEN"].strip(),
                                  config["TWILIO_FROM_NUMBER"].strip(), config["TWILIO_BASE_URL"].strip(), timeout)
    return FileSmsTransport(Path(config["SMS_FILE_DIR"]))
