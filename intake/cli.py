"""Flask commands for running the service (`flask drafts purge`, ...)."""

import signal
import threading

import click
from flask import Flask, current_app
from flask.cli import AppGroup

from intake.booking.services import purge_expired_drafts
from intake.extensions import db
from intake.mail.outbox import send_pass
from intake.timeutil import utcnow

drafts_cli = AppGroup("drafts", help="Manage patients' unfinished requests.")


@drafts_cli.command("purge")
def purge_drafts() -> None:
    """Delete drafts that have expired (run from cron, e.g. hourly)."""
    removed = purge_expired_drafts(utcnow())
    db.session.commit()
    click.echo(f"Purged {removed} expired draft(s).")


outbox_cli = AppGroup("outbox", help="Deliver the emails waiting in the outbox.")


@outbox_cli.command("send")
@click.option("--loop", is_flag=True, help="Keep running, checking for due emails every OUTBOX_POLL_SECONDS.")
@click.option("--max-passes", type=int, default=0, hidden=True, help="Stop after this many passes (for tests).")
def send_outbox(loop: bool, max_passes: int) -> None:
    """Send every email that is due (once, for cron; or as a long-running worker with --loop)."""
    stop = threading.Event()
    if loop:
        for signal_number in (signal.SIGTERM, signal.SIGINT):
            signal.signal(signal_number, lambda *_: stop.set())
    passes = 0
    while True:
        report = send_pass()
        if report.handled:
            click.echo(f"Sent {len(report.sent)}, retrying {len(report.retrying)}, dead {len(report.dead)}.")
        passes += 1
        db.session.remove()
        if not loop or stop.is_set() or (max_passes and passes >= max_passes):
            break
        stop.wait(current_app.config["OUTBOX_POLL_SECONDS"])
    click.echo("Outbox: nothing more is due.")


def register_commands(app: Flask) -> None:
    """Attach the command groups to the app."""
    app.cli.add_command(drafts_cli)
    app.cli.add_command(outbox_cli)
