"""Pages rendered once by each server process and reused: whole pages that hold nothing of
anyone's (`PageCache`), and parts of staff pages kept for one version of the data they show
(`KeptFragments`).

A question page the patient has not answered yet shows no answers and no errors: everyone who
reaches it by the same route sees the same page, so it is rendered once and kept. The page's
form token is the one part that belongs to a browser: it is left as a slot and filled in on
every request.

The rule is enforced, not trusted: kept pages are rendered by a Jinja environment of their own,
from the context the caller gives and the app's settings only. Flask's `request`, `session` and
`g` (and the flashed messages, which live in the session) are not in it: a template that reads
any of them fails to render instead of keeping one patient's data for the next
(tests/platform/test_page_cache.py).

A part of a staff page (the diary's week table) shows patients, so it is kept only under the
version of the data it is drawn from, which the database raises in the same transaction as any
change to it: a fragment is never shown for a version other than the one read for this request,
and those of every older version are dropped as soon as a newer one is seen, so a changed or
erased name does not stay in memory either. Whatever else it depends on (the site, the week,
the day, the free times still to come) is in its key; who is looking is not, and cannot be: it
is rendered without the request, the session or the signed-in member of staff, like a kept page.

Measured for the question pages in-process (GETs of /book/where-it-hurts with a live draft through the Flask test
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
from markupsafe import Markup

# What the page is rendered with in place of the form token; never seen by anyone.
FORM_TOKEN_SLOT = "form-token-slot-7d41c9"
# Enough for every page by every route for a few days; the store empties itself when full.
MAX_PAGES = 256
# Fragments kept for the newest version seen: a few sites' weeks, each for a few days.
MAX_FRAGMENTS = 64
# Whatever belongs to one request, one browser or one member of staff.
PER_REQUEST_NAMES = ("request", "session", "g", "get_flashed_messages", "current_user")


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


class KeptFragments:
    """Parts of pages rendered once per version of the data they show, from a given context only."""

    def __init__(self, app: Flask) -> None:
        self.environment = environment_without_request(app)
        self.version: Hashable = None
        self.fragments: dict[tuple[Hashable, ...], Markup] = {}

    def fragment(self, version: Hashable, key: tuple[Hashable, ...], template: str, context: Callable[[], dict[str, Any]]) -> Markup:
        """`template` rendered with what `context()` gives, once for each key at this `version` of
        its data. The key must name everything the fragment shows besides that data and the app's
        settings (where the app is mounted is added here). A version of None is never kept."""
        if version is None:
            return Markup(self.environment.get_template(template).render(context()))
        if version != self.version:
            self.fragments.clear()  # older versions' fragments are never shown again: forget what they held
            self.version = version
        full_key = (request.script_root, template, *key)
        found = self.fragments.get(full_key)
        if found is None:
            if len(self.fragments) >= MAX_FRAGMENTS:
                self.fragments.clear()
            # Rendered by our own autoescaping templates: safe to place in the page as it is.
            found = self.fragments[full_key] = Markup(self.environment.get_template(template).render(context()))
        return found
