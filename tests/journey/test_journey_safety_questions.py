"""The safety questions a patient meets follow their problem (shared/CLINICAL.md, "Asking the right
questions for the problem"), and each "yes" shows the care card it calls for: walked through HTTP."""

from __future__ import annotations

import html

from sqlalchemy import select, update

from intake.journey.models import AssessmentRequest, Draft
from intake.platform.extensions import db
from intake.triage import QUESTIONS_BY_CODE
from tests.factories import Patient, update_request, valid_answers, years_ago

OLD_GENERAL_HEALTH = ("cancer_history", "weight_loss", "fever_unwell", "weak_immunity", "injected_drugs", "major_trauma", "fragile_bones", "night_pain")


def question(code: str) -> str:
    return QUESTIONS_BY_CODE[code].question


def page(patient: Patient, path: str) -> str:
    return html.unescape(patient.client.get(path).get_data(as_text=True))


def born(age: int) -> dict[str, str]:
    day = years_ago(age)
    return {"date_of_birth-day": str(day.day), "date_of_birth-month": str(day.month), "date_of_birth-year": str(day.year)}


def answer_up_to(patient: Patient, last: str, **changes: dict) -> None:
    """Start and answer every page that applies up to and including `last`."""
    patient.start()
    for slug, data in valid_answers(**changes).items():
        if patient.client.get(f"/book/{slug}").status_code == 303:
            continue  # this page does not apply to these answers
        assert patient.answer(slug, data).status_code == 303
        if slug == last:
            return


def stored(app, reference: str) -> AssessmentRequest:
    with app.app_context():
        request = db.session.execute(select(AssessmentRequest).where(AssessmentRequest.reference == reference)).scalar_one()
        db.session.expunge(request)
        return request


def test_a_sprained_ankle_is_asked_about_the_injury_not_about_injected_drugs(patient):
    answer_up_to(patient, "nerve-symptoms", where_it_hurts={"region": "ankle_foot", "onset": "injury", "duration": "under_2_weeks"})
    problem = page(patient, "/book/your-problem")
    for code in ("injury_severe", "calf_clot", "hot_joint"):
        assert question(code) in problem
    assert question("neck_artery") not in problem and question("chest") not in problem
    patient.answer("your-problem", valid_answers()["your-problem"])
    general = page(patient, "/book/general-health")
    for code in ("weight_loss", "fever_unwell", "fragile_bones", "night_pain"):
        assert question(code) in general
    for code in ("injected_drugs", "weak_immunity", "cancer_history", "major_trauma"):
        assert question(code) not in general


def test_a_past_cancer_does_not_send_a_knee_patient_to_their_gp(app, patient):
    """Not asked at 40; at 62 with new knee pain, asked, and a yes is for the clinician: no card."""
    answer_up_to(patient, "your-problem", about_you=born(40))
    assert question("cancer_history") not in page(patient, "/book/general-health")

    older = Patient(app.test_client())
    answer_up_to(older, "your-problem", about_you=born(62))
    assert question("cancer_history") in page(older, "/book/general-health")
    response = older.answer("general-health", {**valid_answers()["general-health"], "cancer_history": "yes"})
    assert response.headers["Location"].endswith("/book/when-and-where")
    older.answer("when-and-where", valid_answers()["when-and-where"])
    assert "care-card" not in page(older, "/book/check")
    request = stored(app, _send(older))
    assert request.urgency == "routine" and request.urgency_reasons == []
    assert [flag["code"] for flag in request.soft_flags] == ["cancer_history_new_pain"]
    assert request.safety_answers["cancer_history"] is True


def _send(patient: Patient) -> str:
    """Send the request from the check page (without choosing a time); return its reference."""
    response = patient.submit()
    if response.headers["Location"].endswith("/book/time"):
        response = patient.phone_me()
    return response.headers["Location"].rsplit("/", 1)[1]


def test_a_swollen_calf_after_an_operation_needs_help_the_same_day_and_breathlessness_with_it_999(app, patient):
    answer_up_to(patient, "nerve-symptoms", where_it_hurts={"onset": "after_surgery"})
    assert question("wound") in page(patient, "/book/your-problem")
    response = patient.answer("your-problem", {**valid_answers()["your-problem"], "calf_clot": "yes"})
    assert response.headers["Location"].endswith("/book/advice/urgent")
    card = page(patient, "/book/advice/urgent")
    assert "Get medical help today" in card and "blood clot in the leg" in card and "Call NHS 111 now" in card
    assert "care-card--urgent" in card and 'href="/book/general-health"' in card

    general = page(patient, "/book/general-health")
    assert question("calf_breathless") in general
    response = patient.answer("general-health", {**valid_answers()["general-health"], "calf_breathless": "yes"})
    assert response.headers["Location"].endswith("/book/advice/emergency")
    card = page(patient, "/book/advice/emergency")
    assert "Go to A&E now or call 999" in card and "heart or lungs" in card and "cauda equina" not in card

    patient.answer("when-and-where", valid_answers()["when-and-where"])
    request = stored(app, _send(patient))
    assert request.urgency == "emergency"
    assert [(reason["code"], reason["advice"]) for reason in request.urgency_reasons] == [("calf_breathless", "emergency"), ("calf_clot", "same_day")]


def test_the_breathless_follow_up_is_not_asked_without_a_painful_calf(patient):
    answer_up_to(patient, "your-problem", where_it_hurts={"onset": "after_surgery"})
    assert question("calf_breathless") not in page(patient, "/book/general-health")


