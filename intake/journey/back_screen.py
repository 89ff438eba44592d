"""The back-pain screen's answers as a submitted request stores them, with their score.

The questions and their wording are in intake.clinic.back_screen, the scoring in
intake.triage.back_risk; the page that asks them is the "back-pain" step (journey.py).
"""

from __future__ import annotations

from typing import Any

from intake.clinic.back_screen import ITEMS
from intake.triage.back_risk import NOT_SCREENED_RANK, score


def back_screen_columns(screen: dict[str, Any] | None) -> dict[str, Any]:
    """The request's columns for the screen's answers (by item code) and score; empty when it was not asked."""
    if not screen:
        return dict(back_screen={}, back_screen_total=None, back_screen_psychological=None, back_risk=None, back_risk_rank=NOT_SCREENED_RANK)
    result = score(screen)
    return dict(
        back_screen={code: screen[code] for code in ITEMS}, back_screen_total=result.total,
        back_screen_psychological=result.psychological, back_risk=result.risk.value, back_risk_rank=result.rank,
    )
