"""Unit tests for the red-flag triage rules in shared/CLINICAL.md (intake.triage)."""

from itertools import product

import pytest

from intake.triage import (
    EMERGENCY_QUESTIONS,
    URGENT_QUESTIONS,
    Urgency,
    assess,
    nerve_questions_apply,
)
from intake.clinic.vocabulary import BODY_REGIONS, DURATIONS, ONSETS, SENSATIONS, codes

# The oracle below is written from CLINICAL.md, not from the module's constants.
EMERGENCY_CODES = ("saddle_numbness", "bladder_change", "bowel_change", "sexual_change", "leg_weakness")
URGENT_CODES = (
    "cancer_history",
    "weight_loss",
    "fever_unwell",
    "weak_immunity",
    "injected_drugs",
    "major_trauma",
    "fragile_bones",
    "night_pain",
)
ALL_CODES = EMERGENCY_CODES + URGENT_CODES
BACK_REGIONS = ("lower_back", "upper_back")
BACK_OR_LEG_REGIONS = ("lower_back", "upper_back", "hip", "knee", "ankle_foot", "other")
OTHER_REGIONS = ("neck", "shoulder", "elbow", "wrist_hand", "head_jaw")
NERVE_SENSATIONS = ("spreading_pain", "numbness", "pins_and_needles", "weakness")
SOFT_FLAG = "new_back_pain_age"


def expected_triage(answers: dict[str, bool], onset: str) -> tuple[Urgency, list[str], list[str]]:
    """Return the urgency, emergency reason codes and urgent reason codes CLINICAL.md calls for."""
    emergency = [code for code in EMERGENCY_CODES if answers[code]]
    urgent = [code for code in URGENT_CODES if code != "fragile_bones" and answers[code]]
    if answers["fragile_bones"] and onset == "injury":
        urgent.append("fragile_bones_injury")
    if emergency:
        return Urgency.EMERGENCY, emergency, urgent
    if urgent:
        return Urgency.URGENT, emergency, urgent
    return Urgency.ROUTINE, emergency, urgent


def assess_back_pain(answers, *, onset="gradual", region="lower_back", duration="under_2_weeks", age=35):
    """Call assess with ordinary back-pain context unless a test overrides it."""
    return assess(answers, region=region, duration=duration, onset=onset, age=age)


def test_module_asks_exactly_the_safety_questions_in_clinical_md():
    """The 5 cauda equina and 8 serious-disease questions are the ones the oracle knows."""
    assert tuple(question.code for question in EMERGENCY_QUESTIONS) == EMERGENCY_CODES
    assert tuple(question.code for question in URGENT_QUESTIONS) == URGENT_CODES


def test_every_combination_of_answers_and_onset_gets_the_clinical_urgency_and_reasons():
    """All 8192 yes/no combinations for each onset match the oracle, emergency reasons first."""
    for onset in codes(ONSETS):
        for values in product((True, False), repeat=len(ALL_CODES)):
            answers = dict(zip(ALL_CODES, values))
            urgency, emergency, urgent = expected_triage(answers, onset)
            result = assess_back_pain(answers, onset=onset)
            reason_codes = [reason.code for reason in result.reasons]
            context = (onset, answers)
            assert result.urgency is urgency, context
            assert reason_codes[: len(emergency)] == emergency, context
            assert sorted(reason_codes[len(emergency) :]) == sorted(urgent), context


def test_any_cauda_equina_answer_makes_the_request_an_emergency():
    """A single yes to any emergency question is enough, whatever the other answers."""
    for code in EMERGENCY_CODES:
        result = assess_back_pain({code: True})
        assert result.urgency is Urgency.EMERGENCY
        assert [reason.code for reason in result.reasons] == [code]


def test_fragile_bones_is_urgent_only_after_an_injury():
    """Osteoporosis or long-term steroids flags the request only when the pain followed an injury."""
    injured = assess_back_pain({"fragile_bones": True}, onset="injury")
    assert injured.urgency is Urgency.URGENT
    assert [reason.code for reason in injured.reasons] == ["fragile_bones_injury"]
    for onset in ("gradual", "after_surgery", "not_sure", None):
        result = assess_back_pain({"fragile_bones": True}, onset=onset)
        assert result.urgency is Urgency.ROUTINE
        assert result.reasons == ()


