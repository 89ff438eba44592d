"""Patients choosing their own time: only for routine requests, times that suit them first, one
transaction for the request and its appointment, friendly refusals, and never a server error."""

from __future__ import annotations

import html
import re
from datetime import datetime, timedelta, timezone
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest
from icalendar import Calendar
from sqlalchemy import event, select, update

from intake.appointments import diary, services as appointments, slots
from intake.appointments.models import Appointment, BookingRules, Practitioner
from intake.journey import routes, services, times
from intake.journey.models import AssessmentRequest, Draft
from intake.mail.notifications import MailSettings
from intake.platform.extensions import db
from intake.platform.timeutil import LONDON, utcnow
from tests.factories import CSRF_PATTERN, EMERGENCY, URGENT, Patient, new_practitioner, outbox, valid_answers

UTC = timezone.utc
RADIO = re.compile(
    r'name="slot" type="radio" value="([^"]+)">\s*<label class="choices__label" for="[^"]+">(\d\d:\d\d) with ([^<]+)'
    r'<span class="visually-hidden">, ([^<]+)</span>'
)
RIVERSIDE = "Riverside, 3 Ferry Lane, London SE1 9ZZ"


# --- helpers ------------------------------------------------------------------------------

def count(app, model) -> int:
    with app.app_context():
        return len(db.session.execute(select(model)).all())


def radios(page: str) -> list[tuple[str, str, str, str]]:
    """(slot value, "HH:MM", practitioner, day) of every time offered on a page."""
    return [tuple(html.unescape(part) for part in found) for found in RADIO.findall(page)]


def local_start(value: str) -> datetime:
    return slots.parse_slot_value(value)[2].astimezone(LONDON)


def to_the_times(patient: Patient, **changes) -> str:
    """Answer everything and consent; return the times page."""
    patient.answer_all(**changes)
    response = patient.submit()
    assert response.status_code == 303 and response.headers["Location"].endswith("/book/time"), response.headers.get("Location")
    page = patient.client.get("/book/time")
    assert page.status_code == 200
    return page.get_data(as_text=True)


def confirm_page(client, value: str):
    return client.get("/book/time/confirm?" + urlencode({"slot": value}))


def confirm(client, value: str, answers_seen: str | None = None):
    """Open the confirm page for a time and press "Confirm booking"."""
    page = confirm_page(client, value).get_data(as_text=True)
    seen = re.search(r'name="answers_seen" type="hidden" value="(\d+)"', page)
    data = {"slot": value, "csrf_token": CSRF_PATTERN.search(page).group(1)}
    data["answers_seen"] = answers_seen if answers_seen is not None else (seen.group(1) if seen else "")
    return client.post("/book/time/confirm", data=data)


def stored_appointments(app) -> list[Appointment]:
    with app.app_context():
        found = list(db.session.execute(select(Appointment).order_by(Appointment.id)).scalars())
        for appointment in found:
            appointment.practitioner  # noqa: B018 (loaded before the session closes)
        db.session.expunge_all()
        return found


@pytest.fixture
def clara(app) -> int:
    """A practitioner at Riverside and Canal Side, weekdays 09:00 to 17:00."""
    return new_practitioner(app, "Clara Clinician", sites=("riverside", "canal-side"))


# --- who is offered times -----------------------------------------------------------------

def test_a_routine_patient_chooses_a_time_after_consenting_and_nothing_is_sent_yet(app, patient, clara):
    patient.answer_all()
    assert "Continue to choose a time" in patient.client.get("/book/check").get_data(as_text=True)
    response = patient.submit(marketing=True)
    assert response.status_code == 303 and response.headers["Location"].endswith("/book/time")
    assert count(app, AssessmentRequest) == 0
    with app.app_context():
        consent = db.session.execute(select(Draft.answers)).scalar_one()["consent"]
    assert consent["marketing"] is True

    page = patient.client.get("/book/time").get_data(as_text=True)
    offered = radios(page)
    assert offered and all(name == "Clara Clinician" for _, _, name, _ in offered)
    assert "<h1" in page and "Choose a time for your assessment" in page and RIVERSIDE.split(", ", 1)[1] in page
    for value, clock, _, day in offered:
        assert local_start(value).strftime("%H:%M") == clock and local_start(value).strftime("%A %-d %B") == day
    assert len(offered) <= 20
    assert {day for *_, day in offered} == set(re.findall(r'<h2 class="heading-s slot-picker__day">([^<]+)</h2>', page))


