"""Ways to hand an email over: SMTP (with timeouts and verified TLS), Resend's email API, or
.eml files when no provider is set.

Every transport has `session()`, a context giving `send(email) -> provider id or None` for a
batch. SMTP cannot promise an email goes once: when a worker dies after the server took a
message but before recording it, the message is sent again (with the same Message-ID, which
lets receivers drop the copy). Resend can: each email carries its Message-ID as Resend's
idempotency key, so sending it again within 24 hours returns the first send's id and sends
nothing (`repeats_are_harmless`).
"""

from __future__ import annotations

import base64
import logging
import re
import smtplib
import ssl
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import resend
from flask_mail import Message
from resend.exceptions import ResendError

log = logging.getLogger(__name__)

PROVIDERS = ("file", "smtp", "resend")
UNSAFE_FILENAME = re.compile(r"[^A-Za-z0-9._-]+")
# How long Resend keeps an idempotency key: a repeat after this would be sent again.
RESEND_IDEMPOTENCY_HOURS = 24


class MailConfigurationError(RuntimeError):
    """MAIL_PROVIDER names no known provider, or the chosen provider lacks a setting."""


class EmailRefused(Exception):
    """The email API refused or failed to take an email; the message says how, for the outbox."""


@dataclass(frozen=True)
class Attachment:
    """A file sent with an email (the calendar invite): its name, its type and its text."""

    name: str
    content_type: str
    body: str


@dataclass(frozen=True)
class Email:
    """One email as it is handed over: the same every time it is tried, so a repeat is recognised."""

    message_id: str
    sender: str
    reply_to: str
    recipient: str
    subject: str
    text: str
    html: str
    created_at: datetime
    attachment: Attachment | None = None


SendOne = Callable[[Email], str | None]


def mime_bytes(email: Email) -> bytes:
    """The multipart (plain text and HTML) email, with its stable Message-ID."""
    mail = Message(
        subject=email.subject,
        recipients=[email.recipient],
        body=email.text,
        html=email.html,
        sender=email.sender,
        reply_to=email.reply_to or None,
        date=email.created_at.timestamp(),
    )
    mail.msgId = email.message_id
    if email.attachment:
        mail.attach(email.attachment.name, email.attachment.content_type, email.attachment.body.encode("utf-8"))
    return mail.as_bytes()


@dataclass(frozen=True)
class SMTPTransport:
    """Deliver through an SMTP server: STARTTLS or SSL with the server's certificate verified."""

    host: str
    port: int
    use_starttls: bool
    use_ssl: bool
    username: str
    password: str
    timeout: float
    ca_file: str = ""
    repeats_are_harmless = False

    def _tls_context(self) -> ssl.SSLContext:
        return ssl.create_default_context(cafile=self.ca_file or None)

    @contextmanager
    def session(self) -> Iterator[SendOne]:
        """Open one connection for a batch of messages and close it afterwards."""
        if self.use_ssl:
            connection = smtplib.SMTP_SSL(self.host, self.port, timeout=self.timeout, context=self._tls_context())
        else:
            connection = smtplib.SMTP(self.host, self.port, timeout=self.timeout)
        try:
            if self.use_starttls and not self.use_ssl:
                connection.starttls(context=self._tls_context())
            if self.username:
                connection.login(self.username, self.password)

            def send(email: Email) -> None:
                connection.sendmail(email.sender, [email.recipient], mime_bytes(email))

            yield send
        finally:
            try:
                connection.quit()
            except (smtplib.SMTPException, OSError):
                connection.close()

    def describe(self) -> str:
        return f"emails are sent through the SMTP server {self.host}:{self.port}"


@dataclass(frozen=True)
class ResendTransport:
    """Deliver through Resend's email API with its Python client, each email's Message-ID as its
    idempotency key: an email sent again (by a worker taking over from one that died mid-send,
    or after an answer was lost) is recognised by Resend and not sent twice."""

    api_key: str
    base_url: str
    timeout: float
    repeats_are_harmless = True

    @contextmanager
    def session(self) -> Iterator[SendOne]:
        """Point Resend's client (configured through its module, as its documentation shows) at
        this account; one worker thread sends at a time in a process."""
        resend.api_key = self.api_key
        resend.api_url = self.base_url.rstrip("/")
        resend.default_http_client = resend.RequestsClient(timeout=self.timeout)
        yield self._send

    def _send(self, email: Email) -> str:
        params: resend.Emails.SendParams = {
            "from": email.sender, "to": [email.recipient], "subject": email.subject, "text": email.text, "html": email.html,
        }
        if email.reply_to:
            params["reply_to"] = email.reply_to
        if email.attachment:
            params["attachments"] = [{
                "filename": email.attachment.name, "content_type": email.attachment.content_type,
                "content": base64.b64encode(email.attachment.body.encode("utf-8")).decode("ascii"),
            }]
        try:
            answer = resend.Emails.send(params, {"idempotency_key": email.message_id})
        except ResendError as error:
            raise EmailRefused(f"{error.code} {error.error_type}: {error.message}") from None
        return str(answer["id"])

    def describe(self) -> str:
        return f"emails are sent through Resend at {self.base_url}"


