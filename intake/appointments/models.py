"""The appointment: a booked assessment, stored in UTC, with a clinician at a site."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy import ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from intake.platform.extensions import db
from intake.platform.timeutil import UTCDateTime, utcnow

if TYPE_CHECKING:
    from intake.staff.models import StaffUser


class Appointment(db.Model):
    """A booked assessment: when (stored in UTC), with whom and where."""

    __tablename__ = "appointments"
    __table_args__ = (Index("ix_appointments_clinician_starts", "clinician_id", "starts_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    request_id: Mapped[int] = mapped_column(ForeignKey("assessment_requests.id"), index=True)
    starts_at: Mapped[datetime] = mapped_column(UTCDateTime)
    minutes: Mapped[int] = mapped_column(default=45)
    clinician_id: Mapped[int] = mapped_column(ForeignKey("staff_users.id"))
    site_code: Mapped[str] = mapped_column(String(40))
    booked_by_id: Mapped[int] = mapped_column(ForeignKey("staff_users.id"))
    cancelled: Mapped[bool] = mapped_column(default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    clinician: Mapped[StaffUser] = relationship("StaffUser", foreign_keys=[clinician_id])