def test_times_that_suit_come_first_then_every_time_later_weeks_and_other_clinics(app, patient, clara):
    page = to_the_times(patient)  # Mondays and Wednesdays, mornings
    offered = radios(page)
    assert offered and all(local_start(value).strftime("%a") in ("Mon", "Wed") and local_start(value).hour < 12 for value, *_ in offered)

    every = patient.client.get("/book/time?site=riverside&all=1").get_data(as_text=True)
    assert "Show only the times that fit what you told us" in every
    assert {local_start(value).strftime("%a") for value, *_ in radios(every)} - {"Mon", "Wed"}  # other days too

    later_link = html.unescape(re.search(r'<a href="([^"]+)">Show later times</a>', page).group(1))
    later = radios(patient.client.get(later_link).get_data(as_text=True))
    assert later and local_start(later[0][0]) > local_start(offered[-1][0])
    assert not {value for value, *_ in later} & {value for value, *_ in offered}

    canal = patient.client.get("/book/time?site=canal-side").get_data(as_text=True)
    assert "At our Canal Side clinic" in canal and all(".canal-side." in value for value, *_ in radios(canal))
    assert 'href="/book/time?site=west-green"' in page and 'href="/book/time?site=canal-side"' in page


def test_no_time_before_the_earliest_date_the_patient_gave_and_none_suiting_shows_every_time(app, patient, clara):
    earliest = (utcnow() + timedelta(days=14)).astimezone(LONDON).date()
    page = to_the_times(patient, when_and_where={
        "earliest_date-day": str(earliest.day), "earliest_date-month": str(earliest.month), "earliest_date-year": str(earliest.year),
    })
    assert radios(page) and all(local_start(value).date() >= earliest for value, *_ in radios(page))

    weekends = Patient(app.test_client())
    page = to_the_times(weekends, when_and_where={"days": ["sat", "sun"], "times": ["evening"]})
    assert "We have no free times here on the days and at the times of day you told us" in page
    assert radios(page)


@pytest.mark.parametrize("answers", [URGENT, EMERGENCY], ids=["urgent", "emergency"])
def test_urgent_and_emergency_requests_are_never_offered_times(app, patient, clara, answers):
    patient.answer_all(**answers)
    check = patient.client.get("/book/check").get_data(as_text=True)
    assert "Send my request" in check and "Continue to choose a time" not in check
    if answers is URGENT:
        assert "a clinician will read your request before anything is booked" in check
    assert patient.client.get("/book/time").headers["Location"].endswith("/book/check")
    response = patient.submit()
    assert "/book/confirmation/" in response.headers["Location"]
    page = patient.client.get(response.headers["Location"]).get_data(as_text=True)
    assert "Request sent" in page and stored_appointments(app) == []
    if answers is URGENT:
        assert "A clinician here will read your answers first. Then we will call you" in page


def test_a_forged_confirm_with_a_flagged_draft_books_nothing(app, patient, clara):
    """Even with consent in the draft (written directly), flagged answers are never booked."""
    value = slots.slot_value(appointments_free(app)[0])
    patient.answer_all(**URGENT)
    with app.app_context():
        draft = db.session.execute(select(Draft)).scalar_one()
        db.session.execute(update(Draft).values(answers={**draft.answers, "consent": {"marketing": False}}))
        db.session.commit()
    token = patient.csrf_token("/book/check")
    response = patient.client.post("/book/time/confirm", data={"slot": value, "csrf_token": token})
    assert response.status_code == 303 and response.headers["Location"].endswith("/book/check")
    assert count(app, AssessmentRequest) == 0 and stored_appointments(app) == []


def test_the_submit_service_triages_again_and_refuses_to_book_flagged_answers(app, patient, clara):
    patient.answer_all(**URGENT)
    with app.app_context():
        row = db.session.execute(select(Draft)).scalar_one()
        draft = services.LiveDraft(row.id, row.answers, row.updated_at)
        choice = appointments.Choice.parse(slots.slot_value(appointments_free(app)[0]))
        with pytest.raises(services.NotBookableOnline):
            submit(app, draft, choice=choice)
    assert count(app, AssessmentRequest) == 0 and stored_appointments(app) == []


