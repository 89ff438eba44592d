"""Article matching: a table of realistic patients, each naming the article that should come first."""

from __future__ import annotations

import ast
from dataclasses import replace
from pathlib import Path
from types import SimpleNamespace
from datetime import date, datetime, timezone

import pytest

from intake.articles import matcher
from intake.articles.library import CONTENT_FOLDER
from intake.articles.matcher import IntakeProfile, index_for_folder, recommend, stems
from intake.articles.profiles import profile_from_request

P = IntakeProfile
FIRST_ARTICLE_ACCURACY = 0.90
TOP_THREE_ACCURACY = 0.98
# (name, what the patient told us, the article that should come first)
SCENARIOS = [
    # Lower back
    ("sciatica with leg numbness", P("lower_back", ("spreading_pain", "numbness"), "2_to_6_weeks", "gradual", text="Pain shoots down my left leg and my foot feels numb"), "sciatica-leg-numbness"),
    ("back pain with tingling words only", P("lower_back", (), "6_to_12_weeks", "gradual", age=37, text="tingling down the back of my thigh"), "sciatica-leg-numbness"),
    ("new back pain after lifting", P("lower_back", (), "under_2_weeks", "gradual", text="bent over to lift a box and my back went"), "acute-low-back-pain"),
    ("back pain for a year", P("lower_back", ("stiffness",), "over_3_months", "gradual", text="it never really goes away"), "living-well-with-persistent-back-pain"),
    ("pregnant with back pain", P("lower_back", (), "2_to_6_weeks", "gradual", text="I am 28 weeks pregnant and my lower back and pelvis ache"), "back-pain-in-pregnancy"),
    ("two-year back ache", P("lower_back", (), "over_3_months", "gradual", text="my back has ached for two years"), "living-well-with-persistent-back-pain"),
    ("new back pain, no words", P("lower_back", (), "under_2_weeks", "gradual"), "acute-low-back-pain"),
    ("new back pain, not sure how it started", P("lower_back", ("stiffness",), "2_to_6_weeks", "not_sure", age=35), "acute-low-back-pain"),
    ("back pain for years, no words", P("lower_back", (), "over_3_months", "not_sure", age=45), "living-well-with-persistent-back-pain"),
    ("long-term back pain and worried", P("lower_back", (), "over_3_months", "gradual", text="I'm scared to bend, I think my spine is crumbling and I've stopped going out"), "living-well-with-persistent-back-pain"),
    ("back pain, high risk on the screen", P("lower_back", (), "6_to_12_weeks", "gradual", age=40, risk="high"), "persistent-pain-how-pain-works"),
    ("long-term back pain, high risk on the screen", P("lower_back", ("stiffness",), "over_3_months", "gradual", age=52, risk="high"), "persistent-pain-how-pain-works"),
    ("new back pain, low risk on the screen", P("lower_back", (), "under_2_weeks", "gradual", age=30, risk="low"), "acute-low-back-pain"),
    ("back pain of a few days, high psychological risk on the screen", P("lower_back", ("stiffness",), "under_2_weeks", "gradual", age=34, risk="high", text="I'm frightened I've done something serious"), "persistent-pain-how-pain-works"),
    ("new back pain, medium risk on the screen", P("lower_back", ("spreading_pain",), "2_to_6_weeks", "gradual", age=41, risk="medium"), "sciatica-leg-numbness"),
    ("new sciatica, numb foot", P("lower_back", ("spreading_pain", "numbness", "pins_and_needles"), "under_2_weeks", "gradual", age=38), "sciatica-leg-numbness"),
    ("sciatica for months", P("lower_back", ("spreading_pain",), "over_3_months", "gradual", age=44, text="pain down the back of my leg to the calf"), "sciatica-leg-numbness"),
    ("older walker with heavy legs", P("lower_back", ("spreading_pain", "pins_and_needles"), "over_3_months", "gradual", age=72, text="my legs go heavy and tingle when I walk to the shops and ease when I sit down"), "spinal-stenosis-leg-pain-when-walking"),
    ("older, legs ache standing, no words", P("lower_back", ("spreading_pain", "weakness"), "over_3_months", "gradual", age=76), "spinal-stenosis-leg-pain-when-walking"),
    ("younger sciatica after lifting", P("lower_back", ("spreading_pain",), "2_to_6_weeks", "injury", age=29, text="lifting at work and pain went down my leg"), "sciatica-leg-numbness"),
    ("back surgery rehab", P("lower_back", ("stiffness",), "2_to_6_weeks", "after_surgery", age=50, text="had a discectomy last month"), "rehab-after-surgery"),
    ("back pain, keep fit goal", P("lower_back", (), "6_to_12_weeks", "gradual", text="I want to get back to the gym without hurting my back"), "acute-low-back-pain"),
    # Emergencies and urgent
    ("cauda equina answers", P("lower_back", ("numbness",), "under_2_weeks", "gradual", "emergency"), "red-flag-symptoms-urgent-help"),
    ("urgent knee with fever", P("knee", ("swelling",), "under_2_weeks", "not_sure", "urgent", "hot swollen knee"), "red-flag-symptoms-urgent-help"),
    ("urgent shoulder with cancer history", P("shoulder", (), "6_to_12_weeks", "gradual", "urgent"), "red-flag-symptoms-urgent-help"),
    ("urgent long-term back pain with weight loss", P("lower_back", (), "over_3_months", "gradual", "urgent", age=67), "red-flag-symptoms-urgent-help"),
    ("emergency neck", P("neck", ("numbness",), "under_2_weeks", "gradual", "emergency", "dizzy and seeing double with my neck pain"), "red-flag-symptoms-urgent-help"),
    ("urgent after surgery", P("knee", ("swelling",), "2_to_6_weeks", "after_surgery", "urgent", "wound is red and oozing"), "red-flag-symptoms-urgent-help"),
    # Neck
    ("desk worker's neck", P("neck", ("stiffness",), "6_to_12_weeks", "gradual", text="stiff neck after long days at my laptop"), "neck-pain-and-desk-posture"),
    ("car accident neck", P("neck", ("stiffness", "headaches"), "under_2_weeks", "injury", text="rear-ended in my car last week"), "whiplash"),
    ("headaches from the neck", P("neck", ("headaches",), "over_3_months", "gradual", text="headaches that start at the base of my skull"), "headaches-from-the-neck"),
    ("gradual neck pain with tingling down the arm", P("neck", ("pins_and_needles", "spreading_pain"), "2_to_6_weeks", "gradual", text="tingling down my arm"), "neck-pain-with-arm-symptoms"),
    ("neck and arm pain, no words", P("neck", ("spreading_pain",), "2_to_6_weeks", "gradual", age=48), "neck-pain-with-arm-symptoms"),
    ("neck with numb fingers", P("neck", ("numbness",), "6_to_12_weeks", "not_sure", age=55, text="my thumb and finger are numb and my neck hurts"), "neck-pain-with-arm-symptoms"),
    ("trapped nerve in the neck", P("neck", ("spreading_pain", "weakness"), "under_2_weeks", "gradual", text="woke up with a trapped nerve in my neck, pain down to my hand"), "neck-pain-with-arm-symptoms"),
    ("stiff neck, no words", P("neck", ("stiffness",), "2_to_6_weeks", "gradual"), "neck-pain-and-desk-posture"),
    ("whiplash with arm tingling", P("neck", ("pins_and_needles", "stiffness"), "under_2_weeks", "injury", text="car accident on the motorway, my neck is stiff"), "whiplash"),
    ("neck pain for years at a screen", P("neck", ("stiffness",), "over_3_months", "gradual", text="neck and shoulders ache every day at my computer"), "neck-pain-and-desk-posture"),
    # Head and jaw
    ("head region headaches", P("head_jaw", ("headaches",), "6_to_12_weeks", "gradual"), "headaches-from-the-neck"),
    ("clicking jaw", P("head_jaw", ("clicking_locking",), "6_to_12_weeks", "gradual", text="my jaw clicks and I grind my teeth"), "jaw-pain-tmd"),
    ("sore jaw chewing", P("head_jaw", (), "2_to_6_weeks", "gradual", text="it hurts to chew and open my mouth wide"), "jaw-pain-tmd"),
    # Upper back
    ("upper back and ribs", P("upper_back", ("stiffness",), "2_to_6_weeks", "gradual", text="pain between my shoulder blades and around a rib when I breathe in"), "upper-back-and-rib-pain"),
    ("upper back, no words", P("upper_back", (), "under_2_weeks", "not_sure"), "upper-back-and-rib-pain"),
    ("hunched at the desk, upper back", P("upper_back", ("stiffness",), "over_3_months", "gradual", text="my upper back aches from sitting at a desk all day"), "neck-pain-and-desk-posture"),
    # Shoulder
    ("painful arc shoulder", P("shoulder", ("weakness",), "6_to_12_weeks", "gradual", text="hurts to lift my arm overhead, painful at night lying on it"), "shoulder-impingement-rotator-cuff"),
    ("frozen shoulder", P("shoulder", ("stiffness",), "over_3_months", "gradual", text="can't move my shoulder, it is frozen and I am diabetic"), "frozen-shoulder"),
    ("shoulder, no words", P("shoulder", (), "6_to_12_weeks", "gradual", age=45), "shoulder-impingement-rotator-cuff"),
    ("after shoulder surgery", P("shoulder", ("stiffness",), "6_to_12_weeks", "after_surgery"), "rehab-after-surgery"),
    ("shoulder after a fall", P("shoulder", ("weakness",), "2_to_6_weeks", "injury", age=62, text="fell onto my arm and now I can't lift it"), "shoulder-impingement-rotator-cuff"),
    ("stiff shoulder that wakes me", P("shoulder", ("stiffness",), "6_to_12_weeks", "not_sure", age=53, text="I can't reach behind my back or do my hair"), "frozen-shoulder"),
    # Elbow, wrist and hand
    ("tennis elbow", P("elbow", (), "6_to_12_weeks", "gradual", text="outside of my elbow hurts when I grip a mug"), "tennis-and-golfers-elbow"),
    ("golfer's elbow", P("elbow", ("weakness",), "2_to_6_weeks", "gradual", text="inner elbow pain playing golf"), "tennis-and-golfers-elbow"),
    ("elbow, no words", P("elbow", (), "over_3_months", "gradual"), "tennis-and-golfers-elbow"),
    ("carpal tunnel", P("wrist_hand", ("numbness", "pins_and_needles"), "6_to_12_weeks", "gradual", text="fingers go numb at night"), "carpal-tunnel-and-wrist-pain"),
    ("wrist, no words", P("wrist_hand", ("pins_and_needles",), "2_to_6_weeks", "gradual", age=50), "carpal-tunnel-and-wrist-pain"),
    # Hip and groin
    ("stiff arthritic hip", P("hip", ("stiffness",), "over_3_months", "gradual", age=68, text="groin pain and stiffness putting socks on"), "hip-pain-and-osteoarthritis"),
    ("older hip, no words", P("hip", ("stiffness",), "over_3_months", "gradual", age=71), "hip-pain-and-osteoarthritis"),
    ("lying on the side hurts", P("hip", (), "6_to_12_weeks", "gradual", age=52, text="pain on the outside of my hip when I lie on that side at night"), "outside-of-hip-pain"),
    ("outside hip climbing stairs", P("hip", (), "over_3_months", "gradual", age=47, text="sore on the side of my hip going upstairs and the bony point is tender"), "outside-of-hip-pain"),
    ("footballer's groin", P("hip", (), "2_to_6_weeks", "gradual", age=23, text="groin pain when I kick a ball"), "groin-pain"),
    ("groin strain at hockey", P("hip", (), "under_2_weeks", "injury", age=27, text="pulled my groin at hockey, inner thigh hurts"), "groin-pain"),
    ("young hip clicking with sport", P("hip", ("clicking_locking",), "6_to_12_weeks", "gradual", age=26, text="deep groin pain and clicking when I squat at the gym"), "groin-pain"),
    ("hip after replacement", P("hip", ("stiffness", "weakness"), "2_to_6_weeks", "after_surgery", age=74, text="new hip three weeks ago"), "rehab-after-surgery"),
    ("hip pain from the back, leg tingling", P("hip", ("spreading_pain", "pins_and_needles"), "6_to_12_weeks", "gradual", age=41, text="buttock pain and tingling down my leg"), "sciatica-leg-numbness"),
    # Knee
    ("runner's front of knee", P("knee", (), "6_to_12_weeks", "gradual", text="pain around my kneecap going down stairs and after running"), "front-of-knee-pain"),
    ("twisted knee at football", P("knee", ("swelling", "clicking_locking"), "under_2_weeks", "injury", text="twisted it playing football and now it gives way and locks"), "knee-injuries-in-sport"),
    ("knee twisted at football two weeks ago", P("knee", ("swelling",), "2_to_6_weeks", "injury", text="twisted my knee at football two weeks ago"), "knee-injuries-in-sport"),
    ("knee hurt in netball, no more words", P("knee", ("swelling",), "under_2_weeks", "injury", age=24), "knee-injuries-in-sport"),
    ("knee injury at rugby, older player", P("knee", ("swelling", "weakness"), "under_2_weeks", "injury", age=58, text="tackled at rugby and my knee swelled straight away"), "knee-injuries-in-sport"),
    ("torn ACL months ago", P("knee", ("weakness",), "over_3_months", "injury", age=30, text="torn ACL, deciding about reconstruction"), "knee-ligament-and-meniscus-rehab"),
    ("meniscus tear locking", P("knee", ("clicking_locking",), "6_to_12_weeks", "injury", age=35, text="my cartilage is torn and the knee catches"), "knee-ligament-and-meniscus-rehab"),
    ("older knee osteoarthritis", P("knee", ("stiffness", "swelling"), "over_3_months", "gradual", text="creaky arthritic knees, worse in the morning"), "knee-osteoarthritis"),
    ("older knee, no words", P("knee", ("stiffness",), "over_3_months", "gradual", age=66), "knee-osteoarthritis"),
    ("older knee, aching walking", P("knee", (), "6_to_12_weeks", "gradual", age=59, text="my knee aches after walking the dog"), "knee-osteoarthritis"),
    ("teenager's kneecap pain", P("knee", (), "6_to_12_weeks", "gradual", age=16, text="pain at the front of my knee when I sit for a long time"), "front-of-knee-pain"),
    ("young knee, no words", P("knee", (), "6_to_12_weeks", "gradual", age=22), "front-of-knee-pain"),
    ("after knee replacement", P("knee", ("swelling", "stiffness"), "2_to_6_weeks", "after_surgery", text="had a knee replacement"), "rehab-after-surgery"),
    ("six weeks after knee surgery", P("knee", ("stiffness", "swelling"), "6_to_12_weeks", "after_surgery", text="six weeks after my knee operation"), "rehab-after-surgery"),
    ("after ACL reconstruction", P("knee", ("weakness",), "6_to_12_weeks", "after_surgery", age=25, text="ACL reconstruction, want to play football again"), "rehab-after-surgery"),
    # Ankle, foot and shin
    ("rolled ankle", P("ankle_foot", ("swelling",), "under_2_weeks", "injury", text="rolled my ankle stepping off a kerb"), "ankle-sprain"),
    ("ankle injury, no words", P("ankle_foot", ("swelling",), "under_2_weeks", "injury", age=33), "ankle-sprain"),
    ("achilles", P("ankle_foot", ("stiffness",), "6_to_12_weeks", "gradual", text="back of my heel and tendon is sore when I run"), "achilles-tendon-pain"),
    ("plantar heel", P("ankle_foot", (), "over_3_months", "gradual", text="sharp pain under my heel with the first steps in the morning"), "plantar-heel-pain"),
    ("runner's shin", P("ankle_foot", (), "2_to_6_weeks", "gradual", text="training for a marathon and increased my running mileage"), "running-injuries"),
    ("shin splints", P("ankle_foot", (), "2_to_6_weeks", "gradual", age=21, text="shin splints since I started running again"), "shin-pain"),
    ("sore shin in the army", P("other", (), "2_to_6_weeks", "gradual", age=19, text="pain along the inside of my shin bone from marching"), "shin-pain"),
    ("shin pain, chose ankle and foot", P("ankle_foot", (), "2_to_6_weeks", "gradual", age=28, text="aching down the front of my shin when I run"), "shin-pain"),
    ("ankle after surgery", P("ankle_foot", ("stiffness", "swelling"), "6_to_12_weeks", "after_surgery", text="ankle fracture plated"), "rehab-after-surgery"),
    # General
    ("poor sleep with pain", P("other", (), "over_3_months", "not_sure", text="I can't sleep because of the pain, I wake every night"), "sleep-and-pain"),
    ("nothing specific", P("other", (), "2_to_6_weeks", "not_sure"), "what-happens-at-your-first-assessment"),
    ("wants to keep fit", P("other", (), "over_3_months", "gradual", text="I want to start exercising again without making things worse"), "staying-active-exercise-for-pain"),
    ("pain everywhere for years", P("other", (), "over_3_months", "not_sure", text="I hurt all over and have done for years"), "persistent-pain-how-pain-works"),
    ("other, after an operation", P("other", (), "2_to_6_weeks", "after_surgery"), "rehab-after-surgery"),
    ("other, high risk on the screen", P("other", (), "6_to_12_weeks", "gradual", risk="high"), "persistent-pain-how-pain-works"),
    ("older adult, new sciatica", P("lower_back", ("spreading_pain", "numbness"), "under_2_weeks", "gradual", age=58, text="sudden pain down my leg after gardening"), "sciatica-leg-numbness"),
]
# The four patients issue 17 found reading the wrong thing: each must now read the right one first.
FROM_THE_ISSUE = {
    "two-year back ache": "living-well-with-persistent-back-pain",
    "knee twisted at football two weeks ago": "knee-injuries-in-sport",
    "gradual neck pain with tingling down the arm": "neck-pain-with-arm-symptoms",
    "six weeks after knee surgery": "rehab-after-surgery",
}
BY_NAME = {name: profile for name, profile, _ in SCENARIOS}


