"""Security headers on every response, and production's refusal to start unsafely."""

from __future__ import annotations

import os

import pytest

from intake import create_app
from intake.platform.security import UnsafeConfiguration

PAGES = ["/", "/book/", "/privacy", "/articles/", "/staff/login", "/no-such-page", "/static/css/app.css", "/healthz"]


@pytest.mark.parametrize("path", PAGES)
def test_every_response_carries_the_security_headers(client, path):
    headers = client.get(path).headers
    policy = headers["Content-Security-Policy"]
    assert "default-src 'self'" in policy and "frame-ancestors 'none'" in policy
    assert "unsafe-inline" not in policy and "unsafe-eval" not in policy and "http" not in policy
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert headers["Referrer-Policy"] == "same-origin"
    assert "camera=()" in headers["Permissions-Policy"]
    assert "Strict-Transport-Security" not in headers


def test_hsts_is_sent_over_https(client):
    assert "max-age=" in client.get("/", base_url="https://localhost").headers["Strict-Transport-Security"]


def test_session_cookies_are_http_only_and_same_site_lax(client, patient):
    patient.start()
    cookie = client.get_cookie("session")
    assert cookie.http_only and cookie.same_site == "Lax"


def production(tmp_path, monkeypatch, **overrides):
    monkeypatch.setenv("ENVIRONMENT", "production")
    return create_app({"INSTANCE_PATH": tmp_path, "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'db'}", **overrides})


def test_production_refuses_to_start_without_a_real_secret_key(tmp_path, monkeypatch):
    monkeypatch.delenv("SECRET_KEY", raising=False)
    with pytest.raises(UnsafeConfiguration, match="SECRET_KEY"):
        production(tmp_path, monkeypatch)
    monkeypatch.setenv("SECRET_KEY", "too-short")
    with pytest.raises(UnsafeConfiguration, match="SECRET_KEY"):
        production(tmp_path, monkeypatch)


def test_production_refuses_to_start_in_debug_mode(tmp_path, monkeypatch):
    monkeypatch.setenv("SECRET_KEY", "x" * 48)
    with pytest.raises(UnsafeConfiguration, match="Debug"):
        production(tmp_path, monkeypatch, DEBUG=True)


def test_production_refuses_to_start_with_rate_limits_counted_per_worker(tmp_path, monkeypatch):
    """memory:// counts in each gunicorn worker, so two workers would let twice the limits through."""
    monkeypatch.setenv("SECRET_KEY", "x" * 48)
    monkeypatch.delenv("RATELIMIT_STORAGE_URI", raising=False)
    monkeypatch.delenv("SINGLE_PROCESS", raising=False)
    with pytest.raises(UnsafeConfiguration, match=r"memory://.*each worker process.*RATELIMIT_STORAGE_URI=redis://"):
        production(tmp_path, monkeypatch)


def test_production_starts_with_memory_rate_limits_when_told_one_process_serves(tmp_path, monkeypatch):
    monkeypatch.setenv("SECRET_KEY", "x" * 48)
    monkeypatch.setenv("RATELIMIT_STORAGE_URI", "memory://")
    monkeypatch.setenv("SINGLE_PROCESS", "1")
    assert production(tmp_path, monkeypatch).config["SESSION_COOKIE_SECURE"] is True


def test_production_starts_with_safe_settings_and_secure_cookies(tmp_path, monkeypatch):
    monkeypatch.setenv("SECRET_KEY", "x" * 48)
    monkeypatch.setenv("RATELIMIT_STORAGE_URI", "redis://127.0.0.1:6379/5")
    monkeypatch.delenv("SINGLE_PROCESS", raising=False)
    app = production(tmp_path, monkeypatch)
    assert app.config["SESSION_COOKIE_SECURE"] is True


def test_submissions_from_one_address_are_limited_with_a_friendly_page(make_app):
    """Mail flooding: past the limit a further request is refused kindly and nothing is stored."""
    from tests.factories import Patient
    from intake.journey.models import AssessmentRequest
    from intake.platform.extensions import db

    app = make_app(SUBMIT_LIMIT_PER_ADDRESS="2 per minute")
    for _ in range(2):
        Patient(app.test_client()).complete()
    third = Patient(app.test_client())
    third.answer_all()
    response = third.submit()
    assert response.status_code == 429
    assert "Too many attempts" in response.get_data(as_text=True)
    with app.app_context():
        assert len(db.session.execute(db.select(AssessmentRequest)).all()) == 2


