"""Submitting a request exactly once, seeing it only from the browser that sent it, and drafts expiring."""

from __future__ import annotations

import re
import threading
from datetime import timedelta

import pytest

from tests.factories import CSRF_PATTERN, Patient, valid_answers
from intake.journey import services
from intake.journey.models import AssessmentRequest, Draft
from intake.platform.extensions import db
from intake.mail.notifications import MailSettings
from intake.platform.timeutil import utcnow


def submit(app, draft: services.LiveDraft) -> services.Submission:
    """Call the submit service as the check page does, with the draft as the page read it."""
    return services.submit_draft(
        draft,
        marketing_opt_in=False,
        now=utcnow(),
        today=utcnow().date(),
        sites=app.config["CLINIC_SITES"],
        mail_settings=MailSettings.from_config(app.config),
        article_index=app.extensions["article_index"],
    )


def count(app, model) -> int:
    with app.app_context():
        return len(db.session.execute(db.select(model)).all())


def test_submitting_twice_stores_one_request(app, client, patient):
    """A retried POST of the check page leads to the same confirmation, not a second request."""
    patient.answer_all()
    token = CSRF_PATTERN.search(client.get("/book/check").get_data(as_text=True)).group(1)
    first = client.post("/book/check", data={"consent": "y", "csrf_token": token})
    second = client.post("/book/check", data={"consent": "y", "csrf_token": token})
    assert first.status_code == second.status_code == 303
    assert first.headers["Location"] == second.headers["Location"]
    assert count(app, AssessmentRequest) == 1


def test_going_back_to_the_check_page_after_submitting_shows_the_confirmation(app, client, patient):
    reference = patient.complete()
    response = client.get("/book/check")
    assert response.status_code == 303
    assert response.headers["Location"].endswith(f"/book/confirmation/{reference}")
    assert client.get("/book/about-you").headers["Location"].endswith(f"/book/confirmation/{reference}")
    assert count(app, AssessmentRequest) == 1


