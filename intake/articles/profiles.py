"""What a stored request tells the matcher about the patient."""

from __future__ import annotations

from intake.articles.matcher import ArticleIndex, IntakeProfile, Recommendation, recommend
from intake.journey.models import AssessmentRequest


def profile_from_request(request: AssessmentRequest) -> IntakeProfile:
    """The parts of a request that bear on what the patient should read."""
    return IntakeProfile(
        region=request.region,
        sensations=tuple(request.sensations or ()),
        duration=request.duration,
        onset=request.onset,
        urgency=request.urgency,
        text=f"{request.description}\n{request.goals}",
    )


def recommendations_for(request: AssessmentRequest, index: ArticleIndex, limit: int = 3) -> list[Recommendation]:
    """The articles to offer this patient, best first."""
    return recommend(index, profile_from_request(request), limit=limit)
