"""Scoring the back-pain screen: total, psychological subscore and risk. Pure Python.

Follows shared/CLINICAL.md ("Risk stratification for back pain"): agreeing with any of the
eight statements scores 1, and the last question scores 1 for its top two answers. The total is
all nine (0-9); the psychological subscore is items 5 to 9 (0-5). Risk is high when the
subscore is 4 or 5; otherwise medium when the total is 4 or more; otherwise low.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum

from intake.clinic.back_screen import AGREEMENT, BOTHER_LEVELS, BOTHERSOME, ITEMS, STATEMENTS

# The patients asked: those whose main problem is their lower back (the screen, like NICE NG59, is
# about low back pain; upper back pain has other causes to think of first).
SCREENED_REGIONS = frozenset({"lower_back"})
PSYCHOLOGICAL_ITEMS = (*STATEMENTS[4:], BOTHERSOME)
SCORING_BOTHER_LEVELS = frozenset(BOTHER_LEVELS[3:])  # "very much" and "extremely"
HIGH_SUBSCORE = 4
MEDIUM_TOTAL = 4


class BackRisk(StrEnum):
    """How likely back pain is to become persistent, as the screen sorts it."""

    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"


# The back office lists high risk first, then medium, then low (and those not screened, with low).
RISK_RANK = {BackRisk.HIGH: 0, BackRisk.MEDIUM: 1, BackRisk.LOW: 2}
NOT_SCREENED_RANK = 2


class IncompleteScreen(ValueError):
    """The answers miss an item, or hold an answer the item does not have."""


@dataclass(frozen=True)
class BackScreenScore:
    """The screen's result: total (0-9), psychological subscore (0-5) and the risk they give."""

    total: int
    psychological: int
    risk: BackRisk

    @property
    def rank(self) -> int:
        """Where the risk sorts in the back office's queue (0 first)."""
        return RISK_RANK[self.risk]


def screen_applies(region: str | None) -> bool:
    """Whether a patient with this main problem is asked the screen."""
    return region in SCREENED_REGIONS


def item_score(code: str, answer: str | None) -> int:
    """One item's score: 1 for agreeing with a statement, or for the top two levels of the last question."""
    if code == BOTHERSOME:
        if answer not in BOTHER_LEVELS:
            raise IncompleteScreen(f"{code}: {answer!r} is not one of its answers")
        return int(answer in SCORING_BOTHER_LEVELS)
    if code not in STATEMENTS:
        raise IncompleteScreen(f"{code!r} is not an item of the screen")
    if answer not in AGREEMENT:
        raise IncompleteScreen(f"{code}: {answer!r} is neither agree nor disagree")
    return int(answer == "agree")


def risk_for(total: int, psychological: int) -> BackRisk:
    """The risk a total and a psychological subscore give."""
    if psychological >= HIGH_SUBSCORE:
        return BackRisk.HIGH
    if total >= MEDIUM_TOTAL:
        return BackRisk.MEDIUM
    return BackRisk.LOW


def score(answers: Mapping[str, str | None]) -> BackScreenScore:
    """Score a complete set of answers (item code -> answer code); IncompleteScreen if any is missing or unknown."""
    scores = {code: item_score(code, answers.get(code)) for code in ITEMS}
    total = sum(scores.values())
    psychological = sum(scores[code] for code in PSYCHOLOGICAL_ITEMS)
    return BackScreenScore(total, psychological, risk_for(total, psychological))
