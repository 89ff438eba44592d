"""Email and texts: an outbox written in the same transaction as the request, delivered by a worker with retries."""

from __future__ import annotations

import logging
from pathlib import Path

from flask import Flask

log = logging.getLogger(__name__)
sms_log = logging.getLogger(f"{__name__}.sms")


def init_app(app: Flask) -> None:
    """Give the app its background sender, say where emails go when there is no mail server, and
    check the text provider's settings, saying where texts go."""
    from intake.mail.outbox import BackgroundSender
    from intake.mail.sms import FileSmsTransport, sms_transport_from_config

    app.extensions["outbox_sender"] = BackgroundSender(app)
    if not app.config["MAIL_SERVER"]:
        log.warning("No MAIL_SERVER is set: emails are written as .eml files to %s", Path(app.config["MAIL_FILE_DIR"]).resolve())
    texts = sms_transport_from_config(app.config)  # refuses to start with a provider's setting missing
    production = app.config["ENVIRONMENT"] == "production"
    level = logging.WARNING if production or isinstance(texts, FileSmsTransport) else logging.INFO
    sms_log.log(level, "SMS_PROVIDER is %s: %s", app.config["SMS_PROVIDER"], texts.describe())
