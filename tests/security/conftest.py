"""Fixtures for the tests that walk across the whole app."""

import pytest


@pytest.fixture
def unlimited_app(make_app):
    """An app without rate limits, so examples are never turned away with 429."""
    return make_app(RATELIMIT_ENABLED=False)