@pytest.fixture(scope="module")
def index():
    return index_for_folder(str(CONTENT_FOLDER))


def top_three(index, profile):
    return [item.article.slug for item in recommend(index, profile)]


def test_the_table_has_at_least_80_named_scenarios_with_known_articles(index):
    slugs = {article.slug for article in index.articles}
    assert len(SCENARIOS) >= 80
    assert len({name for name, _, _ in SCENARIOS}) == len(SCENARIOS)
    assert {slug for _, _, slug in SCENARIOS} <= slugs


def test_the_first_article_is_right_for_90_percent_and_in_the_top_three_for_98_percent(index):
    ranked = {name: top_three(index, profile) for name, profile, _ in SCENARIOS}
    not_first = [(name, slug, ranked[name]) for name, _, slug in SCENARIOS if ranked[name][0] != slug]
    missed = [(name, slug, ranked[name]) for name, _, slug in SCENARIOS if slug not in ranked[name]]
    first, top = 1 - len(not_first) / len(SCENARIOS), 1 - len(missed) / len(SCENARIOS)
    report = "\n".join(f"  {name}: wanted {slug} first, got {got}" for name, slug, got in not_first)
    print(f"\nfirst article right for {first:.1%}, in the top three for {top:.1%} of {len(SCENARIOS)} scenarios\n{report}")
    assert first >= FIRST_ARTICLE_ACCURACY, f"first article right for only {first:.1%}:\n{report}"
    assert top >= TOP_THREE_ACCURACY, "not in the top three:\n" + "\n".join(f"  {item}" for item in missed)


