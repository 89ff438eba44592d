"""A request's way through the clinic: which status may follow which, and the words staff see.

Pure data and functions, with no Flask or database: the back office and the booking rules
both read them.
"""

from __future__ import annotations

# Which status can follow which. Booking is its own action, because it needs an appointment.
TRANSITIONS: dict[str, frozenset[str]] = {
    "new": frozenset({"contacted", "booked", "cancelled", "declined"}),
    "contacted": frozenset({"booked", "cancelled", "declined"}),
    # booked again = rescheduled; contacted = the appointment was cancelled and a new time is needed
    "booked": frozenset({"booked", "contacted", "attended", "no_show", "cancelled"}),
    "no_show": frozenset({"booked", "contacted", "cancelled"}),
    "attended": frozenset(),
    "cancelled": frozenset(),
    "declined": frozenset(),
}
STATUS_WORDS = {
    "new": "New", "contacted": "Contacted", "booked": "Booked", "attended": "Attended",
    "no_show": "Did not attend", "cancelled": "Cancelled", "declined": "Declined",
}
# Moves that only cancelling the appointment makes (so the patient is told), never a bare status change.
THROUGH_CANCELLING = frozenset({("booked", "contacted")})
# What a booked request becomes when reception cancels its appointment: it needs a new time, or the
# patient no longer wants an assessment.
AFTER_CANCELLING = ("contacted", "cancelled")
# The statuses that end the appointment's place in the diary: it is not going ahead, or was missed.
APPOINTMENT_ENDING = frozenset({"no_show", "cancelled"})


def can_become(status: str, new_status: str) -> bool:
    """Whether a request in `status` may move to `new_status`."""
    return new_status in TRANSITIONS.get(status, frozenset())


def refusal(status: str, new_status: str) -> str:
    """The words that tell staff a request in `status` cannot become `new_status`."""
    return f"A request that is {STATUS_WORDS[status].lower()} cannot become {STATUS_WORDS.get(new_status, new_status).lower()}."
