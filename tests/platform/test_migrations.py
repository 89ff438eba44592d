"""The migrations build the schema from empty, match the models exactly, and can be undone."""

from __future__ import annotations

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from flask_migrate import downgrade, upgrade
from sqlalchemy import inspect, text

from intake.platform.extensions import db
from tests.factories import Patient
from tests.support.database import reset_database


ORDERED_INDEXES = {
    "ix_assessment_requests_rank_created": ["urgency_rank", "back_risk_rank", "created_at DESC", "id DESC"],
    "ix_assessment_requests_status_rank_created": ["status", "urgency_rank", "back_risk_rank", "created_at DESC", "id DESC"],
    # A whole surname or name first (an expression), then the list's order.
    "ix_assessment_requests_surname_rank": ["(expression)", "urgency_rank", "back_risk_rank", "created_at DESC", "id DESC"],
    "ix_assessment_requests_name_rank": ["(expression)", "urgency_rank", "back_risk_rank", "created_at DESC", "id DESC"],
}


def index_order(name: str) -> list[str]:
    """An index's columns with their sort direction, as the database reports them."""
    if db.engine.dialect.name == "sqlite":
        with db.engine.connect() as connection:
            rows = connection.execute(text(f"PRAGMA index_xinfo('{name}')")).all()
        return [(row[2] or "(expression)") + (" DESC" if row[3] else "") for row in rows if row[5]]
    [index] = [index for index in inspect(db.engine).get_indexes("assessment_requests") if index["name"] == name]
    sorting = index.get("column_sorting", {})
    return [(column or "(expression)") + (" DESC" if "desc" in sorting.get(column, ()) else "") for column in index["column_names"]]


def _is_ordered_index(diff) -> bool:
    return diff[0] in ("add_index", "remove_index") and diff[1].name in ORDERED_INDEXES


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
        # Alembic cannot compare indexes with DESC columns; those are checked column by column below.
        assert [diff for diff in differences if not _is_ordered_index(diff)] == []
        for name, expected in ORDERED_INDEXES.items():
            assert index_order(name) == expected, name


def test_downgrade_to_empty_removes_every_table(make_app):
    app = make_app()
    with app.app_context():
        reset_database()
        upgrade()
        downgrade(revision="base")
        assert set(inspect(db.engine).get_table_names()) <= {"alembic_version"}


def test_the_database_refuses_an_unknown_answer_code(make_app):
    """Constraints live in the database too: a region outside the list cannot be stored."""
    from sqlalchemy.exc import IntegrityError

    app = make_app()
    with app.app_context():
        reset_database()
        upgrade()
        with pytest.raises(IntegrityError), db.engine.begin() as connection:
            connection.execute(text(
                "INSERT INTO assessment_requests (reference, submission_key, status, urgency, urgency_reasons, soft_flags,"
                " first_name, last_name, date_of_birth, email, phone, contact_method, region, side, duration, onset,"
                " pain_now, pain_worst, sensations, description, goals, safety_answers, site_code, available_days,"
                " available_times, availability_note, consent_given_at, marketing_opt_in, created_at, updated_at)"
                " VALUES ('AAAAAAAA', 'k', 'new', 'routine', '[]', '[]', 'A', 'B', '1980-01-01', 'a@b.c', '+447400123456',"
                " 'phone', 'tail', 'left', 'under_2_weeks', 'gradual', 1, 2, '[]', '', '', '{}', 'riverside', '[]', '[]',"
                " '', '2026-01-01 00:00:00', false, '2026-01-01 00:00:00', '2026-01-01 00:00:00')"
            ))


def test_the_database_refuses_to_change_or_delete_audit_entries_and_notes(make_app):
    """Even outside the app, SQL cannot rewrite the audit log (notes have the same triggers)."""
    from sqlalchemy.exc import DatabaseError

    app = make_app()
    with app.app_context():
        reset_database()
        upgrade()
        with db.engine.begin() as connection:
            connection.execute(text("INSERT INTO audit_events (at, staff_email, action, detail) VALUES ('2026-01-01 00:00:00', 'a@b.c', 'login', '{}')"))
        for statement in ("UPDATE audit_events SET action = 'x'", "DELETE FROM audit_events"):
            with pytest.raises(DatabaseError), db.engine.begin() as connection:
                connection.execute(text(statement))
        with db.engine.connect() as connection:
            assert connection.execute(text("SELECT action FROM audit_events")).scalar_one() == "login"


