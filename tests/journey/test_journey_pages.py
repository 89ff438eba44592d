"""The patient journey through HTTP: pages in order, kept answers, care cards, check and confirm."""

from __future__ import annotations

import re
from datetime import date, datetime, timedelta, timezone
from types import SimpleNamespace

import itsdangerous.timed

from tests.factories import Patient, valid_answers, years_ago
from intake.journey.models import AssessmentRequest, Draft
from intake.platform.extensions import db
from intake.platform.config import DRAFT_MARGIN_SECONDS
from intake.platform.timeutil import today_in_london

REFERENCE_FORMAT = re.compile(r"^[ABCDEFGHJKLMNPQRSTUVWXYZ23456789]{8}$")


def stored_requests(app) -> list[AssessmentRequest]:
    with app.app_context():
        return list(db.session.execute(db.select(AssessmentRequest)).scalars())


def test_home_page_says_what_the_clinic_offers_and_links_to_booking(client):
    """The home page explains the free assessment and starts the journey."""
    page = client.get("/").get_data(as_text=True)
    assert "free initial assessment" in page
    assert 'href="/book/"' in page
    assert "Riverside" in page


def test_starting_a_request_needs_a_post(app, client):
    """Opening the start pages changes nothing; a draft is only made by pressing Start."""
    assert client.get("/book/").status_code == 200
    assert client.get("/book/start").status_code in (404, 405)
    with app.app_context():
        assert db.session.execute(db.select(Draft)).first() is None


def test_a_patient_completes_the_whole_journey_and_the_request_is_stored(app, patient):
    """Every answer reaches the database, in the right form, with status new and UTC times."""
    reference = patient.complete()
    assert REFERENCE_FORMAT.match(reference)
    [stored] = stored_requests(app)
    assert stored.reference == reference
    assert stored.status == "new"
    assert stored.urgency == "routine" and stored.urgency_reasons == []
    assert (stored.first_name, stored.last_name) == ("Ada", "Lovelace")
    assert stored.date_of_birth == date(1985, 12, 10)
    assert stored.email == "ada@example.com"
    assert stored.phone == "+447400123456"
    assert stored.postcode == "N1 9GU"
    assert (stored.region, stored.side, stored.duration, stored.onset) == ("knee", "left", "2_to_6_weeks", "gradual")
    assert (stored.pain_now, stored.pain_worst) == (4, 7)
    assert stored.sensations == ["stiffness", "swelling"]
    assert stored.description == "Aches after running.\nWorse on stairs."
    assert stored.site_code == "riverside" and stored.available_days == ["mon", "wed"]
    assert stored.available_times == ["morning"] and stored.earliest_date is None
    assert stored.safety_answers["saddle_numbness"] is False
    assert stored.marketing_opt_in is False
    assert stored.created_at.tzinfo is not None and stored.created_at.utcoffset().total_seconds() == 0
    assert abs((datetime.now(timezone.utc) - stored.consent_given_at).total_seconds()) < 60


def test_the_draft_is_deleted_once_the_request_is_stored(app, patient):
    """Health answers are not kept twice: the draft goes when the request is made."""
    patient.complete()
    with app.app_context():
        assert db.session.execute(db.select(Draft)).first() is None


def test_confirmation_shows_reference_next_steps_and_safety_net(client, patient):
    """The patient sees their reference, what happens next and when to go to A&E."""
    reference = patient.complete()
    page = client.get(f"/book/confirmation/{reference}").get_data(as_text=True)
    assert reference in page
    assert "What happens next" in page
    assert "go to A&amp;E at once" in page
    assert "care-card--emergency" not in page


def test_answers_are_kept_when_going_back_or_refreshing(client, patient):
    """An earlier page shows what was saved, so back and refresh lose nothing."""
    patient.start()
    answers = valid_answers()
    patient.answer("about-you", answers["about-you"])
    patient.answer("where-it-hurts", answers["where-it-hurts"])
    page = client.get("/book/about-you").get_data(as_text=True)
    assert 'value="Ada"' in page and 'value="ada@example.com"' in page
    assert 'value="07400 123456"' in page
    assert 'value="1985"' in page
    again = client.get("/book/where-it-hurts").get_data(as_text=True)
    assert 'value="knee" checked' in again


def test_each_page_links_back_to_the_one_before(client, patient):
    """The back link leads to the previous page of the journey."""
    patient.start()
    patient.answer("about-you", valid_answers()["about-you"])
    page = client.get("/book/where-it-hurts").get_data(as_text=True)
    assert '<a class="back-link" href="/book/about-you">Back</a>' in page


