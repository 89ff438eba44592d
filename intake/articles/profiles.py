"""What a stored request tells the matcher about the patient.

The request arrives as any object with the answers' attributes (the journey's stored request)
and is copied into a plain `IntakeProfile`, so this package needs nothing from the journey.
"""

from __future__ import annotations

from typing import Any

from intake.articles.matcher import ArticleIndex, IntakeProfile, Recommendation, recommend
from intake.platform.timeutil import LONDON, age_on


def profile_from_request(request: Any) -> IntakeProfile:
    """The parts of a request that bear on what the patient should read."""
    return IntakeProfile(
        region=request.region,
        sensations=tuple(request.sensations or ()),
        duration=request.duration,
        onset=request.onset,
        urgency=request.urgency,
        text=f"{request.description}\n{request.goals}",
        # Their age on the day they asked, as the clinic counts days.
        age=age_on(request.date_of_birth, request.created_at.astimezone(LONDON).date()),
        risk=request.back_risk or "",  # the back-pain screen's risk; "" when not screened
    )


def recommendations_for(profile: IntakeProfile, index: ArticleIndex, limit: int = 3) -> list[Recommendation]:
    """The articles to offer this patient, best first."""
    return recommend(index, profile, limit=limit)
