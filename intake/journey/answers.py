"""Turn a draft's stored answers into the rows of the check-your-answers page."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from collections.abc import Mapping
from typing import Any

from flask import url_for

from intake.journey.forms import DateInputField, format_phone_for_display
from intake.journey.journey import Answers, Step, answer_key, applicable_steps
from intake.platform.forms import CheckboxesField, ChoiceField, choice_words


@dataclass(frozen=True)
class SummaryRow:
    """One answer as the patient will read it, with a link to change it."""

    question: str
    answer: str
    change_url: str


@dataclass(frozen=True)
class SummarySection:
    """The answers of one question page."""

    title: str
    rows: list[SummaryRow]


def _readable(field, value: Any) -> str:
    """Show a stored answer in words."""
    if isinstance(field, ChoiceField):
        words = choice_words(field).get(value, value)
        return f"{words} out of 10" if field.name.startswith("pain_") else words
    if isinstance(field, CheckboxesField):
        chosen = choice_words(field)
        return ", ".join(chosen.get(code, code) for code in value or []) or "None of these"
    if isinstance(field, DateInputField):
        return date.fromisoformat(value).strftime("%-d %B %Y") if value else "Not given"
    if field.name == "phone":
        return format_phone_for_display(value)
    return value or "Not given"


def _labels_form(step: Step, config: Mapping[str, Any], answers: Answers):
    """A blank form of the page, for its questions' labels and choices."""
    return step.build_form(config, answers, meta={"csrf": False}, formdata=None)


def summary_sections(answers: Answers, config: Mapping[str, Any]) -> list[SummarySection]:
    """Every answer that counts, grouped by page, in the order they were asked."""
    sections = []
    for step in applicable_steps(answers):
        stored = answers[answer_key(step)]
        form = _labels_form(step, config, answers)
        change_url = url_for("journey.question", slug=step.slug, change=1)
        rows = [
            SummaryRow(str(field.label.text), _readable(field, stored.get(field.name)), f"{change_url}#{field.id}")
            for field in form
            if field.name in stored
        ]
        sections.append(SummarySection(step.title, rows))
    return sections
