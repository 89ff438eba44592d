"""The audit log: what staff did and saw, written with the action itself (the caller commits)."""

from __future__ import annotations

from datetime import datetime, timezone

from sqlalchemy import func, select

from intake.journey.models import AssessmentRequest
from intake.platform.extensions import db
from intake.staff.models import AuditEvent, StaffLogin


def audit(user: StaffLogin | None, action: str, request_id: int | None = None, now: datetime | None = None, **detail) -> None:
    """Record what a member of staff did or saw, about a request when `request_id` is given."""
    db.session.add(AuditEvent(
        at=now or datetime.now(timezone.utc),
        staff_id=user.id if user else None,
        staff_email=user.email if user else detail.pop("email", ""),
        action=action,
        request_id=request_id,
        detail=detail,
    ))


def audit_page(page: int, page_size: int, reference: str = "") -> tuple[list[tuple[AuditEvent, str | None]], int]:
    """Audit entries with their request's reference, newest first, optionally for one request."""
    query = select(AuditEvent, AssessmentRequest.reference).outerjoin(
        AssessmentRequest, AssessmentRequest.id == AuditEvent.request_id
    )
    if reference:
        query = query.where(AssessmentRequest.reference == reference.strip().upper())
    total = db.session.execute(select(func.count()).select_from(query.subquery())).scalar_one()
    rows = db.session.execute(query.order_by(AuditEvent.at.desc(), AuditEvent.id.desc()).limit(page_size).offset((page - 1) * page_size))
    return [(event, event_reference) for event, event_reference in rows], total


def history(request_id: int) -> list[AuditEvent]:
    """What has happened to a request, oldest first (views are in the audit log, not here)."""
    return list(db.session.execute(
        select(AuditEvent)
        .where(AuditEvent.request_id == request_id, AuditEvent.action != "view_request")
        .order_by(AuditEvent.at, AuditEvent.id)
    ).scalars())
