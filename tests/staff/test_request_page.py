"""A request's page in the back office: every answer, flags with reasons, history, and viewing audited."""

from __future__ import annotations

import html
import re


from intake.platform.timeutil import utcnow
from intake.triage import CAUDA_EQUINA_QUESTIONS, QUESTIONS, QUESTIONS_BY_CODE
from tests.factories import new_request, staff_id, update_request, valid_answers
from tests.support.back_office import audit_events, request_id


# --- 2. a request's page ------------------------------------------------------------------

def answer_shown(body: str, question: str) -> str:
    """The answer shown next to a safety question on the request page."""
    text = html.unescape(body)
    match = re.search(re.escape(question) + r'</dt>\s*<dd class="summary-list__value">(.*?)</dd>', text, re.S)
    assert match, f"question not shown: {question}"
    return re.sub(r"<[^>]+>", "", match.group(1)).strip()


def test_a_request_page_shows_every_answer(clinic):
    """Name, contact details, symptoms, pain scores, the patient's own words and every safety answer."""
    body = clinic.get(f"/staff/requests/{clinic.refs['C']}").get_data(as_text=True)
    text = html.unescape(body)
    answers = valid_answers()
    for shown in (
        "Alan Turing", clinic.refs["C"], "+447400222333", "alan@bletchley.example", "Phone call", "10 December 1985",
        "Shoulder, left", "2 to 6 weeks", "Gradually, for no clear reason", "4/10 now, 7/10 at worst", "Stiffness, Swelling",
        "Aches after running.", "Worse on stairs.", answers["how-it-feels"]["goals"], "West Green", "Morning",
    ):
        assert shown in text, shown
    # A shoulder problem with no nerve symptoms is asked only the questions that fit it; the rest
    # are listed as not asked.
    asked = {"hot_joint": "No", "weight_loss": "No", "fever_unwell": "No", "night_pain": "Yes"}
    assert {code: answer_shown(body, QUESTIONS_BY_CODE[code].question) for code in asked} == asked
    not_asked = not_asked_shown(body)
    assert not_asked == [question.question for question in QUESTIONS if question.code not in asked]
    assert f"Not asked: {len(not_asked)} safety questions that do not fit this problem" in text


def not_asked_shown(body: str) -> list[str]:
    """The questions the request page lists as not asked."""
    listed = re.search(r"<details>.*?</details>", html.unescape(body), re.S)
    return re.findall(r"<li>(.*?)</li>", listed.group(0)) if listed else []


def test_a_request_stored_before_questions_followed_the_problem_reads_as_it_was_asked(app, staff_client):
    """Every old question was asked of everyone: each answer shows against its question, and the
    reasons, kept without a care card, show without one."""
    reference = new_request(app, where_it_hurts={"region": "knee"})
    old_codes = [question.code for question in CAUDA_EQUINA_QUESTIONS] + [
        "cancer_history", "weight_loss", "fever_unwell", "weak_immunity", "injected_drugs", "major_trauma", "fragile_bones", "night_pain",
    ]
    update_request(
        app, reference, urgency="urgent", urgency_reasons=[{"code": "cancer_history", "text": "History of cancer"}],
        safety_answers={code: code == "cancer_history" for code in old_codes},
    )
    body = staff_client().client.get(f"/staff/requests/{reference}").get_data(as_text=True)
    for code in old_codes:
        assert answer_shown(body, QUESTIONS_BY_CODE[code].question) == ("Yes" if code == "cancer_history" else "No")
    assert set(not_asked_shown(body)) == {question.question for question in QUESTIONS if question.code not in old_codes}
    assert "<strong>History of cancer</strong></li>" in html.unescape(body)


def test_a_request_page_highlights_flags_with_their_reasons(clinic):
    """Urgency reasons and soft flags are listed in a highlighted box for the clinician."""
    urgent = html.unescape(clinic.get(f"/staff/requests/{clinic.refs['C']}").get_data(as_text=True))
    flags = re.search(r'<section class="flags flags--urgent".*?</section>', urgent, re.S)
    assert flags and "<strong>Constant pain, worse at night, not eased by rest</strong>" in flags.group(0)
    assert "Urgency: <strong>Urgent</strong>" in urgent

    emergency = html.unescape(clinic.get(f"/staff/requests/{clinic.refs['E']}").get_data(as_text=True))
    flags = re.search(r'<section class="flags flags--emergency".*?</section>', emergency, re.S)
    assert flags, "no emergency flag box"
    assert "<strong>Numbness or pins and needles in the saddle area</strong>" in flags.group(0)
    assert re.search(r"New back pain at age \d+ \(under 20 or over 50\)", flags.group(0))
    assert answer_shown(emergency, CAUDA_EQUINA_QUESTIONS[0].question) == "Yes"
    assert "<strong>Numbness or pins and needles in the saddle area</strong> (card shown: 999 or A&E now)" in flags.group(0)

    routine = clinic.get(f"/staff/requests/{clinic.refs['A']}").get_data(as_text=True)
    assert 'class="flags' not in routine


def test_a_request_page_shows_its_history(clinic):
    """When it arrived (London time) and who moved it on, oldest first."""
    body = html.unescape(clinic.get(f"/staff/requests/{clinic.refs['D']}").get_data(as_text=True))
    history = re.search(r'<ol class="history">(.*?)</ol>', body, re.S).group(1)
    assert "3 Jul 2024, 10:00: request received" in history  # 09:00 UTC shown in BST
    assert re.search(rf"{re.escape(clinic.email)}\s+changed the status from new to contacted", history)


def test_viewing_a_request_is_audited_with_who_and_which_request(clinic):
    """Every look at a patient's record leaves one audit entry."""
    reference = clinic.refs["B"]
    before = audit_events(clinic.app, "view_request", reference)
    started = utcnow()
    assert clinic.get(f"/staff/requests/{reference}").status_code == 200
    new = audit_events(clinic.app, "view_request", reference)[len(before):]
    assert len(new) == 1
    assert new[0]["staff_email"] == clinic.email
    assert new[0]["staff_id"] == staff_id(clinic.app, clinic.email)
    assert new[0]["request_id"] == request_id(clinic.app, reference)
    assert started <= new[0]["at"] <= utcnow()


def test_an_unknown_reference_is_not_found(clinic):
    """A mistyped reference is a 404, not an error page."""
    assert clinic.get("/staff/requests/ZZZZZZZZ").status_code == 404
