"""Database connections: checked before use only after sitting idle; reads that need no transaction.

Every part of the app reaches the database through Flask-SQLAlchemy's session (`db.session`),
one transaction per request, committed by whoever owns it (a view, or one service), except on
the pages marked `reads_only`, whose GET reads each row without a transaction.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from flask import Flask, request
from sqlalchemy import Connection, Engine, event
from sqlalchemy.exc import DisconnectionError

from intake.platform.extensions import db

# A connection used within this many seconds is known to be alive; one idle for longer is
# pinged before use (the server may have restarted, or a firewall dropped it overnight). A
# connection that dies while in steady use fails its request with a 503 and the pool drops
# every connection made before it, so the next request reconnects.
PING_AFTER_IDLE_SECONDS = 10.0


def ping_connections_after_idle(engine: Engine) -> None:
    """Ping a pooled connection as it is checked out only if it has been idle a while."""

    @event.listens_for(engine, "checkin")
    def note_last_use(dbapi_connection, connection_record) -> None:
        connection_record.info["idle_since"] = time.monotonic()

    @event.listens_for(engine, "checkout")
    def ping_if_idle(dbapi_connection, connection_record, connection_proxy) -> None:
        idle_since = connection_record.info.get("idle_since")
        if idle_since is None or time.monotonic() - idle_since < PING_AFTER_IDLE_SECONDS:
            return  # new, or recently used
        try:
            engine.dialect.do_ping(dbapi_connection)
        except engine.dialect.loaded_dbapi.Error as error:
            # The pool discards this connection and checks out (or opens) another.
            raise DisconnectionError("connection lost while idle") from error


def configure_engines(app: Flask) -> None:
    """Set up each engine of the app to ping its connections after idling, and the pages marked
    `reads_only` to read without a transaction."""
    with app.app_context():
        for engine in db.engines.values():
            ping_connections_after_idle(engine)

    @app.before_request
    def read_without_a_transaction() -> None:
        view = app.view_functions.get(request.endpoint)
        if request.method in ("GET", "HEAD") and getattr(view, "reads_only", False) and not db.session().in_transaction():
            db.session.connection(execution_options={"isolation_level": "AUTOCOMMIT"})


def reads_only(view: Callable) -> Callable:
    """Mark a view whose GET only reads: its session then runs in autocommit mode for that request.

    Each read is then one round trip, with no BEGIN before it and no ROLLBACK after the page. On
    the week diary under load this was about a third more pages a second, with half the work for
    PostgreSQL (benchmarks/README.md); tests/platform/test_fast_paths.py counts the round trips.
    A page read this way may see rows committed between its reads, as PostgreSQL's default
    isolation already allows; it must write nothing (a GET changes no state anyway).
    """
    view.reads_only = True
    return view


@contextmanager
def reads_without_a_transaction() -> Iterator[Connection]:
    """A pooled connection in autocommit mode, for a page that only reads.

    Through the session a read is three round trips to PostgreSQL (BEGIN, the SELECT, ROLLBACK);
    here it is one. Showing a question page is a single SELECT of the draft, and this made it
    about a third cheaper in-process (1.37 -> 0.9 ms); tests/platform/test_fast_paths.py counts
    the round trips. Anything that writes goes through the session, in a transaction.
    """
    with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        yield connection