def test_with_no_free_times_or_booking_switched_off_the_request_is_sent_as_before(app, patient):
    patient.answer_all()
    assert "Send my request" in patient.client.get("/book/check").get_data(as_text=True)
    assert "/book/confirmation/" in patient.submit().headers["Location"]

    new_practitioner(app, "Clara Clinician")
    with app.app_context():
        db.session.add(BookingRules(id=1, patients_choose_times=False))
        db.session.commit()
    other = Patient(app.test_client())
    other.answer_all()
    assert "/book/confirmation/" in other.submit().headers["Location"]
    assert other.client.get("/book/time").status_code == 303
    assert stored_appointments(app) == []


# --- booking -------------------------------------------------------------------------------

def test_confirming_stores_the_request_and_its_appointment_and_shows_them(app, patient, clara):
    value, clock, name, day = radios(to_the_times(patient))[0]
    page = confirm_page(patient.client, value).get_data(as_text=True)
    assert "Confirm your appointment" in page and RIVERSIDE in html.unescape(page) and name in page
    assert f"{clock} (UK time)" in page and "Choose a different time" in page
    assert count(app, AssessmentRequest) == 0  # showing the time changes nothing

    response = confirm(patient.client, value)
    assert response.status_code == 303 and "/book/confirmation/" in response.headers["Location"]
    shown = html.unescape(patient.client.get(response.headers["Location"]).get_data(as_text=True))
    assert "Assessment booked" in shown and f"at {clock} (UK time)" in shown and RIVERSIDE in shown and "Clara Clinician" in shown
    assert "within 2 working days" not in shown

    [appointment] = stored_appointments(app)
    assert appointment.starts_at == slots.parse_slot_value(value)[2] and appointment.booked_by_id is None
    assert (appointment.practitioner_id, appointment.site_code) == (clara, "riverside")
    with app.app_context():
        stored = db.session.execute(select(AssessmentRequest)).scalar_one()
        assert (stored.status, stored.marketing_opt_in, appointment.request_id) == ("booked", False, stored.id)
    assert count(app, Draft) == 0
    assert patient.client.get("/book/time").headers["Location"].endswith(response.headers["Location"])


def test_booking_at_another_clinic_stores_the_request_there(app, patient, clara):
    to_the_times(patient)
    value = radios(patient.client.get("/book/time?site=canal-side").get_data(as_text=True))[0][0]
    assert "/book/confirmation/" in confirm(patient.client, value).headers["Location"]
    with app.app_context():
        assert db.session.execute(select(AssessmentRequest.site_code)).scalar_one() == "canal-side"
    [clinic_email, _] = outbox(app)
    assert "Canal Side" in clinic_email.subject


def test_the_emails_of_a_booked_request_say_when_where_and_with_whom(app, patient, clara):
    value, clock, _, _ = radios(to_the_times(patient))[0]
    confirm(patient.client, value)
    clinic_email, patient_email = outbox(app)
    starts = local_start(value)
    assert "Booked online by the patient: " + starts.strftime("%A %-d %B %Y at %H:%M") + " (UK time) with Clara Clinician at Riverside" in clinic_email.text_body
    assert patient_email.kind == "patient_booking_confirmation" and patient_email.recipient == "ada@example.com"
    text = patient_email.text_body
    assert "When: " + starts.strftime("%A %-d %B %Y at %H:%M") + " (UK time)" in text
    assert "Where: " + RIVERSIDE in text and "With: Clara Clinician" in text
    [event] = Calendar.from_ical(patient_email.attachment_body).walk("VEVENT")
    assert str(event["DTSTART"].params["TZID"]) == "Europe/London" and event["DTSTART"].dt.strftime("%H:%M") == clock
    assert str(event["UID"]) and int(event["SEQUENCE"]) == 0


