"""Staff accounts, the audit log and notes."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from flask_login import UserMixin
from sqlalchemy import JSON, BigInteger, CheckConstraint, ForeignKey, Index, String, Text, event
from sqlalchemy.orm import Mapped, Session, mapped_column, relationship

from intake.platform.extensions import db
from intake.platform.timeutil import UTCDateTime, utcnow

ROLES = ("reception", "clinician", "admin")


class StaffLogin(UserMixin):
    """What Flask-Login asks of a member of staff, for the account row and for the small
    read-only copy loaded on every back-office request (`services.SignedInStaff`).

    `session_version` is part of the login cookie's user id: raising it (on logout or when
    the account is disabled) ends every session of this user at once.
    """

    id: int
    active: bool
    session_version: int

    @property
    def is_active(self) -> bool:  # Flask-Login refuses inactive users
        return self.active

    def get_id(self) -> str:
        """The login cookie holds the id and the session version together."""
        return f"{self.id}:{self.session_version}"


class StaffUser(StaffLogin, db.Model):
    """Someone who works at the clinic and can sign in to the back office."""

    __tablename__ = "staff_users"
    __table_args__ = (CheckConstraint(f"role IN ({', '.join(repr(role) for role in ROLES)})", name="role_known"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(254), unique=True)
    name: Mapped[str] = mapped_column(String(100))
    role: Mapped[str] = mapped_column(String(16))
    password_hash: Mapped[str] = mapped_column(String(255))
    active: Mapped[bool] = mapped_column(default=True)
    session_version: Mapped[int] = mapped_column(default=1)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_login_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class StaffSecondFactor(db.Model):
    """A member of staff's authenticator (TOTP) secret: pending until the first code proves it
    works (`enrolled_at` set), then asked for at every sign-in. `last_step` is the newest 30-second
    time step whose code was accepted, so a code cannot be used twice."""

    __tablename__ = "staff_second_factors"
    __table_args__ = (
        CheckConstraint("length(secret) >= 16", name="secret_long_enough"),
        CheckConstraint("last_step IS NULL OR last_step >= 0", name="last_step_not_negative"),
        CheckConstraint("last_step IS NULL OR enrolled_at IS NOT NULL", name="used_only_once_enrolled"),
    )

    staff_id: Mapped[int] = mapped_column(ForeignKey("staff_users.id", ondelete="CASCADE"), primary_key=True)
    secret: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    enrolled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_step: Mapped[int | None] = mapped_column(BigInteger)


class StaffRecoveryCode(db.Model):
    """One of a member of staff's one-time recovery codes, kept only as an Argon2 hash."""

    __tablename__ = "staff_recovery_codes"

    id: Mapped[int] = mapped_column(primary_key=True)
    staff_id: Mapped[int] = mapped_column(ForeignKey("staff_users.id", ondelete="CASCADE"), index=True)
    code_hash: Mapped[str] = mapped_column(String(255))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class AuditEvent(db.Model):
    """One thing a member of staff did or saw. Rows are only ever added, never changed."""

    __tablename__ = "audit_events"
    __table_args__ = (Index("ix_audit_events_request_at", "request_id", "at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    staff_id: Mapped[int | None] = mapped_column(ForeignKey("staff_users.id"))
    staff_email: Mapped[str] = mapped_column(String(254), default="")
    action: Mapped[str] = mapped_column(String(40), index=True)
    request_id: Mapped[int | None] = mapped_column(ForeignKey("assessment_requests.id"))
    detail: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)


class RequestNote(db.Model):
    """A note added by staff to a request; notes are never edited, only added."""

    __tablename__ = "request_notes"

    id: Mapped[int] = mapped_column(primary_key=True)
    request_id: Mapped[int] = mapped_column(ForeignKey("assessment_requests.id"), index=True)
    author_id: Mapped[int] = mapped_column(ForeignKey("staff_users.id"))
    body: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    author: Mapped[StaffUser] = relationship()


class AuditLogIsAppendOnly(Exception):
    """Raised when code tries to change or delete an audit entry."""


@event.listens_for(Session, "do_orm_execute")
def _refuse_bulk_audit_changes(state) -> None:
    """Bulk UPDATE or DELETE statements cannot touch the audit log either."""
    if (state.is_update or state.is_delete) and any(mapper.class_ is AuditEvent for mapper in state.all_mappers):
        raise AuditLogIsAppendOnly("Audit entries cannot be changed or deleted.")


@event.listens_for(Session, "before_flush")
def _refuse_audit_changes(session: Session, flush_context, instances) -> None:
    """The audit log cannot be edited or deleted through the app."""
    for instance in [*session.dirty, *session.deleted]:
        if isinstance(instance, AuditEvent) and (instance in session.deleted or session.is_modified(instance)):
            raise AuditLogIsAppendOnly("Audit entries cannot be changed or deleted.")
