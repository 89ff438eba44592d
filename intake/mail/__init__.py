"""Email and texts: an outbox written in the same transaction as the request, delivered by a worker with retries."""

from __future__ import annotations

import logging

from flask import Flask

log = logging.getLogger(__name__)
sms_log = logging.getLogger(f"{__name__}.sms")


def init_app(app: Flask) -> None:
    """Give the app its background sender, and check the mail and text providers' settings,
    saying where emails go when no provider is set and where texts go."""
    from intake.mail.outbox import BackgroundSender
    from intake.mail.sms import FileSmsTransport, sms_transport_from_config
    from intake.mail.transport import FileTransport, mail_provider, transport_from_config

    app.extensions["outbox_sender"] = BackgroundSender(app)
    emails = transport_from_config(app.config)  # refuses to start with a provider's setting missing
    if isinstance(emails, FileTransport):
        log.warning("No MAIL_SERVER or MAIL_PROVIDER is set: %s", emails.describe())
    else:
        log.info("MAIL_PROVIDER is %s: %s", mail_provider(app.config), emails.describe())
    texts = sms_transport_from_config(app.config)  # refuses to start with a provider's setting missing
    production = app.config["ENVIRONMENT"] == "production"
    level = logging.WARNING if production or isinstance(texts, FileSmsTransport) else logging.INFO
    sms_log.log(level, "SMS_PROVIDER is %s: %s", app.config["SMS_PROVIDER"], texts.describe())
