"""Flask commands for running the service (`flask drafts purge`, ...)."""

import signal
import threading
from datetime import datetime, timedelta, timezone

import click
from flask import Flask, current_app
from flask.cli import AppGroup
from sqlalchemy import inspect

from intake.appointments.demo import seed_demo_clinic
from intake.reminders.queue import ReminderSettings, queue_due_reminders
from intake.waitlist.services import WaitlistRules, offer_again
from intake.journey.services import purge_expired_drafts
from intake.mail.notifications import MailSettings
from intake.mail.outbox import send_pass
from intake.platform.extensions import db
from intake.platform.timeutil import utcnow
from intake.staff import accounts, retention, two_factor
from intake.staff.errors import StaffError
from intake.staff.models import ROLES, StaffUser

drafts_cli = AppGroup("drafts", help="Manage patients' unfinished requests.")


@drafts_cli.command("purge")
def purge_drafts() -> None:
    """Delete drafts that have expired (run from cron, e.g. hourly)."""
    removed = purge_expired_drafts(utcnow())
    db.session.commit()
    click.echo(f"Purged {removed} expired draft(s).")


outbox_cli = AppGroup("outbox", help="Deliver the emails and texts waiting in the outbox.")


@outbox_cli.command("send")
@click.option("--loop", is_flag=True, help="Keep running, checking for due emails every OUTBOX_POLL_SECONDS.")
@click.option("--max-passes", type=int, default=0, hidden=True, help="Stop after this many passes (for tests).")
def send_outbox(loop: bool, max_passes: int) -> None:
    """Send every email and text that is due (once, for cron; or as a long-running worker with --loop),
    first queueing the reminders coming due and offering again the waitlist's times whose offers
    all ended untaken (every REMINDER_SCAN_SECONDS)."""
    stop = threading.Event()
    if loop:
        for signal_number in (signal.SIGTERM, signal.SIGINT):
            signal.signal(signal_number, lambda *_: stop.set())
    passes, scanned_at = 0, None
    while True:
        if scanned_at is None or utcnow() - scanned_at >= timedelta(seconds=current_app.config["REMINDER_SCAN_SECONDS"]):
            scanned_at = utcnow()
            _queue_reminders(scanned_at)
            _offer_times_again(scanned_at)
        report = send_pass(current_app.config)
        if report.handled:
            click.echo(f"Sent {len(report.sent)}, retrying {len(report.retrying)}, dead {len(report.dead)}.")
        passes += 1
        db.session.remove()
        if not loop or stop.is_set() or (max_passes and passes >= max_passes):
            break
        stop.wait(current_app.config["OUTBOX_POLL_SECONDS"])
    click.echo("Outbox: nothing more is due.")


def _queue_reminders(now: datetime) -> int:
    queued = queue_due_reminders(
        now, settings=ReminderSettings.from_config(current_app.config), mail=MailSettings.from_config(current_app.config),
        sites=current_app.config["CLINIC_SITES"],
    )
    if queued:
        click.echo(f"Queued {queued} reminder(s).")
    return queued


def _offer_times_again(now: datetime) -> None:
    offered = offer_again(WaitlistRules.from_config(current_app.config), now)
    db.session.commit()
    if offered:
        click.echo(f"Offered {len(offered)} time(s) again to those waiting.")


reminders_cli = AppGroup("reminders", help="Appointment reminders.")


@reminders_cli.command("queue")
@click.option("--now", "now_text", default=None, hidden=True, help="Act as if it were this time (ISO 8601), for trials.")
def queue_reminders(now_text: str | None) -> None:
    """Queue the reminders coming due (the outbox worker does this every REMINDER_SCAN_SECONDS;
    run this from cron instead when the worker runs from cron too)."""
    _require_tables()
    _queue_reminders(_as_utc(now_text) if now_text else utcnow())
    click.echo("Reminders: every one due is queued.")


staff_cli = AppGroup("staff", help="Manage back-office accounts.")
UNMIGRATED = "the database has no tables yet: run `flask db upgrade` (or `make run`) first"


def _require_tables() -> None:
    """Stop with a clear message, not a traceback, when the database has not been migrated."""
    if not inspect(db.engine).has_table(StaffUser.__tablename__):
        raise click.ClickException(UNMIGRATED)


def _account(email: str) -> StaffUser:
    _require_tables()
    user = accounts.find_staff(email)
    if user is None:
        raise click.ClickException(f"No staff account for {email}.")
    return user


def _new_password() -> str:
    return click.prompt("Password", hide_input=True, confirmation_prompt="Type the password again")


