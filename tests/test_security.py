"""Security headers on every response, and production's refusal to start unsafely."""

from __future__ import annotations

import pytest

from intake import create_app
from intake.security import UnsafeConfiguration

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


def test_production_starts_with_safe_settings_and_secure_cookies(tmp_path, monkeypatch):
    monkeypatch.setenv("SECRET_KEY", "x" * 48)
    app = production(tmp_path, monkeypatch)
    assert app.config["SESSION_COOKIE_SECURE"] is True