@pytest.mark.parametrize(("name", "slug"), FROM_THE_ISSUE.items())
def test_the_patients_in_issue_17_read_the_right_article_first(index, name, slug):
    assert top_three(index, BY_NAME[name])[0] == slug


def test_gradual_neck_pain_with_tingling_down_the_arm_reads_nothing_about_road_accidents(index):
    assert "whiplash" not in top_three(index, BY_NAME["gradual neck pain with tingling down the arm"])


def test_a_long_standing_back_ache_has_persistent_pain_reading_and_nothing_on_new_pain_in_its_top_three(index):
    top = top_three(index, BY_NAME["two-year back ache"])
    assert "acute-low-back-pain" not in top
    assert "persistent-pain-how-pain-works" in top


@pytest.mark.parametrize(("name", "profile", "slug"), [s for s in SCENARIOS if s[1].urgency != "routine"], ids=lambda value: value if isinstance(value, str) else "")
def test_a_flagged_patient_always_reads_about_urgent_help_first(index, name, profile, slug):
    assert top_three(index, profile)[0] == "red-flag-symptoms-urgent-help"


def test_high_psychological_risk_on_the_back_pain_screen_brings_how_pain_works_first(index):
    new_back_pain = P("lower_back", (), "2_to_6_weeks", "gradual", age=40)
    assert top_three(index, new_back_pain)[0] == "acute-low-back-pain"
    assert top_three(index, replace(new_back_pain, risk="low")) == top_three(index, new_back_pain)
    high = recommend(index, replace(new_back_pain, risk="high"))
    assert high[0].article.slug == "persistent-pain-how-pain-works"
    assert high[0].reason == "Because of how much your pain has been affecting you"