@staff_cli.command("create")
@click.argument("email")
@click.option("--name", required=True, help="The person's name, as shown to colleagues.")
@click.option("--role", required=True, type=click.Choice(ROLES), help="What they may do.")
def create_staff(email: str, name: str, role: str) -> None:
    """Create a staff account (asks twice for the password, without showing it)."""
    _require_tables()
    try:
        accounts.create_staff(email, name, role, _new_password())
    except StaffError as error:
        raise click.ClickException(str(error)) from error
    db.session.commit()
    click.echo(f"Created {role} account for {accounts.normalise_email(email)}.")


@staff_cli.command("disable")
@click.argument("email")
def disable_staff(email: str) -> None:
    """Stop an account signing in, and end its sessions now."""
    accounts.disable_staff(_account(email))
    db.session.commit()
    click.echo(f"Disabled {accounts.normalise_email(email)}; their sessions have ended.")


@staff_cli.command("set-password")
@click.argument("email")
def set_staff_password(email: str) -> None:
    """Set a new password for an account (asks twice, hidden)."""
    user = _account(email)
    try:
        accounts.set_password(user, _new_password())
    except StaffError as error:
        raise click.ClickException(str(error)) from error
    db.session.commit()
    click.echo(f"Password changed for {user.email}.")


@staff_cli.command("reset-2fa")
@click.argument("email")
@click.option("--by", "admin_email", required=True, help="The email of the admin making the reset (written to the audit log).")
@click.option("--reason", required=True, help="Why, in a few words: kept in the audit log (up to 200 characters).")
def reset_two_factor(email: str, admin_email: str, reason: str) -> None:
    """Remove an account's two-step sign-in (authenticator and recovery codes) and end its sessions,
    for someone who lost their phone and their codes. They set it up again at their next sign-in."""
    user = _account(email)
    admin = accounts.find_staff(admin_email)
    if admin is None:
        raise click.ClickException(f"No staff account for {admin_email} (--by must name an admin).")
    try:
        two_factor.reset(user, admin, reason, utcnow())
    except StaffError as error:
        raise click.ClickException(str(error)) from error
    db.session.commit()
    click.echo(f"Two-step sign-in reset for {user.email} by {admin.email}; their sessions have ended.")


retention_cli = AppGroup("retention", help="Keep patients' data only as long as the clinic needs it.")


def _as_utc(text: str) -> datetime:
    """A time given on the command line (ISO 8601; UTC unless it says otherwise)."""
    try:
        moment = datetime.fromisoformat(text)
    except ValueError as error:
        raise click.BadParameter("give a time like 2026-11-30T06:00:00") from error
    return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)


@retention_cli.command("purge")
@click.option("--dry-run", is_flag=True, help="Count what would be removed, and change nothing.")
@click.option("--batch-size", type=click.IntRange(1, 10_000), default=retention.BATCH_SIZE, show_default=True,
              help="Rows changed per transaction.")
@click.option("--now", "now_text", hidden=True, help="Purge as at this time instead of now (for tests).")
def purge_retention(dry_run: bool, batch_size: int, now_text: str | None) -> None:
    """Anonymise requests never booked after RETENTION_MONTHS, remove sent emails' bodies after
    MESSAGE_BODY_RETENTION_DAYS, and delete expired drafts (run from cron, e.g. nightly). The
    audit log is never touched. Safe to stop and run again."""
    _require_tables()
    now = _as_utc(now_text) if now_text else utcnow()
    config = current_app.config
    policy = retention.Policy(config["RETENTION_MONTHS"], config["MESSAGE_BODY_RETENTION_DAYS"])
    counts = retention.purge(now, policy, dry_run=dry_run, batch_size=batch_size)
    click.echo(f"Retention purge{' (dry run: nothing was changed)' if dry_run else ''}: requests never booked and "
               f"unchanged for {policy.retention_months} months, email bodies sent over {policy.message_body_days} days ago.")
    for line in counts.lines():
        click.echo(f"  {line}")


clinic_cli = AppGroup("clinic", help="The clinic's diary (practitioners are set up at /staff/setup/).")


@clinic_cli.command("demo")
def demo_clinic() -> None:
    """Add a demo clinic (invented practitioners with weekly hours) to a diary that has no practitioners."""
    _require_tables()
    sites = [site.code for site in current_app.config["CLINIC_SITES"]]
    added = seed_demo_clinic(sites, current_app.config["APPOINTMENT_MINUTES"])
    db.session.commit()
    if added:
        click.echo(f"Demo clinic: added {added} practitioners with weekly hours at {', '.join(sites)}.")
    else:
        click.echo("Demo clinic: the diary already has practitioners, so nothing was added.")


def register_commands(app: Flask) -> None:
    """Attach the command groups to the app."""
    app.cli.add_command(clinic_cli)
    app.cli.add_command(drafts_cli)
    app.cli.add_command(outbox_cli)
    app.cli.add_command(reminders_cli)
    app.cli.add_command(retention_cli)
    app.cli.add_command(staff_cli)
