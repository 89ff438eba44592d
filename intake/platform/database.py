"""Database connections: checked before use only after sitting idle; reads that need no transaction.

Every part of the app reaches the database through Flask-SQLAlchemy's session (`db.session`),
one transaction per request, committed by whoever owns it (a view, or one service).
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager

from flask import Flask
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
    """Set up each engine of the app to ping its connections after idling."""
    with app.app_context():
        for engine in db.engines.values():
            ping_connections_after_idle(engine)


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