def test_pages_cannot_be_skipped(client, patient):
    """Jumping ahead sends the patient to the first page they have not answered."""
    patient.start()
    response = client.get("/book/when-and-where")
    assert response.status_code == 303
    assert response.headers["Location"].endswith("/book/about-you")
    assert client.get("/book/check").headers["Location"].endswith("/book/about-you")


def test_question_pages_without_a_draft_go_back_to_the_start(client):
    """Someone who never started is sent to the start page."""
    response = client.get("/book/about-you")
    assert response.status_code == 303
    assert response.headers["Location"].endswith("/book/")


def test_unknown_page_is_not_found(client, patient):
    patient.start()
    response = client.get("/book/not-a-page")
    assert response.status_code == 404
    assert "Page not found" in response.get_data(as_text=True)


def test_nerve_questions_are_asked_for_back_and_leg_problems(client, patient):
    """A knee problem leads to the cauda equina questions after the symptom pages."""
    patient.start()
    answers = valid_answers()
    for slug in ("about-you", "where-it-hurts"):
        patient.answer(slug, answers[slug])
    response = patient.answer("how-it-feels", answers["how-it-feels"])
    assert response.headers["Location"].endswith("/book/nerve-symptoms")
    page = client.get("/book/nerve-symptoms").get_data(as_text=True)
    assert "between your legs" in page


def test_nerve_questions_are_skipped_for_a_shoulder_without_nerve_symptoms(client, patient):
    patient.start()
    answers = valid_answers()
    patient.answer("about-you", answers["about-you"])
    patient.answer("where-it-hurts", {**answers["where-it-hurts"], "region": "shoulder"})
    response = patient.answer("how-it-feels", answers["how-it-feels"])
    assert response.headers["Location"].endswith("/book/your-problem")
    assert client.get("/book/nerve-symptoms").status_code == 303


def test_nerve_questions_are_asked_for_a_neck_problem_with_arm_numbness(client, patient):
    patient.start()
    answers = valid_answers()
    patient.answer("about-you", answers["about-you"])
    patient.answer("where-it-hurts", {**answers["where-it-hurts"], "region": "neck"})
    response = patient.answer("how-it-feels", {**answers["how-it-feels"], "sensations": ["numbness"]})
    assert response.headers["Location"].endswith("/book/nerve-symptoms")


def test_an_emergency_answer_shows_the_immediate_action_card_before_anything_else(app, client, patient):
    """A cauda equina 'yes' interrupts the journey with A&E / 999 advice, then the request can be finished."""
    patient.start()
    answers = valid_answers()
    for slug in ("about-you", "where-it-hurts", "how-it-feels"):
        patient.answer(slug, answers[slug])
    response = patient.answer("nerve-symptoms", {**answers["nerve-symptoms"], "bladder_change": "yes"})
    assert response.headers["Location"].endswith("/book/advice/emergency")
    card = client.get("/book/advice/emergency").get_data(as_text=True)
    assert "care-card--emergency" in card
    assert "Go to A&amp;E now or call 999" in card
    assert "Do not wait for a physiotherapy appointment" in card
    assert 'href="/book/your-problem"' in card

    for slug in ("your-problem", "general-health", "when-and-where"):
        patient.answer(slug, answers[slug])
    reference = re.search(r"confirmation/(\w+)", patient.submit().headers["Location"]).group(1)
    [stored] = stored_requests(app)
    assert stored.urgency == "emergency"
    assert stored.urgency_reasons == [{"code": "bladder_change", "text": "New bladder problems", "advice": "emergency"}]
    confirmation = client.get(f"/book/confirmation/{reference}").get_data(as_text=True)
    assert "care-card--emergency" in confirmation


def test_an_urgent_answer_shows_the_gp_or_111_card(app, client, patient):
    """A history of cancer with back pain leads to medical advice today and an urgent request."""
    patient.start()
    answers = valid_answers(where_it_hurts={"region": "lower_back"})
    for slug in ("about-you", "where-it-hurts", "how-it-feels", "nerve-symptoms"):
        patient.answer(slug, answers[slug])
    response = patient.answer("general-health", {**answers["general-health"], "cancer_history": "yes"})
    assert response.headers["Location"].endswith("/book/advice/urgent")
    card = client.get("/book/advice/urgent").get_data(as_text=True)
    assert "care-card--urgent" in card and "NHS 111" in card
    patient.answer("back-pain", answers["back-pain"])
    patient.answer("when-and-where", answers["when-and-where"])
    assert "care-card--urgent" in client.get("/book/check").get_data(as_text=True)
    reference = re.search(r"confirmation/(\w+)", patient.submit().headers["Location"]).group(1)
    confirmation = client.get(f"/book/confirmation/{reference}").get_data(as_text=True)
    assert "care-card--urgent" in confirmation and "speak to a GP or NHS 111 today" in confirmation
    [stored] = stored_requests(app)
    assert stored.urgency == "urgent"
    assert stored.urgency_reasons == [{"code": "cancer_history", "text": "History of cancer", "advice": "gp_today"}]