@pytest.mark.parametrize("words", ["", "It hurts and I worry it will never get better", "bent over to lift a box and my back went",
                                   "sharp pain in my lower back when I sit, worse in the morning"])
def test_high_psychological_risk_puts_how_pain_works_first_for_new_back_pain_whatever_the_words(index, words):
    for duration in ("under_2_weeks", "2_to_6_weeks", "6_to_12_weeks", "over_3_months"):
        profile = P("lower_back", ("stiffness",), duration, "gradual", age=38, text=words, risk="high")
        assert top_three(index, profile)[0] == "persistent-pain-how-pain-works", duration


def test_the_higher_the_back_pain_risk_the_sooner_how_pain_works_comes(index):
    def place(risk: str) -> int:
        ranked = recommend(index, P("lower_back", ("stiffness",), "6_to_12_weeks", "gradual", age=45, risk=risk), limit=len(index.articles))
        return [item.article.slug for item in ranked].index("persistent-pain-how-pain-works")

    assert place("") == place("low") > place("medium") > place("high") == 0


def test_age_orders_slow_changes_of_age_behind_other_causes_in_younger_people(index):
    knee = P("knee", (), "6_to_12_weeks", "gradual")
    assert top_three(index, replace(knee, age=67))[0] == "knee-osteoarthritis"
    assert top_three(index, replace(knee, age=24))[0] != "knee-osteoarthritis"
    walking = P("lower_back", ("spreading_pain",), "over_3_months", "gradual")
    assert top_three(index, replace(walking, age=74))[0] == "spinal-stenosis-leg-pain-when-walking"
    assert top_three(index, replace(walking, age=34))[0] == "sciatica-leg-numbness"


