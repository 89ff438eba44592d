"""Red flags in the patient's own words, through HTTP: the page that asks about them directly,
what each answer leads to, the request that stores them, and the clinic that sees why."""

from __future__ import annotations

import html

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from intake.journey.models import AssessmentRequest, Draft
from intake.platform.extensions import db
from tests.factories import Patient, new_practitioner, outbox, valid_answers

WEE = "I can't feel myself wee since Monday"
BLADDER_QUESTION = "Have you recently had trouble starting to pee or controlling it"
ANSWERED_NO = {"bladder_change": "no"}


def stored(app, reference: str) -> AssessmentRequest:
    with app.app_context():
        request = db.session.execute(select(AssessmentRequest).where(AssessmentRequest.reference == reference)).scalar_one()
        db.session.expunge(request)
        return request


def draft_answers(app) -> dict:
    with app.app_context():
        return db.session.execute(select(Draft.answers)).scalar_one()


def to_how_it_feels(patient: Patient, description: str = WEE, **fields):
    """Answer the first pages, then send how-it-feels with these words; return its response."""
    patient.start()
    answers = valid_answers()
    for slug in ("about-you", "where-it-hurts"):
        assert patient.answer(slug, answers[slug]).status_code == 303
    return patient.answer("how-it-feels", {**answers["how-it-feels"], "description": description, **fields})


def page(patient: Patient, path: str) -> str:
    return html.unescape(patient.client.get(path).get_data(as_text=True))


def test_words_that_show_a_red_flag_are_quoted_back_and_asked_about_before_anything_else(patient):
    response = to_how_it_feels(patient, "My knee is sore. " + WEE + ". It is worse on stairs.")
    assert response.status_code == 303 and response.headers["Location"].endswith("/book/your-words")
    shown = page(patient, "/book/your-words")
    assert "About what you wrote" in shown and "care-card--urgent" in shown
    assert f"You wrote: “{WEE}”." in shown and BLADDER_QUESTION in shown
    assert 'name="bladder_change" type="radio" value="yes"' in shown and 'name="saddle_numbness"' not in shown
    # No way round it: the next pages and the check page send the patient back to the question.
    for path in ("/book/nerve-symptoms", "/book/general-health", "/book/when-and-where", "/book/check"):
        assert patient.client.get(path).headers["Location"].endswith("/book/your-words"), path


def test_ordinary_words_go_straight_on(patient):
    response = to_how_it_feels(patient, "Numb feeling in my toes after running, and I drink so much water I need the toilet a lot")
    assert response.headers["Location"].endswith("/book/nerve-symptoms")
    assert patient.client.get("/book/your-words").status_code == 303


def test_yes_is_the_same_as_ticking_the_safety_question_the_emergency_card_first(app, patient):
    to_how_it_feels(patient)
    response = patient.answer("your-words", {"bladder_change": "yes"})
    assert response.headers["Location"].endswith("/book/advice/emergency")
    card = page(patient, "/book/advice/emergency")
    assert "Go to A&E now or call 999" in card and "cauda equina" in card
    reference = patient.complete(how_it_feels={"description": WEE}, your_words={"bladder_change": "yes"})
    request = stored(app, reference)
    assert request.urgency == "emergency"
    assert "words_bladder_change" in [reason["code"] for reason in request.urgency_reasons]


def test_no_still_flags_the_request_urgent_for_a_clinician(app, patient):
    to_how_it_feels(patient)
    response = patient.answer("your-words", ANSWERED_NO)
    assert response.headers["Location"].endswith("/book/advice/urgent")
    assert "Continue with my request" in page(patient, "/book/advice/urgent")

    reference = Patient(app.test_client()).complete(how_it_feels={"description": WEE}, your_words=ANSWERED_NO)
    request = stored(app, reference)
    assert request.urgency == "urgent"
    assert [reason["text"] for reason in request.urgency_reasons] == [
        "Their words may describe new bladder problems (asked directly, they answered no)"
    ]
    [flag] = request.free_text_flags
    assert flag["category"] == "bladder_change" and flag["level"] == "emergency" and flag["answer"] == "no"
    assert flag["field"] == "description" and flag["words"] == "can't feel myself wee" and flag["current"] is True
    assert flag["question"].startswith(BLADDER_QUESTION)


