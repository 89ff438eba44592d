"""Red-flag triage: which safety questions to ask, and how urgent a request is. Pure Python."""

from intake.triage.red_flags import (
    ADVICE_RANK,
    CAUDA_EQUINA_QUESTIONS,
    QUESTIONS,
    QUESTIONS_BY_CODE,
    Advice,
    Page,
    Problem,
    Reason,
    RedFlagQuestion,
    TriageResult,
    Urgency,
    assess,
    nerve_questions_apply,
    questions_for,
)

__all__ = [
    "ADVICE_RANK",
    "CAUDA_EQUINA_QUESTIONS",
    "QUESTIONS",
    "QUESTIONS_BY_CODE",
    "Advice",
    "Page",
    "Problem",
    "Reason",
    "RedFlagQuestion",
    "TriageResult",
    "Urgency",
    "assess",
    "nerve_questions_apply",
    "questions_for",
]