def test_a_booking_the_day_after_the_clocks_go_back_shows_the_london_time_chosen(app, patient, clara, monkeypatch):
    """With the clock set to late October, a time on the Monday after the clocks go back (GMT) is
    offered, stored, shown and emailed as the wall time chosen; one on the Friday before (BST) too."""
    fixed = datetime(2027, 10, 27, 9, 0, tzinfo=UTC)  # Wednesday; the clocks go back on Sunday 31 October
    for module in (routes, times):
        monkeypatch.setattr(module, "utcnow", lambda: fixed)
        monkeypatch.setattr(module, "today_in_london", lambda: fixed.astimezone(LONDON).date())
    page = to_the_times(patient, when_and_where={"days": ["mon", "fri"], "times": ["morning"]})
    offered = {(day, clock): value for value, clock, _, day in radios(page)}
    assert slots.parse_slot_value(offered["Friday 29 October", "10:00"])[2] == datetime(2027, 10, 29, 9, 0, tzinfo=UTC)  # BST
    value = offered["Monday 1 November", "10:00"]
    assert slots.parse_slot_value(value)[2] == datetime(2027, 11, 1, 10, 0, tzinfo=UTC)  # GMT

    assert "/book/confirmation/" in confirm(patient.client, value).headers["Location"]
    [appointment] = stored_appointments(app)
    assert appointment.starts_at == datetime(2027, 11, 1, 10, 0, tzinfo=UTC)
    _, patient_email = outbox(app)
    assert "When: Monday 1 November 2027 at 10:00 (UK time)" in patient_email.text_body
    [event] = Calendar.from_ical(patient_email.attachment_body).walk("VEVENT")
    assert event["DTSTART"].dt == datetime(2027, 11, 1, 10, 0, tzinfo=LONDON)


# --- one transaction, and refusals that explain themselves ----------------------------------

def test_request_appointment_emails_and_draft_are_stored_together_or_not_at_all(app, patient, clara, monkeypatch):
    value = radios(to_the_times(patient))[0][0]

    def mail_server_of_the_outbox_is_broken(*args, **kwargs):
        raise RuntimeError("the outbox could not be written")

    monkeypatch.setattr(services, "queue_new_request_emails", mail_server_of_the_outbox_is_broken)
    assert confirm(patient.client, value).status_code == 500
    assert count(app, AssessmentRequest) == 0 and stored_appointments(app) == [] and outbox(app) == []
    assert count(app, Draft) == 1

    monkeypatch.undo()
    assert "/book/confirmation/" in confirm(patient.client, value).headers["Location"]
    assert count(app, AssessmentRequest) == 1 and len(stored_appointments(app)) == 1 and len(outbox(app)) == 2


def book_for_someone_else(app, value: str) -> None:
    """Another patient books the same time first."""
    other = Patient(app.test_client())
    to_the_times(other, about_you={"email": "grace@example.com"})
    assert "/book/confirmation/" in confirm(other.client, value).headers["Location"]


def test_a_time_taken_before_confirming_offers_the_nearest_times_and_keeps_the_draft(app, patient, clara):
    value = radios(to_the_times(patient))[0][0]
    confirm_form = confirm_page(patient.client, value).get_data(as_text=True)
    book_for_someone_else(app, value)

    data = {"slot": value, "csrf_token": CSRF_PATTERN.search(confirm_form).group(1),
            "answers_seen": re.search(r'name="answers_seen" type="hidden" value="(\d+)"', confirm_form).group(1)}
    response = patient.client.post("/book/time/confirm", data=data)
    page = response.get_data(as_text=True)
    assert response.status_code == 409 and "Sorry, that time has just been taken" in page
    nearest = radios(page)
    assert nearest and value not in {found for found, *_ in nearest}
    assert "See all free times at Riverside" in page and "I’d rather you phone me" in page
    assert count(app, AssessmentRequest) == 1 and count(app, Draft) == 1  # only the other patient's

    assert confirm_page(patient.client, value).status_code == 409  # the confirm page says so too
    assert "/book/confirmation/" in confirm(patient.client, nearest[0][0]).headers["Location"]
    assert len(stored_appointments(app)) == 2


def test_a_booking_that_loses_the_race_in_the_database_gets_the_taken_page(app, patient, clara, monkeypatch):
    """If the diary check passes but another booking of the time commits first, the database
    refuses the overlap: the taken page, and nothing of this request is kept."""
    value = radios(to_the_times(patient))[0][0]
    book_for_someone_else(app, value)
    chosen = slots.parse_slot_value(value)
    as_if_free = slots.Slot(chosen[0], chosen[1], chosen[2], chosen[2] + timedelta(minutes=45))
    monkeypatch.setattr(appointments, "_offered", lambda *args, **kwargs: as_if_free)
    response = confirm(patient.client, value)
    assert response.status_code == 409 and "Sorry, that time has just been taken" in response.get_data(as_text=True)
    assert count(app, AssessmentRequest) == 1 and len(stored_appointments(app)) == 1 and count(app, Draft) == 1


