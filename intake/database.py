"""Database connections: checked before use only after sitting idle, and reads without a transaction.

Every round trip to PostgreSQL costs both processes a wake-up. A page that only reads (a question
page, the start page) needs one: its SELECT. Pinging each connection as it leaves the pool,
then BEGIN and ROLLBACK around the read, made four.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager

from flask import Flask, current_app
from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.exc import DisconnectionError

from intake.extensions import db

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
    """Set up each engine of the app: idle pings, and an engine for reads that need no transaction."""
    with app.app_context():
        engine = db.engine
        for each in db.engines.values():
            ping_connections_after_idle(each)
    app.extensions["read_engine"] = _read_engine(engine, app.config["SQLALCHEMY_ENGINE_OPTIONS"])


def _read_engine(engine: Engine, options: dict) -> Engine:
    """An engine whose connections never open a transaction, for plain reads.

    On PostgreSQL it has its own small pool of autocommit connections (so switching modes costs
    nothing per use) and is disposed with the main engine. SQLite's driver sends no BEGIN
    before a SELECT anyway, and switching its mode would commit an open transaction, so there
    reads share the main engine.
    """
    if engine.dialect.name != "postgresql":
        return engine
    read_engine = create_engine(engine.url, isolation_level="AUTOCOMMIT", **options)
    ping_connections_after_idle(read_engine)
    event.listen(engine, "engine_disposed", lambda _: read_engine.dispose())
    return read_engine


@contextmanager
def reading() -> Iterator[Connection]:
    """A connection for one or a few SELECTs that change nothing, outside the request's session."""
    with current_app.extensions["read_engine"].connect() as connection:
        yield connection
