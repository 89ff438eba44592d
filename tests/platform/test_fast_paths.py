"""What makes pages fast must not change what they show, or whose data they hold.

Unanswered question pages are rendered once per process and reused (intake.platform.page_cache); a page that only
reads does so in one round trip, the pages marked `reads_only` (the diary, the free times, the
back office's list) read without a transaction, and pooled connections are pinged only after
sitting idle (intake.platform.database).
"""

from __future__ import annotations

import re
from datetime import date, timedelta

import pytest
from sqlalchemy import event

from tests.factories import CSRF_PATTERN, Patient, free_slot, new_practitioner, new_request, sign_in, valid_answers, book_appointment
from intake.platform import database
from intake.journey import routes
from intake.platform.extensions import db

MARKERS = {"first_name": "Zephyrine", "last_name": "Quillfeather", "email": "zq.marker@example.com", "phone": "07400 987654"}


def page_without_token(response) -> str:
    return CSRF_PATTERN.sub('name="csrf_token" value=""', response.get_data(as_text=True))


def token_of(response) -> str:
    return CSRF_PATTERN.search(response.get_data(as_text=True)).group(1)


def started(app, **about_you) -> Patient:
    patient = Patient(app.test_client())
    patient.start()
    assert patient.answer("about-you", {**valid_answers()["about-you"], **about_you}).status_code == 303
    return patient


def kept_pages(app) -> dict:
    return app.extensions["page_cache"].pages


def test_an_unanswered_page_is_the_same_for_everyone_but_each_gets_their_own_working_token(app):
    first, second = started(app), started(app, **MARKERS)
    pages = [first.client.get("/book/where-it-hurts"), second.client.get("/book/where-it-hurts")]

    assert [page.status_code for page in pages] == [200, 200]
    assert page_without_token(pages[0]) == page_without_token(pages[1])
    assert token_of(pages[0]) != token_of(pages[1])
    assert "form-token-slot" not in pages[0].get_data(as_text=True)
    assert sum("journey/steps/where_it_hurts.html" in key for key in kept_pages(app)) == 1
    # Each token is the browser's own: it works for its owner and not for the other patient.
    answers = valid_answers()["where-it-hurts"]
    assert first.client.post("/book/where-it-hurts", data={**answers, "csrf_token": token_of(pages[0])}).status_code == 303
    refused = second.client.post("/book/where-it-hurts", data={**answers, "csrf_token": token_of(pages[0])})
    assert refused.status_code == 400


def test_a_page_showing_saved_answers_is_rendered_for_its_patient_and_never_kept(app):
    patient = started(app, **MARKERS)
    patient.answer_all(about_you=MARKERS)
    about_you = patient.client.get("/book/about-you").get_data(as_text=True)
    where = patient.client.get("/book/where-it-hurts").get_data(as_text=True)

    assert 'value="Zephyrine"' in about_you and 'value="zq.marker@example.com"' in about_you
    assert re.search(r'value="knee"[^>]*checked', where)
    assert patient.submit().status_code == 303
    assert kept_pages(app), "the unanswered pages of the journey were kept"
    for page in kept_pages(app).values():
        for marker in MARKERS.values():
            assert marker not in page
        assert "checked" not in page


def test_the_back_link_of_a_kept_page_follows_each_patients_route(app):
    """The questions about a wrist come after the nerve questions only when those apply (numbness):
    the same questions, kept once for each route."""
    stiff, numb = started(app), started(app)
    for patient, sensations in ((stiff, ["stiffness"]), (numb, ["numbness"])):
        patient.answer("where-it-hurts", {**valid_answers()["where-it-hurts"], "region": "wrist_hand"})
        patient.answer("how-it-feels", {**valid_answers()["how-it-feels"], "sensations": sensations})
    numb.answer("nerve-symptoms", valid_answers()["nerve-symptoms"])

    for _ in range(2):  # rendered, then reused
        assert 'class="back-link" href="/book/how-it-feels"' in stiff.client.get("/book/your-problem").get_data(as_text=True)
        assert 'class="back-link" href="/book/nerve-symptoms"' in numb.client.get("/book/your-problem").get_data(as_text=True)


