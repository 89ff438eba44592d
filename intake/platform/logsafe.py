"""Log an exception without its message: messages can carry what a patient typed, frames cannot."""

from __future__ import annotations

import logging
import re
import traceback


def _chain(error: BaseException) -> list[BaseException]:
    """The exception and those it was raised from or during, oldest first (as Python prints them)."""
    chain: list[BaseException] = []
    seen: set[int] = set()
    current: BaseException | None = error
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        chain.append(current)
        current = current.__cause__ or (None if current.__suppress_context__ else current.__context__)
    return chain[::-1]


def redacted_traceback(error: BaseException) -> str:
    """Where the error happened and what kind it was, with every exception message left out.

    The frames (file, line, function and source line) are enough to find a bug; the message
    of, say, a failed int() or a database error would repeat the value that caused it.
    """
    parts = []
    for exception in _chain(error):
        frames = "".join(traceback.format_tb(exception.__traceback__))
        kind = f"{type(exception).__module__}.{type(exception).__qualname__}"
        parts.append(f"Traceback (most recent call last):\n{frames}{kind} (message withheld)")
    return "\n\nDuring or because of the above, another error happened:\n\n".join(parts)


QUERY_STRING = re.compile(r"(\b[A-Z]+ [^ ?]*)\?\S*( HTTP/)")


class WithoutQueryStrings(logging.Filter):
    """Drop query strings from the development server's access log lines, as gunicorn.conf.py
    does in production: a staff search puts a patient's name in the query string."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.msg = QUERY_STRING.sub(r"\1\2", record.getMessage())
        record.args = ()
        return True


def keep_query_strings_out_of_access_logs() -> None:
    """Install the filter on werkzeug's request log, once per process."""
    request_log = logging.getLogger("werkzeug")
    if not any(isinstance(existing, WithoutQueryStrings) for existing in request_log.filters):
        request_log.addFilter(WithoutQueryStrings())
