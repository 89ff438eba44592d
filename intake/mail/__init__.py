"""Email: an outbox written in the same transaction as the request, delivered by a worker with retries."""

from __future__ import annotations

import logging
from pathlib import Path

from flask import Flask

log = logging.getLogger(__name__)


def init_app(app: Flask) -> None:
    """Give the app its background sender, and say where emails go when there is no mail server."""
    from intake.mail.outbox import BackgroundSender

    app.extensions["outbox_sender"] = BackgroundSender(app)
    if not app.config["MAIL_SERVER"]:
        log.warning("No MAIL_SERVER is set: emails are written as .eml files to %s", Path(app.config["MAIL_FILE_DIR"]).resolve())
