"""Unit tests for the red-flag triage rules in shared/CLINICAL.md (intake.triage): which safety
questions fit a problem, and the care card their answers lead to."""

from __future__ import annotations

import csv
from itertools import combinations, product
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from intake.clinic.vocabulary import BODY_REGIONS, DURATIONS, ONSETS, SENSATIONS, codes
from intake.triage import QUESTIONS, Advice, Page, Problem, Urgency, assess, nerve_questions_apply, questions_for

# The oracle below is written from CLINICAL.md, not from the module's constants.
CAUDA_EQUINA = ("saddle_numbness", "bladder_change", "bowel_change", "sexual_change", "leg_weakness")
PROBLEM_CODES = (
    "neck_artery", "neck_dizzy", "meningitis", "head_injury", "chest", "cord_signs", "hot_joint", "calf_clot",
    "injury_severe", "injury_deformed", "wound",
)
GENERAL_CODES = (
    "calf_breathless", "cancer_history", "weight_loss", "fever_unwell", "weak_immunity", "injected_drugs", "major_trauma",
    "fragile_bones", "night_pain",
)
ALL_CODES = CAUDA_EQUINA + PROBLEM_CODES + GENERAL_CODES
EMERGENCY_CODES = {*CAUDA_EQUINA, "neck_artery", "neck_dizzy", "meningitis", "head_injury", "chest", "calf_breathless"}
SAME_DAY_CODES = {"calf_clot", "injury_severe", "injury_deformed", "wound"}
SPINE = {"lower_back", "upper_back", "neck"}
LEGS = {"hip", "knee", "ankle_foot"}
ARMS = {"shoulder", "elbow", "wrist_hand"}
BACK_OR_LEG_REGIONS = ("lower_back", "upper_back", "hip", "knee", "ankle_foot", "other")
OTHER_REGIONS = ("neck", "shoulder", "elbow", "wrist_hand", "head_jaw")
NERVE_SENSATIONS = ("spreading_pain", "numbness", "pins_and_needles", "weakness")
NEW = {"under_2_weeks", "2_to_6_weeks", "6_to_12_weeks"}
CARD_ORDER = ("emergency", "same_day", "gp_today")

REGIONS = (*codes(BODY_REGIONS), None)
ALL_DURATIONS = (*codes(DURATIONS), None)
ALL_ONSETS = (*codes(ONSETS), None)
AGES = (None, 16, 19, 20, 35, 50, 51, 90)
# Every kind of sensation set that can matter: none, only ones that do not, each nerve one, headaches, both.
SENSATION_SETS = ((), ("stiffness", "swelling", "clicking_locking"), *((code,) for code in NERVE_SENSATIONS), ("headaches",), ("numbness", "headaches"))


def expected_questions(region, duration, onset, age, sensations, yes=frozenset()) -> list[str]:
    """The questions CLINICAL.md asks of this problem, in page order ("ask more when unsure")."""
    unsure = region in ("other", None)
    spine = region in SPINE or unsure
    headache = region in ("neck", "head_jaw") or "headaches" in sensations
    nerve = bool(set(NERVE_SENSATIONS) & set(sensations))
    chest = region == "upper_back" or unsure
    rules = {
        **dict.fromkeys(CAUDA_EQUINA, region in BACK_OR_LEG_REGIONS or nerve),
        "neck_artery": headache,
        "neck_dizzy": region == "neck",
        "meningitis": headache,
        "head_injury": region == "neck" and onset == "injury",
        "chest": chest,
        "cord_signs": region == "neck" or (region in ("shoulder", "elbow") and nerve),
        "hot_joint": region in LEGS | ARMS or unsure,
        "calf_clot": region in LEGS or unsure or onset == "after_surgery",
        "injury_severe": onset == "injury" and (region in LEGS or unsure),
        "injury_deformed": onset == "injury" and (region in ARMS or unsure),
        "wound": onset == "after_surgery",
        "cancer_history": spine or (age is not None and age > 50 and duration in NEW),
        "weight_loss": True,
        "fever_unwell": True,
        "weak_immunity": spine,
        "injected_drugs": spine,
        "major_trauma": spine and onset in ("injury", "not_sure", None),
        "fragile_bones": onset == "injury",
        "night_pain": True,
    }
    rules["calf_breathless"] = rules["calf_clot"] and "calf_clot" in yes and not chest
    return [code for code in ALL_CODES if rules[code] or (code in EMERGENCY_CODES and code in yes)]


