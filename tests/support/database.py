"""Test databases: SQLite always, PostgreSQL too when TEST_DATABASE_URL is set.

Every test still starts on an empty database of its own making, but the schema is built once:
- SQLite: each worker builds the schema once into a template file and every test gets a fresh
  copy of it. The files live in RAM (/dev/shm) when the machine has it: SQLite's fsyncs on
  disk were most of the suite's time, and durability across a power cut is not what we test.
- PostgreSQL: each pytest-xdist worker has its own database (`<name>_gw0`, ...), created on demand
  and reused by later runs. Its schema is built once and emptied between tests (every row deleted,
  every sequence back to 1); a test that drops or migrates the schema (reset_database) makes the
  next test build it again from the models. Its commits do not wait for the disk (a server crash,
  not what we test, could lose the last ones).
A module-wide app gets a database of its own (`<name>_gw0_clinic`), so it never shares tables
with the per-test apps.
"""

from __future__ import annotations

import atexit
import itertools
import os
import secrets
import shutil
import tempfile
from contextlib import contextmanager
from pathlib import Path

from flask import current_app
from sqlalchemy import create_engine, insert, text, update
from sqlalchemy.engine import make_url

from intake import create_app
from intake.appointments.models import DiaryVersion
from intake.journey.models import REQUEST_STATUSES, StatusCount
from intake.platform.extensions import db

BACKENDS = ["sqlite"] + (["postgresql"] if os.environ.get("TEST_DATABASE_URL") else [])
_created_databases: set[str] = set()
_current_schemas: set[str] = set()  # databases whose tables are exactly the models' (so emptying them is enough)
_numbers = itertools.count()
_sqlite_folder: Path | None = None
_sqlite_template: Path | None = None
_emptying_scripts: dict[str, str] = {}


def postgresql_url(suffix: str = "") -> str:
    """This worker's own PostgreSQL database (created if missing), with an optional suffix."""
    url = make_url(os.environ["TEST_DATABASE_URL"])
    worker = os.environ.get("PYTEST_XDIST_WORKER", "")
    name = "_".join(part for part in (url.database, worker, suffix) if part)
    url = url.set(database=name)
    if name not in _created_databases:
        maintenance = create_engine(url.set(database="postgres"), isolation_level="AUTOCOMMIT")
        with maintenance.connect() as connection:
            exists = connection.execute(text("SELECT 1 FROM pg_database WHERE datname = :name"), {"name": name}).first()
            if not exists:
                connection.execute(text(f'CREATE DATABASE "{name}"'))
        maintenance.dispose()
        _created_databases.add(name)
    # Commits do not wait for the write-ahead log to reach the disk: what a transaction sees and
    # stores is unchanged, only a crash of the server could lose the last commits (of test data).
    options = " ".join(filter(None, (url.query.get("options", ""), "-c synchronous_commit=off")))
    return url.update_query_dict({"options": options}).render_as_string(hide_password=False)


def sqlite_folder() -> Path:
    """A folder for this process's SQLite test databases: in RAM when possible, removed at exit."""
    global _sqlite_folder
    if _sqlite_folder is None:
        ram = Path("/dev/shm")
        _sqlite_folder = Path(tempfile.mkdtemp(prefix="intake-tests-", dir=ram if ram.is_dir() and os.access(ram, os.W_OK) else None))
        atexit.register(shutil.rmtree, _sqlite_folder, ignore_errors=True)
    return _sqlite_folder


def database_url(backend: str, suffix: str = "") -> str:
    """A new, not yet created SQLite file, or this worker's PostgreSQL database."""
    if backend == "sqlite":
        return f"sqlite:///{sqlite_folder() / f'test-{next(_numbers)}.sqlite3'}"
    return postgresql_url(suffix)


def sqlite_path(url: str) -> Path | None:
    """The file of a SQLite URL, or None for another database."""
    parsed = make_url(url)
    return Path(parsed.database) if parsed.get_backend_name() == "sqlite" and parsed.database else None


def reset_database() -> None:
    """Leave the database empty of our tables (and of Alembic's record)."""
    _current_schemas.discard(str(db.engine.url))
    db.session.remove()
    db.drop_all()
    with db.engine.begin() as connection:
        connection.execute(text("DROP TABLE IF EXISTS alembic_version"))
        if db.engine.dialect.name == "postgresql":
            connection.execute(text("DROP FUNCTION IF EXISTS refuse_change() CASCADE"))
            connection.execute(text("DROP FUNCTION IF EXISTS request_notes_erase_only() CASCADE"))


