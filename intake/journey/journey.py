"""The order of the question pages, and which of them apply to a given patient."""

from __future__ import annotations

from collections.abc import Callable, Hashable, Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any

from intake.journey import forms
from intake.platform.timeutil import age_on, today_in_london
from intake.triage import Page, Problem, nerve_questions_apply, questions_for
from intake.triage.back_risk import screen_applies
from intake.triage.free_text import FreeTextMatch, find_in_fields

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
    wrote_of_nerves = any(match.category in NERVE_CATEGORIES for _, match in words_to_check(answers, "your_words"))
    return said_yes or wrote_of_nerves or nerve_questions_apply(where.get("region"), feels.get("sensations") or [])


# The pages of yes/no safety questions, by the key their answers are stored under.
SAFETY_PAGES = {"nerve_symptoms": Page.CAUDA_EQUINA, "your_problem": Page.PROBLEM, "general_health": Page.GENERAL}


def problem_of(answers: Answers, today: date) -> Problem:
    """What the answers say about the problem that decides which safety questions fit it."""
    where = answers.get("where_it_hurts", {})
    born = answers.get("about_you", {}).get("date_of_birth")
    return Problem(
        region=where.get("region"),
        duration=where.get("duration"),
        onset=where.get("onset"),
        age=age_on(date.fromisoformat(born), today) if born else None,
        sensations=frozenset(answers.get("how_it_feels", {}).get("sensations") or ()),
    )


def safety_answers(answers: Answers) -> dict[str, bool]:
    """Every yes/no safety answer saved, by question code (True for yes)."""
    return {code: said == "yes" for key in SAFETY_PAGES for code, said in answers.get(key, {}).items()}


def questions_asked(answers: Answers, today: date) -> tuple[str, ...]:
    """The codes of the safety questions these answers call for, on every page, in order."""
    return tuple(question.code for question in questions_for(problem_of(answers, today), safety_answers(answers)))


def _safety_step(slug: str, title: str, form: type[forms.StepForm]) -> Step:
    """A page of the safety questions that fit the patient's problem (intake.triage.questions_for):
    it applies when it has a question to ask, and is answered when every one it asks is. The
    unanswered page is the same for everyone asked the same questions, so it may be kept."""
    key = slug.replace("-", "_")

    def asked(answers: Answers) -> tuple[str, ...]:
        problem = problem_of(answers, today_in_london())
        return tuple(question.code for question in questions_for(problem, safety_answers(answers)) if question.page is SAFETY_PAGES[key])

    def complete(answers: Answers) -> bool:
        given = answers.get(key)
        return given is not None and all(code in given for code in asked(answers))

    return Step(
        slug, title, "Safety questions", form, lambda answers: bool(asked(answers)), complete=complete,
        from_answers=lambda answers: {"asked": asked(answers)}, variant=asked,
    )


def _back_screen_applies(answers: Answers) -> bool:
    """The back-pain screen is asked of patients whose main problem is their lower back."""
    return screen_applies(answers.get("where_it_hurts", {}).get("region"))


def _no_options(config: Mapping[str, Any]) -> dict[str, Any]:
    """Most forms need nothing from the configuration."""
    return {}


def _nothing_from_answers(answers: Answers) -> dict[str, Any]:
    """Most forms need nothing from the answers."""
    return {}


