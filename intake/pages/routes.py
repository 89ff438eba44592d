"""Home page, privacy notice and the health check used by load balancers and monitoring."""

from pathlib import Path

from flask import Blueprint, abort, current_app, jsonify, render_template, send_file
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from intake.pages.privacy import PRIVACY_NOTICE
from intake.platform.extensions import db

bp = Blueprint("pages", __name__)


@bp.get("/")
def home():
    """Say what the clinic offers and where to start."""
    return render_template("pages/home.html")


@bp.get("/privacy")
def privacy():
    """Explain how the clinic uses a patient's information."""
    return render_template(
        "pages/privacy.html", notice=PRIVACY_NOTICE, draft_lifetime=duration_in_words(current_app.config["DRAFT_LIFETIME_MINUTES"])
    )


def duration_in_words(minutes: int) -> str:
    """Say a number of minutes the way a person would: '2 hours', '90 minutes', '1 day'."""
    for unit_minutes, unit in ((24 * 60, "day"), (60, "hour")):
        if minutes >= unit_minutes and minutes % unit_minutes == 0:
            amount = minutes // unit_minutes
            return f"{amount} {unit}{'s' if amount != 1 else ''}"
    return f"{minutes} minute{'s' if minutes != 1 else ''}"


@bp.get("/brand.css")
def brand_stylesheet():
    """The clinic's colour as CSS, so pages need no inline styles."""
    response = current_app.response_class(current_app.extensions["brand_css"], mimetype="text/css")
    response.headers["Cache-Control"] = "public, max-age=3600"
    return response


@bp.get("/brand/logo")
def logo():
    """The clinic's logo file, when one is configured."""
    path = current_app.config["CLINIC_LOGO"]
    if not path or not Path(path).is_file():
        abort(404)
    return send_file(path, max_age=3600)


@bp.get("/healthz")
def healthz():
    """Answer 200 when the database answers, 503 when it does not."""
    try:
        db.session.execute(text("SELECT 1"))
    except SQLAlchemyError:
        db.session.rollback()
        current_app.logger.warning("Health check: database unavailable")
        return jsonify(status="unavailable", database="unavailable"), 503
    return jsonify(status="ok", database="ok")