def test_upgrading_fills_in_the_shown_phone_number_of_requests_stored_before(make_app):
    """Migration 0008 writes each stored request's number as the patient would write it."""
    app = make_app()
    with app.app_context():
        reset_database()
        upgrade()
    Patient(app.test_client()).complete()  # phone 07400 123456
    with app.app_context():
        downgrade(revision="0007")
        assert "phone_display" not in {column["name"] for column in inspect(db.engine).get_columns("assessment_requests")}
        upgrade()
        assert db.session.execute(text("SELECT phone, phone_display FROM assessment_requests")).one() == ("+447400123456", "07400 123456")


def test_the_migrated_database_lets_erasure_empty_a_note_and_refuses_every_other_change(make_app):
    """Migration 0015: a note's body may be emptied (erasure), nothing else changed, nothing deleted;
    the audit log stays wholly append-only; answers go missing only from an erased request."""
    from sqlalchemy.exc import DatabaseError

    from intake.staff import accounts, rights, services
    from tests.factories import new_staff

    app = make_app()
    with app.app_context():
        reset_database()
        upgrade()
    reference = Patient(app.test_client()).complete()
    admin = new_staff(app, "admin")
    with app.app_context():
        user = accounts.find_staff(admin)
        stored = services.find_request(reference)
        services.add_note(stored, "Rang about parking", user, stored.created_at)
        services.add_note(stored, "Second note", user, stored.created_at)
        db.session.commit()
        refused = ("UPDATE request_notes SET body = 'changed'", "UPDATE request_notes SET body = '', author_id = author_id + 1",
                   "DELETE FROM request_notes", "UPDATE audit_events SET detail = '{}'",
                   "UPDATE assessment_requests SET region = NULL", "UPDATE assessment_requests SET pain_now = NULL")
        for statement in refused:
            with pytest.raises(DatabaseError), db.engine.begin() as connection:
                connection.execute(text(statement))
        rights.erase(stored, reason="Asked by phone", user=user, now=stored.created_at)
        db.session.commit()
        with db.engine.connect() as connection:
            assert connection.execute(text("SELECT body FROM request_notes")).scalars().all() == ["", ""]
            assert connection.execute(text("SELECT first_name, region, erased_because FROM assessment_requests")).one() == ("", None, "patient_request")
            assert connection.execute(text("SELECT requests FROM request_status_counts WHERE status = 'new'")).scalar_one() == 1
        with pytest.raises(DatabaseError), db.engine.begin() as connection:
            connection.execute(text("UPDATE assessment_requests SET first_name = 'Ada'"))  # an erased request holds nothing


def test_the_requests_triggers_survive_sqlites_rebuild_of_the_table(make_app):
    """Migration 0015 rebuilds assessment_requests on SQLite: the status counts' and the diary
    version's triggers are made again."""
    app = make_app()
    with app.app_context():
        reset_database()
        upgrade()
    Patient(app.test_client()).complete()
    with app.app_context(), db.engine.begin() as connection:
        assert connection.execute(text("SELECT requests FROM request_status_counts WHERE status = 'new'")).scalar_one() == 1
        version = connection.execute(text("SELECT version FROM diary_version")).scalar_one()
        connection.execute(text("UPDATE assessment_requests SET first_name = 'Ann'"))
        assert connection.execute(text("SELECT version FROM diary_version")).scalar_one() == version + 1