def test_an_injury_brings_injury_articles_forward_and_gradual_onset_sends_them_back(index):
    neck = P("neck", ("stiffness",), "under_2_weeks", "injury")
    assert top_three(index, neck)[0] == "whiplash"
    assert top_three(index, replace(neck, onset="gradual"))[0] != "whiplash"
    knee = P("knee", ("swelling",), "2_to_6_weeks", "injury", age=60)
    assert top_three(index, knee)[0] == "knee-injuries-in-sport"
    assert top_three(index, replace(knee, onset="gradual", duration="over_3_months"))[0] == "knee-osteoarthritis"


def test_after_an_operation_rehab_comes_first_whatever_the_body_area(index):
    for region in ("lower_back", "neck", "shoulder", "hip", "knee", "ankle_foot", "wrist_hand", "other"):
        assert top_three(index, P(region, ("stiffness",), "6_to_12_weeks", "after_surgery"))[0] == "rehab-after-surgery"


def test_arm_or_leg_symptoms_from_the_spine_bring_the_nerve_article_for_that_part_of_the_spine(index):
    assert top_three(index, P("neck", ("pins_and_needles",), "2_to_6_weeks", "gradual"))[0] == "neck-pain-with-arm-symptoms"
    assert top_three(index, P("neck", (), "2_to_6_weeks", "gradual"))[0] != "neck-pain-with-arm-symptoms"
    assert top_three(index, P("lower_back", ("numbness",), "2_to_6_weeks", "gradual", age=30))[0] == "sciatica-leg-numbness"
    assert top_three(index, P("lower_back", (), "2_to_6_weeks", "gradual", age=30))[0] != "sciatica-leg-numbness"


