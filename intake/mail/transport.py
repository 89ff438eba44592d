"""Ways to hand a message over: SMTP (with timeouts and verified TLS), or .eml files when no server is set."""

from __future__ import annotations

import logging
import re
import smtplib
import ssl
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

log = logging.getLogger(__name__)

SendOne = Callable[[str, str, bytes], None]
UNSAFE_FILENAME = re.compile(r"[^A-Za-z0-9._-]+")


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

            def send(sender: str, recipient: str, data: bytes) -> None:
                connection.sendmail(sender, [recipient], data)

            yield send
        finally:
            try:
                connection.quit()
            except (smtplib.SMTPException, OSError):
                connection.close()


@dataclass(frozen=True)
class FileTransport:
    """Write each message as an .eml file, so the app works fully with no mail server."""

    directory: Path

    @contextmanager
    def session(self) -> Iterator[SendOne]:
        self.directory.mkdir(parents=True, exist_ok=True)

        def send(sender: str, recipient: str, data: bytes) -> None:
            message_id = re.search(rb"^Message-ID:\s*<([^>]+)>", data, re.MULTILINE | re.IGNORECASE)
            stem = UNSAFE_FILENAME.sub("_", message_id.group(1).decode("ascii", "replace")) if message_id else "message"
            path = self.directory / f"{stem}.eml"
            path.write_bytes(data)
            log.info("Email written to %s", path)

        yield send


Transport = SMTPTransport | FileTransport


def transport_from_config(config) -> Transport:
    """Choose SMTP when MAIL_SERVER is set, otherwise .eml files under MAIL_FILE_DIR."""
    if not config["MAIL_SERVER"]:
        return FileTransport(Path(config["MAIL_FILE_DIR"]))
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
