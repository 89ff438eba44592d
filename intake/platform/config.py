"""Settings read from the environment, with safe defaults for a single-machine install."""

from __future__ import annotations

import json
import os
import re
import secrets
import tempfile
from pathlib import Path

from intake.clinic.back_screen import load_wording
from intake.clinic.sites import Site, load_sites

BYTES_PER_KIB = 1024
# Signed cookies and form tokens are dated in whole seconds, and a draft's expiry is set a moment
# before its cookie is signed: both last this much longer than a draft, so neither runs out first.
DRAFT_MARGIN_SECONDS = 60
# Which staff must sign in with a second factor (an authenticator app's code) as well as a password.
STAFF_2FA_CHOICES = ("all", "admin", "off")


class InvalidSetting(ValueError):
    """A setting holds a value the app cannot run with; the message says which and what to set."""


def _env_int(name: str, default: int) -> int:
    """Read a whole number from the environment, falling back to the default."""
    raw = os.environ.get(name, "").strip()
    return int(raw) if raw else default


class SettingError(ValueError):
    """A setting in the environment that cannot be used; the message says which and what it needs."""


def _env_positive_int(name: str, default: int, unit: str, most: int) -> int:
    """Read a whole number from 1 to `most` from the environment, or refuse to start with a clear message."""
    raw = os.environ.get(name, "").strip()
    if not raw:
        return default
    if not re.fullmatch(r"[0-9]{1,9}", raw) or not 1 <= int(raw) <= most:
        raise SettingError(f"{name} must be a whole number of {unit} from 1 to {most} (it is {raw[:20]!r}).")
    return int(raw)


def _env_clock_time(name: str, default: str, *, may_be_off: bool = False) -> str:
    """Read a London wall-clock time ("HH:MM", 24-hour) from the environment, or "" for none
    where that is allowed ("off"), or refuse to start with a clear message."""
    raw = os.environ.get(name, "").strip().lower()
    if not raw:
        return default
    if may_be_off and raw in {"off", "none", "no"}:
        return ""
    if not re.fullmatch(r"([01][0-9]|2[0-3]):[0-5][0-9]", raw):
        off = ', or "off" for none' if may_be_off else ""
        raise SettingError(f"{name} must be a time of day as HH:MM, for example 10:00{off} (it is {raw[:20]!r}).")
    return raw


def _env_whole_number(name: str, default: int, unit: str, most: int) -> int:
    """Read a whole number from 0 to `most` from the environment, or refuse to start with a clear message."""
    raw = os.environ.get(name, "").strip()
    if not raw:
        return default
    if not re.fullmatch(r"[0-9]{1,9}", raw) or int(raw) > most:
        raise SettingError(f"{name} must be a whole number of {unit} from 0 to {most} (it is {raw[:20]!r}).")
    return int(raw)


def _env_bool(name: str, default: bool) -> bool:
    """Read a yes/no flag from the environment ("1", "true", "yes" mean yes)."""
    raw = os.environ.get(name, "").strip().lower()
    if not raw:
        return default
    return raw in {"1", "true", "yes", "on"}


def instance_secret_key(instance_path: Path) -> str:
    """Return the secret key kept in instance/, creating it (owner-only) on first run.

    The key is written to a private temporary file and linked into place, so several
    workers starting at once all end up with the same, complete key.
    """
    key_file = instance_path / "secret_key"
    if not key_file.exists():
        instance_path.mkdir(parents=True, exist_ok=True)
        descriptor, temporary = tempfile.mkstemp(dir=instance_path, prefix=".secret_key.")
        try:
            with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
                handle.write(secrets.token_hex(32))
            os.link(temporary, key_file)
        except FileExistsError:
            pass  # another process got there first: use its key
        finally:
            os.unlink(temporary)
    key = key_file.read_text(encoding="utf-8").strip()
    if not key:
        raise RuntimeError(f"{key_file} is empty: delete it, or set SECRET_KEY")
    return key


def _sites_from_environment() -> list[Site]:
    """Load clinic sites from CLINIC_SITES (inline JSON) or CLINIC_SITES_FILE, else the demo set."""
    inline = os.environ.get("CLINIC_SITES", "").strip()
    if inline:
        return load_sites(json.loads(inline))
    path = os.environ.get("CLINIC_SITES_FILE", "").strip()
    if path:
        return load_sites(json.loads(Path(path).read_text(encoding="utf-8")))
    return load_sites(None)