def appointments_free(app) -> list[slots.Slot]:
    with app.app_context():
        return diary.free_times(utcnow(), default_minutes=app.config["APPOINTMENT_MINUTES"], site_code="riverside")


def submit(app, draft, **options):
    return services.submit_draft(
        draft, marketing_opt_in=False, now=utcnow(), today=utcnow().date(), sites=app.config["CLINIC_SITES"],
        mail_settings=MailSettings.from_config(app.config), article_index=app.extensions["article_index"], **options,
    )


def forged_values(app, clara) -> dict[str, str]:
    free = appointments_free(app)[0]
    west = new_practitioner(app, "Priya Physio", sites=("west-green",))
    past = utcnow().replace(minute=0, second=0, microsecond=0) - timedelta(days=2)
    return {
        "nothing": "",
        "garbage": "<script>alert(1)</script>",
        "year 9999": f"{clara}.riverside.99991231T2359Z",
        "not a date": f"{clara}.riverside.20271345T9999Z",
        "huge practitioner id": "999999999999999999.riverside.20271201T1000Z",
        "unknown site": slots.slot_value(free._replace(site_code="nowhere")),
        "practitioner from another site": slots.slot_value(free._replace(practitioner_id=west)),
        "in the past": slots.slot_value(free._replace(starts_at=past)),
        "off the grid": slots.slot_value(free._replace(starts_at=free.starts_at + timedelta(minutes=7))),
    }


FORGED = ["nothing", "garbage", "year 9999", "not a date", "huge practitioner id", "unknown site",
          "practitioner from another site", "in the past"]


@pytest.mark.parametrize("forged", FORGED)
def test_no_choice_or_a_forged_time_shows_the_times_again_with_the_error_summary(app, patient, clara, forged):
    value = forged_values(app, clara)[forged]
    to_the_times(patient)
    for response in (confirm_page(patient.client, value), confirm(patient.client, value, answers_seen="")):
        page = response.get_data(as_text=True)
        assert response.status_code == 400, (forged, response.status_code)
        assert "<title>Error: Choose a time" in page and "There is a problem" in page and 'href="#slot"' in page
        assert radios(page)
    assert count(app, AssessmentRequest) == 0 and stored_appointments(app) == [] and count(app, Draft) == 1


def test_a_time_off_the_grid_or_of_a_practitioner_who_left_is_never_booked(app, patient, clara):
    values = forged_values(app, clara)
    to_the_times(patient)
    assert confirm(patient.client, values["off the grid"]).status_code == 409
    value = radios(patient.client.get("/book/time").get_data(as_text=True))[0][0]
    with app.app_context():
        db.session.execute(update(Practitioner).where(Practitioner.id == clara).values(active=False))
        db.session.commit()
    response = confirm(patient.client, value)
    assert response.status_code == 400 and "Clara Clinician is no longer taking appointments" in response.get_data(as_text=True)
    assert count(app, AssessmentRequest) == 0 and stored_appointments(app) == []


QUERIES = [
    "site=nowhere", "site=", "site=%3Cscript%3E", "from=9999-12-31", "from=2026-13-45", "from=1900-01-01",
    "from=" + "9" * 5000, "from=2027-01-01T25:99", "from=2026-12-07T", "all=yes", "all=1&all=0", "site=riverside&site=canal-side",
    "from=%F0%9F%98%80", "slot=1.riverside.20271201T1000Z", "from=-1", "from=2026-02-30", "from=+10000-01-01",
]


@pytest.mark.parametrize("query", QUERIES)
def test_any_query_string_on_the_times_page_gives_a_page_not_an_error(app, patient, clara, query):
    to_the_times(patient)
    response = patient.client.get("/book/time?" + query)
    page = response.get_data(as_text=True)
    assert response.status_code == 200, (query, response.status_code)
    assert "Choose a time for your assessment" in page and radios(page)
    if query.startswith(("site=nowhere", "site=%3C", "from=9999", "from=2026-13", "from=1900")):
        assert 'class="notice" role="status"' in page


