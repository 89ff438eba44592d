"""Red-flag triage: which safety questions to ask, and how urgent a request is. Pure Python."""

from intake.triage.questions import (
    ADVICE_RANK,
    CAUDA_EQUINA_QUESTIONS,
    QUESTIONS,
    QUESTIONS_BY_CODE,
    Advice,
    Page,
    Problem,
    RedFlagQuestion,
    nerve_questions_apply,
    questions_for,
)
from intake.triage.red_flags import Reason, TriageResult, Urgency, assess

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
