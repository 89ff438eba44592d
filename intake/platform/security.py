"""Security headers on every response, and the settings production refuses to start without."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from flask import Flask, abort, current_app, request

# Our own files only: no inline script or style, no third-party origins, never framed.
CONTENT_SECURITY_POLICY = "; ".join([
    "default-src 'self'",
    "script-src 'self'",
    "style-src 'self'",
    "img-src 'self' data:",
    "font-src 'self'",
    "connect-src 'self'",
    "form-action 'self'",
    "frame-ancestors 'none'",
    "base-uri 'none'",
    "object-src 'none'",
])
PERMISSIONS_POLICY = "camera=(), microphone=(), geolocation=(), payment=(), usb=(), interest-cohort=()"
HSTS = "max-age=31536000; includeSubDomains"
SECURITY_HEADERS = (
    ("Content-Security-Policy", CONTENT_SECURITY_POLICY),
    ("X-Content-Type-Options", "nosniff"),
    ("X-Frame-Options", "DENY"),
    ("Referrer-Policy", "same-origin"),
    ("Permissions-Policy", PERMISSIONS_POLICY),
)
HTTPS_HEADERS = (("Strict-Transport-Security", HSTS),)
MINIMUM_SECRET_LENGTH = 32
# A text box people never see (hidden by the stylesheet and from screen readers) but form-filling
# robots do: anything typed in it marks the post as automated. The name avoids words browsers autofill.
HONEYPOT_FIELD = "extra_reference_code"


class UnsafeConfiguration(RuntimeError):
    """Production was asked to start with a setting that would put patients' data at risk."""


def check_production_settings(app: Flask) -> None:
    """In production, refuse debug mode, a missing or weak secret key and per-process rate limits,
    and insist on secure cookies."""
    if app.config["ENVIRONMENT"] != "production":
        return
    if app.debug or app.config.get("DEBUG"):
        raise UnsafeConfiguration("Debug mode must be off in production.")
    if not app.config.get("SECRET_KEY_FROM_ENVIRONMENT") or len(app.config["SECRET_KEY"]) < MINIMUM_SECRET_LENGTH:
        raise UnsafeConfiguration(f"Set SECRET_KEY to a random value of at least {MINIMUM_SECRET_LENGTH} characters in production.")
    _check_shared_limit_storage(app.config)
    app.config["SESSION_COOKIE_SECURE"] = True


def _check_shared_limit_storage(config: Mapping[str, Any]) -> None:
    """Refuse per-process rate-limit storage when more than one process may serve.

    memory:// counts in each process, so N gunicorn workers let N times the limit through (two
    workers: 40 of "20 per hour", 10 sign-in guesses instead of 5). The app cannot see how many
    workers gunicorn started (WEB_CONCURRENCY unset means one per core plus one, and more servers
    may stand behind the balancer), so production is taken to be multi-process unless
    SINGLE_PROCESS=1 says otherwise.
    """
    if config["RATELIMIT_STORAGE_URI"].startswith("memory://") and not config["SINGLE_PROCESS"]:
        raise UnsafeConfiguration(
            "RATELIMIT_STORAGE_URI is memory://, which counts rate limits separately in each worker process, "
            "so several gunicorn workers would let several times the limits through. "
            "Set RATELIMIT_STORAGE_URI=redis://host:6379/0 (shared by every worker), "
            "or SINGLE_PROCESS=1 if exactly one process serves the app."
        )


def add_security_headers(app: Flask) -> None:
    """Send the security headers with every response, pages, files and errors alike."""

    @app.after_request
    def security_headers(response):
        headers = response.headers
        present = {name.lower() for name in headers.keys()}  # one pass, not one per header
        for name, value in (*SECURITY_HEADERS, *(HTTPS_HEADERS if request.is_secure else ())):
            if name.lower() not in present:
                headers.add(name, value)
        return response


def refuse_nul_in_addresses(app: Flask) -> None:
    """Refuse a web address whose path or query string holds a NUL character: no link of ours has
    one, and PostgreSQL cannot compare text with it, so it must never reach a query."""

    @app.before_request
    def nul_check():
        if "\x00" in request.path or (
            request.query_string and any("\x00" in key + value for key, value in request.args.items(multi=True))
        ):
            abort(400)


def refuse_robot_posts(app: Flask) -> None:
    """Turn away any form post that filled in the hidden honeypot box, before it can store anything."""

    @app.before_request
    def honeypot_check():
        if request.method == "POST" and request.form.get(HONEYPOT_FIELD):
            current_app.logger.warning("Form post to %s refused: the hidden honeypot field was filled in", request.path)
            abort(422)

    app.add_template_global(HONEYPOT_FIELD, "honeypot_field")
