"""Database connections: checked before use only after sitting idle, and single statements
without a surrounding transaction.

Every round trip to PostgreSQL costs both processes a wake-up. A page that only reads (a question
page, the start page) needs one: its SELECT. Pinging each connection as it leaves the pool,
then BEGIN and ROLLBACK around the read, made four. A change made by one guarded statement
(saving a page of answers) is atomic on its own and needs no BEGIN or COMMIT either.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager

from flask import Flask, current_app
from sqlalchemy import Connection, Engine, create_engine, event
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
    """Set up each engine of the app: idle pings, and an engine for statements that need no transaction."""
    with app.app_context():
        engine = db.engine
        for each in db.engines.values():
            ping_connections_after_idle(each)
    app.extensions["single_statement_engine"] = _single_statement_engine(engine, app.config["SQLALCHEMY_ENGINE_OPTIONS"])


def _single_statement_engine(engine: Engine, options: dict) -> Engine:
    """An engine whose connections never open a transaction, for statements that stand alone.

    On PostgreSQL it has its own small pool of autocommit connections (so switching modes costs
    nothing per use) and is disposed with the main engine. SQLite's driver sends no BEGIN
    before a SELECT anyway, and switching its mode would commit an open transaction, so there
    reads share the main engine.
    """
    if engine.dialect.name != "postgresql":
        return engine
    single_statement_engine = create_engine(engine.url, isolation_level="AUTOCOMMIT", **options)
    ping_connections_after_idle(single_statement_engine)
    event.listen(engine, "engine_disposed", lambda _: single_statement_engine.dispose())
    return single_statement_engine


@contextmanager
def statement_by_statement() -> Iterator[Connection]:
    """A connection, outside the request's session, on which each statement stands alone: plain
    reads, and changes made in one statement whose WHERE clause guards them."""
    with current_app.extensions["single_statement_engine"].connect() as connection:
        yield connection
        connection.commit()  # SQLite ends its implicit transaction; PostgreSQL has none to end