def build_config(instance_path: Path) -> dict[str, object]:
    """Collect every setting from the environment into a Flask config mapping."""
    default_database = f"sqlite:///{instance_path / 'intake.sqlite3'}"
    draft_minutes = _env_int("DRAFT_LIFETIME_MINUTES", 120)
    return {
        "ENVIRONMENT": os.environ.get("ENVIRONMENT", "development"),
        "SECRET_KEY": os.environ.get("SECRET_KEY") or instance_secret_key(instance_path),
        "SECRET_KEY_FROM_ENVIRONMENT": bool(os.environ.get("SECRET_KEY")),
        "SQLALCHEMY_DATABASE_URI": os.environ.get("DATABASE_URL") or default_database,
        # hide_parameters keeps patients' answers out of database error messages and logs. Pooled
        # connections are pinged only after sitting idle (intake.platform.database), not before every use.
        "SQLALCHEMY_ENGINE_OPTIONS": {"hide_parameters": True},
        "CLINIC_NAME": os.environ.get("CLINIC_NAME", "Demo Physiotherapy Clinic"),
        "CLINIC_PHONE": os.environ.get("CLINIC_PHONE", "020 7946 0000"),
        "CLINIC_EMAIL": os.environ.get("CLINIC_EMAIL", "reception@clinic.example"),
        "CLINIC_SITES": _sites_from_environment(),
        "CLINIC_BRAND_COLOUR": os.environ.get("CLINIC_BRAND_COLOUR", "#005a6a"),
        "CLINIC_LOGO": os.environ.get("CLINIC_LOGO", ""),
        "DRAFT_LIFETIME_MINUTES": draft_minutes,
        # The form token lives longer than a draft, so a patient who pauses mid-journey is not
        # caught out before their answers expire.
        "WTF_CSRF_TIME_LIMIT": draft_minutes * 60 + DRAFT_MARGIN_SECONDS,
        # A patient's cookie is signed again each time an answer is saved (the journey marks the
        # session modified), and lasts longer than the draft that answer renewed; looking at a
        # page sends no new cookie.
        "PERMANENT_SESSION_LIFETIME": draft_minutes * 60 + DRAFT_MARGIN_SECONDS,
        "SESSION_REFRESH_EACH_REQUEST": False,
        # The back-pain screen's wording: the shipped plain English, or a clinic's licensed copy.
        "BACK_SCREEN_WORDING": load_wording(os.environ.get("BACK_SCREEN_WORDING_FILE", "").strip() or None),
        "ARTICLES_FOLDER": os.environ.get("ARTICLES_FOLDER") or str(Path(__file__).resolve().parent.parent / "articles" / "content"),
        "MAX_CONTENT_LENGTH": _env_int("MAX_CONTENT_KIB", 64) * BYTES_PER_KIB,
        "MAX_FORM_MEMORY_SIZE": _env_int("MAX_CONTENT_KIB", 64) * BYTES_PER_KIB,
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SAMESITE": "Lax",
        "SESSION_COOKIE_SECURE": _env_bool("SESSION_COOKIE_SECURE", False),
        **_mail_config(instance_path),
        **_sms_config(instance_path),
        "STAFF_IDLE_MINUTES": _env_int("STAFF_IDLE_MINUTES", 30),
        "STAFF_PAGE_SIZE": _env_int("STAFF_PAGE_SIZE", 25),
        "STAFF_2FA_REQUIRED": os.environ.get("STAFF_2FA_REQUIRED", "admin").strip().lower() or "admin",
        # Always set: the limiter is shared by every app in a process and would otherwise keep
        # the last app's choice.
        "RATELIMIT_ENABLED": True,
        "RATELIMIT_STORAGE_URI": os.environ.get("RATELIMIT_STORAGE_URI", "memory://"),
        # Production assumes several processes serve (gunicorn's default is a worker per core plus
        # one); SINGLE_PROCESS=1 says only one does, so per-process limit storage is exact.
        "SINGLE_PROCESS": _env_bool("SINGLE_PROCESS", False),
        # No X-RateLimit-* headers on every limited page: they cost a read of the counter each
        # time and tell a robot exactly how far it can go. A refusal still says when to retry.
        "RATELIMIT_HEADERS_ENABLED": False,
        "LOGIN_LIMIT_PER_ADDRESS": os.environ.get("LOGIN_LIMIT_PER_ADDRESS", "20 per 15 minutes"),
        # Failed sign-ins for one account from one address; and, only as a ceiling on guessing from
        # many addresses, for one account from anywhere (large, so strangers cannot lock staff out).
        "LOGIN_LIMIT_PER_ACCOUNT": os.environ.get("LOGIN_LIMIT_PER_ACCOUNT", "5 per 15 minutes"),
        "LOGIN_LIMIT_PER_ACCOUNT_ANYWHERE": os.environ.get("LOGIN_LIMIT_PER_ACCOUNT_ANYWHERE", "100 per hour"),
        "APPOINTMENT_MINUTES": _env_int("APPOINTMENT_MINUTES", 45),
        # How long requests that never became an appointment are kept, and sent emails' bodies
        # (`flask retention purge`).
        "RETENTION_MONTHS": _env_positive_int("RETENTION_MONTHS", 24, "months", 1200),
        "MESSAGE_BODY_RETENTION_DAYS": _env_positive_int("MESSAGE_BODY_RETENTION_DAYS", 30, "days", 36500),
        "SUBMIT_LIMIT_PER_ADDRESS": os.environ.get("SUBMIT_LIMIT_PER_ADDRESS", "20 per hour"),
        "START_LIMIT_PER_ADDRESS": os.environ.get("START_LIMIT_PER_ADDRESS", "60 per hour"),
        "EMAIL_ACTION_LIMIT": os.environ.get("EMAIL_ACTION_LIMIT", "120 per hour"),
        # Patients' manage links: moved or cancelled online up to this many hours before; a link
        # that opens nothing counts against its address (guessing), up to this limit.
        "MANAGE_CUTOFF_HOURS": _env_int("MANAGE_CUTOFF_HOURS", 24),
        "MANAGE_LINK_LIMIT_PER_ADDRESS": os.environ.get("MANAGE_LINK_LIMIT_PER_ADDRESS", "20 per hour"),
        # Reminders, in London time: REMINDER_DAYS_BEFORE days before at REMINDER_AT by the
        # patient's channel (0 days: none), and a text on the day at REMINDER_MORNING_TEXT_AT
        # for those who chose texts ("off": none). The outbox worker looks for reminders coming
        # due every REMINDER_SCAN_SECONDS and queues those due in the next REMINDER_LOOKAHEAD_MINUTES.
        "REMINDER_DAYS_BEFORE": _env_whole_number("REMINDER_DAYS_BEFORE", 2, "days", 14),
        "REMINDER_AT": _env_clock_time("REMINDER_AT", "10:00"),
        "REMINDER_MORNING_TEXT_AT": _env_clock_time("REMINDER_MORNING_TEXT_AT", "07:30", may_be_off=True),
        "REMINDER_SCAN_SECONDS": _env_positive_int("REMINDER_SCAN_SECONDS", 60, "seconds", 3600),
        "REMINDER_LOOKAHEAD_MINUTES": _env_positive_int("REMINDER_LOOKAHEAD_MINUTES", 15, "minutes", 240),
        # The waitlist: an offer of a freed time stands this many hours; a time closer than the
        # notice is offered to nobody; one time goes to at most this many waiting patients at once.
        "WAITLIST_OFFER_HOURS": _env_positive_int("WAITLIST_OFFER_HOURS", 2, "hours", 168),
        "WAITLIST_NOTICE_HOURS": _env_positive_int("WAITLIST_NOTICE_HOURS", 3, "hours", 168),
        "WAITLIST_OFFERS_PER_TIME": _env_positive_int("WAITLIST_OFFERS_PER_TIME", 5, "patients", 100),
        # How many proxies in front of the app set X-Forwarded-For (0: trust none).
        "TRUSTED_PROXIES": _env_int("TRUSTED_PROXIES", 0),
    }


