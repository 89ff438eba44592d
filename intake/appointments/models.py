"""The clinic's diary in the database: practitioners, where and when they work, exceptions,
appointment types, booking rules and the appointments themselves.

Times are stored in UTC. Weekly working hours are London wall-clock times (09:00 stays 09:00
across the clock changes). The database itself refuses two overlapping appointments of one
practitioner: an exclusion constraint on PostgreSQL, triggers on SQLite (see `NO_OVERLAP`).
"""

from __future__ import annotations

import secrets
from datetime import datetime, time

from sqlalchemy import BigInteger, CheckConstraint, ForeignKey, Index, SmallInteger, String, Time, event, func, text
from sqlalchemy.dialects.postgresql import ExcludeConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from intake.platform.extensions import db
from intake.platform.timeutil import UTCDateTime, utcnow

INITIAL_ASSESSMENT = "initial-assessment"
EXCEPTION_KINDS = ("away", "extra")
BANK_HOLIDAY_REGIONS = {"england": "ENG", "scotland": "SCT", "northern-ireland": "NIR", "none": ""}


class Practitioner(db.Model):
    """Someone patients can be booked with; optionally linked to a staff sign-in (their own day)."""

    __tablename__ = "practitioners"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    active: Mapped[bool] = mapped_column(default=True)
    staff_user_id: Mapped[int | None] = mapped_column(ForeignKey("staff_users.id"), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    sites: Mapped[list[PractitionerSite]] = relationship(
        cascade="all, delete-orphan", order_by="PractitionerSite.site_code", lazy="selectin"
    )

    @property
    def site_codes(self) -> list[str]:
        return [site.site_code for site in self.sites]


class PractitionerSite(db.Model):
    """A site a practitioner works at."""

    __tablename__ = "practitioner_sites"

    practitioner_id: Mapped[int] = mapped_column(ForeignKey("practitioners.id"), primary_key=True)
    site_code: Mapped[str] = mapped_column(String(40), primary_key=True)


class WorkingHours(db.Model):
    """One weekly session: a practitioner works at a site on a weekday, from a wall-clock time to another."""

    __tablename__ = "working_hours"
    __table_args__ = (
        CheckConstraint("weekday BETWEEN 0 AND 6", name="weekday_known"),
        CheckConstraint("ends > starts", name="ends_after_start"),
        Index("ix_working_hours_practitioner", "practitioner_id", "weekday"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    practitioner_id: Mapped[int] = mapped_column(ForeignKey("practitioners.id"))
    site_code: Mapped[str] = mapped_column(String(40))
    weekday: Mapped[int] = mapped_column(SmallInteger)  # 0 = Monday
    starts: Mapped[time] = mapped_column(Time)
    ends: Mapped[time] = mapped_column(Time)


class DiaryException(db.Model):
    """Time off the weekly pattern: "away" (leave, training, the clinic closed) or "extra" (a one-off session).

    With no practitioner an "away" applies to everyone; with no site, at every site.
    """

    __tablename__ = "diary_exceptions"
    __table_args__ = (
        CheckConstraint(f"kind IN ({', '.join(repr(kind) for kind in EXCEPTION_KINDS)})", name="kind_known"),
        CheckConstraint("ends_at > starts_at", name="ends_after_start"),
        CheckConstraint("kind = 'away' OR (practitioner_id IS NOT NULL AND site_code IS NOT NULL)", name="extra_has_who_and_where"),
        Index("ix_diary_exceptions_ends", "ends_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(8))
    practitioner_id: Mapped[int | None] = mapped_column(ForeignKey("practitioners.id"))
    site_code: Mapped[str | None] = mapped_column(String(40))
    starts_at: Mapped[datetime] = mapped_column(UTCDateTime)
    ends_at: Mapped[datetime] = mapped_column(UTCDateTime)
    note: Mapped[str] = mapped_column(String(200), default="")


class AppointmentType(db.Model):
    """A kind of appointment patients can have, with its length and the time kept free after it."""

    __tablename__ = "appointment_types"
    __table_args__ = (
        CheckConstraint("minutes BETWEEN 5 AND 480", name="minutes_sensible"),
        CheckConstraint("buffer_minutes BETWEEN 0 AND 120", name="buffer_sensible"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(40), unique=True)
    name: Mapped[str] = mapped_column(String(100))
    minutes: Mapped[int]
    buffer_minutes: Mapped[int] = mapped_column(default=15)


class BookingRules(db.Model):
    """The clinic's booking rules: one row (id 1)."""

    __tablename__ = "booking_rules"
    __table_args__ = (
        CheckConstraint("id = 1", name="single_row"),
        CheckConstraint("notice_working_days BETWEEN 0 AND 20", name="notice_sensible"),
        CheckConstraint("horizon_days BETWEEN 1 AND 366", name="horizon_sensible"),
        CheckConstraint("step_minutes BETWEEN 5 AND 120", name="step_sensible"),
    )

    id: Mapped[int] = mapped_column(primary_key=True, default=1)
    notice_working_days: Mapped[int] = mapped_column(default=1)
    horizon_days: Mapped[int] = mapped_column(default=42)
    step_minutes: Mapped[int] = mapped_column(default=15)
    bank_holidays: Mapped[str] = mapped_column(String(20), default="england")
    patients_choose_times: Mapped[bool] = mapped_column(default=True)


class Appointment(db.Model):
    """A booked assessment: when (UTC), with whom, where, and until when the practitioner is busy.

    `blocked_until` is the end of the appointment plus its buffer: the span no other
    appointment of the practitioner may overlap. A move changes the row in place and raises
    `sequence`, so a calendar invite keeps its UID and is updated, not duplicated.
    """

    __tablename__ = "appointments"
    __table_args__ = (
        CheckConstraint("blocked_until > starts_at", name="blocks_some_time"),
        CheckConstraint("outcome IS NULL OR outcome IN ('attended', 'no_show')", name="outcome_known"),
        Index("ix_appointments_practitioner_starts", "practitioner_id", "starts_at"),
        Index("ix_appointments_site_starts", "site_code", "starts_at"),
        Index("ix_appointments_starts", "starts_at"),  # the reminder scan: every site's upcoming appointments
        # The free times read the appointments that reach into their window (blocked_until after its
        # start): without this, starts_at alone bounds them only from above, so every past one is read.
        Index("ix_appointments_blocked_until", "blocked_until"),
        ExcludeConstraint(
            ("practitioner_id", "="),
            (func.tstzrange(text("starts_at"), text("blocked_until")), "&&"),
            name="appointments_no_overlap",
            using="gist",
            where=text("NOT cancelled"),
        ).ddl_if(dialect="postgresql"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    request_id: Mapped[int] = mapped_column(ForeignKey("assessment_requests.id"), index=True)
    practitioner_id: Mapped[int] = mapped_column(ForeignKey("practitioners.id"))
    site_code: Mapped[str] = mapped_column(String(40))
    starts_at: Mapped[datetime] = mapped_column(UTCDateTime)
    minutes: Mapped[int] = mapped_column(default=45)
    buffer_minutes: Mapped[int] = mapped_column(default=0)
    blocked_until: Mapped[datetime] = mapped_column(UTCDateTime)
    booked_by_id: Mapped[int | None] = mapped_column(ForeignKey("staff_users.id"))  # None: the patient chose it
    cancelled: Mapped[bool] = mapped_column(default=False)
    cancelled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    cancel_reason: Mapped[str] = mapped_column(String(200), default="")
    sequence: Mapped[int] = mapped_column(default=0)
    outcome: Mapped[str | None] = mapped_column(String(16))  # marked by reception once it has begun: see OUTCOMES
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    practitioner: Mapped[Practitioner] = relationship(lazy="joined")


# The rule the exclusion constraint keeps on PostgreSQL, kept by triggers on SQLite (which runs one
# writer at a time, so the check and the write cannot be interleaved). Migration 0009 creates the same.
_OVERLAPS = (
    "EXISTS (SELECT 1 FROM appointments AS other WHERE other.practitioner_id = NEW.practitioner_id "
    "AND NOT other.cancelled AND other.id IS NOT NEW.id "
    "AND other.starts_at < NEW.blocked_until AND other.blocked_until > NEW.starts_at)"
)
NO_OVERLAP = {
    "sqlite": [
        "CREATE TRIGGER IF NOT EXISTS appointments_no_overlap_insert BEFORE INSERT ON appointments "
        f"WHEN NOT NEW.cancelled AND {_OVERLAPS} BEGIN SELECT RAISE(ABORT, 'appointments_no_overlap'); END",
        "CREATE TRIGGER IF NOT EXISTS appointments_no_overlap_update BEFORE UPDATE OF practitioner_id, starts_at, blocked_until, cancelled "
        f"ON appointments WHEN NOT NEW.cancelled AND {_OVERLAPS} BEGIN SELECT RAISE(ABORT, 'appointments_no_overlap'); END",
    ],
}


@event.listens_for(Appointment.__table__, "before_create")
def _overlap_ranges_need_btree_gist(table, connection, **kw) -> None:
    """The exclusion constraint compares practitioner ids with `=` in a GiST index: btree_gist provides it."""
    if connection.dialect.name == "postgresql":
        connection.exec_driver_sql("CREATE EXTENSION IF NOT EXISTS btree_gist")


@event.listens_for(Appointment.__table__, "after_create")
def _refuse_overlaps_on_sqlite(table, connection, **kw) -> None:
    for statement in NO_OVERLAP.get(connection.dialect.name, []):
        connection.exec_driver_sql(statement)


class DiaryVersion(db.Model):
    """A number the database raises whenever the diary changes (any of DIARY_TABLES, or what it
    shows of a booked patient: SHOWN_OF_PATIENTS), so the free times worked out from one version,
    and the week's table rendered from it, can be kept and reused until the next change.

    `token` names this database's diary: a copy or a rebuilt database starts a token of its own,
    so times kept for one are never taken for another's.
    """

    __tablename__ = "diary_version"
    __table_args__ = (CheckConstraint("id = 1", name="single_row"),)

    id: Mapped[int] = mapped_column(primary_key=True, default=1)
    token: Mapped[str] = mapped_column(String(32))
    version: Mapped[int] = mapped_column(BigInteger, default=0)


DIARY_TABLES = (
    "practitioners", "practitioner_sites", "working_hours", "diary_exceptions", "appointment_types", "booking_rules", "appointments",
)
# What the diary shows of each booked patient (their request's row): a real change to any of these
# raises the version too, so nothing kept for a version shows an old name or urgency (migration 0012).
SHOWN_OF_PATIENTS = ("first_name", "last_name", "phone", "phone_display", "urgency", "reference")
_BUMP = "UPDATE diary_version SET version = version + 1"


def diary_version_ddl(dialect: str, token: str) -> list[str]:
    """The row and the triggers that raise the diary's version on every change (migrations 0010 and 0012 run the same)."""
    statements = [f"INSERT INTO diary_version (id, token, version) VALUES (1, '{token}', 0)"]
    shown = ", ".join(SHOWN_OF_PATIENTS)
    if dialect == "postgresql":
        statements.append(f"CREATE OR REPLACE FUNCTION bump_diary_version() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN {_BUMP}; RETURN NULL; END $$")
        statements += [
            f"CREATE OR REPLACE TRIGGER {table}_bump_diary_version AFTER INSERT OR UPDATE OR DELETE ON {table} "
            "FOR EACH STATEMENT EXECUTE FUNCTION bump_diary_version()"
            for table in DIARY_TABLES
        ]
        changed = " OR ".join(f"OLD.{column} IS DISTINCT FROM NEW.{column}" for column in SHOWN_OF_PATIENTS)
        statements.append(f"CREATE OR REPLACE TRIGGER assessment_requests_bump_diary_version AFTER UPDATE OF {shown} ON assessment_requests "
                          f"FOR EACH ROW WHEN ({changed}) EXECUTE FUNCTION bump_diary_version()")
    elif dialect == "sqlite":
        statements += [
            f"CREATE TRIGGER IF NOT EXISTS {table}_bump_diary_version_{event} AFTER {event.upper()} ON {table} BEGIN {_BUMP}; END"
            for table in DIARY_TABLES for event in ("insert", "update", "delete")
        ]
        changed = " OR ".join(f"OLD.{column} IS NOT NEW.{column}" for column in SHOWN_OF_PATIENTS)
        statements.append(f"CREATE TRIGGER IF NOT EXISTS assessment_requests_bump_diary_version AFTER UPDATE OF {shown} ON assessment_requests "
                          f"WHEN {changed} BEGIN {_BUMP}; END")
    return statements


@event.listens_for(db.metadata, "after_create")
def _version_the_diary(metadata, connection, tables=(), **kw) -> None:
    """With the tables built from the models (tests): the version row and its triggers, once every table exists."""
    if DiaryVersion.__table__ not in tables:
        return
    for statement in diary_version_ddl(connection.dialect.name, secrets.token_hex(16)):
        connection.exec_driver_sql(statement)


class ManageLink(db.Model):
    """The patient's link to see, move or cancel one appointment without signing in.

    The link's token is derived from `nonce` with the app's secret key (see manage_links), so
    every email about the appointment can carry it again; the database keeps only the nonce and
    the token's SHA-256 digest, by which a link is found, so a copy of the database alone opens
    no appointment. One link per appointment, for its whole life: a move keeps it, and it stops
    working when the appointment is cancelled or over.
    """

    __tablename__ = "manage_links"

    appointment_id: Mapped[int] = mapped_column(ForeignKey("appointments.id"), primary_key=True)
    nonce: Mapped[str] = mapped_column(String(32))
    token_digest: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