def test_a_hot_joint_shows_the_gp_card_then_with_a_fever_the_same_day_card(app, patient):
    """A more pressing card at the same urgency interrupts the journey again."""
    answer_up_to(patient, "nerve-symptoms")
    response = patient.answer("your-problem", {**valid_answers()["your-problem"], "hot_joint": "yes"})
    assert response.headers["Location"].endswith("/book/advice/urgent")
    assert "Speak to a GP or call NHS 111 today" in page(patient, "/book/advice/urgent")

    response = patient.answer("general-health", {**valid_answers()["general-health"], "fever_unwell": "yes"})
    assert response.headers["Location"].endswith("/book/advice/urgent")
    card = page(patient, "/book/advice/urgent")
    assert "Get medical help today" in card and "infection in the joint" in card

    patient.answer("when-and-where", valid_answers()["when-and-where"])
    assert "infection in the joint" in page(patient, "/book/check")
    reference = _send(patient)
    assert "infection in the joint" in page(patient, f"/book/confirmation/{reference}")
    assert {reason["code"]: reason["advice"] for reason in stored(app, reference).urgency_reasons} == {"hot_joint": "same_day", "fever_unwell": "gp_today"}


def test_a_neck_patient_is_asked_about_the_arteries_and_the_spinal_cord(patient):
    answer_up_to(patient, "how-it-feels", where_it_hurts={"region": "neck"})
    problem = page(patient, "/book/your-problem")
    for code in ("neck_artery", "neck_dizzy", "meningitis", "cord_signs"):
        assert question(code) in problem
    assert question("calf_clot") not in problem and question("hot_joint") not in problem
    response = patient.answer("your-problem", {**valid_answers()["your-problem"], "neck_dizzy": "yes"})
    assert response.headers["Location"].endswith("/book/advice/emergency")
    assert "a stroke or of a problem with the blood vessels in your neck" in page(patient, "/book/advice/emergency")


def test_clumsy_hands_with_neck_pain_need_a_gp_today(patient):
    answer_up_to(patient, "how-it-feels", where_it_hurts={"region": "neck"})
    response = patient.answer("your-problem", {**valid_answers()["your-problem"], "cord_signs": "yes"})
    assert response.headers["Location"].endswith("/book/advice/urgent")
    assert "Speak to a GP or call NHS 111 today" in page(patient, "/book/advice/urgent")


def test_an_answer_to_a_question_that_no_longer_fits_is_dropped_when_the_problem_changes(app, patient):
    """Injected drugs matter for back pain; after changing to a knee the answer no longer counts, the
    knee's own questions are asked, and the request is stored without it."""
    patient.answer_all(where_it_hurts={"region": "lower_back"}, general_health={"injected_drugs": "yes"})
    assert "care-card--urgent" in page(patient, "/book/check")
    response = patient.answer("where-it-hurts", valid_answers()["where-it-hurts"])  # the knee
    assert response.headers["Location"].endswith("/book/your-problem")
    patient.answer("your-problem", valid_answers()["your-problem"])
    assert "care-card" not in page(patient, "/book/check")
    request = stored(app, _send(patient))
    assert request.urgency == "routine" and "injected_drugs" not in request.safety_answers
    assert set(request.safety_answers) == {"saddle_numbness", "bladder_change", "bowel_change", "sexual_change", "leg_weakness",
                                           "hot_joint", "calf_clot", "weight_loss", "fever_unwell", "night_pain"}


def set_draft_answers(app, patient: Patient, change) -> None:
    """Rewrite the answers of the patient's draft as `change` makes them."""
    with patient.client.session_transaction() as session:
        draft_id = session["draft_id"]
    with app.app_context():
        answers = db.session.execute(select(Draft.answers).where(Draft.id == draft_id)).scalar_one()
        db.session.execute(update(Draft).where(Draft.id == draft_id).values(answers=change(dict(answers))))
        db.session.commit()


def as_saved_before_questions_followed_the_problem(answers: dict, **said: str) -> dict:
    """A draft's answers as the journey saved them when every patient was asked every question."""
    answers.pop("your_problem", None)
    answers["general_health"] = {code: said.get(code, "no") for code in OLD_GENERAL_HEALTH}
    return answers


def test_a_draft_saved_before_questions_followed_the_problem_goes_on_where_it_needs_to(app, patient):
    """A back patient had answered every question of theirs: straight to the check page. A knee
    patient is asked the knee's own questions, and their old yes to a past cancer no longer counts."""
    patient.answer_all(where_it_hurts={"region": "lower_back"})
    set_draft_answers(app, patient, as_saved_before_questions_followed_the_problem)
    check = patient.client.get("/book/check")
    assert check.status_code == 200 and question("injected_drugs") in html.unescape(check.get_data(as_text=True))

    knee = Patient(app.test_client())
    knee.answer_all()
    set_draft_answers(app, knee, lambda answers: as_saved_before_questions_followed_the_problem(answers, cancer_history="yes"))
    assert knee.client.get("/book/check").headers["Location"].endswith("/book/your-problem")
    assert knee.answer("your-problem", valid_answers()["your-problem"]).headers["Location"].endswith("/book/check")
    checked = page(knee, "/book/check")
    assert "care-card" not in checked and question("cancer_history") not in checked
    assert stored(app, _send(knee)).urgency == "routine"


def test_a_request_stored_before_cards_had_levels_shows_the_card_its_urgency_showed(app, patient):
    reference = patient.complete(where_it_hurts={"region": "lower_back"}, general_health={"cancer_history": "yes"})
    update_request(app, reference, urgency_reasons=[{"code": "cancer_history", "text": "History of cancer"}])
    confirmation = page(patient, f"/book/confirmation/{reference}")
    assert "care-card--urgent" in confirmation and "Speak to a GP or call NHS 111 today" in confirmation