def test_no_to_an_urgent_sign_is_a_soft_flag_and_never_offered_self_booking(app, patient):
    new_practitioner(app, "Clara Clinician", sites=("riverside",))
    patient.answer_all(how_it_feels={"goals": "Walking again after my cancer treatment"}, your_words={"cancer_history": "no"})
    check = page(patient, "/book/check")
    assert "Send my request" in check and "Continue to choose a time" not in check
    assert patient.client.get("/book/time").headers["Location"].endswith("/book/check")
    reference = patient.complete(how_it_feels={"goals": "Walking again after my cancer treatment"}, your_words={"cancer_history": "no"})
    request = stored(app, reference)
    assert request.urgency == "routine"
    assert [flag["code"] for flag in request.soft_flags] == ["words_cancer_history"]
    assert [flag["field"] for flag in request.free_text_flags] == ["goals"]


@pytest.mark.parametrize("sent", [{"bladder_change": "maybe"}, {}, {"bladder_change": ""}, {"bladder_change": "\x00" * 5000}])
def test_a_bad_answer_gives_the_question_again_with_a_clear_error(patient, sent):
    to_how_it_feels(patient)
    response = patient.answer("your-words", sent)
    assert response.status_code == 200
    body = html.unescape(response.get_data(as_text=True))
    assert "There is a problem" in body and f"Select yes or no: {BLADDER_QUESTION}" in body
    assert "<title>Error:" in body and f"You wrote: “{WEE}”" in body


def test_a_question_not_on_the_page_is_ignored(app, patient):
    to_how_it_feels(patient)
    assert patient.answer("your-words", {**ANSWERED_NO, "cancer_history": "yes", "chest": "yes"}).status_code == 303
    assert draft_answers(app)["your_words"] == ANSWERED_NO


def test_the_note_about_times_is_read_too_and_asked_about_after_its_page(app):
    patient = Patient(app.test_client())
    reference = patient.complete(when_and_where={"note": "Not Tuesdays. Both legs keep giving way"}, your_note={"leg_weakness": "no"})
    request = stored(app, reference)
    assert request.urgency == "urgent" and [flag["field"] for flag in request.free_text_flags] == ["note"]


def test_the_check_page_lists_the_answer_and_its_change_link_asks_again(patient):
    patient.answer_all(how_it_feels={"description": WEE}, your_words=ANSWERED_NO)
    check = page(patient, "/book/check")
    assert "About what you wrote" in check and BLADDER_QUESTION in check
    assert 'href="/book/your-words?change=1#bladder_change"' in check
    assert "You need medical advice today" not in check  # the urgent card of the check page is the usual one
    assert "Speak to a GP or call NHS 111 today" in check


def test_taking_the_words_out_clears_the_flag_but_the_clinician_still_sees_they_were_written(app, patient):
    patient.answer_all(how_it_feels={"description": WEE}, your_words=ANSWERED_NO)
    answers = valid_answers()["how-it-feels"]
    response = patient.answer("how-it-feels", {**answers, "description": "My knee aches"}, form_path="/book/how-it-feels?change=1")
    assert response.headers["Location"].endswith("/book/check")
    assert "About what you wrote" not in page(patient, "/book/check")
    response = patient.submit()
    reference = response.headers["Location"].rsplit("/", 1)[-1]
    request = stored(app, reference)
    assert request.urgency == "routine" and request.urgency_reasons == []
    [flag] = request.free_text_flags
    assert flag["current"] is False and flag["answer"] == "no" and flag["words"] == "can't feel myself wee"


def test_new_words_on_a_change_ask_again_before_the_check_page(patient):
    patient.answer_all()
    answers = valid_answers()["how-it-feels"]
    response = patient.answer("how-it-feels", {**answers, "goals": "Stop wetting myself"}, form_path="/book/how-it-feels?change=1")
    assert response.headers["Location"].endswith("/book/your-words")


