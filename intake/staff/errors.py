"""The error every back-office rule raises when it refuses an action."""

from __future__ import annotations


class StaffError(Exception):
    """A back-office action that the rules do not allow; the message is shown to staff,
    next to `field` when the form has one."""

    def __init__(self, message: str, field: str = "") -> None:
        super().__init__(message)
        self.field = field
