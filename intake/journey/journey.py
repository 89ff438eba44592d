"""The order of the question pages, and which of them apply to a given patient."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from intake.journey import forms
from intake.triage import nerve_questions_apply

Answers = dict[str, dict[str, Any]]


def _always(answers: Answers) -> bool:
    """Most pages apply to everyone."""
    return True


def _nerve_questions_needed(answers: Answers) -> bool:
    """The cauda equina questions apply to back or leg problems and nerve symptoms.

    Once a patient has answered yes to one, the page stays part of their request even if
    they change their symptoms: an emergency answer is never silently dropped.
    """
    where = answers.get("where_it_hurts", {})
    feels = answers.get("how_it_feels", {})
    said_yes = "yes" in answers.get("nerve_symptoms", {}).values()
    return said_yes or nerve_questions_apply(where.get("region"), feels.get("sensations") or [])


def _no_options(config: Mapping[str, Any]) -> dict[str, Any]:
    """Most forms need nothing from the configuration."""
    return {}


@dataclass(frozen=True)
class Step:
    """One question page: its URL slug, heading, form, when it applies, and what its
    form needs from the configuration."""

    slug: str
    title: str
    section: str
    form: type[forms.StepForm]
    applies: Callable[[Answers], bool] = _always
    options: Callable[[Mapping[str, Any]], dict[str, Any]] = _no_options

    def build_form(self, config: Mapping[str, Any], **kwargs) -> forms.StepForm:
        """Make this page's form with the settings it needs."""
        return self.form(**kwargs, **self.options(config))


STEPS: tuple[Step, ...] = (
    Step("about-you", "About you", "About you", forms.AboutYouForm, options=lambda config: {"clinic_phone": config["CLINIC_PHONE"]}),
    Step("where-it-hurts", "Where it hurts", "Your symptoms", forms.WhereItHurtsForm),
    Step("how-it-feels", "How it feels", "Your symptoms", forms.HowItFeelsForm),
    Step("nerve-symptoms", "Questions about your back, legs, bladder and bowels", "Safety questions", forms.NerveSymptomsForm, _nerve_questions_needed),
    Step("general-health", "Your general health", "Safety questions", forms.GeneralHealthForm),
    Step("when-and-where", "When and where you can come", "When and where", forms.WhenWhereForm, options=lambda config: {"sites": config["CLINIC_SITES"]}),
)
STEPS_BY_SLUG = {step.slug: step for step in STEPS}


def answer_key(step: Step) -> str:
    """The key a step's answers are stored under in the draft."""
    return step.slug.replace("-", "_")


def applicable_steps(answers: Answers) -> list[Step]:
    """The pages this patient must answer, in order."""
    return [step for step in STEPS if step.applies(answers)]


def first_unanswered_step(answers: Answers) -> Step | None:
    """The first page still to answer, or None when every page that applies is done."""
    for step in applicable_steps(answers):
        if answer_key(step) not in answers:
            return step
    return None


def previous_step(step: Step, answers: Answers) -> Step | None:
    """The page before this one for this patient, or None for the first page."""
    earlier = None
    for candidate in applicable_steps(answers):
        if candidate is step:
            return earlier
        earlier = candidate
    return earlier


def relevant_answers(answers: Answers) -> Answers:
    """Only the answers of pages that still apply (a changed answer can make a page irrelevant)."""
    return {answer_key(step): answers[answer_key(step)] for step in applicable_steps(answers) if answer_key(step) in answers}