def expected_triage(answers, region, duration, onset, age, sensations) -> tuple[str | None, set[str], set[str]]:
    """The card (or None), the reason codes and the soft flag codes CLINICAL.md calls for."""
    yes = {code for code, said in answers.items() if said is True}
    said_yes = yes & set(expected_questions(region, duration, onset, age, sensations, yes))
    spine = region in SPINE or region in ("other", None)
    cards: dict[str, str] = {}
    soft: set[str] = set()
    for code in said_yes:
        if code in EMERGENCY_CODES:
            cards[code] = "emergency"
        elif code in SAME_DAY_CODES:
            cards[code] = "same_day"
        elif code == "fragile_bones":
            cards["fragile_bones_injury"] = "gp_today"
        elif code == "hot_joint":
            if "fever_unwell" in said_yes:
                cards[code] = "same_day"
            elif onset != "injury":
                cards[code] = "gp_today"
            else:
                soft.add("hot_joint_after_injury")
        elif code == "cancer_history" and not spine:
            soft.add("cancer_history_new_pain")
        else:
            cards[code] = "gp_today"
    if region in ("lower_back", "upper_back") and duration in NEW and age is not None and (age < 20 or age > 50):
        soft.add("new_back_pain_age")
    card = next((level for level in CARD_ORDER if level in cards.values()), None)
    return card, set(cards), soft


def card_of(result) -> str | None:
    return result.advice.value if result.advice else None


def triage(answers, problem: Problem):
    return assess(answers, region=problem.region, duration=problem.duration, onset=problem.onset, age=problem.age, sensations=problem.sensations)


def check_against_oracle(answers, problem: Problem) -> None:
    result = triage(answers, problem)
    card, reasons, soft = expected_triage(answers, problem.region, problem.duration, problem.onset, problem.age, problem.sensations)
    context = (problem, {code: said for code, said in answers.items() if said})
    assert card_of(result) == card, context
    assert {reason.code for reason in result.reasons} == reasons, context
    assert {flag.code for flag in result.soft_flags} == soft, context
    assert result.urgency is {"emergency": Urgency.EMERGENCY, "same_day": Urgency.URGENT, "gp_today": Urgency.URGENT, None: Urgency.ROUTINE}[card]
    emergency_first = [reason.advice is Advice.EMERGENCY for reason in result.reasons]
    assert emergency_first == sorted(emergency_first, reverse=True), "emergency reasons come first"
    assert all(reason.text for reason in (*result.reasons, *result.soft_flags))


# --- which questions ----------------------------------------------------------------------------

def test_the_module_knows_exactly_the_questions_of_clinical_md_on_their_pages():
    assert [question.code for question in QUESTIONS] == list(ALL_CODES)
    assert {question.code for question in QUESTIONS if question.page is Page.CAUDA_EQUINA} == set(CAUDA_EQUINA)
    assert {question.code for question in QUESTIONS if question.page is Page.PROBLEM} == set(PROBLEM_CODES)
    assert {question.code for question in QUESTIONS if question.advice is Advice.EMERGENCY} == EMERGENCY_CODES
    assert all(question.question.endswith("?") and question.reason for question in QUESTIONS)


def test_every_problem_is_asked_the_questions_clinical_md_calls_for():
    """Every region, duration, onset, age and kind of sensations (and every set of sensations for
    each region and onset, to show the others change nothing)."""
    contexts = [
        *product(REGIONS, ALL_DURATIONS, ALL_ONSETS, AGES, SENSATION_SETS),
        *((region, "2_to_6_weeks", onset, 60, sensations) for region, onset in product(REGIONS, ALL_ONSETS)
          for size in range(len(SENSATIONS) + 1) for sensations in combinations(codes(SENSATIONS), size)),
    ]
    for region, duration, onset, age, sensations in contexts:
        problem = Problem(region, duration, onset, age, frozenset(sensations))
        assert [question.code for question in questions_for(problem)] == expected_questions(region, duration, onset, age, sensations), problem


def test_the_calf_follow_up_is_asked_only_after_a_yes_to_the_calf_where_the_chest_was_not_asked():
    for region, onset in product(REGIONS, ALL_ONSETS):
        problem = Problem(region, "under_2_weeks", onset, 40)
        for calf in (True, False, None):
            asked = [question.code for question in questions_for(problem, {"calf_clot": calf})]
            assert asked == expected_questions(region, "under_2_weeks", onset, 40, (), {"calf_clot"} if calf else set())
            assert ("calf_breathless" in asked) == (calf is True and "calf_clot" in asked and "chest" not in asked)


