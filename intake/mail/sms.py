"""Ways to hand a text over: GOV.UK Notify, Twilio, or one file per text when no provider is set.

Every transport has one method, `send(number, body, reference) -> provider id`, and raises
`PermanentSmsError` when the provider refuses this text for good (an invalid number: retrying
cannot help, so the outbox gives up at once) or `TemporarySmsError` when trying again later may
work (a rate limit, an outage, a refused connection, a key the clinic has yet to fix). Error
texts are kept without phone numbers, since they are stored and logged.
"""

from __future__ import annotations

import logging
import re
import secrets
from dataclasses import dataclass
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


def _failure(status: int, description: str) -> SmsError:
    """The error for a provider's answer: permanent for this text's own faults, else temporary."""
    kind = PermanentSmsError if status in PERMANENT_STATUSES else TemporarySmsError
    return kind(without_numbers(f"{status} {description}"))


@dataclass(frozen=True)
class FileSmsTransport:
    """Write each text as a file, so the app works fully with no provider."""

    directory: Path

    def send(self, number: str, body: str, reference: str) -> str:
        self.directory.mkdir(parents=True, exist_ok=True)
        provider_id = f"file-{secrets.token_hex(8)}"
        path = self.directory / f"{UNSAFE_FILENAME.sub('_', reference).strip('_')}.txt"
        path.write_text(f"To: {number}\nReference: {reference}\n\n{body}\n", encoding="utf-8")
        log.info("Text written to %s", path)
        return provider_id

    def describe(self) -> str:
        return f"texts are not sent to anyone: they are written as files to {self.directory.resolve()}"


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
            status = getattr(error, "status", 0) or 0
            code = getattr(error, "code", None)
            detail = getattr(error, "msg", None) or getattr(error, "detail", None) or type(error).__name__
            raise _failure(status, f"code {code}: {detail}") from None
        except requests.RequestException as error:
            raise ProviderUnreachable(f"no answer from Twilio ({type(error).__name__})") from None
        return str(message.sid)

    def describe(self) -> str:
        return f"texts are sent through Twilio at {self.base_url}"


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
