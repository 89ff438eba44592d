"""Rendered pages that hold nothing of anyone's, kept by each server process and reused.

A question page the patient has not answered yet shows no answers and no errors: everyone who
reaches it by the same route sees the same page. Rendering it (the form, its fields, the layout)
is most of the cost of showing it, so it is rendered once and kept. The page's form token is
the one part that belongs to a browser: it is left as a slot and filled in on every request.

Only pages whose every input is part of the key may be kept here, and never a page showing
anything a patient typed: that would keep health data in memory beyond the request.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable
from typing import Any

from flask import current_app, render_template, request
from flask_wtf.csrf import generate_csrf

# What the page is rendered with in place of the form token; never seen by anyone.
FORM_TOKEN_SLOT = "form-token-slot-7d41c9"
# Enough for every page by every route for a few days; the store empties itself when full.
MAX_PAGES = 256


def reusable_page(key: tuple[Hashable, ...], template: str, context: Callable[[], dict[str, Any]]) -> str:
    """The page `template` renders with what `context()` gives, rendered once per process for each key.

    The key must name everything the page depends on besides the template and the app's
    settings; the place the app is mounted at is added here.
    """
    pages: dict[tuple[Hashable, ...], str] = current_app.extensions.setdefault("reusable_pages", {})
    full_key = (request.script_root, template, *key)
    page = pages.get(full_key)
    if page is None:
        if len(pages) >= MAX_PAGES:
            pages.clear()
        page = pages[full_key] = render_template(template, **context(), csrf_token=lambda: FORM_TOKEN_SLOT)
    return page.replace(FORM_TOKEN_SLOT, generate_csrf())
