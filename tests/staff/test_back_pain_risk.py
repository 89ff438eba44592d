"""The back-pain screen in the back office: the list orders by risk after urgency (read from an
index, as every order it offers is), the request page shows the score and answers, erasure takes
them, and the database refuses a risk that does not follow from the scores."""

from __future__ import annotations

import html
import re
from datetime import timedelta

import pytest
from sqlalchemy import select, text, update
from sqlalchemy.exc import IntegrityError

from intake.clinic.back_screen import load_wording
from intake.journey.models import AssessmentRequest
from intake.platform.extensions import db
from intake.platform.timeutil import utcnow
from intake.staff.listing import LIST_COLUMNS, RequestFilters, filtered_requests
from tests.factories import EMERGENCY, HIGH_BACK_RISK, LOWER_BACK, MEDIUM_BACK_RISK, listed, new_request, sign_in, update_request

SHIPPED = load_wording()


@pytest.fixture
def queue(app, make_staff):
    """Routine requests of each risk (and one not screened), an emergency, and an urgent one, arriving an hour apart."""
    made = {
        "low": new_request(app, **LOWER_BACK),
        "knee": new_request(app),
        "high_old": new_request(app, **LOWER_BACK, **HIGH_BACK_RISK),
        "medium": new_request(app, **LOWER_BACK, **MEDIUM_BACK_RISK),
        "emergency_low": new_request(app, **LOWER_BACK, **EMERGENCY),
        "high_new": new_request(app, **LOWER_BACK, **HIGH_BACK_RISK),
        "urgent_knee": new_request(app, general_health={"night_pain": "yes"}),
    }
    start = utcnow() - timedelta(days=1)
    for hour, reference in enumerate(made.values()):
        update_request(app, reference, created_at=start + timedelta(hours=hour))
    return made, sign_in(app, make_staff("reception")).client


def test_the_list_puts_high_then_medium_back_pain_risk_first_within_each_urgency(queue):
    made, staff = queue
    expected = ["emergency_low", "urgent_knee", "high_new", "high_old", "medium", "knee", "low"]
    assert listed(staff.get("/staff/")) == [made[name] for name in expected]
    assert listed(staff.get("/staff/?status=new")) == [made[name] for name in expected]
    newest_first = ["urgent_knee", "high_new", "emergency_low", "medium", "high_old", "knee", "low"]
    assert listed(staff.get("/staff/?order=newest")) == [made[name] for name in newest_first]


def test_the_list_shows_each_requests_back_pain_risk(queue):
    made, staff = queue
    page = staff.get("/staff/").get_data(as_text=True)
    assert "<th scope=\"col\">Back-pain risk</th>" in page
    rows = dict(re.findall(r'<a href="/staff/requests/([A-Z2-9]{8})">.*?</td>\s*<td>.*?</td>\s*<td>(.*?)</td>', page, re.S))
    assert rows[made["high_new"]] == '<strong class="tag tag--risk">High</strong>'
    assert (rows[made["medium"]], rows[made["low"]], rows[made["knee"]]) == ("Medium", "Low", "Not asked")


def test_the_request_page_shows_the_risk_the_scores_and_each_answer_in_words(queue):
    made, staff = queue
    page = html.unescape(staff.get(f"/staff/requests/{made['high_new']}").get_data(as_text=True))
    assert SHIPPED.staff_name in page
    assert re.search(r'Risk: <strong class="tag tag--risk">High</strong>\s*· total 6 of 9 · psychological subscore 5 of 5', page)
    for code, question in SHIPPED.questions:
        answer = re.search(re.escape(question) + r'</dt>\s*<dd class="summary-list__value">(.*?)</dd>', page).group(1)
        expected = {"leg_pain": "Agree", "bothersome": "Extremely"}.get(code, "Agree" if code in HIGH_BACK_RISK["back_pain"] else "Disagree")
        assert answer == expected, code
    knee = staff.get(f"/staff/requests/{made['knee']}").get_data(as_text=True)
    assert re.search(r"Back-pain screen</h2>\s*<p>Not asked\.", knee)


def test_erasing_takes_the_screens_answers_and_score(app, queue, make_staff):
    made, _ = queue
    admin = sign_in(app, make_staff("admin"))
    path = f"/staff/requests/{made['high_old']}/erase"
    token = re.search(r'name="csrf_token" value="([^"]+)"', admin.client.get(path).get_data(as_text=True)).group(1)
    assert admin.client.post(path, data={"reason": "Asked by phone", "csrf_token": token}).status_code == 303
    with app.app_context():
        erased = db.session.execute(select(AssessmentRequest).where(AssessmentRequest.reference == made["high_old"])).scalar_one()
        assert (erased.back_screen, erased.back_screen_total, erased.back_screen_psychological, erased.back_risk, erased.back_risk_rank) == (
            {}, None, None, None, 2)
        with pytest.raises(IntegrityError):  # an erased request may not keep them, whatever writes to it
            db.session.execute(update(AssessmentRequest).where(AssessmentRequest.id == erased.id).values(back_screen={"leg_pain": "agree"}))
            db.session.flush()


@pytest.mark.parametrize("values", [
    {"back_risk": "high", "back_screen_psychological": 3, "back_risk_rank": 0},  # high needs a subscore of 4 or 5
    {"back_risk": "medium", "back_risk_rank": 1},  # total 6, subscore 5: high, not medium
    {"back_risk_rank": 2},  # high risk sorted as low
    {"back_risk": None},  # scores without a risk
    {"back_screen_total": 10},
    {"back_screen_total": 4},  # fewer points than the subscore
    {"back_risk": "severe"},
])
def test_the_database_refuses_a_risk_that_does_not_follow_from_the_scores(app, queue, values):
    made, _ = queue
    with app.app_context(), pytest.raises(IntegrityError):
        db.session.execute(update(AssessmentRequest).where(AssessmentRequest.reference == made["high_new"]).values(**values))
        db.session.flush()


def test_the_database_refuses_a_score_on_a_request_that_was_not_screened(app, queue):
    made, _ = queue
    with app.app_context(), pytest.raises(IntegrityError):
        db.session.execute(update(AssessmentRequest).where(AssessmentRequest.reference == made["knee"]).values(back_risk_rank=0))
        db.session.flush()


@pytest.mark.parametrize("filters", [RequestFilters(), RequestFilters(status="new")], ids=["default", "status"])
def test_the_lists_urgency_then_risk_order_is_read_from_an_index_without_sorting(app, filters):
    statement = filtered_requests(filters).with_only_columns(*LIST_COLUMNS).limit(25)
    with app.app_context(), db.engine.connect() as connection:
        sql = str(statement.compile(connection, compile_kwargs={"literal_binds": True}))
        if connection.dialect.name == "sqlite":
            plan = " ".join(row[-1] for row in connection.execute(text(f"EXPLAIN QUERY PLAN {sql}")))
            assert "USE TEMP B-TREE" not in plan and "ix_assessment_requests_" in plan, plan
        else:
            connection.execute(text("SET LOCAL enable_seqscan = off"))
            plan = " ".join(row[0] for row in connection.execute(text(f"EXPLAIN {sql}")))
            assert "Sort" not in plan and "ix_assessment_requests_" in plan, plan