@dataclass(frozen=True)
class FileTransport:
    """Write each message as an .eml file named after its Message-ID, so the app works fully with
    no mail server; writing it again replaces the file, so a repeat is harmless."""

    directory: Path
    repeats_are_harmless = True

    @contextmanager
    def session(self) -> Iterator[SendOne]:
        self.directory.mkdir(parents=True, exist_ok=True)

        def send(email: Email) -> None:
            stem = UNSAFE_FILENAME.sub("_", email.message_id.strip("<>")) or "message"
            path = self.directory / f"{stem}.eml"
            path.write_bytes(mime_bytes(email))
            log.info("Email written to %s", path)

        yield send

    def describe(self) -> str:
        return f"emails are not sent to anyone: they are written as .eml files to {self.directory.resolve()}"


Transport = SMTPTransport | ResendTransport | FileTransport


def mail_provider(config) -> str:
    """MAIL_PROVIDER, or, when it is not set, smtp with a MAIL_SERVER and file without."""
    chosen = str(config.get("MAIL_PROVIDER") or "").strip().lower()
    return chosen or ("smtp" if config["MAIL_SERVER"] else "file")


def _check_retries_fit_idempotency_window(config) -> None:
    """Refuse retry settings under which an email could still be tried after Resend has forgotten
    its key (every wait at its longest, every claim lapsing), since that try could send a copy."""
    attempts = int(config["OUTBOX_MAX_ATTEMPTS"])
    longest = (attempts - 1) * float(config["OUTBOX_RETRY_MAX_SECONDS"]) + attempts * float(config["OUTBOX_LEASE_SECONDS"])
    if longest >= RESEND_IDEMPOTENCY_HOURS * 3600:
        raise MailConfigurationError(
            f"With MAIL_PROVIDER=resend, an email's attempts must fit in Resend's {RESEND_IDEMPOTENCY_HOURS} hours: "
            f"OUTBOX_MAX_ATTEMPTS, OUTBOX_RETRY_MAX_SECONDS and OUTBOX_LEASE_SECONDS allow {longest / 3600:.0f} hours."
        )


def transport_from_config(config) -> Transport:
    """The transport MAIL_PROVIDER chooses, refusing an unknown provider or a missing setting."""
    provider = mail_provider(config)
    if provider not in PROVIDERS:
        raise MailConfigurationError(f"MAIL_PROVIDER is {provider!r}; it must be one of {', '.join(PROVIDERS)}.")
    if provider == "file":
        return FileTransport(Path(config["MAIL_FILE_DIR"]))
    if provider == "resend":
        missing = [name for name in ("RESEND_API_KEY", "RESEND_BASE_URL") if not str(config.get(name) or "").strip()]
        if missing:
            raise MailConfigurationError(f"MAIL_PROVIDER is resend, but {' and '.join(missing)} {'is' if len(missing) == 1 else 'are'} not set.")
        _check_retries_fit_idempotency_window(config)
        return ResendTransport(config["RESEND_API_KEY"].strip(), config["RESEND_BASE_URL"].strip(), float(config["MAIL_TIMEOUT"]))
    if not config["MAIL_SERVER"]:
        raise MailConfigurationError("MAIL_PROVIDER is smtp, but MAIL_SERVER is not set.")
    return SMTPTransport(
        host=config["MAIL_SERVER"],
        port=int(config["MAIL_PORT"]),
        use_starttls=bool(config["MAIL_USE_TLS"]),
        use_ssl=bool(config["MAIL_USE_SSL"]),
        username=config["MAIL_USERNAME"],
        password=config["MAIL_PASSWORD"],
        timeout=float(config["MAIL_TIMEOUT"]),
        ca_file=config["MAIL_CA_FILE"],
    )