def test_simultaneous_double_click_stores_one_request(app, client, patient):
    """Two submits racing from the same browser store one request between them."""
    patient.answer_all()
    token = CSRF_PATTERN.search(client.get("/book/check").get_data(as_text=True)).group(1)
    cookie = client.get_cookie("session")
    barrier = threading.Barrier(2)
    locations: list[str] = []

    def submit() -> None:
        twin = app.test_client()
        twin.set_cookie("session", cookie.value)
        barrier.wait()
        locations.append(twin.post("/book/check", data={"consent": "y", "csrf_token": token}).headers["Location"])

    threads = [threading.Thread(target=submit) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert len(locations) == 2 and locations[0] == locations[1]
    assert count(app, AssessmentRequest) == 1


def test_submit_service_returns_the_stored_request_when_called_again(app, patient):
    """The service itself is idempotent per draft: a second submit of the draft as read before
    the first (a retried POST) returns the first's request."""
    patient.answer_all()
    with app.app_context():
        draft = services.read_draft(db.session.execute(db.select(Draft.id)).scalar_one(), utcnow())
        first = submit(app, draft)
        db.session.commit()
        again = submit(app, draft)
        assert first.created and not again.created
        assert again.request.reference == first.request.reference


def test_an_incomplete_draft_cannot_be_submitted(app, patient):
    patient.start()
    with app.app_context():
        draft = services.read_draft(db.session.execute(db.select(Draft.id)).scalar_one(), utcnow())
        with pytest.raises(services.DraftIncomplete):
            submit(app, draft)


def test_references_are_unique_even_when_the_generator_repeats(app, monkeypatch):
    """A reference already in use is never given out again."""
    issued = iter(["AAAAAAAA", "AAAAAAAA", "BBBBBBBB"])
    monkeypatch.setattr(services, "new_reference", lambda: next(issued))
    first, second = Patient(app.test_client()), Patient(app.test_client())
    assert first.complete() == "AAAAAAAA"
    assert second.complete() == "BBBBBBBB"


def test_the_confirmation_page_is_only_shown_to_the_browser_that_sent_the_request(app, patient):
    """Anyone else who learns the reference sees 'not found', with no patient details."""
    reference = patient.complete()
    stranger = app.test_client()
    response = stranger.get(f"/book/confirmation/{reference}")
    assert response.status_code == 404
    body = response.get_data(as_text=True)
    assert "Ada" not in body and reference not in body


def test_expired_drafts_are_not_used_and_the_patient_is_told(app, client, patient):
    """After the draft's lifetime the answers are gone, and the patient is told kindly."""
    patient.start()
    with app.app_context():
        draft = db.session.execute(db.select(Draft)).scalar_one()
        draft.expires_at = utcnow() - timedelta(seconds=1)
        db.session.commit()
    response = client.get("/book/about-you")
    assert response.status_code == 303
    assert response.headers["Location"].endswith("/book/?expired=1")
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "Your answers are no longer saved" in page


def test_each_answer_keeps_the_draft_alive_for_the_configured_lifetime(make_app):
    app = make_app(DRAFT_LIFETIME_MINUTES=30)
    patient = Patient(app.test_client())
    patient.answer_all()
    with app.app_context():
        draft = db.session.execute(db.select(Draft)).scalar_one()
        remaining = draft.expires_at - utcnow()
    assert timedelta(minutes=29) < remaining <= timedelta(minutes=30)


def test_purge_command_deletes_expired_drafts_only(app, runner):
    now = utcnow()
    with app.app_context():
        db.session.add_all([
            Draft(id="old", answers={"about_you": {"first_name": "Old"}}, expires_at=now - timedelta(minutes=1)),
            Draft(id="live", answers={}, expires_at=now + timedelta(minutes=60)),
        ])
        db.session.commit()
    result = runner.invoke(args=["drafts", "purge"])
    assert "Purged 1 expired draft(s)." in result.output
    with app.app_context():
        assert [draft.id for draft in db.session.execute(db.select(Draft)).scalars()] == ["live"]


def test_starting_a_new_request_purges_expired_drafts(app, patient):
    with app.app_context():
        db.session.add(Draft(id="old", answers={}, expires_at=utcnow() - timedelta(minutes=1)))
        db.session.commit()
    patient.start()
    with app.app_context():
        assert db.session.get(Draft, "old") is None
        assert count(app, Draft) == 1


def test_a_post_without_a_form_token_is_refused_kindly_with_answers_kept(client, patient):
    """CSRF: no token, no change; the page comes back with what was typed."""
    patient.start()
    response = client.post("/book/about-you", data={"first_name": "Ada", "last_name": "Lovelace"})
    assert response.status_code == 400
    page = response.get_data(as_text=True)
    assert "this page timed out" in page
    assert 'value="Ada"' in page and 'value="Lovelace"' in page
    assert client.get("/book/where-it-hurts").status_code == 303


def test_an_expired_form_token_gives_a_friendly_page_and_the_answer_can_be_sent_again(make_app, monkeypatch):
    """A token older than its time limit is refused without a bare 400; pressing Continue again works."""
    import itsdangerous.timed

    client = make_app(WTF_CSRF_TIME_LIMIT=60).test_client()
    patient = Patient(client)
    patient.start()
    token = CSRF_PATTERN.search(client.get("/book/about-you").get_data(as_text=True)).group(1)
    real_time = itsdangerous.timed.time.time

    class Later:
        @staticmethod
        def time() -> float:
            return real_time() + 5 * 60

    monkeypatch.setattr(itsdangerous.timed, "time", Later)
    answers = valid_answers()["about-you"]
    response = client.post("/book/about-you", data={**answers, "csrf_token": token})
    assert response.status_code == 400
    page = response.get_data(as_text=True)
    assert "this page timed out" in page and 'value="ada@example.com"' in page
    fresh = CSRF_PATTERN.search(page).group(1)
    assert client.post("/book/about-you", data={**answers, "csrf_token": fresh}).status_code == 303


def test_the_check_page_keeps_the_answers_when_its_token_is_missing(client, patient):
    patient.answer_all()
    response = client.post("/book/check", data={"consent": "y"})
    assert response.status_code == 400
    page = response.get_data(as_text=True)
    assert "timed out" in page and "Lovelace" in page


def test_starting_again_deletes_the_unfinished_draft(app, client, patient):
    """'Start again' leaves one draft, empty, and the old answers are gone."""
    patient.start()
    patient.answer("about-you", valid_answers()["about-you"])
    assert "Continue your request" in client.get("/book/").get_data(as_text=True)
    patient.start()
    with app.app_context():
        [draft] = db.session.execute(db.select(Draft)).scalars()
        assert draft.answers == {}


def test_database_errors_do_not_carry_patient_answers(app):
    """SQL parameters are hidden from database error messages, which may reach the logs."""
    from sqlalchemy.exc import IntegrityError

    marker = "MARKER-sciatica-history"
    with app.app_context():
        expires = utcnow() + timedelta(minutes=5)
        db.session.add(Draft(id="same", answers={}, expires_at=expires))
        db.session.commit()
        db.session.add(Draft(id="same", answers={"how_it_feels": {"description": marker}}, expires_at=expires))
        with pytest.raises(IntegrityError) as error:
            db.session.commit()
        db.session.rollback()
    assert marker not in str(error.value)


def test_a_second_submit_carrying_the_old_cookie_still_finds_the_request(app, client, patient):
    """A double click's second POST carries the cookie from before the first response: one request, same page."""
    patient.answer_all()
    token = CSRF_PATTERN.search(client.get("/book/check").get_data(as_text=True)).group(1)
    cookie_before = client.get_cookie("session").value
    first = client.post("/book/check", data={"consent": "y", "csrf_token": token})
    client.set_cookie("session", cookie_before)
    second = client.post("/book/check", data={"consent": "y", "csrf_token": token})
    assert second.status_code == 303
    assert second.headers["Location"] == first.headers["Location"]
    assert client.get(second.headers["Location"]).status_code == 200
    assert count(app, AssessmentRequest) == 1


def test_a_timed_out_check_page_with_unanswered_questions_goes_back_to_them(client, patient):
    """The check page posted without a token before every page is answered: no server error but a
    'Please try again' page saying nothing was lost, whose button leads back to the request, where
    the check page sends the patient on to the first question still unanswered."""
    patient.start()
    response = client.post("/book/check", data={"consent": "y"})
    body = response.get_data(as_text=True)
    assert response.status_code in (303, 400)
    assert response.status_code != 500
    assert response.status_code == 400
    assert "<title>Please try again" in body and '<h1 class="heading-l">Please try again</h1>' in body
    assert "Nothing you sent has been lost." in body
    assert '<a class="button" href="/book/">Go to your request</a>' in body
    assert client.get("/book/").status_code == 200
    back = client.get("/book/check")
    assert back.status_code == 303
    assert back.headers["Location"].endswith("/book/about-you")
    assert client.get(back.headers["Location"]).status_code == 200


def test_a_timed_out_page_that_comes_later_in_the_journey_is_not_shown_early(client, patient):
    patient.start()
    response = client.post("/book/when-and-where", data={"site": "riverside"})
    assert response.status_code == 303
    assert response.headers["Location"].endswith("/book/about-you")


def test_starting_a_request_needs_the_form_token(app, client):
    assert client.post("/book/start").status_code == 400
    assert count(app, Draft) == 0


def test_two_pages_saved_at_the_same_moment_keep_both_answers(app, client, patient):
    """Two tabs saving different pages at once: neither page's answers are lost."""
    answers = valid_answers()
    for attempt in range(5):
        patient.start()
        patient.answer("about-you", answers["about-you"])
        patient.answer("where-it-hurts", answers["where-it-hurts"])
        token = CSRF_PATTERN.search(client.get("/book/about-you").get_data(as_text=True)).group(1)
        cookie = client.get_cookie("session").value
        barrier = threading.Barrier(2)
        statuses: list[int] = []

        def save(slug: str, data: dict) -> None:
            twin = app.test_client()
            twin.set_cookie("session", cookie)
            barrier.wait()
            statuses.append(twin.post(f"/book/{slug}", data={**data, "csrf_token": token}).status_code)

        threads = [
            threading.Thread(target=save, args=("about-you", {**answers["about-you"], "first_name": "Grace"})),
            threading.Thread(target=save, args=("where-it-hurts", {**answers["where-it-hurts"], "side": "right"})),
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=30)
        assert statuses == [303, 303]
        with app.app_context():
            saved = db.session.get(Draft, _draft_id(app, client)).answers
        assert saved["about_you"]["first_name"] == "Grace", attempt
        assert saved["where_it_hurts"]["side"] == "right", attempt


def _draft_id(app, client) -> str:
    """The draft id held in the test client's session."""
    with app.test_request_context():
        serializer = app.session_interface.get_signing_serializer(app)
        return serializer.loads(client.get_cookie("session").value)["draft_id"]


def test_answers_changed_in_another_window_while_sending_are_checked_again_not_sent(app, client, patient, monkeypatch):
    """If another window saves an answer between the check page reading the draft and storing the
    request, nothing is stored: the patient is shown their answers as they now are, to send again."""
    patient.answer_all()
    token = CSRF_PATTERN.search(client.get("/book/check").get_data(as_text=True)).group(1)
    real_submit = services.submit_draft

    def after_another_window_saved(draft, **options):
        services.save_answers(
            draft, "how_it_feels", {**draft.answers["how_it_feels"], "pain_now": "9"},
            now=utcnow(), lifetime=timedelta(minutes=45), today=utcnow().date(),
        )
        db.session.commit()  # the other window's request commits its save
        return real_submit(draft, **options)

    monkeypatch.setattr(services, "submit_draft", after_another_window_saved)
    response = client.post("/book/check", data={"consent": "y", "csrf_token": token})
    assert response.status_code == 303 and response.headers["Location"].endswith("/book/check?changed=1")
    assert count(app, AssessmentRequest) == 0
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "changed in another window" in page

    monkeypatch.setattr(services, "submit_draft", real_submit)
    token = CSRF_PATTERN.search(page).group(1)
    assert client.post("/book/check", data={"consent": "y", "csrf_token": token}).status_code == 303
    with app.app_context():
        assert db.session.execute(db.select(AssessmentRequest.pain_now)).scalar_one() == 9


def answers_seen_on(page: str) -> str:
    return re.search(r'name="answers_seen" type="hidden" value="(\d+)"', page).group(1)


def test_answers_changed_in_another_window_after_the_check_page_are_shown_before_anything_is_sent(app, client, patient):
    """The check page sends back which answers it showed; if another window has changed one since,
    nothing is stored and the patient sees the answers as they now are, to send again."""
    patient.answer_all()
    page = client.get("/book/check").get_data(as_text=True)
    token, seen = CSRF_PATTERN.search(page).group(1), answers_seen_on(page)
    other_window = app.test_client()
    other_window.set_cookie("session", client.get_cookie("session").value)
    changed = Patient(other_window).answer("how-it-feels", {**valid_answers()["how-it-feels"], "pain_now": "9", "pain_worst": "10"})
    assert changed.status_code == 303

    response = client.post("/book/check", data={"consent": "y", "csrf_token": token, "answers_seen": seen})
    assert response.status_code == 303 and response.headers["Location"].endswith("/book/check?changed=1")
    assert count(app, AssessmentRequest) == 0
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "changed in another window" in page and answers_seen_on(page) != seen

    sent = client.post("/book/check", data={"consent": "y", "csrf_token": CSRF_PATTERN.search(page).group(1), "answers_seen": answers_seen_on(page)})
    assert sent.status_code == 303 and "/book/confirmation/" in sent.headers["Location"]
    with app.app_context():
        assert db.session.execute(db.select(AssessmentRequest.pain_now)).scalar_one() == 9


@pytest.mark.parametrize("seen", ["", "not-a-version", "9" * 5000])
def test_a_missing_or_meaningless_answers_version_never_gives_an_error(app, client, patient, seen):
    """Without the field (an old page) the answers as they are now are sent; anything else that is
    not the draft's version is treated as a change."""
    patient.answer_all()
    token = CSRF_PATTERN.search(client.get("/book/check").get_data(as_text=True)).group(1)
    response = client.post("/book/check", data={"consent": "y", "csrf_token": token, "answers_seen": seen})
    assert response.status_code == 303
    if seen:
        assert response.headers["Location"].endswith("/book/check?changed=1") and count(app, AssessmentRequest) == 0
    else:
        assert "/book/confirmation/" in response.headers["Location"] and count(app, AssessmentRequest) == 1
