"""The urgency a request's safety answers lead to (shared/CLINICAL.md).

Only the answers to the questions asked count (intake.triage.questions); an emergency yes always
does. The most pressing care card of the reasons decides the urgency: 999 or A&E now makes an
emergency, same-day help or a GP today an urgent request; some answers are soft flags, for a
clinician to see without a card. No Flask or database imports.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from enum import StrEnum

from intake.triage.questions import (
    ADVICE_RANK, NEW_PAIN_DURATIONS, OLDER_THAN, QUESTIONS, QUESTIONS_BY_CODE, Advice, Problem, questions_for, spinal,
)


class Urgency(StrEnum):
    """How quickly a request needs attention."""

    ROUTINE = "routine"
    URGENT = "urgent"
    EMERGENCY = "emergency"


@dataclass(frozen=True)
class Reason:
    """Why a request was flagged: a stable code, words for the clinic, and the care card it
    leads to (None for a soft flag, which is for a clinician and shows the patient no card)."""

    code: str
    text: str
    advice: Advice | None = None


@dataclass(frozen=True)
class TriageResult:
    """The urgency of a request with the reasons behind it."""

    urgency: Urgency
    reasons: tuple[Reason, ...]
    soft_flags: tuple[Reason, ...]

    @property
    def advice(self) -> Advice | None:
        """The most pressing care card of the reasons (None when nothing needs one)."""
        return max((reason.advice for reason in self.reasons), key=ADVICE_RANK.__getitem__, default=None)


BACK_REGIONS = frozenset({"lower_back", "upper_back"})
MINOR_INJURY_WITH_FRAGILE_BONES = Reason(
    code="fragile_bones_injury",
    text=QUESTIONS_BY_CODE["fragile_bones"].reason,
    advice=Advice.GP_TODAY,
)


def assess(
    answers: Mapping[str, bool | None],
    *,
    region: str | None,
    duration: str | None,
    onset: str | None,
    age: int | None,
    sensations: Iterable[str] = (),
) -> TriageResult:
    """Work out a request's urgency from its safety answers and symptom context.

    `answers` maps question codes to True (yes), False (no) or None (not asked). Only the answers
    to questions asked (`questions_for`) count, so an answer kept from before a change of problem
    does not flag a request its question no longer fits; an emergency yes always counts.
    """
    problem = Problem(region, duration, onset, age, frozenset(sensations))
    said_yes = {question.code for question in questions_for(problem, answers) if answers.get(question.code) is True}
    reasons: list[Reason] = []
    soft_flags: list[Reason] = []
    for question in QUESTIONS:
        if question.code not in said_yes:
            continue
        if question.code == "fragile_bones":
            reasons.append(MINOR_INJURY_WITH_FRAGILE_BONES)
        elif question.code == "hot_joint":
            _hot_joint(reasons, soft_flags, fever="fever_unwell" in said_yes, injured=onset == "injury")
        elif question.code == "cancer_history" and not spinal(problem):
            soft_flags.append(Reason("cancer_history_new_pain", f"History of cancer, with new pain at age {age}"))
        else:
            reasons.append(Reason(question.code, question.reason, question.advice))
    reasons.sort(key=lambda reason: reason.advice is not Advice.EMERGENCY)  # emergency reasons first, each group in question order

    if region in BACK_REGIONS and duration in NEW_PAIN_DURATIONS and age is not None and (age < 20 or age > OLDER_THAN):
        soft_flags.insert(0, Reason("new_back_pain_age", f"New back pain at age {age} (under 20 or over 50)"))

    if any(reason.advice is Advice.EMERGENCY for reason in reasons):
        urgency = Urgency.EMERGENCY
    elif reasons:
        urgency = Urgency.URGENT
    else:
        urgency = Urgency.ROUTINE
    return TriageResult(urgency=urgency, reasons=tuple(reasons), soft_flags=tuple(soft_flags))


def _hot_joint(reasons: list[Reason], soft_flags: list[Reason], *, fever: bool, injured: bool) -> None:
    """A hot, red, swollen joint: with fever or feeling unwell it may be infected (same day); without,
    it still needs a doctor today (infection cannot be ruled out, or gout); straight after an injury
    heat and swelling are expected, so without fever it is for the clinician to see."""
    if fever:
        reasons.append(Reason("hot_joint", "Hot, red, swollen joint with fever or feeling unwell (possible joint infection)", Advice.SAME_DAY))
    elif not injured:
        reasons.append(Reason("hot_joint", "Hot, red, swollen joint without an injury", Advice.GP_TODAY))
    else:
        soft_flags.append(Reason("hot_joint_after_injury", "Hot, red, swollen joint after an injury, without fever"))
