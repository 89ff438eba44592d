"""Safety (red-flag) questions: which ones fit a patient's problem, and the care card a yes leads to.

Follows shared/CLINICAL.md ("Safety questions" and "Asking the right questions for the problem").
Each question is asked only where it fits the region, the symptoms, how the problem started and
the patient's age (`questions_for`); when the region is "somewhere else" we ask more, not less.
Each has the care card a "yes" leads to (`Advice`): 999 or A&E now; help the same day (NHS 111
now, an urgent treatment centre, the surgical team); or a GP today. An emergency "yes" always
counts, even if a changed answer means the question no longer fits: it is never silently dropped.
No Flask or database imports, so every combination can be tested directly (the urgency the
answers lead to is intake.triage.red_flags).

Who is asked what (the cauda equina questions are on their own page, `nerve_questions_apply`):

| question | asked when | a "yes" means |
|---|---|---|
| neck_artery, meningitis | neck, head and jaw, or headaches ticked | 999 / A&E now |
| neck_dizzy | neck | 999 / A&E now |
| head_injury | neck, after an injury | 999 / A&E now |
| cord_signs | neck; shoulder or elbow with nerve symptoms | GP today |
| chest | upper back, somewhere else | 999 / A&E now |
| hot_joint | any joint, somewhere else | same day with fever; GP today without (soft flag after an injury) |
| calf_clot | hip, knee, ankle and foot, somewhere else; any region after an operation | same day |
| calf_breathless | a painful swollen calf where the chest question was not asked | 999 / A&E now |
| injury_severe / injury_deformed | leg / arm regions (both for somewhere else), after an injury | same day |
| wound | after an operation | same day |
| weight_loss, fever_unwell, night_pain | everyone | GP today |
| cancer_history | back, neck, somewhere else; elsewhere only over 50 with new pain | GP today (elsewhere a soft flag) |
| weak_immunity, injected_drugs | back, neck, somewhere else | GP today |
| major_trauma | back, neck, somewhere else, after an injury or when unsure how it started | GP today |
| fragile_bones | after an injury | GP today (with the injury) |
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from enum import StrEnum


class Advice(StrEnum):
    """The care card a flagged patient sees: where to get help, and how soon."""

    EMERGENCY = "emergency"  # call 999 or go to A&E now
    SAME_DAY = "same_day"  # get help now, today: NHS 111, an urgent treatment centre, or the surgical team
    GP_TODAY = "gp_today"  # speak to a GP, or NHS 111, today


# From least to most pressing: a later card replaces an earlier one.
ADVICE_RANK = {None: 0, Advice.GP_TODAY: 1, Advice.SAME_DAY: 2, Advice.EMERGENCY: 3}


class Page(StrEnum):
    """Which group of safety questions, each asked on its own page, a question belongs to."""

    CAUDA_EQUINA = "cauda_equina"  # the nerves at the bottom of the spine
    PROBLEM = "problem"  # signs that belong to the problem's own region and onset
    GENERAL = "general"  # serious illness in any bone or joint, and the spine in particular


@dataclass(frozen=True)
class Problem:
    """What the patient has told us that decides which safety questions fit them."""

    region: str | None = None
    duration: str | None = None
    onset: str | None = None
    age: int | None = None
    sensations: frozenset[str] = field(default_factory=frozenset)


@dataclass(frozen=True)
class RedFlagQuestion:
    """A yes/no safety question: the page it is on, when it fits, the reason recorded when the
    answer is yes and the care card that yes leads to."""

    code: str
    question: str
    hint: str
    reason: str
    advice: Advice
    page: Page
    fits: Callable[[Problem], bool]


# Regions where back or leg symptoms make the cauda equina questions relevant. "other"
# is included because we cannot rule the back or legs out.
BACK_OR_LEG_REGIONS = frozenset({"lower_back", "upper_back", "hip", "knee", "ankle_foot", "other"})
SPINE_REGIONS = frozenset({"lower_back", "upper_back", "neck"})
LEG_JOINTS = frozenset({"hip", "knee", "ankle_foot"})
ARM_JOINTS = frozenset({"shoulder", "elbow", "wrist_hand"})
# Arm regions where nerve symptoms may come from the neck (the wrist's are most often carpal tunnel).
NECK_REFERRED_REGIONS = frozenset({"shoulder", "elbow"})
HEAD_AND_NECK = frozenset({"neck", "head_jaw"})
NERVE_SENSATIONS = frozenset({"spreading_pain", "numbness", "pins_and_needles", "weakness"})
NEW_PAIN_DURATIONS = frozenset({"under_2_weeks", "2_to_6_weeks", "6_to_12_weeks"})
MAY_BE_AN_INJURY = frozenset({"injury", "not_sure", None})
OLDER_THAN = 50  # over this age, new pain anywhere with a past cancer is for a clinician to see

def _unsure(problem: Problem) -> bool:
    """Somewhere else (or not said): ask more, not less."""
    return problem.region in {"other", None}


def spinal(problem: Problem) -> bool:
    """Back or neck pain (or somewhere else): the questions about serious spinal illness fit."""
    return problem.region in SPINE_REGIONS or _unsure(problem)


def _headache(problem: Problem) -> bool:
    return problem.region in HEAD_AND_NECK or "headaches" in problem.sensations


def _everyone(problem: Problem) -> bool:
    return True


def _cord(problem: Problem) -> bool:
    return problem.region == "neck" or (problem.region in NECK_REFERRED_REGIONS and bool(NERVE_SENSATIONS & problem.sensations))


def _chest(problem: Problem) -> bool:
    return problem.region == "upper_back" or _unsure(problem)


def _calf(problem: Problem) -> bool:
    return problem.region in LEG_JOINTS or _unsure(problem) or problem.onset == "after_surgery"


def _new_pain_when_older(problem: Problem) -> bool:
    return problem.age is not None and problem.age > OLDER_THAN and problem.duration in NEW_PAIN_DURATIONS


CAUDA_EQUINA_QUESTIONS: tuple[RedFlagQuestion, ...] = tuple(
    RedFlagQuestion(code, question, hint, reason, Advice.EMERGENCY, Page.CAUDA_EQUINA, lambda problem: nerve_questions_apply(problem.region, problem.sensations))
    for code, question, hint, reason in (
        (
            "saddle_numbness",
            "Do you have numbness or pins and needles between your legs, around your genitals or back passage, or in your buttocks?",
            "This includes things feeling different when you wipe after going to the toilet.",
            "Numbness or pins and needles in the saddle area",
        ),
        (
            "bladder_change",
            "Have you recently had trouble starting to pee or controlling it, not felt when your bladder is full, or leaked pee?",
            "",
            "New bladder problems",
        ),
        ("bowel_change", "Have you recently lost control of your bowels, or not felt yourself having a poo?", "", "New loss of bowel control or feeling"),
        (
            "sexual_change",
            "Have you recently noticed new problems with sex, or a change in feeling in your genitals?",
            "",
            "New problems with sexual function or sensation",
        ),
        (
            "leg_weakness",
            "Is weakness in your leg getting worse, are both legs numb or weak, or have you recently found it hard to walk?",
            "",
            "Worsening leg weakness, both legs affected, or new difficulty walking",
        ),
    )
)

PROBLEM_QUESTIONS: tuple[RedFlagQuestion, ...] = (
    RedFlagQuestion(
        "neck_artery",
        "Have you had a sudden, severe headache unlike any before, or new double vision, slurred speech, trouble swallowing, "
        "numbness in your face or sudden falls?",
        "",
        "Sudden severe headache, or signs of a stroke or neck artery problem (double vision, slurred speech, trouble swallowing, "
        "numb face, drop attacks)",
        Advice.EMERGENCY, Page.PROBLEM, _headache,
    ),
    RedFlagQuestion(
        "neck_dizzy",
        "Along with your neck pain, have you had new dizziness or lost your coordination?",
        "For example, the room spinning, or your arms or legs not doing what you want them to.",
        "New dizziness or loss of coordination with neck pain",
        Advice.EMERGENCY, Page.PROBLEM, lambda problem: problem.region == "neck",
    ),
    RedFlagQuestion(
        "meningitis",
        "Do you have a stiff neck together with a high temperature, a rash, or eyes that hurt in bright light?",
        "",
        "Stiff neck with fever, a rash or dislike of light",
        Advice.EMERGENCY, Page.PROBLEM, _headache,
    ),
    RedFlagQuestion(
        "head_injury",
        "Did your neck pain start when you hit or hurt your head?",
        "",
        "Neck pain after a head injury",
        Advice.EMERGENCY, Page.PROBLEM, lambda problem: problem.region == "neck" and problem.onset == "injury",
    ),
    RedFlagQuestion(
        "chest",
        "Along with this pain, do you have chest pain or tightness, or are you short of breath?",
        "Or pain spreading to your arm or jaw, or sweating with the pain. We mean something new, not a long-term condition "
        "such as asthma that is no worse than usual.",
        "Chest pain or tightness, breathlessness, or pain spreading to the arm or jaw",
        Advice.EMERGENCY, Page.PROBLEM, _chest,
    ),
    RedFlagQuestion(
        "cord_signs",
        "Have your hands become clumsy (for example with buttons or writing), is your walking unsteady, or are both arms or "
        "both hands numb or tingling?",
        "We mean changes that are new for you.",
        "Clumsy hands, unsteady walking, or both arms or hands numb (possible spinal cord compression)",
        Advice.GP_TODAY, Page.PROBLEM, _cord,
    ),
    RedFlagQuestion(
        "hot_joint",
        "Is a painful joint hot, red and swollen?",
        "On brown or black skin, redness can be harder to see.",
        "Hot, red, swollen joint",  # the reason recorded depends on fever and injury: see assess()
        Advice.GP_TODAY, Page.PROBLEM, lambda problem: problem.region in LEG_JOINTS | ARM_JOINTS or _unsure(problem),
    ),
    RedFlagQuestion(
        "calf_clot",
        "Is one of your calves (the back of your lower leg) painful and swollen, warm or red?",
        "On brown or black skin, redness can be harder to see: the skin may look darker. It matters most after an operation, "
        "a plaster cast, a long journey, pregnancy or being laid up.",
        "Painful calf with swelling, warmth or redness (possible clot)",
        Advice.SAME_DAY, Page.PROBLEM, _calf,
    ),
    RedFlagQuestion(
        "injury_severe",
        "Since the injury, are you unable to take any weight on your leg, or does the joint look out of shape?",
        "Unable to take weight means you cannot stand on it or take 4 steps, even with a limp.",
        "Cannot take weight on the leg, or the joint looks out of shape, after an injury",
        Advice.SAME_DAY, Page.PROBLEM, lambda problem: problem.onset == "injury" and (problem.region in LEG_JOINTS or _unsure(problem)),
    ),
    RedFlagQuestion(
        "injury_deformed",
        "Since the injury, does your shoulder, arm, wrist or hand look out of shape?",
        "",
        "Shoulder, arm, wrist or hand out of shape after an injury",
        Advice.SAME_DAY, Page.PROBLEM, lambda problem: problem.onset == "injury" and (problem.region in ARM_JOINTS or _unsure(problem)),
    ),
    RedFlagQuestion(
        "wound",
        "Since your operation, is the wound red, hot, oozing or opening, or have you had a high temperature?",
        "",
        "Wound red, hot, oozing or opening, or a fever, after an operation",
        Advice.SAME_DAY, Page.PROBLEM, lambda problem: problem.onset == "after_surgery",
    ),
)

GENERAL_QUESTIONS: tuple[RedFlagQuestion, ...] = (
    RedFlagQuestion(
        "calf_breathless",
        "Along with the pain in your calf, are you short of breath, or do you have chest pain?",
        "",
        "Painful, swollen calf with breathlessness or chest pain (possible clot in the lung)",
        # Asked only after a yes to calf_clot (FOLLOWS), where the chest question was not asked.
        Advice.EMERGENCY, Page.GENERAL, lambda problem: not _chest(problem),
    ),
    RedFlagQuestion(
        "cancer_history", "Have you ever had cancer?", "", "History of cancer",
        Advice.GP_TODAY, Page.GENERAL, lambda problem: spinal(problem) or _new_pain_when_older(problem),
    ),
    RedFlagQuestion(
        "weight_loss", "Have you lost weight recently without trying to?", "", "Unexplained weight loss",
        Advice.GP_TODAY, Page.GENERAL, _everyone,
    ),
    RedFlagQuestion(
        "fever_unwell",
        "Since the pain started, have you had a high temperature, shivers or felt generally unwell?",
        "",
        "Fever, chills or feeling generally unwell",
        Advice.GP_TODAY, Page.GENERAL, _everyone,
    ),
    RedFlagQuestion(
        "weak_immunity",
        "Do you have a weakened immune system?",
        "For example because of chemotherapy, an organ transplant, HIV, or medicines that lower your immunity.",
        "Weakened immune system",
        Advice.GP_TODAY, Page.GENERAL, spinal,
    ),
    RedFlagQuestion(
        "injected_drugs",
        "Have you injected drugs recently?",
        "We ask because it changes how soon you should be seen. Your answer is kept confidential.",
        "Recent injection drug use",
        Advice.GP_TODAY, Page.GENERAL, spinal,
    ),
    RedFlagQuestion(
        "major_trauma",
        "Did the pain start after a serious fall or accident?",
        "For example a road accident, or a fall from a height or down stairs.",
        "Pain started after a significant fall or accident",
        Advice.GP_TODAY, Page.GENERAL, lambda problem: spinal(problem) and problem.onset in MAY_BE_AN_INJURY,
    ),
    RedFlagQuestion(
        "fragile_bones",
        "Do you have osteoporosis (thin bones), or have you taken steroid tablets for 3 months or more?",
        "",
        "Pain started after an injury in someone with osteoporosis or long-term steroid use",  # only asked after an injury
        Advice.GP_TODAY, Page.GENERAL, lambda problem: problem.onset == "injury",
    ),
    RedFlagQuestion(
        "night_pain",
        "Is your pain there all the time, worse at night, and not eased by resting or changing position?",
        "",
        "Constant pain, worse at night, not eased by rest",
        Advice.GP_TODAY, Page.GENERAL, _everyone,
    ),
)

QUESTIONS: tuple[RedFlagQuestion, ...] = CAUDA_EQUINA_QUESTIONS + PROBLEM_QUESTIONS + GENERAL_QUESTIONS
QUESTIONS_BY_CODE = {question.code: question for question in QUESTIONS}


def nerve_questions_apply(region: str | None, sensations: Iterable[str]) -> bool:
    """Return True when the patient must be asked the cauda equina (emergency) questions."""
    return region in BACK_OR_LEG_REGIONS or bool(NERVE_SENSATIONS.intersection(sensations))


# A question asked only after a yes to the one it follows (which comes before it in QUESTIONS).
FOLLOWS = {"calf_breathless": "calf_clot"}


def questions_for(problem: Problem, answers: Mapping[str, bool | None] | None = None) -> tuple[RedFlagQuestion, ...]:
    """The safety questions this patient is asked, in order (of every page: filter by `page`).

    `answers` are those given so far (True yes, False no, None or missing: not asked): a follow-up
    is asked only after a yes to the question it follows, asked now; an emergency yes keeps its
    question asked.
    """
    given = answers or {}
    return _questions_for(problem, frozenset(code for code in DECIDING_CODES if given.get(code) is True))


# The only answers that change which questions are asked: a yes to an emergency question, or to a
# question another follows.
DECIDING_CODES = tuple(
    question.code for question in QUESTIONS if question.advice is Advice.EMERGENCY or question.code in FOLLOWS.values()
)


@lru_cache(maxsize=4096)
def _questions_for(problem: Problem, said_yes: frozenset[str]) -> tuple[RedFlagQuestion, ...]:
    """questions_for, once per problem and deciding yeses: every page of a journey asks it again."""
    asked: list[RedFlagQuestion] = []
    for question in QUESTIONS:
        if question.advice is Advice.EMERGENCY and question.code in said_yes:
            asked.append(question)
        elif question.fits(problem) and (question.code not in FOLLOWS or _follows_a_yes(FOLLOWS[question.code], asked, said_yes)):
            asked.append(question)
    return tuple(asked)


def _follows_a_yes(code: str, asked: list[RedFlagQuestion], said_yes: frozenset[str]) -> bool:
    return code in said_yes and any(question.code == code for question in asked)