def test_requests_stored_before_the_back_pain_screen_are_kept_unscreened_and_the_checks_hold(make_app):
    """Migration 0021: a request from before has no screen (sorted with low risk); the database
    checks that a risk follows from its scores; on SQLite the status-count triggers are kept."""
    from sqlalchemy.exc import DatabaseError

    from tests.factories import HIGH_BACK_RISK, LOWER_BACK

    app = make_app()
    with app.app_context():
        reset_database()
        upgrade()
    Patient(app.test_client()).complete(**LOWER_BACK, **HIGH_BACK_RISK)
    with app.app_context():
        downgrade(revision="0020_waitlist")
        assert "back_risk" not in {column["name"] for column in inspect(db.engine).get_columns("assessment_requests")}
        upgrade()
        with db.engine.connect() as connection:
            assert connection.execute(text(
                "SELECT CAST(back_screen AS TEXT), back_screen_total, back_screen_psychological, back_risk, back_risk_rank FROM assessment_requests"
            )).one() == ("{}", None, None, None, 2)
        for statement in ("UPDATE assessment_requests SET back_risk = 'high'",
                          "UPDATE assessment_requests SET back_risk = 'high', back_screen_total = 6, back_screen_psychological = 5"):
            with pytest.raises(DatabaseError), db.engine.begin() as connection:
                connection.execute(text(statement))  # unscored, or high risk sorted as low
        with db.engine.begin() as connection:
            connection.execute(text("UPDATE assessment_requests SET back_risk = 'high', back_screen_total = 6, "
                                    "back_screen_psychological = 5, back_risk_rank = 0"))
    Patient(app.test_client()).complete()
    with app.app_context(), db.engine.connect() as connection:
        assert connection.execute(text("SELECT requests FROM request_status_counts WHERE status = 'new'")).scalar_one() == 2


def test_the_migrated_database_withdraws_only_the_waiting_reminders_of_a_changed_appointment(make_app):
    """Migration 0019: cancelling or moving an appointment deletes its reminders still waiting;
    sent ones, other messages and other appointments' reminders stay (and its rebuild of the
    outbox table on SQLite keeps the appointments' own triggers)."""
    from datetime import timedelta

    from intake.platform.timeutil import utcnow
    from tests.factories import appointment_at, new_practitioner, new_request

    app = make_app()
    with app.app_context():
        reset_database()
        upgrade()
    practitioner = new_practitioner(app)
    soon = utcnow().replace(microsecond=0) + timedelta(days=3)
    first = appointment_at(app, new_request(app), practitioner, soon)
    second = appointment_at(app, new_request(app, email="alan@example.com"), practitioner, soon + timedelta(hours=2))
    rows = [(first, "reminder_before", "pending"), (first, "reminder_morning", "sent"), (first, "patient_booking_confirmation", "pending"),
            (second, "reminder_before", "pending")]
    with app.app_context(), db.engine.begin() as connection:
        for number, (appointment_id, kind, status) in enumerate(rows):
            connection.execute(text(
                "INSERT INTO outbox_messages (channel, kind, appointment_id, recipient, subject, text_body, html_body, message_id, "
                "status, attempts, next_attempt_at, created_at) VALUES ('email', :kind, :appointment, 'a@example.com', '', '', '', "
                ":message_id, :status, 0, :now, :now)"
            ), {"kind": kind, "appointment": appointment_id, "message_id": f"<m{number}@test>", "status": status, "now": utcnow()})
        connection.execute(text("UPDATE appointments SET cancel_reason = 'x' WHERE id = :id"), {"id": first})  # not a change of time
        assert connection.execute(text("SELECT count(*) FROM outbox_messages WHERE appointment_id IS NOT NULL")).scalar_one() == 4
        connection.execute(text("UPDATE appointments SET cancelled = :yes WHERE id = :id"), {"yes": True, "id": first})
        left = connection.execute(text("SELECT appointment_id, kind, status FROM outbox_messages WHERE appointment_id IS NOT NULL ORDER BY id")).all()
        assert [tuple(row) for row in left] == rows[1:]
        connection.execute(text("UPDATE appointments SET starts_at = :later, blocked_until = :end WHERE id = :id"),
                           {"later": soon + timedelta(days=1), "end": soon + timedelta(days=1, hours=1), "id": second})
        assert connection.execute(text("SELECT count(*) FROM outbox_messages WHERE appointment_id = :id"), {"id": second}).scalar_one() == 0
    with app.app_context(), pytest.raises(Exception, match="appointments_no_overlap"):
        appointment_at(app, new_request(app, email="ann@example.com"), practitioner, soon + timedelta(days=1))
