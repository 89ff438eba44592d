"""Scoring the back-pain screen (shared/CLINICAL.md, "Risk stratification for back pain"):
every boundary of the total, the psychological subscore and the risk, and properties over all answers."""

from __future__ import annotations

import ast
from itertools import product
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from intake.clinic.back_screen import AGREEMENT, BOTHER_LEVELS, BOTHERSOME, ITEMS, STATEMENTS
from intake.clinic.vocabulary import BODY_REGIONS, codes
from intake.triage import back_risk
from intake.triage.back_risk import BackRisk, IncompleteScreen, risk_for, score, screen_applies

PHYSICAL = STATEMENTS[:4]  # items 1-4: leg pain, neck or shoulder pain, walking, dressing
PSYCHOLOGICAL_STATEMENTS = STATEMENTS[4:]  # items 5-8


def answers(agreed: tuple[str, ...] = (), bothered: str = "not_at_all") -> dict[str, str]:
    """A complete set of answers agreeing with the statements named, disagreeing with the rest."""
    return {**{code: "agree" if code in agreed else "disagree" for code in STATEMENTS}, BOTHERSOME: bothered}


complete_answers = st.fixed_dictionaries(
    {**{code: st.sampled_from(AGREEMENT) for code in STATEMENTS}, BOTHERSOME: st.sampled_from(BOTHER_LEVELS)}
)


def test_the_screen_has_eight_statements_and_a_five_level_question_as_clinical_md_describes():
    assert len(STATEMENTS) == 8 and ITEMS == (*STATEMENTS, BOTHERSOME)
    assert BOTHER_LEVELS == ("not_at_all", "slightly", "moderately", "very_much", "extremely")
    assert back_risk.PSYCHOLOGICAL_ITEMS == ("activity_unsafe", "worrying_thoughts", "never_better", "no_enjoyment", BOTHERSOME)


def test_disagreeing_with_everything_and_not_bothered_at_all_scores_nothing():
    assert score(answers()) == back_risk.BackScreenScore(0, 0, BackRisk.LOW)


def test_agreeing_with_everything_and_extremely_bothered_scores_the_most():
    assert score(answers(STATEMENTS, "extremely")) == back_risk.BackScreenScore(9, 5, BackRisk.HIGH)


@pytest.mark.parametrize(("level", "points"), [("not_at_all", 0), ("slightly", 0), ("moderately", 0), ("very_much", 1), ("extremely", 1)])
def test_only_the_top_two_levels_of_the_last_question_score(level, points):
    result = score(answers(bothered=level))
    assert (result.total, result.psychological) == (points, points)


@pytest.mark.parametrize("statement", STATEMENTS)
def test_each_statement_agreed_with_scores_one_and_counts_in_the_subscore_only_from_item_5(statement):
    result = score(answers((statement,)))
    assert result.total == 1
    assert result.psychological == (1 if statement in PSYCHOLOGICAL_STATEMENTS else 0)


# The boundaries: subscore 3 / 4 decides high; total 3 / 4 decides medium (when the subscore is under 4).
@pytest.mark.parametrize(("agreed", "bothered", "total", "psychological", "risk"), [
    (PHYSICAL[:3], "slightly", 3, 0, BackRisk.LOW),
    (PHYSICAL, "slightly", 4, 0, BackRisk.MEDIUM),
    (PHYSICAL[:2] + PSYCHOLOGICAL_STATEMENTS[:1], "moderately", 3, 1, BackRisk.LOW),
    (PSYCHOLOGICAL_STATEMENTS[:3], "moderately", 3, 3, BackRisk.LOW),
    (PSYCHOLOGICAL_STATEMENTS[:3], "very_much", 4, 4, BackRisk.HIGH),
    (PSYCHOLOGICAL_STATEMENTS, "slightly", 4, 4, BackRisk.HIGH),
    (PHYSICAL + PSYCHOLOGICAL_STATEMENTS[:3], "slightly", 7, 3, BackRisk.MEDIUM),
    (PHYSICAL + PSYCHOLOGICAL_STATEMENTS[:2], "extremely", 7, 3, BackRisk.MEDIUM),
    (PHYSICAL[:1] + PSYCHOLOGICAL_STATEMENTS[:2], "very_much", 4, 3, BackRisk.MEDIUM),
    (PHYSICAL[:1] + PSYCHOLOGICAL_STATEMENTS, "not_at_all", 5, 4, BackRisk.HIGH),
])
def test_the_risk_boundaries(agreed, bothered, total, psychological, risk):
    assert score(answers(agreed, bothered)) == back_risk.BackScreenScore(total, psychological, risk)


def test_every_possible_total_and_subscore_gets_the_risk_clinical_md_gives():
    for total, psychological in product(range(10), range(6)):
        if psychological > total or total - psychological > 4:
            continue  # no answers give these
        expected = BackRisk.HIGH if psychological >= 4 else BackRisk.MEDIUM if total >= 4 else BackRisk.LOW
        assert risk_for(total, psychological) is expected, (total, psychological)


@given(complete_answers)
def test_the_score_of_any_answers_counts_the_agreements_and_the_top_two_levels(given_answers):
    result = score(given_answers)
    bothered = given_answers[BOTHERSOME] in ("very_much", "extremely")
    assert result.total == sum(given_answers[code] == "agree" for code in STATEMENTS) + bothered
    assert result.psychological == sum(given_answers[code] == "agree" for code in PSYCHOLOGICAL_STATEMENTS) + bothered
    assert 0 <= result.psychological <= result.total <= 9 and result.psychological <= 5
    assert result.risk is risk_for(result.total, result.psychological)
    assert result.rank == {BackRisk.HIGH: 0, BackRisk.MEDIUM: 1, BackRisk.LOW: 2}[result.risk]


@given(complete_answers, st.sampled_from(STATEMENTS))
def test_agreeing_with_one_more_statement_never_lowers_the_risk(given_answers, statement):
    order = [BackRisk.LOW, BackRisk.MEDIUM, BackRisk.HIGH]
    before = score({**given_answers, statement: "disagree"})
    after = score({**given_answers, statement: "agree"})
    assert after.total == before.total + 1
    assert order.index(after.risk) >= order.index(before.risk)


@given(complete_answers, st.sampled_from(ITEMS), st.one_of(st.none(), st.text(max_size=20), st.sampled_from(["Agree", "yes", "1", "very much"])))
def test_a_missing_or_unknown_answer_is_refused_never_scored(given_answers, item, wrong):
    allowed = BOTHER_LEVELS if item == BOTHERSOME else AGREEMENT
    if wrong in allowed:
        return
    with pytest.raises(IncompleteScreen):
        score({**given_answers, item: wrong})
    without = {code: answer for code, answer in given_answers.items() if code != item}
    with pytest.raises(IncompleteScreen):
        score(without)


def test_only_a_lower_back_problem_is_screened():
    assert [region for region in codes(BODY_REGIONS) if screen_applies(region)] == ["lower_back"]
    assert not screen_applies(None)


def test_the_scoring_is_pure_python_with_nothing_of_flask_or_the_database():
    imported = set()
    for node in ast.walk(ast.parse(Path(back_risk.__file__).read_text())):
        if isinstance(node, ast.ImportFrom):
            imported.add(node.module)
        elif isinstance(node, ast.Import):
            imported.update(alias.name for alias in node.names)
    outside = {name.split(".")[0] for name in imported if not name.startswith("intake.")}
    assert outside <= {"__future__", "collections", "dataclasses", "enum"}
    assert {name for name in imported if name.startswith("intake.")} == {"intake.clinic.back_screen"}