def test_a_kept_safety_page_asks_only_the_questions_of_the_problem_it_was_kept_for(app):
    """The page of questions about the problem is kept for each set of questions: a knee's is never
    shown to a neck, nor the other way round."""
    knee, neck = started(app), started(app)
    for patient, region in ((knee, "knee"), (neck, "neck")):
        patient.answer("where-it-hurts", {**valid_answers()["where-it-hurts"], "region": region})
        patient.answer("how-it-feels", valid_answers()["how-it-feels"])
    knee.answer("nerve-symptoms", valid_answers()["nerve-symptoms"])

    for _ in range(2):  # rendered, then reused
        knee_page = knee.client.get("/book/your-problem").get_data(as_text=True)
        neck_page = neck.client.get("/book/your-problem").get_data(as_text=True)
        assert 'name="calf_clot"' in knee_page and 'name="neck_dizzy"' not in knee_page
        assert 'name="neck_dizzy"' in neck_page and 'name="calf_clot"' not in neck_page
    assert len([key for key in kept_pages(app) if "your-problem" in key]) == 2


def test_changing_an_answer_from_the_check_page_links_back_to_it(app):
    patient = started(app)
    patient.client.get("/book/where-it-hurts")  # the same page without ?change is kept
    page = patient.client.get("/book/where-it-hurts?change=1").get_data(as_text=True)
    assert 'class="back-link" href="/book/check"' in page


def test_the_example_date_is_a_month_ahead_and_moves_on_with_the_calendar(app, monkeypatch):
    fresh = started(app)
    for page in ("where-it-hurts", "how-it-feels", "nerve-symptoms", "your-problem", "general-health"):
        fresh.answer(page, valid_answers()[page])

    for today in (date(2026, 11, 24), date(2026, 11, 25)):
        monkeypatch.setattr(routes, "today_in_london", lambda today=today: today)
        example = today + timedelta(days=30)
        page = fresh.client.get("/book/when-and-where").get_data(as_text=True)
        assert f"For example, {example.day} {example.month} {example.year}" in page
        assert "{{" not in page


def test_a_bad_answer_on_an_unanswered_page_shows_the_error_and_keeps_the_rest(app):
    patient = started(app)
    patient.client.get("/book/where-it-hurts")
    response = patient.answer("where-it-hurts", {**valid_answers()["where-it-hurts"], "side": ""})
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "There is a problem" in page
    assert re.search(r'value="knee"[^>]*checked', page)
    assert all("There is a problem" not in kept for kept in kept_pages(app).values())


# --- round trips to PostgreSQL ----------------------------------------------------------------

class RoundTrips:
    """Counts the answers PostgreSQL sends back (one per round trip), from libpq's own trace."""

    def __init__(self, app, folder) -> None:
        with app.app_context():
            self.engines = {db.engine}
        self.path = folder / "libpq-trace.txt"
        self.file = self.path.open("w")

    def __enter__(self):
        for engine in self.engines:
            event.listen(engine, "checkout", self.trace, insert=True)
            event.listen(engine, "checkin", self.untrace)
        return self

    def __exit__(self, *exc) -> None:
        for engine in self.engines:
            event.remove(engine, "checkout", self.trace)
            event.remove(engine, "checkin", self.untrace)
        self.file.close()

    def trace(self, dbapi_connection, record, proxy) -> None:
        dbapi_connection.pgconn.trace(self.file.fileno())

    def untrace(self, dbapi_connection, record) -> None:
        dbapi_connection.pgconn.untrace()

    def count(self) -> int:
        self.file.flush()
        return sum("\tReadyForQuery\t" in line for line in self.path.read_text().splitlines())


@pytest.fixture
def postgresql_app(app, database_url):
    if not database_url.startswith("postgresql"):
        pytest.skip("counts PostgreSQL round trips")
    return app


def test_showing_a_question_page_costs_one_round_trip(postgresql_app, tmp_path):
    """The page only reads its draft: one SELECT in autocommit mode, no BEGIN and no ROLLBACK."""
    patient = started(postgresql_app)
    patient.client.get("/book/where-it-hurts")  # the connection is now open and recently used
    with RoundTrips(postgresql_app, tmp_path) as trips:
        assert patient.client.get("/book/where-it-hurts").status_code == 200
        assert trips.count() == 1