@pytest.mark.parametrize("code", sorted(EMERGENCY_CODES))
def test_an_emergency_yes_keeps_its_question_asked_whatever_the_problem_becomes(code):
    """A changed answer never silently drops an emergency yes: its question stays, and it counts."""
    for region, onset in product(REGIONS, ALL_ONSETS):
        problem = Problem(region, "over_3_months", onset, 40)
        assert code in {question.code for question in questions_for(problem, {code: True})}
        assert triage({code: True}, problem).urgency is Urgency.EMERGENCY


def test_a_sprained_ankle_is_not_asked_about_injected_drugs_or_immunity():
    asked = {question.code for question in questions_for(Problem("ankle_foot", "under_2_weeks", "injury", 24))}
    assert not asked & {"injected_drugs", "weak_immunity", "cancer_history", "major_trauma", "chest", "neck_artery"}
    assert {"injury_severe", "calf_clot", "hot_joint", "fragile_bones"} <= asked


def test_a_past_cancer_does_not_send_a_knee_patient_to_their_gp():
    """Not asked at all under 50 or with long-standing pain; over 50 with new pain, a soft flag only."""
    assert "cancer_history" not in {question.code for question in questions_for(Problem("knee", "2_to_6_weeks", "gradual", 45))}
    assert "cancer_history" not in {question.code for question in questions_for(Problem("knee", "over_3_months", "gradual", 70))}
    result = triage({"cancer_history": True}, Problem("knee", "2_to_6_weeks", "gradual", 62))
    assert result.urgency is Urgency.ROUTINE and result.advice is None
    assert [flag.code for flag in result.soft_flags] == ["cancer_history_new_pain"]
    assert triage({"cancer_history": True}, Problem("lower_back", "2_to_6_weeks", "gradual", 45)).advice is Advice.GP_TODAY


def test_somewhere_else_is_asked_at_least_as_much_as_any_one_region():
    """When unsure, ask more: every question that fits any named region's back, chest, joints or legs fits "other"."""
    for onset, duration, age in product(ALL_ONSETS, ALL_DURATIONS, AGES):
        other = {question.code for question in questions_for(Problem("other", duration, onset, age))}
        for region in ("lower_back", "upper_back", "hip", "knee", "ankle_foot", "shoulder", "elbow", "wrist_hand"):
            assert {question.code for question in questions_for(Problem(region, duration, onset, age))} <= other, (region, onset)


# --- what the answers lead to -------------------------------------------------------------------

CONTEXTS = [
    Problem(region, duration, onset, age, frozenset(sensations))
    for region, onset, duration, age, sensations in product(
        REGIONS, ALL_ONSETS, ("under_2_weeks", "over_3_months"), (None, 35, 60), ((), ("numbness", "headaches"))
    )
]


def test_no_answers_or_every_no_is_routine_with_no_card():
    for problem in CONTEXTS:
        for answers in ({}, dict.fromkeys(ALL_CODES), dict.fromkeys(ALL_CODES, False)):
            result = triage(answers, problem)
            assert result.urgency is Urgency.ROUTINE and result.reasons == () and result.advice is None
            check_against_oracle(answers, problem)


def test_each_single_yes_in_every_context_gets_the_card_clinical_md_calls_for():
    for problem in CONTEXTS:
        for code in ALL_CODES:
            check_against_oracle({code: True}, problem)


INTERACTING = ("hot_joint", "fever_unwell", "fragile_bones", "cancer_history", "calf_clot", "calf_breathless", "chest", "wound", "night_pain")


def test_every_combination_of_the_answers_that_depend_on_each_other_in_every_region_and_onset():
    """A hot joint with or without fever or injury, fragile bones with the onset, a past cancer by region,
    the calf and its follow-up: all 512 combinations for each region and onset."""
    for region, onset in product(REGIONS, ALL_ONSETS):
        problem = Problem(region, "2_to_6_weeks", onset, 62)
        for values in product((True, False), repeat=len(INTERACTING)):
            check_against_oracle(dict(zip(INTERACTING, values)), problem)


def test_every_combination_of_a_back_injury_s_thirteen_answers():
    """All 8192 answer sets of the questions a back injury is asked."""
    problem = Problem("lower_back", "under_2_weeks", "injury", 35)
    asked = [question.code for question in questions_for(problem)]
    assert len(asked) == 13
    for values in product((True, False), repeat=len(asked)):
        check_against_oracle(dict(zip(asked, values)), problem)


