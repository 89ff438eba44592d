"""Test databases: SQLite always, PostgreSQL too when TEST_DATABASE_URL is set.

Each pytest-xdist worker gets its own PostgreSQL database (`<name>_gw0`, ...), created on demand
and reused by later runs; a module-wide app gets one of its own (`<name>_gw0_clinic`), so it never
shares tables with the per-test apps.
"""

from __future__ import annotations

import os
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from intake import create_app
from intake.journey.models import StatusCount
from intake.platform.extensions import db

BACKENDS = ["sqlite"] + (["postgresql"] if os.environ.get("TEST_DATABASE_URL") else [])
_created: set[str] = set()


def postgresql_url(suffix: str = "") -> str:
    """This worker's own PostgreSQL database (created if missing), with an optional suffix."""
    url = make_url(os.environ["TEST_DATABASE_URL"])
    worker = os.environ.get("PYTEST_XDIST_WORKER", "")
    name = "_".join(part for part in (url.database, worker, suffix) if part)
    url = url.set(database=name)
    if name not in _created:
        maintenance = create_engine(url.set(database="postgres"), isolation_level="AUTOCOMMIT")
        with maintenance.connect() as connection:
            exists = connection.execute(text("SELECT 1 FROM pg_database WHERE datname = :name"), {"name": name}).first()
            if not exists:
                connection.execute(text(f'CREATE DATABASE "{name}"'))
        maintenance.dispose()
        _created.add(name)
    return url.render_as_string(hide_password=False)


def database_url(backend: str, folder: Path, suffix: str = "") -> str:
    """Where a test app keeps its data: a file in `folder`, or this worker's PostgreSQL database."""
    if backend == "sqlite":
        return f"sqlite:///{folder / 'test.sqlite3'}"
    return postgresql_url(suffix)


def reset_database() -> None:
    """Leave the database empty of our tables (and of Alembic's record)."""
    db.session.remove()
    db.drop_all()
    with db.engine.begin() as connection:
        connection.execute(text("DROP TABLE IF EXISTS alembic_version"))
        if db.engine.dialect.name == "postgresql":
            connection.execute(text("DROP FUNCTION IF EXISTS refuse_change() CASCADE"))


def create_schema() -> None:
    """Build our tables from the models on an empty database, with the status counters."""
    reset_database()
    db.create_all()
    StatusCount.create_rows()
    db.session.commit()


def app_settings(database_url: str, instance: Path, **overrides) -> dict:
    """The settings every test app starts from."""
    return {
        "TESTING": True,
        "SQLALCHEMY_DATABASE_URI": database_url,
        "INSTANCE_PATH": instance,
        "SECRET_KEY": "test-secret-key",
        "MAIL_SERVER": "",
        "OUTBOX_SEND_AFTER_REQUEST": False,
        **overrides,
    }


@contextmanager
def shared_app(backend: str, tmp_path_factory, name: str = "shared", **overrides):
    """An app on an empty database of its own, as the `make_app` fixture builds, but for a whole module."""
    url = database_url(backend, tmp_path_factory.mktemp(name), suffix=name)
    app = create_app(app_settings(url, tmp_path_factory.mktemp("instance"), **overrides))
    with app.app_context():
        create_schema()
    try:
        yield app
    finally:
        with app.app_context():
            reset_database()
            db.engine.dispose()
