"""Running the outbox worker: from the CLI, or in the background right after a request."""

from __future__ import annotations

import logging
import os
import socket
import threading
from concurrent.futures import Future, ThreadPoolExecutor
from datetime import datetime

from flask import Flask

from intake.platform.extensions import db
from intake.platform.logsafe import redacted_traceback
from intake.mail.delivery import DeliveryReport, RetryPolicy, deliver_pending
from intake.mail.sms import sms_transport_from_config
from intake.mail.transport import transport_from_config
from intake.platform.timeutil import utcnow

log = logging.getLogger(__name__)
_executors: dict[int, ThreadPoolExecutor] = {}
_executor_lock = threading.Lock()


def worker_name() -> str:
    """Identify this process in claims, so a stuck claim can be traced."""
    return f"{socket.gethostname()}:{os.getpid()}:{threading.get_ident()}"[:100]


def send_due_messages(config, only_ids=None, limit: int = 50, due_by: datetime | None = None) -> DeliveryReport:
    """Send one batch of due messages with the app's settings (`config`), in its app context."""
    return deliver_pending(
        transport_from_config(config),
        sms_transport=sms_transport_from_config(config),
        sender=config["MAIL_DEFAULT_SENDER"],
        reply_to=config["MAIL_REPLY_TO"],
        policy=RetryPolicy.from_config(config),
        worker_id=worker_name(),
        limit=limit,
        only_ids=only_ids,
        due_by=due_by,
    )


def send_pass(config) -> DeliveryReport:
    """Try every message that is due now, each at most once (a failure waits for its backoff)."""
    started = utcnow()
    total = DeliveryReport()
    while True:
        report = send_due_messages(config, due_by=started)
        if not report.handled:
            return total
        total.sent += report.sent
        total.retrying += report.retrying
        total.dead += report.dead


def _executor() -> ThreadPoolExecutor:
    """One background sender thread per process (created after a fork, never shared across one)."""
    with _executor_lock:
        executor = _executors.get(os.getpid())
        if executor is None:
            executor = _executors[os.getpid()] = ThreadPoolExecutor(max_workers=1, thread_name_prefix="outbox")
        return executor


class BackgroundSender:
    """Tries an app's new messages straight after their commit, off the request thread.

    Made once per app (`intake.mail.init_app`), so it holds the app itself for the
    background thread's app context.
    """

    def __init__(self, app: Flask) -> None:
        self.app = app
        self.futures: list[Future] = []

    def _send(self, message_ids: list[int]) -> None:
        with self.app.app_context():
            try:
                send_due_messages(self.app.config, only_ids=message_ids)
            except Exception as error:  # the worker will pick the messages up later; never lose the error
                log.error("Background email delivery failed; the outbox worker will retry\n%s", redacted_traceback(error))
            finally:
                db.session.remove()

    def send_after_commit(self, message_ids: list[int]) -> Future | None:
        """Try the new messages now, in the background, once they are committed."""
        if not message_ids or not self.app.config["OUTBOX_SEND_AFTER_REQUEST"]:
            return None
        future = _executor().submit(self._send, list(message_ids))
        self.futures = [*(earlier for earlier in self.futures if not earlier.done()), future]
        return future

    def wait(self, timeout: float = 30) -> None:
        """Wait until the background sends started so far have finished (for tests and shutdown)."""
        futures, self.futures = self.futures, []
        for future in futures:
            future.result(timeout=timeout)


def background_sender(app: Flask) -> BackgroundSender:
    """The app's background sender (made by `intake.mail.init_app`)."""
    return app.extensions["outbox_sender"]


def wait_for_background_sends(app: Flask, timeout: float = 30) -> None:
    """Wait until the background sends started by this app have finished (for tests and shutdown)."""
    background_sender(app).wait(timeout)
