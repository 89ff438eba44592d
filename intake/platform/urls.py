"""Links that are the same on every request, each built once by url_for and then reused."""

from __future__ import annotations

from flask import current_app, request, url_for

# Every fixed link of every page, several times over.
MAX_LINKS = 512


def fixed_url(endpoint: str, **values: str) -> str:
    """url_for for links from a small, fixed set (stylesheets, footer, the question pages).

    Never for links holding a value from a request (a reference, a search): each distinct link
    is kept for the life of the process.
    """
    built: dict[tuple[str, ...], str] = current_app.extensions.setdefault("fixed_urls", {})
    # The same link differs only by where the app is mounted (a path prefix from the proxy).
    key = (request.script_root, endpoint, *(f"{name}={value}" for name, value in sorted(values.items())))
    url = built.get(key)
    if url is None:
        if len(built) >= MAX_LINKS:
            built.clear()  # a proxy passing many mount points must not grow it without end
        url = built[key] = url_for(endpoint, **values)
    return url
