"""Logs that tell no secrets and cannot be forged: an exception without its message (messages
can carry what a patient typed, frames cannot), access lines without query strings, and every
logged message on one line, its control characters written as escapes."""

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


# Control characters (a new line would start a forged log line, ESC would send commands to the
# terminal reading the log), the Unicode line separators, and the backslash that starts an escape.
_UNSAFE_IN_LOGS = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029\\]")


def escape_controls(text: str) -> str:
    """Text fit for one log line: each control character written as an escape ("\\n", "\\x1b"),
    and a backslash doubled, so what a visitor put in a URL cannot pass for a line of its own."""
    return _UNSAFE_IN_LOGS.sub(lambda found: found.group().encode("unicode_escape").decode("ascii"), text)


class ControlCharactersEscaped(logging.Filter):
    """Put a record's message, with its arguments filled in, through `escape_controls`. A
    traceback attached to the record stays as it is: it is ours, and redacted."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.msg = escape_controls(record.getMessage())
        record.args = ()
        return True


def escape_controls_in(*handlers: logging.Handler) -> None:
    """Escape control characters in every message these handlers write (once each)."""
    for handler in handlers:
        if not any(isinstance(existing, ControlCharactersEscaped) for existing in handler.filters):
            handler.addFilter(ControlCharactersEscaped())


WERKZEUG_COLOUR = re.compile(r"\x1b\[[0-9;]*m(.*)\x1b\[0m", re.DOTALL)
WERKZEUG_STYLE = re.compile(r"\x1b\[[0-9;]*m")
QUERY_STRING = re.compile(r"(\b[A-Z]+ [^ ?]*)\?\S*( HTTP/)")


class WithoutQueryStrings(logging.Filter):
    """Drop query strings from the development server's access log lines, as gunicorn.conf.py
    does in production (a staff search puts a patient's name in the query string), and escape
    control characters in them."""

    def filter(self, record: logging.LogRecord) -> bool:
        # werkzeug's own colours go (in its start-up lines, "Press CTRL+C to quit", and around the
        # request line); anything else in the line is escaped.
        if isinstance(record.msg, str):
            record.msg = WERKZEUG_STYLE.sub("", record.msg)
        if isinstance(record.args, tuple):
            record.args = tuple(_without_werkzeug_colour(arg) for arg in record.args)
        record.msg = escape_controls(QUERY_STRING.sub(r"\1\2", record.getMessage()))
        record.args = ()
        return True


def _without_werkzeug_colour(value):
    """A value werkzeug coloured for the terminal (the request line, by status), without the colour."""
    if isinstance(value, str) and (coloured := WERKZEUG_COLOUR.fullmatch(value)):
        return coloured.group(1)
    return value


def keep_query_strings_out_of_access_logs() -> None:
    """Install the filter on werkzeug's request log, once per process."""
    request_log = logging.getLogger("werkzeug")
    if not any(isinstance(existing, WithoutQueryStrings) for existing in request_log.filters):
        request_log.addFilter(WithoutQueryStrings())
