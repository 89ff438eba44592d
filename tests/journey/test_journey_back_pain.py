"""The back-pain screen in the patient journey: asked of a lower-back problem only, after the
safety questions; errors next to each question; the score kept with the request."""

from __future__ import annotations

import re
from html import escape

import pytest
from sqlalchemy import select, update

from intake.clinic.back_screen import DEFAULT_WORDING_FILE, STATEMENTS, load_wording
from intake.journey.models import AssessmentRequest, Draft
from intake.platform.extensions import db
from tests.factories import HIGH_BACK_RISK, LOWER_BACK, MEDIUM_BACK_RISK, Patient, valid_answers
from tests.support.pages import shown_answers

SHIPPED = load_wording()


def stored_request(app) -> AssessmentRequest:
    with app.app_context():
        return db.session.execute(select(AssessmentRequest)).scalar_one()


def lower_back_answers() -> dict[str, dict]:
    answers = valid_answers()
    answers["where-it-hurts"]["region"] = "lower_back"
    return answers


def patient_on_the_screen(patient: Patient) -> dict[str, dict]:
    """Answer every page before the screen, for a lower-back problem; return the answers."""
    answers = lower_back_answers()
    patient.start()
    for slug in ("about-you", "where-it-hurts", "how-it-feels", "nerve-symptoms", "general-health"):
        assert patient.answer(slug, answers[slug]).status_code == 303
    return answers


def test_a_lower_back_problem_is_asked_the_screen_after_the_safety_questions(patient):
    answers = patient_on_the_screen(patient)
    assert patient.client.get("/book/general-health").status_code == 200
    response = patient.answer("general-health", answers["general-health"])
    assert response.headers["Location"].endswith("/book/back-pain")
    response = patient.answer("back-pain", answers["back-pain"])
    assert response.headers["Location"].endswith("/book/when-and-where")


@pytest.mark.parametrize("region", ["upper_back", "neck", "knee", "other"])
def test_other_problems_are_never_asked_the_screen(app, patient, region):
    patient.answer_all(where_it_hurts={"region": region})
    response = patient.client.get("/book/back-pain")
    assert response.status_code == 303 and response.headers["Location"].endswith("/book/check")
    assert "back pain bothered you" not in patient.client.get("/book/check").get_data(as_text=True)
    patient.submit()
    stored = stored_request(app)
    assert (stored.back_screen, stored.back_screen_total, stored.back_risk, stored.back_risk_rank) == ({}, None, None, 2)


@pytest.mark.parametrize(("changes", "total", "psychological", "risk", "rank"), [
    ({}, 1, 0, "low", 2), (MEDIUM_BACK_RISK, 4, 0, "medium", 1), (HIGH_BACK_RISK, 6, 5, "high", 0),
], ids=["low", "medium", "high"])
def test_the_request_keeps_the_answers_their_score_and_the_risk(app, patient, changes, total, psychological, risk, rank):
    patient.complete(**LOWER_BACK, **changes)
    stored = stored_request(app)
    assert stored.back_screen == lower_back_answers()["back-pain"] | changes.get("back_pain", {})
    assert (stored.back_screen_total, stored.back_screen_psychological, stored.back_risk, stored.back_risk_rank) == (total, psychological, risk, rank)


def test_the_page_asks_each_statement_as_an_agree_or_disagree_question_in_the_clinics_words(patient):
    patient_on_the_screen(patient)
    page = patient.client.get("/book/back-pain").get_data(as_text=True)
    assert escape(SHIPPED.intro) in page
    for code, words in SHIPPED.statements:
        assert f'<legend class="fieldset__legend ">{escape(words)}</legend>' in page
        assert f'id="{code}" name="{code}" type="radio" value="agree"' in page
        assert f'name="{code}" type="radio" value="disagree"' in page
    assert f"{escape(SHIPPED.bothersome)}</legend>" in page
    assert [value for value in re.findall(r'name="bothersome" type="radio" value="(\w+)"', page)] == [
        "not_at_all", "slightly", "moderately", "very_much", "extremely"]
    assert "STarT" not in page and "Keele" not in page


