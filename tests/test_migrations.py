"""The migrations build the schema from empty, match the models exactly, and can be undone."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from flask_migrate import downgrade, upgrade
from sqlalchemy import inspect

from intake.extensions import db
from conftest import reset_database


def test_upgrade_from_empty_creates_the_schema_the_models_describe(make_app):
    app = make_app()
    with app.app_context():
        reset_database()
        assert "assessment_requests" not in inspect(db.engine).get_table_names()
        upgrade()
        tables = set(inspect(db.engine).get_table_names())
        assert {"assessment_requests", "drafts", "alembic_version"} <= tables
        with db.engine.connect() as connection:
            differences = compare_metadata(MigrationContext.configure(connection, opts={"compare_type": True}), db.metadata)
        assert differences == []


def test_downgrade_to_empty_removes_every_table(make_app):
    app = make_app()
    with app.app_context():
        reset_database()
        upgrade()
        downgrade(revision="base")
        assert set(inspect(db.engine).get_table_names()) <= {"alembic_version"}
