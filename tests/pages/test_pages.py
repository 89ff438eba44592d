"""Home, privacy notice, health check and the error pages every visitor may meet."""

from __future__ import annotations

import pytest

from intake import create_app
from intake.pages.routes import duration_in_words


def test_privacy_notice_is_served_and_says_how_long_unfinished_answers_are_kept(make_app):
    app = make_app(DRAFT_LIFETIME_MINUTES=90)
    page = app.test_client().get("/privacy").get_data(as_text=True)
    assert "<h1" in page and "privacy" in page.lower()
    assert "can no longer be used 90 minutes after your last answer" in page


@pytest.mark.parametrize(("minutes", "words"), [(1, "1 minute"), (45, "45 minutes"), (60, "1 hour"), (120, "2 hours"), (90, "90 minutes"), (1440, "1 day")])
def test_durations_are_said_in_words(minutes, words):
    assert duration_in_words(minutes) == words


def test_health_check_answers_ok_when_the_database_answers(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.get_json() == {"status": "ok", "database": "ok"}


def test_health_check_answers_503_when_the_database_does_not(tmp_path):
    app = create_app({
        "TESTING": True,
        "INSTANCE_PATH": tmp_path,
        "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'missing-folder' / 'db.sqlite3'}",
    })
    response = app.test_client().get("/healthz")
    assert response.status_code == 503
    assert response.get_json() == {"status": "unavailable", "database": "unavailable"}


def test_a_body_over_the_limit_gets_a_friendly_413(client, patient):
    patient.start()
    response = client.post("/book/about-you", data={"first_name": "A" * 100_000})
    assert response.status_code == 413
    assert "Too much information sent" in response.get_data(as_text=True)


def test_an_unknown_page_gets_our_own_404(client):
    response = client.get("/no-such-page")
    assert response.status_code == 404
    assert "Page not found" in response.get_data(as_text=True)


def test_an_unexpected_error_shows_a_plain_page_without_a_traceback(make_app):
    app = make_app()
    app.config["PROPAGATE_EXCEPTIONS"] = False

    @app.get("/explode")
    def explode():
        raise RuntimeError("secret internal detail")

    response = app.test_client().get("/explode")
    assert response.status_code == 500
    body = response.get_data(as_text=True)
    assert "Sorry, there is a problem" in body
    assert "secret internal detail" not in body and "Traceback" not in body