def test_starting_requests_is_limited_per_address(make_app):
    from tests.factories import Patient

    app = make_app(START_LIMIT_PER_ADDRESS="3 per minute")
    responses = [Patient(app.test_client()).start() for _ in range(4)]
    assert [response.status_code for response in responses] == [303, 303, 303, 429]
    # The refusal says when to come back; pages let through do not count down the limit aloud.
    assert 1 <= int(responses[-1].headers["Retry-After"]) <= 60
    assert not any(name.startswith("X-RateLimit") for response in responses for name in response.headers.keys())


def test_behind_a_trusted_proxy_limits_count_the_patients_address(make_app):
    """With TRUSTED_PROXIES=1, two patients behind the same proxy are counted separately."""
    from tests.factories import Patient

    app = make_app(START_LIMIT_PER_ADDRESS="1 per minute", TRUSTED_PROXIES=1)
    first = Patient(app.test_client())
    second = Patient(app.test_client())
    first.client.environ_base["HTTP_X_FORWARDED_FOR"] = "198.51.100.7"
    second.client.environ_base["HTTP_X_FORWARDED_FOR"] = "198.51.100.8"
    assert first.start().status_code == 303
    assert second.start().status_code == 303
    assert first.start().status_code == 429


def test_with_redis_storage_every_worker_shares_one_count(make_app):
    """Several gunicorn workers (here two apps) count against one limit when the storage is Redis."""
    import socket

    import redis

    from tests.factories import Patient

    try:
        socket.create_connection(("127.0.0.1", 6379), timeout=1).close()
    except OSError:
        pytest.skip("no Redis server on 127.0.0.1:6379")
    # Our own key prefix, cleared first: the limiter keeps the first prefix it is given for the
    # whole process, so it is the same in every run of this test.
    # One prefix per test process (xdist worker), so runs in parallel never share a count.
    prefix = f"intake-tests-{os.environ.get('PYTEST_XDIST_WORKER', 'main')}"
    settings = {
        "RATELIMIT_STORAGE_URI": "redis://127.0.0.1:6379/0",
        "RATELIMIT_KEY_PREFIX": prefix,
        "START_LIMIT_PER_ADDRESS": "2 per minute",
    }
    server = redis.Redis(host="127.0.0.1", port=6379)
    for key in server.scan_iter(f"*{prefix}*"):
        server.delete(key)
    first_worker, second_worker = make_app(**settings), make_app(**settings)
    assert Patient(first_worker.test_client()).start().status_code == 303
    assert Patient(second_worker.test_client()).start().status_code == 303
    assert Patient(first_worker.test_client()).start().status_code == 429
    assert Patient(second_worker.test_client()).start().status_code == 429
    assert list(server.scan_iter(f"*{prefix}*")), "the counts are kept in Redis, where every worker and server sees them"


def test_an_app_built_without_limits_does_not_switch_them_off_for_the_next(make_app):
    """The limiter object is shared by every app in the process; each app sets its own state."""
    from tests.factories import Patient

    make_app(RATELIMIT_ENABLED=False)
    app = make_app(START_LIMIT_PER_ADDRESS="1 per minute")
    assert [Patient(app.test_client()).start().status_code for _ in range(2)] == [303, 429]


@pytest.mark.parametrize("path", [
    "/staff/audit?reference=%00", "/staff/?q=Ada%00", "/staff/?%00=1", "/staff/requests/AB%00CDEFG",
    "/staff/export.csv?q=%00", "/articles/?q=%00", "/book/confirmation/%00",
])
def test_a_nul_character_in_an_address_is_refused_before_any_query(staff_client, path):
    """PostgreSQL cannot compare text holding NUL: without this check these were 500s there."""
    admin = staff_client("admin")
    response = admin.client.get(path)
    assert response.status_code == 400
    assert "Traceback" not in response.get_data(as_text=True)


def test_session_cookies_follow_a_changed_secret_key_and_its_fallbacks(app):
    """The session's signing serializer is kept between requests, but never past a key change."""
    from tests.factories import Patient

    patient = Patient(app.test_client())
    patient.start()
    assert patient.client.get("/book/about-you").status_code == 200
    app.secret_key = "a-new-secret-key-after-rotation-0123456789"
    assert patient.client.get("/book/about-you").status_code == 303  # the old cookie is no longer trusted
    patient.start()
    app.config["SECRET_KEY_FALLBACKS"] = [app.secret_key]
    app.secret_key = "yet-another-secret-key-rotated-again-98765"
    assert patient.client.get("/book/about-you").status_code == 200  # signed with a key now among the fallbacks