def test_an_emergency_is_not_downgraded_by_later_urgent_answers(app, patient):
    """Emergency and urgent answers together: emergency, with every reason kept."""
    patient.complete(nerve_symptoms={"leg_weakness": "yes"}, general_health={"fever_unwell": "yes"})
    [stored] = stored_requests(app)
    assert stored.urgency == "emergency"
    assert [reason["code"] for reason in stored.urgency_reasons] == ["leg_weakness", "fever_unwell"]


def test_care_card_pages_do_not_show_for_routine_answers(client, patient):
    patient.answer_all()
    assert client.get("/book/advice/emergency").status_code == 303
    assert client.get("/book/advice/urgent").status_code == 303
    assert client.get("/book/advice/other").status_code == 404


def test_minor_injury_with_osteoporosis_is_urgent(app, patient):
    patient.complete(where_it_hurts={"onset": "injury"}, general_health={"fragile_bones": "yes"})
    [stored] = stored_requests(app)
    assert stored.urgency == "urgent"
    assert stored.urgency_reasons[0]["code"] == "fragile_bones_injury"


def test_new_back_pain_over_50_is_a_soft_flag_without_a_care_card(app, client, patient):
    """The clinician sees the soft flag; the patient is not alarmed with a card."""
    born = years_ago(55)
    reference = patient.complete(
        about_you={"date_of_birth-day": str(born.day), "date_of_birth-month": str(born.month), "date_of_birth-year": str(born.year)},
        where_it_hurts={"region": "lower_back", "duration": "under_2_weeks"},
    )
    [stored] = stored_requests(app)
    assert stored.urgency == "routine"
    assert [flag["code"] for flag in stored.soft_flags] == ["new_back_pain_age"]
    assert "care-card" not in client.get(f"/book/confirmation/{reference}").get_data(as_text=True)


def test_check_page_lists_every_answer_with_a_change_link(client, patient):
    patient.answer_all()
    page = client.get("/book/check").get_data(as_text=True)
    for words in ("Ada", "Lovelace", "10 December 1985", "07400 123456", "Phone call", "N1 9GU", "Knee", "Left",
                  "2 to 6 weeks", "4 out of 10", "7 out of 10", "Stiffness, Swelling", "Running 10k again",
                  "Riverside", "Monday, Wednesday", "Morning"):
        assert words in page, words
    assert 'href="/book/about-you?change=1#first_name"' in page
    assert 'href="/book/where-it-hurts?change=1#region"' in page
    assert 'href="/privacy"' in page
    marketing_box = re.search(r'<input[^>]*name="marketing"[^>]*>', page).group(0)
    assert "checked" not in marketing_box


def test_changing_an_answer_returns_to_the_check_page(app, client, patient):
    """A change link leads to the page, back to check, and the new answer is what is stored."""
    patient.answer_all()
    page = client.get("/book/where-it-hurts?change=1").get_data(as_text=True)
    assert '<a class="back-link" href="/book/check">Back</a>' in page
    response = patient.answer("where-it-hurts", {**valid_answers()["where-it-hurts"], "side": "right"})
    assert response.headers["Location"].endswith("/book/check")
    assert "Right" in client.get("/book/check").get_data(as_text=True)
    patient.submit()
    assert stored_requests(app)[0].side == "right"


def test_a_change_that_makes_new_questions_apply_asks_them_before_check(client, patient):
    """Moving from a shoulder to the lower back brings in the nerve questions."""
    patient.answer_all(where_it_hurts={"region": "shoulder"})
    response = patient.answer("where-it-hurts", {**valid_answers()["where-it-hurts"], "region": "lower_back"})
    # The nerve questions were answered earlier only if they applied; a shoulder skipped them.
    assert response.headers["Location"].endswith("/book/nerve-symptoms")


def test_an_emergency_answer_is_kept_when_the_symptoms_are_changed(app, client, patient):
    """A cauda equina 'yes' is never dropped silently: it stays on the check page and in the request."""
    patient.answer_all(nerve_symptoms={"saddle_numbness": "yes"})
    answers = valid_answers()
    patient.answer("where-it-hurts", {**answers["where-it-hurts"], "region": "shoulder"})
    patient.answer("how-it-feels", {**answers["how-it-feels"], "sensations": []})
    assert "between your legs" in client.get("/book/check").get_data(as_text=True)
    patient.submit()
    [stored] = stored_requests(app)
    assert stored.urgency == "emergency"
    assert stored.safety_answers["saddle_numbness"] is True


