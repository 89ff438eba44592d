"""Outbox workers racing each other: threads that start together and send until nothing is due."""

from __future__ import annotations

import threading

from intake.mail.outbox import send_due_messages
from intake.platform.extensions import db


def race_outbox_workers(app, workers: int = 2, limit: int = 5) -> list[BaseException]:
    """Run `workers` outbox workers at once, each claiming `limit` messages a batch until none is
    due; return the errors they raised (none, when all is well)."""
    barrier = threading.Barrier(workers)
    errors: list[BaseException] = []

    def worker() -> None:
        with app.app_context():
            try:
                barrier.wait()
                while send_due_messages(app.config, limit=limit).handled:
                    pass
            except BaseException as error:  # noqa: BLE001 - reported to the caller
                errors.append(error)
            finally:
                db.session.remove()

    threads = [threading.Thread(target=worker) for _ in range(workers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    return errors
