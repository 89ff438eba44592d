"""Safety (red-flag) questions and the urgency they lead to.

Follows shared/CLINICAL.md: any sign of possible cauda equina syndrome is an emergency
(A&E now or 999); other signs of serious disease need same-day medical advice (urgent);
new back pain under 20 or over 50 is a soft flag shown to clinicians without a care card.
No Flask or database imports, so every combination can be tested directly.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from enum import StrEnum


class Urgency(StrEnum):
    """How quickly a request needs attention."""

    ROUTINE = "routine"
    URGENT = "urgent"
    EMERGENCY = "emergency"


@dataclass(frozen=True)
class RedFlagQuestion:
    """A yes/no safety question, with the reason recorded when the answer is yes."""

    code: str
    question: str
    hint: str
    reason: str


@dataclass(frozen=True)
class Reason:
    """Why a request was flagged, as a stable code and words for the clinic."""

    code: str
    text: str


@dataclass(frozen=True)
class TriageResult:
    """The urgency of a request with the reasons behind it."""

    urgency: Urgency
    reasons: tuple[Reason, ...]
    soft_flags: tuple[Reason, ...]


EMERGENCY_QUESTIONS: tuple[RedFlagQuestion, ...] = (
    RedFlagQuestion(
        code="saddle_numbness",
        question=(
            "Do you have numbness or pins and needles between your legs, around your genitals "
            "or back passage, or in your buttocks?"
        ),
        hint="This includes things feeling different when you wipe after going to the toilet.",
        reason="Numbness or pins and needles in the saddle area",
    ),
    RedFlagQuestion(
        code="bladder_change",
        question=(
            "Have you recently had trouble starting to pee or controlling it, not felt when "
            "your bladder is full, or leaked pee?"
        ),
        hint="",
        reason="New bladder problems",
    ),
    RedFlagQuestion(
        code="bowel_change",
        question="Have you recently lost control of your bowels, or not felt yourself having a poo?",
        hint="",
        reason="New loss of bowel control or feeling",
    ),
    RedFlagQuestion(
        code="sexual_change",
        question="Have you recently noticed new problems with sex, or a change in feeling in your genitals?",
        hint="",
        reason="New problems with sexual function or sensation",
    ),
    RedFlagQuestion(
        code="leg_weakness",
        question=(
            "Is weakness in your leg getting worse, are both legs numb or weak, or have you "
            "recently found it hard to walk?"
        ),
        hint="",
        reason="Worsening leg weakness, both legs affected, or new difficulty walking",
    ),
)

URGENT_QUESTIONS: tuple[RedFlagQuestion, ...] = (
    RedFlagQuestion(
        code="cancer_history",
        question="Have you ever had cancer?",
        hint="",
        reason="History of cancer",
    ),
    RedFlagQuestion(
        code="weight_loss",
        question="Have you lost weight recently without trying to?",
        hint="",
        reason="Unexplained weight loss",
    ),
    RedFlagQuestion(
        code="fever_unwell",
        question="Since the pain started, have you had a high temperature, shivers or felt generally unwell?",
        hint="",
        reason="Fever, chills or feeling generally unwell",
    ),
    RedFlagQuestion(
        code="weak_immunity",
        question="Do you have a weakened immune system?",
        hint=(
            "For example because of chemotherapy, an organ transplant, HIV, or medicines that "
            "lower your immunity."
        ),
        reason="Weakened immune system",
    ),
    RedFlagQuestion(
        code="injected_drugs",
        question="Have you injected drugs recently?",
        hint="We ask everyone this because it changes how soon you should be seen. Your answer is kept confidential.",
        reason="Recent injection drug use",
    ),
    RedFlagQuestion(
        code="major_trauma",
        question="Did the pain start after a serious fall or accident?",
        hint="For example a road accident, or a fall from a height or down stairs.",
        reason="Pain started after a significant fall or accident",
    ),
    RedFlagQuestion(
        code="fragile_bones",
        question="Do you have osteoporosis (thin bones), or have you taken steroid tablets for 3 months or more?",
        hint="",
        reason="",  # Only a flag together with an injury: see assess().
    ),
    RedFlagQuestion(
        code="night_pain",
        question="Is your pain there all the time, worse at night, and not eased by resting or changing position?",
        hint="",
        reason="Constant pain, worse at night, not eased by rest",
    ),
)

# Regions where back or leg symptoms make the cauda equina questions relevant. "other"
# is included because we cannot rule the back or legs out.
BACK_OR_LEG_REGIONS = frozenset({"lower_back", "upper_back", "hip", "knee", "ankle_foot", "other"})
BACK_REGIONS = frozenset({"lower_back", "upper_back"})
NERVE_SENSATIONS = frozenset({"spreading_pain", "numbness", "pins_and_needles", "weakness"})
NEW_PAIN_DURATIONS = frozenset({"under_2_weeks", "2_to_6_weeks", "6_to_12_weeks"})
MINOR_INJURY_WITH_FRAGILE_BONES = Reason(
    code="fragile_bones_injury",
    text="Pain started after an injury in someone with osteoporosis or long-term steroid use",
)


def nerve_questions_apply(region: str | None, sensations: Iterable[str]) -> bool:
    """Return True when the patient must be asked the cauda equina (emergency) questions."""
    return region in BACK_OR_LEG_REGIONS or bool(NERVE_SENSATIONS.intersection(sensations))


def assess(
    answers: Mapping[str, bool | None],
    *,
    region: str | None,
    duration: str | None,
    onset: str | None,
    age: int | None,
) -> TriageResult:
    """Work out a request's urgency from its safety answers and symptom context.

    `answers` maps question codes to True (yes), False (no) or None (not asked).
    """
    emergency = tuple(
        Reason(question.code, question.reason) for question in EMERGENCY_QUESTIONS if answers.get(question.code) is True
    )
    urgent = [
        Reason(question.code, question.reason)
        for question in URGENT_QUESTIONS
        if question.reason and answers.get(question.code) is True
    ]
    if answers.get("fragile_bones") is True and onset == "injury":
        urgent.append(MINOR_INJURY_WITH_FRAGILE_BONES)

    soft_flags: tuple[Reason, ...] = ()
    if region in BACK_REGIONS and duration in NEW_PAIN_DURATIONS and age is not None and (age < 20 or age > 50):
        soft_flags = (Reason("new_back_pain_age", f"New back pain at age {age} (under 20 or over 50)"),)

    if emergency:
        urgency = Urgency.EMERGENCY
    elif urgent:
        urgency = Urgency.URGENT
    else:
        urgency = Urgency.ROUTINE
    return TriageResult(urgency=urgency, reasons=emergency + tuple(urgent), soft_flags=soft_flags)