def test_the_profile_of_a_stored_request_carries_the_patients_age_on_the_day_they_asked():
    request = SimpleNamespace(
        region="knee", sensations=["swelling"], duration="over_3_months", onset="gradual", urgency="routine",
        description="aches", goals="walk", date_of_birth=date(1960, 6, 15),
        created_at=datetime(2026, 6, 14, 23, 30, tzinfo=timezone.utc),  # 15 June already, in London
        back_risk=None,
    )
    assert profile_from_request(request).age == 66


@pytest.mark.parametrize(("stored", "profiled"), [(None, ""), ("low", "low"), ("medium", "medium"), ("high", "high")])
def test_the_profile_of_a_stored_request_carries_its_back_pain_risk(stored, profiled):
    request = SimpleNamespace(
        region="lower_back", sensations=[], duration="6_to_12_weeks", onset="gradual", urgency="routine",
        description="", goals="", date_of_birth=date(1980, 1, 1), created_at=datetime(2026, 6, 1, tzinfo=timezone.utc), back_risk=stored,
    )
    assert profile_from_request(request).risk == profiled


def test_every_recommendation_says_why_in_plain_words(index):
    for _, profile, _ in SCENARIOS:
        for item in recommend(index, profile):
            assert item.reason.startswith(("Because", "To help", "Helpful"))


