"""Red-flag triage: which safety questions to ask, and how urgent a request is. Pure Python."""

from intake.triage.red_flags import (
    EMERGENCY_QUESTIONS,
    URGENT_QUESTIONS,
    Reason,
    RedFlagQuestion,
    TriageResult,
    Urgency,
    assess,
    nerve_questions_apply,
)

__all__ = [
    "EMERGENCY_QUESTIONS",
    "URGENT_QUESTIONS",
    "Reason",
    "RedFlagQuestion",
    "TriageResult",
    "Urgency",
    "assess",
    "nerve_questions_apply",
]