def check_settings(config: dict[str, object]) -> None:
    """Refuse to start with a setting that has no meaning, saying which one and what it may be."""
    required = config["STAFF_2FA_REQUIRED"]
    if required not in STAFF_2FA_CHOICES:
        raise InvalidSetting(
            f"STAFF_2FA_REQUIRED is {required!r}: set it to one of {', '.join(STAFF_2FA_CHOICES)} "
            "(all: every member of staff signs in with a code; admin: admins must, others may; off: nobody must)."
        )


def _sms_config(instance_path: Path) -> dict[str, object]:
    """Text settings: SMS_PROVIDER is file (texts written to instance/sms/), notify or twilio."""
    return {
        "SMS_PROVIDER": os.environ.get("SMS_PROVIDER", "file").strip().lower() or "file",
        "SMS_FILE_DIR": os.environ.get("SMS_FILE_DIR") or str(instance_path / "sms"),
        "SMS_TIMEOUT_SECONDS": _env_int("SMS_TIMEOUT_SECONDS", 10),
        "NOTIFY_API_KEY": os.environ.get("NOTIFY_API_KEY", ""),
        "NOTIFY_SMS_TEMPLATE_ID": os.environ.get("NOTIFY_SMS_TEMPLATE_ID", ""),
        "NOTIFY_BASE_URL": os.environ.get("NOTIFY_BASE_URL", "https://api.notifications.service.gov.uk"),
        "TWILIO_ACCOUNT_SID": os.environ.get("TWILIO_ACCOUNT_SID", ""),
        "TWILIO_AUTH_TOKEN": os.environ.get("TWILIO_AUTH_TOKEN", ""),
        "TWILIO_FROM_NUMBER": os.environ.get("TWILIO_FROM_NUMBER", ""),
        "TWILIO_BASE_URL": os.environ.get("TWILIO_BASE_URL", "https://api.twilio.com"),
    }