def test_pages_that_only_read_take_no_transaction_and_leave_none_behind(postgresql_app, tmp_path, make_staff):
    """Seen again, the week diary reads the staff member and the diary's version (its table is
    kept for that version); the free-times page the draft and the version; no BEGIN, no ROLLBACK. The
    connection goes back to the pool in its usual mode, so the next write is a transaction."""
    app = postgresql_app
    reception = make_staff("reception")
    new_practitioner(app, "Clara Clinician")
    slot = free_slot(app)
    book_appointment(app, new_request(app), reception, slot)
    staff = sign_in(app, reception)
    patient = Patient(app.test_client())
    patient.answer_all()
    assert patient.submit().headers["Location"].endswith("/book/time")
    pages = ((staff.client, "/staff/diary/week?site=riverside", 2), (patient.client, "/book/time", 2), (staff.client, "/staff/", None))
    for client, path, expected in pages:
        assert client.get(path).status_code == 200  # what the page keeps is now kept
        with RoundTrips(app, tmp_path) as trips:
            assert client.get(path).status_code == 200
            trace = trips.path.read_text()
            assert "BEGIN" not in trace and "ROLLBACK" not in trace, path
            assert expected is None or trips.count() == expected, (path, trips.count())
    with app.app_context():
        with db.engine.connect() as connection:
            assert connection.connection.dbapi_connection.autocommit is False


def test_a_connection_idle_for_a_while_is_pinged_first_and_replaced_if_dead(postgresql_app, tmp_path, monkeypatch):
    patient = started(postgresql_app)
    patient.client.get("/book/where-it-hurts")  # the connection is now open and recently used
    with RoundTrips(postgresql_app, tmp_path) as trips:
        assert patient.client.get("/book/where-it-hurts").status_code == 200
        recently_used = trips.count()  # the SELECT: no ping
    monkeypatch.setattr(database, "PING_AFTER_IDLE_SECONDS", 0.0)
    with RoundTrips(postgresql_app, tmp_path) as trips:
        assert patient.client.get("/book/where-it-hurts").status_code == 200
        assert trips.count() == recently_used + 1  # the ping first

    # The server ends every other connection (a restart, or a firewall dropping idle ones).
    with postgresql_app.app_context(), db.engine.connect() as connection:
        connection.exec_driver_sql(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()"
        )
    assert patient.client.get("/book/where-it-hurts").status_code == 200
    assert patient.answer("where-it-hurts", valid_answers()["where-it-hurts"]).status_code == 303


# --- saving a page in one statement ------------------------------------------------------------

def test_a_save_that_another_tab_beat_is_merged_again_and_keeps_both_pages(app):
    """Between reading the draft and saving it, another tab saves a different page."""
    patient = started(app)
    with app.app_context():
        engine = db.engine
    other_tab = Patient(app.test_client())
    other_tab.client.set_cookie("session", patient.client.get_cookie("session").value)
    token = token_of(patient.client.get("/book/about-you"))
    interrupted = []

    def other_tab_saves_first(connection, cursor, statement, parameters, context, executemany):
        if statement.lstrip().upper().startswith("UPDATE DRAFTS") and not interrupted:
            interrupted.append(True)
            with app.app_context():
                from intake.journey import services
                from intake.platform.timeutil import utcnow

                draft = services.read_draft(patient_draft_id(app, patient), utcnow())
                services.save_answers(draft, "where_it_hurts", {**valid_answers()["where-it-hurts"], "region": "hip"},
                                      now=utcnow(), lifetime=timedelta(hours=1), today=date.today())
                db.session.commit()

    event.listen(engine, "before_cursor_execute", other_tab_saves_first)
    try:
        response = patient.client.post("/book/about-you", data={**valid_answers()["about-you"], "first_name": "Grace", "csrf_token": token})
    finally:
        event.remove(engine, "before_cursor_execute", other_tab_saves_first)

    assert interrupted and response.status_code == 303
    with app.app_context():
        from intake.journey.models import Draft

        answers = db.session.get(Draft, patient_draft_id(app, patient)).answers
    assert answers["about_you"]["first_name"] == "Grace"
    assert answers["where_it_hurts"]["region"] == "hip"


def test_a_page_whose_save_keeps_clashing_is_shown_again_with_what_was_typed(app, monkeypatch):
    from intake.journey import services

    patient = started(app)
    monkeypatch.setattr(services, "SAVE_ATTEMPTS", 0)
    response = patient.answer("where-it-hurts", {**valid_answers()["where-it-hurts"], "region": "hip"})
    page = response.get_data(as_text=True)
    assert response.status_code == 409
    assert "It was being saved in another window at the same moment" in page
    assert re.search(r'value="hip"[^>]*checked', page)


def patient_draft_id(app, patient) -> str:
    with app.test_request_context():
        serializer = app.session_interface.get_signing_serializer(app)
        return serializer.loads(patient.client.get_cookie("session").value)["draft_id"]
