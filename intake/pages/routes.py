"""Home page, privacy notice and the health check used by load balancers and monitoring."""

from flask import Blueprint, current_app, jsonify, render_template
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from intake.extensions import db

bp = Blueprint("pages", __name__)


@bp.get("/")
def home():
    """Say what the clinic offers and where to start."""
    return render_template("pages/home.html")


@bp.get("/privacy")
def privacy():
    """Explain how the clinic uses a patient's information."""
    return render_template("pages/privacy.html")


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
