"""Patient intake and booking for physiotherapy clinics."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from flask import Flask, render_template, request
from flask.logging import default_handler
from flask_wtf.csrf import CSRFError
from sqlalchemy.exc import DisconnectionError, InterfaceError, OperationalError, SQLAlchemyError
from sqlalchemy.exc import TimeoutError as PoolTimeoutError
from werkzeug.exceptions import HTTPException
from werkzeug.middleware.proxy_fix import ProxyFix

from intake.clinic import vocabulary
from intake.platform.config import build_config, check_settings
from intake.platform.database import configure_engines
from intake.platform.page_cache import KeptFragments, PageCache
from intake.platform.logsafe import escape_controls_in, keep_query_strings_out_of_access_logs, redacted_traceback
from intake.platform.security import (
    add_security_headers, check_production_settings, refuse_nul_in_addresses, refuse_robot_posts,
)
from intake.platform.extensions import csrf, db, limiter, login_manager, mailer, migrate

PROJECT_ROOT = Path(__file__).resolve().parent.parent
# The database could not be reached (server down, connection dropped, pool exhausted): a 503, not a 500.
DATABASE_UNAVAILABLE = (OperationalError, InterfaceError, DisconnectionError, PoolTimeoutError)
RETRY_AFTER_SECONDS = 120


def create_app(test_config: dict[str, Any] | None = None) -> Flask:
    """Build the application: settings, extensions, blueprints, commands and error pages."""
    instance_path = Path((test_config or {}).get("INSTANCE_PATH") or PROJECT_ROOT / "instance")
    app = Flask(
        __name__,
        instance_path=str(instance_path),
        template_folder=str(PROJECT_ROOT / "templates"),
        static_folder=str(PROJECT_ROOT / "static"),
    )
    app.config.from_mapping(build_config(instance_path))
    if test_config:
        app.config.from_mapping(test_config)
    check_settings(app.config)
    check_production_settings(app)
    if app.config["TRUSTED_PROXIES"]:
        # Behind a reverse proxy, rate limits must see the patient's address, not the proxy's.
        proxies = app.config["TRUSTED_PROXIES"]
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=proxies, x_proto=proxies, x_host=proxies)

    db.init_app(app)
    configure_engines(app)
    migrate.init_app(app, db, directory=str(PROJECT_ROOT / "migrations"))
    csrf.init_app(app)
    mailer.init_app(app)
    # Only the back office's pages show who is signed in (its blueprint adds current_user).
    login_manager.init_app(app, add_context_processor=False)
    limiter.init_app(app)

    from intake.appointments import models as appointment_models  # noqa: F401  (register tables)
    from intake.journey import models as journey_models  # noqa: F401
    from intake.mail import init_app as init_mail, models as mail_models  # noqa: F401
    from intake.reminders import withdrawal as _reminder_withdrawal  # noqa: F401  (the trigger, with tables built from models)
    init_mail(app)  # the background sender, and a word on where emails go with no mail server
    from intake.staff import models as staff_models  # noqa: F401
    from intake.waitlist import models as waitlist_models  # noqa: F401
    from intake.articles.matcher import index_for_folder
    from intake.clinic.branding import brand_css

    # Checked at start-up, so a colour people could not read never reaches a page.
    app.extensions["brand_css"] = brand_css(app.config["CLINIC_BRAND_COLOUR"])
    from intake.articles.routes import bp as articles_bp
    from intake.journey.routes import bp as journey_bp
    from intake.journey import times as _journey_times  # noqa: F401  (its views register on the journey blueprint)
    from intake.pages.routes import bp as pages_bp
    from intake.self_service.routes import bp as self_service_bp
    from intake.self_service import waitlist_routes  # noqa: F401  (the waitlist's pages join the self-service blueprint)
    from intake.staff import access_routes, booking_routes, dashboard_routes, diary_routes  # noqa: F401  (their views are on the staff blueprint)
    from intake.staff.routes import bp as staff_bp
    from intake.staff import rights_routes, setup_routes  # noqa: F401  (the rights and clinic set-up views join the staff blueprint)
    from intake.staff import two_factor_routes  # noqa: F401  (two-step sign-in joins the staff blueprint)
    from intake.staff import waitlist_routes  # noqa: F401  (reception's waitlist page joins the staff blueprint)

    app.extensions["article_index"] = index_for_folder(app.config["ARTICLES_FOLDER"])
    app.register_blueprint(pages_bp)
    app.register_blueprint(journey_bp)
    app.register_blueprint(articles_bp)
    app.register_blueprint(staff_bp)
    app.register_blueprint(self_service_bp)

    from intake.cli import register_commands

    register_commands(app)
    keep_query_strings_out_of_access_logs()
    escape_controls_in(default_handler)  # the app's own log lines (they name the path asked for)
    add_security_headers(app)
    refuse_nul_in_addresses(app)
    refuse_robot_posts(app)
    _register_template_helpers(app)
    _register_error_pages(app)
    return app


def _register_template_helpers(app: Flask) -> None:
    """Give every template the clinic's details and the display helpers."""

    def clinic_details() -> dict[str, Any]:
        return {
            "clinic_name": app.config["CLINIC_NAME"],
            "clinic_phone": app.config["CLINIC_PHONE"],
            "clinic_sites": app.config["CLINIC_SITES"],
            "clinic_has_logo": bool(app.config["CLINIC_LOGO"]),
            "label_for": vocabulary.label_for,
            "vocabulary": vocabulary,
        }

    app.context_processor(clinic_details)
    app.add_template_filter(lambda code, choices: vocabulary.label_for(choices, code), "choice_label")
    # Last, so the pages it keeps see every global and filter above.
    app.extensions["page_cache"] = PageCache(app, clinic_details)
    app.extensions["kept_fragments"] = KeptFragments(app)