def test_the_reason_for_sciatica_names_the_numbness_in_the_leg(index):
    profile = P("lower_back", ("numbness",), "2_to_6_weeks", "gradual")
    assert recommend(index, profile)[0].reason == "Because you mentioned numbness in your leg"


def test_rankings_are_deterministic(index):
    profile = P("other", (), "2_to_6_weeks", "not_sure")
    everything = len(index.articles)
    assert [item.article.slug for item in recommend(index, profile, limit=everything)] == [
        item.article.slug for item in recommend(index, profile, limit=everything)
    ]


def test_the_matcher_is_pure_python_with_nothing_of_flask_or_the_database():
    tree = ast.parse(Path(matcher.__file__).read_text())
    imported = {alias.name for node in ast.walk(tree) if isinstance(node, ast.Import) for alias in node.names}
    imported |= {node.module for node in ast.walk(tree) if isinstance(node, ast.ImportFrom) and node.module}
    assert not {name for name in imported if name.split(".")[0] in {"flask", "flask_sqlalchemy", "sqlalchemy"}}
    assert not {name for name in imported if name.startswith("intake.") and not name.startswith(("intake.articles", "intake.clinic"))}


def test_stemming_and_synonyms_bring_numb_numbness_and_tingling_together():
    assert stems("numb") == stems("numbness")
    assert set(stems("tingling")) <= set(stems("pins and needles"))


@pytest.mark.parametrize("words", ["numb", "numbness", "tingling", "pins and needles"])
def test_search_finds_nerve_articles_by_any_of_their_names(index, words):
    found = [article.slug for article in index.search(words)][:5]
    assert "sciatica-leg-numbness" in found or "carpal-tunnel-and-wrist-pain" in found


def test_search_filters_by_body_area(index):
    assert {article.slug for article in index.search("", "elbow")} == {"tennis-and-golfers-elbow"}
    assert all("knee" in article.body_areas for article in index.search("pain", "knee"))