@dataclass(frozen=True)
class Step:
    """One question page: its URL slug, heading, form, when it applies, and what its
    form needs from the configuration (and, for a page whose questions follow the answers, from
    their answers: such a page is complete only when every question it asks now is answered, and
    is served from the page cache only when it names its `variant`, all the unanswered page
    depends on in the answers)."""

    slug: str
    title: str
    section: str
    form: type[forms.StepForm]
    applies: Callable[[Answers], bool] = _always
    options: Callable[[Mapping[str, Any]], dict[str, Any]] = _no_options
    complete: Callable[[Answers], bool] | None = None
    from_answers: Callable[[Answers], dict[str, Any]] = _nothing_from_answers
    variant: Callable[[Answers], Hashable] | None = None

    def build_form(self, config: Mapping[str, Any], answers: Answers | None = None, **kwargs) -> forms.StepForm:
        """Make this page's form with the settings (and answers) it needs."""
        return self.form(**kwargs, **self.options(config), **self.from_answers(answers or {}))

    @property
    def same_for_everyone(self) -> bool:
        """Whether the unanswered page is the same for everyone (with the same `variant`), so it may be cached."""
        return self.complete is None or self.variant is not None

    def variant_of(self, answers: Answers) -> Hashable:
        """What the unanswered page depends on in these answers (nothing, for most pages)."""
        return self.variant(answers) if self.variant else ()

    def answered(self, answers: Answers) -> bool:
        """Whether the patient has answered this page (as it stands now)."""
        return self.complete(answers) if self.complete else answer_key(self) in answers


# The pages whose free text is read for red flags, and the fields read on each: the words page
# after each one asks about what was found (intake.triage.free_text).
WORDS_SOURCES = {"your_words": ("how_it_feels", ("description", "goals")), "your_note": ("when_and_where", ("note",))}
NERVE_CATEGORIES = frozenset({"saddle_numbness", "bladder_change", "bowel_change", "sexual_change", "leg_weakness"})


def words_to_check(answers: Answers, key: str) -> list[tuple[str, FreeTextMatch]]:
    """The red flags in the text of the page a words page follows, as (field, match), each
    category once: leaving out those an earlier words page asks about, and safety questions the
    patient has already answered yes to (nothing more to ask)."""
    source, fields = WORDS_SOURCES[key]
    stored = answers.get(source, {})
    asked = {code for code, said in safety_answers(answers).items() if said}
    for earlier, (earlier_source, earlier_fields) in WORDS_SOURCES.items():
        if earlier == key:
            break
        texts = answers.get(earlier_source, {})
        asked.update(match.category for _, match in find_in_fields({name: texts.get(name) or "" for name in earlier_fields}))
    return find_in_fields({name: stored.get(name) or "" for name in fields}, skip=asked)


def _words_step(slug: str, section: str) -> Step:
    """The page that asks directly about the red flags in what the patient wrote on the page before."""
    key = slug.replace("-", "_")

    def applies(answers: Answers) -> bool:
        return bool(words_to_check(answers, key))

    def complete(answers: Answers) -> bool:
        given = answers.get(key)
        return given is not None and all(match.category in given for _, match in words_to_check(answers, key))

    def matches(answers: Answers) -> dict[str, Any]:
        return {"matches": words_to_check(answers, key)}

    return Step(slug, "About what you wrote", section, forms.YourWordsForm, applies, complete=complete, from_answers=matches)


STEPS: tuple[Step, ...] = (
    Step("about-you", "About you", "About you", forms.AboutYouForm, options=lambda config: {"clinic_phone": config["CLINIC_PHONE"]}),
    Step("where-it-hurts", "Where it hurts", "Your symptoms", forms.WhereItHurtsForm),
    Step("how-it-feels", "How it feels", "Your symptoms", forms.HowItFeelsForm),
    _words_step("your-words", "Your symptoms"),
    Step("nerve-symptoms", "Questions about your back, legs, bladder and bowels", "Safety questions", forms.NerveSymptomsForm, _nerve_questions_needed),
    _safety_step("your-problem", "Questions about your problem", forms.YourProblemForm),
    _safety_step("general-health", "Your general health", forms.GeneralHealthForm),
    Step("back-pain", "How your back pain affects you", "Your back pain", forms.BackPainForm, _back_screen_applies,
         options=lambda config: {"wording": config["BACK_SCREEN_WORDING"]}),
    Step("when-and-where", "When and where you can come", "When and where", forms.WhenWhereForm, options=lambda config: {"sites": config["CLINIC_SITES"]}),
    _words_step("your-note", "When and where"),
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
        if not step.answered(answers):
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