def test_no_answers_to_questions_that_no_longer_apply_are_dropped(app, patient):
    """All-'no' nerve answers for a knee are not kept once the problem is a shoulder."""
    patient.answer_all()
    answers = valid_answers()
    patient.answer("where-it-hurts", {**answers["where-it-hurts"], "region": "shoulder"})
    patient.answer("how-it-feels", {**answers["how-it-feels"], "sensations": []})
    patient.submit()
    [stored] = stored_requests(app)
    assert stored.urgency == "routine"
    assert "saddle_numbness" not in stored.safety_answers


def test_marketing_opt_in_is_stored_only_when_ticked(app, patient):
    patient.answer_all()
    patient.submit(marketing=True)
    assert stored_requests(app)[0].marketing_opt_in is True


def test_earliest_date_and_note_are_stored(app, patient):
    earliest = today_in_london() + timedelta(days=30)
    patient.complete(when_and_where={"earliest_date-day": str(earliest.day), "earliest_date-month": str(earliest.month), "earliest_date-year": str(earliest.year), "note": "Away in May"})
    [stored] = stored_requests(app)
    assert stored.earliest_date == earliest
    assert stored.availability_note == "Away in May"


def test_international_phone_number_is_stored_in_e164(app, patient):
    patient.complete(about_you={"phone": "+33 6 12 34 56 78"})
    assert stored_requests(app)[0].phone == "+33612345678"


def test_two_patients_in_two_browsers_get_two_requests(app):
    first, second = Patient(app.test_client()), Patient(app.test_client())
    references = {first.complete(), second.complete(about_you={"first_name": "Grace"})}
    assert len(references) == 2
    assert len(stored_requests(app)) == 2


def test_a_change_that_makes_the_request_urgent_interrupts_with_the_care_card(client, patient):
    """Urgency can rise from any page: a hot, swollen knee is expected just after an injury, but
    without one it needs a doctor today, so changing how it started shows the GP / 111 card at once."""
    patient.answer_all(where_it_hurts={"onset": "injury"}, your_problem={"hot_joint": "yes"})
    assert client.get("/book/advice/urgent").status_code == 303  # a soft flag only: no card
    response = patient.answer("where-it-hurts", {**valid_answers()["where-it-hurts"], "onset": "gradual"})
    assert response.headers["Location"].endswith("/book/advice/urgent")
    assert 'href="/book/check"' in client.get("/book/advice/urgent").get_data(as_text=True)


def test_emergency_confirmation_puts_getting_help_first(client, patient):
    reference = patient.complete(nerve_symptoms={"bowel_change": "yes"})
    page = client.get(f"/book/confirmation/{reference}").get_data(as_text=True)
    assert "Please go to A&amp;E or call 999 now" in page
    assert "within 2 working days" not in page


def test_patient_pages_are_never_cached(client, patient):
    patient.answer_all()
    for path in ("/book/", "/book/about-you", "/book/check"):
        assert client.get(path).headers["Cache-Control"] == "no-store", path


def test_the_session_cookie_is_renewed_with_answers_not_with_page_views_and_outlives_the_draft(app, client, patient, monkeypatch):
    """Like the draft, the cookie lasts a lifetime from the last answer (and a minute longer, so
    it always outlives the draft); looking at a page sends no new one."""
    real_time = itsdangerous.timed.time.time
    later = {"seconds": 0}
    monkeypatch.setattr(itsdangerous.timed, "time", SimpleNamespace(time=lambda: real_time() + later["seconds"]))
    patient.start()
    assert "Set-Cookie" in patient.answer("about-you", valid_answers()["about-you"]).headers
    with app.app_context():
        draft_expires = db.session.execute(db.select(Draft.expires_at)).scalar_one()
    assert client.get_cookie("session").expires >= draft_expires
    later["seconds"] = DRAFT_MARGIN_SECONDS + 1
    saved = patient.answer("where-it-hurts", valid_answers()["where-it-hurts"])
    assert "Set-Cookie" in saved.headers
    lifetime = timedelta(minutes=app.config["DRAFT_LIFETIME_MINUTES"], seconds=DRAFT_MARGIN_SECONDS)
    expires = client.get_cookie("session").expires
    assert abs(expires - (datetime.now(timezone.utc) + lifetime)) < timedelta(minutes=1)
    with app.app_context():
        draft_expires = db.session.execute(db.select(Draft.expires_at)).scalar_one()
    assert expires >= draft_expires.replace(microsecond=0)
    assert "Set-Cookie" not in client.get("/book/how-it-feels").headers