def test_show_later_times_walks_through_the_weeks_to_the_horizon_without_errors(app, patient, clara):
    to_the_times(patient)
    link, pages = "/book/time?site=riverside&all=1", 0
    while link and pages < 60:
        page = patient.client.get(link).get_data(as_text=True)
        assert radios(page) and len(radios(page)) <= 20
        found = re.search(r'<a href="([^"]+)">Show later times</a>', page)
        link, pages = html.unescape(found.group(1)) if found else None, pages + 1
        if link:
            assert parse_qs(urlsplit(link).query)["all"] == ["1"]
    assert link is None and pages > 2


# --- the draft and its consent ----------------------------------------------------------------

def test_the_times_page_needs_consent_to_the_answers_as_they_are(app, patient, clara):
    patient.answer_all()
    assert patient.client.get("/book/time").headers["Location"].endswith("/book/check")
    to_the_times(patient)
    patient.answer("how-it-feels", {**valid_answers()["how-it-feels"], "pain_now": "6"})
    assert patient.client.get("/book/time").headers["Location"].endswith("/book/check")


def test_answers_changed_in_another_window_after_the_confirm_page_are_checked_again(app, patient, clara):
    value = radios(to_the_times(patient))[0][0]
    page = confirm_page(patient.client, value).get_data(as_text=True)
    other_window = Patient(app.test_client())
    other_window.client.set_cookie("session", patient.client.get_cookie("session").value)
    assert other_window.answer("how-it-feels", {**valid_answers()["how-it-feels"], "pain_now": "6"}).status_code == 303
    data = {"slot": value, "csrf_token": CSRF_PATTERN.search(page).group(1),
            "answers_seen": re.search(r'name="answers_seen" type="hidden" value="(\d+)"', page).group(1)}
    response = patient.client.post("/book/time/confirm", data=data)
    assert response.status_code == 303 and response.headers["Location"].endswith("/book/check?changed=1")
    assert count(app, AssessmentRequest) == 0 and stored_appointments(app) == []


def test_i_would_rather_you_phoned_me_sends_the_request_as_before(app, patient, clara):
    to_the_times(patient)
    response = patient.phone_me()
    assert response.status_code == 303 and "/book/confirmation/" in response.headers["Location"]
    page = patient.client.get(response.headers["Location"]).get_data(as_text=True)
    assert "Request sent" in page and "will call you within 2 working days" in page
    with app.app_context():
        assert db.session.execute(select(AssessmentRequest.status)).scalar_one() == "new"
    assert stored_appointments(app) == [] and [message.kind for message in outbox(app)] == ["clinic_new_request", "patient_acknowledgement"]


def test_pressing_confirm_twice_books_once(app, patient, clara):
    value = radios(to_the_times(patient))[0][0]
    page = confirm_page(patient.client, value).get_data(as_text=True)
    data = {"slot": value, "csrf_token": CSRF_PATTERN.search(page).group(1),
            "answers_seen": re.search(r'name="answers_seen" type="hidden" value="(\d+)"', page).group(1)}
    first = patient.client.post("/book/time/confirm", data=data)
    second = patient.client.post("/book/time/confirm", data=data)
    assert first.headers["Location"] == second.headers["Location"] and "/book/confirmation/" in first.headers["Location"]
    assert count(app, AssessmentRequest) == 1 and len(stored_appointments(app)) == 1


def test_posts_without_a_form_token_store_nothing(app, patient, clara):
    value = radios(to_the_times(patient))[0][0]
    assert patient.client.post("/book/time/confirm", data={"slot": value}).status_code == 400
    assert patient.client.post("/book/time/phone-me", data={}).status_code == 400
    assert count(app, AssessmentRequest) == 0



def test_the_times_page_seen_again_reads_only_the_draft_and_the_diary_version(app, patient, clara):
    """The clinic's set-up and its free times are kept per version of the diary, so a patient
    paging through times costs two small reads, however many practitioners and sessions."""
    to_the_times(patient)
    with app.app_context():
        engine = db.engine
    sent: list[str] = []
    listener = lambda *args: sent.append(args[2])  # noqa: E731
    event.listen(engine, "before_cursor_execute", listener)
    try:
        assert patient.client.get("/book/time").status_code == 200
    finally:
        event.remove(engine, "before_cursor_execute", listener)
    tables = sorted(re.search(r"FROM (\w+)", statement).group(1) for statement in sent
                    if not statement.lstrip().upper().startswith(("SAVEPOINT", "RELEASE")))
    assert tables == ["diary_version", "drafts"]