def test_each_question_left_unanswered_gets_its_own_error_and_the_answers_given_are_kept(app, patient):
    answers = patient_on_the_screen(patient)
    partial = {code: answers["back-pain"][code] for code in STATEMENTS[:3]}
    response = patient.answer("back-pain", partial)
    page = response.get_data(as_text=True)
    assert response.status_code == 200 and "<title>Error: " in page
    for code, words in SHIPPED.questions:
        message = escape(f"Select {'how much' if code == 'bothersome' else 'agree or disagree'}: {words}")
        assert (f'<li><a href="#{code}">{message}</a></li>' in page) is (code not in partial), code
    assert {code: values for code, values in shown_answers(response).items() if code in partial} == {code: [value] for code, value in partial.items()}
    with app.app_context():
        [draft] = db.session.execute(select(Draft)).scalars()
        assert "back_pain" not in draft.answers


@pytest.mark.parametrize(("field", "value"), [
    ("leg_pain", "yes"), ("leg_pain", "Agree"), ("bothersome", "agree"), ("bothersome", "very much"), ("no_enjoyment", "\x00"),
])
def test_an_answer_that_is_not_on_the_page_is_refused_with_a_message_not_a_server_error(patient, field, value):
    answers = patient_on_the_screen(patient)
    response = patient.answer("back-pain", {**answers["back-pain"], field: value})
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert f'<li><a href="#{field}">Select ' in page


def test_the_check_page_shows_the_screen_in_words_with_change_links(patient):
    patient.answer_all(**LOWER_BACK, **HIGH_BACK_RISK)
    page = patient.client.get("/book/check").get_data(as_text=True)
    assert "How your back pain affects you" in page
    assert escape(SHIPPED.bothersome) in page and "Extremely" in page
    assert 'href="/book/back-pain?change=1#no_enjoyment"' in page


def test_moving_the_problem_away_from_the_lower_back_drops_the_screen(app, patient):
    patient.answer_all(**LOWER_BACK, **HIGH_BACK_RISK)
    patient.answer("where-it-hurts", valid_answers()["where-it-hurts"])  # the knee
    patient.answer("your-problem", valid_answers()["your-problem"])  # and the knee's own safety questions
    patient.submit()
    stored = stored_request(app)
    assert (stored.back_screen, stored.back_risk, stored.back_risk_rank) == ({}, None, 2)


def test_a_draft_saved_before_the_screen_existed_is_asked_it_before_the_check_page(app, patient):
    """A lower-back patient part-way through when the screen arrived answers it, then checks and sends."""
    patient.answer_all(**LOWER_BACK)
    with app.app_context():
        draft = db.session.execute(select(Draft)).scalar_one()
        db.session.execute(update(Draft).values(answers={key: value for key, value in draft.answers.items() if key != "back_pain"}))
        db.session.commit()
    response = patient.client.get("/book/check")
    assert response.status_code == 303 and response.headers["Location"].endswith("/book/back-pain")
    response = patient.answer("back-pain", lower_back_answers()["back-pain"])
    assert response.headers["Location"].endswith("/book/check")
    assert patient.submit().status_code == 303
    assert stored_request(app).back_risk == "low"


def test_a_clinics_own_wording_is_what_the_patient_reads_and_the_same_codes_are_stored(make_app, tmp_path):
    text = DEFAULT_WORDING_FILE.read_text(encoding="utf-8")
    text = text.replace('notice = ""', 'notice = "Used under licence from the authors."').replace('agree = "Agree"', 'agree = "I agree"')
    (tmp_path / "licensed.toml").write_text(text, encoding="utf-8")
    app = make_app(BACK_SCREEN_WORDING=load_wording(tmp_path / "licensed.toml"))
    patient = Patient(app.test_client())
    patient_on_the_screen(patient)
    page = patient.client.get("/book/back-pain").get_data(as_text=True)
    assert "Used under licence from the authors." in page and ">I agree</label>" in page
    patient.answer("back-pain", lower_back_answers()["back-pain"])
    patient.answer("when-and-where", valid_answers()["when-and-where"])
    assert "I agree" in patient.client.get("/book/check").get_data(as_text=True)
    patient.submit()
    assert stored_request(app).back_screen["leg_pain"] == "agree"


def test_high_psychological_risk_brings_how_pain_works_first_on_the_confirmation_page(patient):
    reference = patient.complete(**LOWER_BACK, **HIGH_BACK_RISK)
    page = patient.client.get(f"/book/confirmation/{reference}").get_data(as_text=True)
    links = re.findall(r'href="/articles/([a-z0-9-]+)"', page)
    assert links and links[0] == "persistent-pain-how-pain-works"
    assert "Because of how much your pain has been affecting you" in page