def _register_error_pages(app: Flask) -> None:
    """Answer every error with a plain page of our own: no stack traces, no patient data."""

    @app.errorhandler(CSRFError)
    def form_timed_out(error: CSRFError):
        return render_template("errors/form_timed_out.html"), 400

    def database_unavailable(error: SQLAlchemyError):
        # No stack trace: the SQL's parameters, and so a patient's answers, would be in it.
        app.logger.error("Database unavailable during %s %s: %s", request.method, request.path, _error_summary(error))
        try:
            db.session.rollback()
        except SQLAlchemyError:
            pass  # the connection is gone; the session is discarded at the end of the request anyway
        page = render_template("errors/database_unavailable.html", answers_not_sent=request.method == "POST")
        return page, 503, {"Retry-After": str(RETRY_AFTER_SECONDS)}

    for error_class in DATABASE_UNAVAILABLE:
        app.register_error_handler(error_class, database_unavailable)

    @app.errorhandler(HTTPException)
    def http_error(error: HTTPException):
        # An error page of a blueprint's own (the form timed out) can itself find the database gone.
        if isinstance(getattr(error, "original_exception", None), DATABASE_UNAVAILABLE):
            return database_unavailable(error.original_exception)
        page = render_template("errors/error.html", error=error), error.code or 500
        if error.code == 429:
            retry_after = getattr(error, "retry_after", None)
            seconds = retry_after if isinstance(retry_after, int) else _seconds_until_limit_resets()
            return *page, {"Retry-After": str(seconds)}
        return page

    @app.errorhandler(Exception)
    def unexpected_error(error: Exception):
        app.logger.error("Unhandled error during %s %s\n%s", request.method, request.path, redacted_traceback(error))
        return render_template("errors/error.html", error=None), 500


def _seconds_until_limit_resets() -> int:
    """How long until the limit just reached lets this address in again (read only on a refusal)."""
    breached = limiter.current_limit
    return max(1, int(breached.reset_at - time.time())) if breached else RETRY_AFTER_SECONDS


def _error_summary(error: SQLAlchemyError) -> str:
    """The error's class and the driver's first line: never the SQL or its parameters."""
    driver_error = getattr(error, "orig", None)
    if driver_error is None:
        return type(error).__name__
    first_line = next(iter(str(driver_error).splitlines()), "")[:200]
    return f"{type(error).__name__} ({type(driver_error).__name__}: {first_line})"