def test_each_patient_sees_only_their_own_words(app):
    first, second = Patient(app.test_client()), Patient(app.test_client())
    to_how_it_feels(first, "I keep wetting myself")
    to_how_it_feels(second, "Numb between my legs")
    assert "wetting myself" in page(first, "/book/your-words") and "Numb between" not in page(first, "/book/your-words")
    assert "Numb between my legs" in page(second, "/book/your-words") and "wetting" not in page(second, "/book/your-words")


def test_the_staff_page_shows_the_flag_the_words_and_the_answer(app, staff_client):
    reference = Patient(app.test_client()).complete(how_it_feels={"description": WEE}, your_words=ANSWERED_NO)
    body = html.unescape(staff_client().client.get(f"/staff/requests/{reference}").get_data(as_text=True))
    assert "Red flags in the patient's own words" in body
    assert "Their words may describe new bladder problems" in body and "Emergency sign" in body
    assert f"In their description: “{WEE}” (matched: “can't feel myself wee”)" in body
    assert "No</strong>" in body.split("Red flags in the patient's own words", 1)[1]


@pytest.mark.parametrize("reasons", [False, True], ids=["level-only", "with-reasons"])
def test_the_clinic_email_shows_the_level_always_and_the_reason_only_where_allowed(make_app, reasons):
    app = make_app(OUTBOX_SEND_AFTER_REQUEST=False, MAIL_CLINIC_URGENCY_REASONS=reasons)
    Patient(app.test_client()).complete(how_it_feels={"description": WEE}, your_words=ANSWERED_NO)
    [clinic] = [message for message in outbox(app) if message.kind == "clinic_new_request"]
    assert "Red flag in the patient's own words: emergency" in clinic.text_body
    assert "Red flag in the patient's own words</th><td>emergency" in clinic.html_body
    reason = "Their words may describe new bladder problems (they answered no when asked directly)"
    assert (reason in clinic.text_body, reason in html.unescape(clinic.html_body)) == (reasons, reasons)
    for typed in ("feel myself wee", "since Monday"):
        assert typed not in clinic.text_body + clinic.html_body


ANY_VALUE = st.one_of(st.none(), st.sampled_from(["yes", "no", "Yes", "y", "", "on", "1"]), st.text(max_size=50),
                      st.lists(st.sampled_from(["yes", "no", "maybe"]), max_size=3))


def test_anything_posted_to_the_words_page_is_refused_or_stored_as_yes_or_no_never_a_server_error(make_app):
    unlimited_app = make_app(RATELIMIT_ENABLED=False)
    patient = Patient(unlimited_app.test_client())
    to_how_it_feels(patient, "I keep wetting myself and my bum is numb")
    token = patient.csrf_token("/book/your-words")

    @settings(max_examples=60, deadline=None, database=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
    @given(values=st.fixed_dictionaries({}, optional={name: ANY_VALUE for name in ("bladder_change", "saddle_numbness", "chest", "junk")}))
    def check(values):
        data = {name: value for name, value in values.items() if value is not None}
        response = patient.client.post("/book/your-words", data={**data, "csrf_token": token})
        assert response.status_code in (200, 303), response.status_code
        if response.status_code == 200:
            assert "There is a problem" in response.get_data(as_text=True)
        else:
            stored = draft_answers(unlimited_app)["your_words"]
            assert set(stored) == {"bladder_change", "saddle_numbness"} and set(stored.values()) <= {"yes", "no"}

    check()


def test_an_emergency_sign_that_is_not_about_the_spine_gets_an_emergency_card_about_that_sign(patient):
    to_how_it_feels(patient, "Crushing pain in my chest since this morning")
    response = patient.answer("your-words", {"chest": "yes"})
    assert response.headers["Location"].endswith("/book/advice/emergency")
    card = page(patient, "/book/advice/emergency")
    assert "Go to A&E now or call 999" in card and "heart or lungs" in card and "cauda equina" not in card