def _mail_config(instance_path: Path) -> dict[str, object]:
    """Mail delivery and outbox settings: MAIL_PROVIDER is smtp, resend or file (instance/mail/);
    unset, it is smtp with a MAIL_SERVER and file without."""
    clinic_name = os.environ.get("CLINIC_NAME", "Demo Physiotherapy Clinic")
    return {
        "MAIL_PROVIDER": os.environ.get("MAIL_PROVIDER", "").strip().lower(),
        "RESEND_API_KEY": os.environ.get("RESEND_API_KEY", ""),
        "RESEND_BASE_URL": os.environ.get("RESEND_BASE_URL", "https://api.resend.com"),
        "MAIL_SERVER": os.environ.get("MAIL_SERVER", "").strip(),
        "MAIL_PORT": _env_int("MAIL_PORT", 587),
        "MAIL_USE_TLS": _env_bool("MAIL_USE_TLS", True),
        "MAIL_USE_SSL": _env_bool("MAIL_USE_SSL", False),
        "MAIL_USERNAME": os.environ.get("MAIL_USERNAME", ""),
        "MAIL_PASSWORD": os.environ.get("MAIL_PASSWORD", ""),
        "MAIL_TIMEOUT": _env_int("MAIL_TIMEOUT_SECONDS", 10),
        "MAIL_CA_FILE": os.environ.get("MAIL_CA_FILE", ""),
        "MAIL_FILE_DIR": os.environ.get("MAIL_FILE_DIR") or str(instance_path / "mail"),
        "MAIL_DEFAULT_SENDER": os.environ.get("MAIL_DEFAULT_SENDER", f"{clinic_name} <no-reply@clinic.example>"),
        "MAIL_REPLY_TO": os.environ.get("MAIL_REPLY_TO", os.environ.get("CLINIC_EMAIL", "reception@clinic.example")),
        "MAIL_CLINIC_SYMPTOM_SUMMARY": _env_bool("MAIL_CLINIC_SYMPTOM_SUMMARY", False),
        "MAIL_CLINIC_URGENCY_REASONS": _env_bool("MAIL_CLINIC_URGENCY_REASONS", False),
        "MAIL_ACKNOWLEDGEMENTS_PER_ADDRESS_PER_DAY": _env_int("MAIL_ACKNOWLEDGEMENTS_PER_ADDRESS_PER_DAY", 3),
        "PUBLIC_BASE_URL": os.environ.get("PUBLIC_BASE_URL", "http://127.0.0.1:5000"),
        "OUTBOX_SEND_AFTER_REQUEST": _env_bool("OUTBOX_SEND_AFTER_REQUEST", True),
        "OUTBOX_MAX_ATTEMPTS": _env_int("OUTBOX_MAX_ATTEMPTS", 8),
        "OUTBOX_RETRY_BASE_SECONDS": _env_int("OUTBOX_RETRY_BASE_SECONDS", 30),
        "OUTBOX_RETRY_MAX_SECONDS": _env_int("OUTBOX_RETRY_MAX_SECONDS", 3600),
        "OUTBOX_LEASE_SECONDS": _env_int("OUTBOX_LEASE_SECONDS", 300),
        "OUTBOX_POLL_SECONDS": _env_int("OUTBOX_POLL_SECONDS", 10),
    }
