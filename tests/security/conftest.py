"""Fixtures for the tests that walk across the whole app."""

import pytest


@pytest.fixture
def unlimited_app(make_app):
    """An app without rate limits, so examples are never turned away with 429, and without the
    daily cap of acknowledgements to one address (every example's patient has the same one)."""
    return make_app(RATELIMIT_ENABLED=False, MAIL_ACKNOWLEDGEMENTS_PER_ADDRESS_PER_DAY=1_000_000)
