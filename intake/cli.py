"""Flask commands for running the service (`flask drafts purge`, ...)."""

import click
from flask import Flask
from flask.cli import AppGroup

from intake.booking.services import purge_expired_drafts
from intake.extensions import db
from intake.timeutil import utcnow

drafts_cli = AppGroup("drafts", help="Manage patients' unfinished requests.")


@drafts_cli.command("purge")
def purge_drafts() -> None:
    """Delete drafts that have expired (run from cron, e.g. hourly)."""
    removed = purge_expired_drafts(utcnow())
    db.session.commit()
    click.echo(f"Purged {removed} expired draft(s).")


def register_commands(app: Flask) -> None:
    """Attach the command groups to the app."""
    app.cli.add_command(drafts_cli)