def test_every_reason_has_words_for_the_clinic():
    """Each reason returned carries non-empty text, including the fragile-bones injury reason."""
    result = assess_back_pain(dict.fromkeys(ALL_CODES, True), onset="injury")
    assert all(reason.text for reason in result.reasons)


def test_unasked_and_missing_answers_count_as_no():
    """Replacing every "no" with None, or leaving it out, never changes the result."""
    for values in product((True, False), repeat=len(ALL_CODES)):
        with_false = dict(zip(ALL_CODES, values))
        with_none = {code: (True if answer else None) for code, answer in with_false.items()}
        with_missing = {code: True for code, answer in with_false.items() if answer}
        expected = assess_back_pain(with_false, onset="injury")
        assert assess_back_pain(with_none, onset="injury") == expected
        assert assess_back_pain(with_missing, onset="injury") == expected


def test_no_answers_at_all_is_routine():
    """An empty answer set, or one where nothing was asked, is routine with no reasons."""
    for answers in ({}, dict.fromkeys(ALL_CODES)):
        result = assess_back_pain(answers, onset="injury")
        assert result.urgency is Urgency.ROUTINE
        assert result.reasons == ()


@pytest.mark.parametrize(
    ("age", "flagged"),
    [(None, False), (0, True), (19, True), (20, False), (35, False), (50, False), (51, True), (90, True)],
)
def test_new_back_pain_age_flag_applies_under_20_and_over_50(age, flagged):
    """New back pain is soft-flagged only for ages under 20 or over 50, never for an unknown age."""
    result = assess_back_pain({}, age=age)
    assert [flag.code for flag in result.soft_flags] == ([SOFT_FLAG] if flagged else [])


def test_new_back_pain_age_flag_needs_a_back_region_and_new_pain():
    """The soft flag is raised for back regions with pain under 3 months only, across every region and duration."""
    for region, duration, age in product(codes(BODY_REGIONS), codes(DURATIONS), (19, 51)):
        result = assess_back_pain({}, region=region, duration=duration, age=age)
        flagged = region in BACK_REGIONS and duration != "over_3_months"
        assert [flag.code for flag in result.soft_flags] == ([SOFT_FLAG] if flagged else []), (region, duration)


def test_new_back_pain_age_flag_never_changes_urgency_or_reasons():
    """With or without the soft flag, urgency and reasons depend only on the answers."""
    for answers in ({}, {"cancer_history": True}, {"leg_weakness": True, "night_pain": True}):
        flagged = assess_back_pain(answers, age=70)
        unflagged = assess_back_pain(answers, age=35)
        assert [flag.code for flag in flagged.soft_flags] == [SOFT_FLAG]
        assert unflagged.soft_flags == ()
        assert flagged.urgency is unflagged.urgency
        assert flagged.reasons == unflagged.reasons
        assert SOFT_FLAG not in [reason.code for reason in flagged.reasons]


@pytest.mark.parametrize("region", BACK_OR_LEG_REGIONS)
def test_nerve_questions_apply_to_back_and_leg_regions_without_sensations(region):
    """Back, hip, knee, ankle and "somewhere else" always get the cauda equina questions."""
    assert nerve_questions_apply(region, []) is True


@pytest.mark.parametrize("region", OTHER_REGIONS)
def test_nerve_questions_do_not_apply_to_upper_body_regions_without_nerve_sensations(region):
    """Neck, arm and head regions skip the questions when there are no nerve symptoms."""
    assert nerve_questions_apply(region, []) is False
    assert nerve_questions_apply(region, ["stiffness", "swelling"]) is False


@pytest.mark.parametrize("sensation", NERVE_SENSATIONS)
def test_nerve_sensations_make_the_questions_apply_in_any_region(sensation):
    """Spreading pain, numbness, pins and needles or weakness bring in the questions everywhere."""
    for region in (*codes(BODY_REGIONS), None):
        assert nerve_questions_apply(region, ["stiffness", sensation]) is True


def test_every_region_is_classified_for_nerve_questions():
    """Each body region in the vocabulary is either a back-or-leg region or an upper-body one."""
    assert sorted(codes(BODY_REGIONS)) == sorted(BACK_OR_LEG_REGIONS + OTHER_REGIONS)
    assert set(NERVE_SENSATIONS) <= set(codes(SENSATIONS))