def create_schema() -> None:
    """Build our tables from the models on an empty database, with the status counters."""
    reset_database()
    db.create_all()
    StatusCount.create_rows()
    db.session.commit()
    _current_schemas.add(str(db.engine.url))


def empty_database() -> None:
    """Start the app's database afresh: from the worker's schema template, by emptying the tables, or by building them."""
    path = sqlite_path(str(db.engine.url))
    if path is not None and not path.exists():
        shutil.copyfile(_schema_template(current_app.config), path)
        with db.engine.begin() as connection:  # a diary of its own: free times kept for another copy are not its
            connection.execute(update(DiaryVersion).values(token=secrets.token_hex(16)))
        return
    if db.engine.dialect.name == "postgresql" and str(db.engine.url) in _current_schemas:
        with db.engine.begin() as connection:
            connection.exec_driver_sql(_emptying_script(connection))
        return
    create_schema()


def _emptying_script(connection) -> str:
    """One script that empties every table, sets every sequence back to 1 and adds the status
    counts' rows and a new diary version (its own token, so free times kept before are not reused): a single round trip per test instead of one per table and sequence.

    DELETE, not TRUNCATE: on tables this small it takes milliseconds, TRUNCATE a third of a second.
    """
    url = str(connection.engine.url)
    if url not in _emptying_scripts:
        sequences = connection.execute(text(
            "SELECT quote_ident(sequence_schema) || '.' || quote_ident(sequence_name) FROM information_schema.sequences"
        )).scalars().all()
        statements = [f"DELETE FROM {table.name}" for table in reversed(db.metadata.sorted_tables)]
        statements += [f"SELECT setval('{sequence}', 1, false)" for sequence in sequences]
        statements.append("INSERT INTO diary_version (id, token, version) VALUES (1, md5(random()::text || clock_timestamp()::text), 0)")
        statements.append(str(insert(StatusCount).values([{"status": status, "requests": 0} for status in REQUEST_STATUSES])
                              .compile(connection, compile_kwargs={"literal_binds": True})))
        _emptying_scripts[url] = ";\n".join(statements)
    return _emptying_scripts[url]


def _schema_template(config) -> Path:
    """A SQLite file holding the models' empty schema, built once per process.

    Built while the test's own app (whose `config` this is) is being set up: the template's app
    takes the same rate-limit settings, because Flask-Limiter is one object shared by every app
    and the app set up last decides whether limits apply and where they are counted.
    """
    global _sqlite_template
    if _sqlite_template is None:
        path = sqlite_folder() / "schema-template.sqlite3"
        limits = {name: config[name] for name in ("RATELIMIT_ENABLED", "RATELIMIT_STORAGE_URI") if name in config}
        app = create_app({**app_settings(f"sqlite:///{path}", sqlite_folder() / "template-instance"), **limits})
        with app.app_context():
            create_schema()
            db.engine.dispose()
        _sqlite_template = path
    return _sqlite_template


def forget(url: str) -> None:
    """Drop a finished test's SQLite file (PostgreSQL databases are kept and emptied by the next test)."""
    path = sqlite_path(url)
    if path is not None:
        for leftover in (path, path.with_name(path.name + "-journal"), path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")):
            leftover.unlink(missing_ok=True)


def app_settings(database_url: str, instance: Path, **overrides) -> dict:
    """The settings every test app starts from."""
    return {
        "TESTING": True,
        "SQLALCHEMY_DATABASE_URI": database_url,
        "INSTANCE_PATH": instance,
        "SECRET_KEY": "test-secret-key",
        "MAIL_SERVER": "",
        "OUTBOX_SEND_AFTER_REQUEST": False,
        # Tests sign admins in all the time: two-step sign-in is tested on its own (tests/staff/test_two_factor*.py).
        "STAFF_2FA_REQUIRED": "off",
        **overrides,
    }


def new_app(database_url: str, instance: Path, **overrides):
    """An app for a test: the test settings with `overrides`."""
    return create_app(app_settings(database_url, instance, **overrides))


@contextmanager
def shared_app(backend: str, tmp_path_factory, name: str = "shared", **overrides):
    """An app on an empty database of its own, as the `make_app` fixture builds, but for a whole module."""
    url = database_url(backend, suffix=name)
    app = new_app(url, tmp_path_factory.mktemp("instance"), **overrides)
    with app.app_context():
        create_schema()
    try:
        yield app
    finally:
        with app.app_context():
            reset_database()
            db.engine.dispose()
        forget(url)