@settings(max_examples=400, deadline=None)
@given(
    st.sampled_from(REGIONS), st.sampled_from(ALL_DURATIONS), st.sampled_from(ALL_ONSETS),
    st.one_of(st.none(), st.integers(16, 105)), st.frozensets(st.sampled_from(codes(SENSATIONS))),
    st.fixed_dictionaries({code: st.sampled_from((True, False, None)) for code in ALL_CODES}),
)
def test_any_answers_in_any_context_match_clinical_md(region, duration, onset, age, sensations, answers):
    check_against_oracle(answers, Problem(region, duration, onset, age, sensations))


def test_unasked_and_missing_answers_count_as_no():
    for problem in CONTEXTS[::7]:
        for code in ALL_CODES:
            with_false = {**dict.fromkeys(ALL_CODES, False), code: True}
            with_none = {**dict.fromkeys(ALL_CODES), code: True}
            assert triage(with_false, problem) == triage(with_none, problem) == triage({code: True}, problem)


def test_an_answer_to_a_question_that_no_longer_fits_does_not_count():
    """Kept from before the patient changed their problem from the back to the shoulder."""
    shoulder = Problem("shoulder", "2_to_6_weeks", "gradual", 40)
    for code in ("injected_drugs", "weak_immunity", "major_trauma", "calf_clot", "wound"):
        assert triage({code: True}, shoulder).urgency is Urgency.ROUTINE


@pytest.mark.parametrize(
    ("age", "flagged"),
    [(None, False), (0, True), (19, True), (20, False), (35, False), (50, False), (51, True), (90, True)],
)
def test_new_back_pain_age_flag_applies_under_20_and_over_50(age, flagged):
    result = triage({}, Problem("lower_back", "under_2_weeks", "gradual", age))
    assert [flag.code for flag in result.soft_flags] == (["new_back_pain_age"] if flagged else [])
    assert result.urgency is Urgency.ROUTINE


@pytest.mark.parametrize("region", BACK_OR_LEG_REGIONS)
def test_nerve_questions_apply_to_back_and_leg_regions_without_sensations(region):
    assert nerve_questions_apply(region, []) is True


@pytest.mark.parametrize("region", OTHER_REGIONS)
def test_nerve_questions_do_not_apply_to_upper_body_regions_without_nerve_sensations(region):
    assert nerve_questions_apply(region, []) is False
    assert nerve_questions_apply(region, ["stiffness", "swelling"]) is False


@pytest.mark.parametrize("sensation", NERVE_SENSATIONS)
def test_nerve_sensations_make_the_questions_apply_in_any_region(sensation):
    for region in REGIONS:
        assert nerve_questions_apply(region, ["stiffness", sensation]) is True


def test_every_region_and_sensation_is_known_to_the_oracle():
    assert sorted(codes(BODY_REGIONS)) == sorted(BACK_OR_LEG_REGIONS + OTHER_REGIONS)
    assert set(NERVE_SENSATIONS) | {"headaches"} <= set(codes(SENSATIONS))


# --- named scenarios ----------------------------------------------------------------------------

SCENARIOS = list(csv.DictReader((Path(__file__).parent / "triage_scenarios.csv").open(encoding="utf-8")))


def test_the_scenario_table_has_at_least_60_named_cases_covering_every_card_and_region():
    assert len(SCENARIOS) >= 60
    assert len({row["scenario"] for row in SCENARIOS}) == len(SCENARIOS)
    assert {row["card"] for row in SCENARIOS} == {"none", *CARD_ORDER}
    assert {row["region"] for row in SCENARIOS} == set(codes(BODY_REGIONS))
    assert {row["onset"] for row in SCENARIOS} == set(codes(ONSETS))


@pytest.mark.parametrize("row", SCENARIOS, ids=[row["scenario"] for row in SCENARIOS])
def test_each_scenario_is_asked_what_a_clinician_would_ask_and_gets_the_card_they_would_expect(row):
    problem = Problem(row["region"], row["duration"], row["onset"], int(row["age"]), frozenset(row["sensations"].split()))
    yes = set(row["yes"].split())
    asked = {question.code for question in questions_for(problem, dict.fromkeys(yes, True))}
    assert yes <= asked, "the scenario answers yes only to questions it is asked"
    assert set(row["asks"].split()) <= asked
    assert not set(row["not_asked"].split()) & asked
    result = triage({code: code in yes for code in asked}, problem)
    assert (card_of(result) or "none") == row["card"]
    assert {flag.code for flag in result.soft_flags} == set(row["soft"].split())
