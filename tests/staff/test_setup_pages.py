"""The clinic set-up pages: admins only; every form's errors shown next to their fields with the
other answers kept; every change in the audit log; the warning when someone with appointments
stops taking them; time away across the clock change stored in UTC."""

from __future__ import annotations

import html
import re
from datetime import date, datetime, time, timedelta, timezone

import pytest
from sqlalchemy import select

from intake.appointments import diary, setup
from intake.appointments.models import Appointment, DiaryException, Practitioner
from intake.platform.extensions import db
from intake.platform.timeutil import today_in_london, utcnow
from intake.staff import services as staff_services
from tests.factories import new_practitioner, new_request, new_staff, sign_in, staff_id
from tests.support.back_office import audit_events, error_messages, snapshot

UTC = timezone.utc
SETUP_PAGES = ["/staff/setup/", "/staff/setup/practitioners/new", "/staff/setup/hours", "/staff/setup/exceptions",
               "/staff/setup/exceptions/away", "/staff/setup/exceptions/extra", "/staff/setup/rules"]


def last_sunday(year: int, month: int) -> date:
    last = date(year, month + 1, 1) - timedelta(days=1)
    return last - timedelta(days=(last.weekday() + 1) % 7)


def next_clock_change(month: int) -> date:
    """The next last Sunday of March (spring) or October (autumn), at least a day away."""
    today = today_in_london()
    found = last_sunday(today.year, month)
    return found if found > today else last_sunday(today.year + 1, month)


def date_boxes(name: str, day: date) -> dict[str, str]:
    return {f"{name}-day": str(day.day), f"{name}-month": str(day.month), f"{name}-year": str(day.year)}


def page(response) -> str:
    return html.unescape(response.get_data(as_text=True))


@pytest.fixture
def admin(app, staff_client):
    return staff_client("admin")


# --- who may ----------------------------------------------------------------------------------

@pytest.mark.parametrize("role", ["reception", "clinician"])
def test_only_admins_may_open_or_change_the_set_up(app, staff_client, role):
    person_id = new_practitioner(app)
    staff = staff_client(role)
    before = snapshot(app)
    for path in [*SETUP_PAGES, f"/staff/setup/practitioners/{person_id}", f"/staff/setup/practitioners/{person_id}/hours"]:
        assert staff.client.get(path).status_code == 403, path
        assert staff.post(path, {"name": "Eve", "sites": "riverside", "active": "no", "remove": "1"}).status_code in (403, 405), path
    assert snapshot(app) == before
    assert "Clinic set-up" not in page(staff.client.get("/staff/"))


def test_an_admin_finds_every_set_up_page_from_the_back_office(admin):
    assert 'href="/staff/setup/"' in page(admin.client.get("/staff/"))
    for path in SETUP_PAGES:
        assert admin.client.get(path).status_code == 200, path


@pytest.mark.parametrize("path", ["/staff/setup/practitioners/{id}", "/staff/setup/practitioners/{id}/hours"])
@pytest.mark.parametrize("practitioner_id", ["999", "2147483647", "2147483648", "99999999999999999999", "-1", "x"])
def test_unknown_or_absurd_practitioner_ids_are_not_found(admin, path, practitioner_id):
    url = path.format(id=practitioner_id)
    assert admin.client.get(url).status_code == 404
    assert admin.post(url, {"name": "Eve"}).status_code == 404


# --- practitioners ----------------------------------------------------------------------------

def test_adding_a_practitioner_stores_and_audits_them(app, admin):
    response = admin.post("/staff/setup/practitioners/new", {"name": " Nell Harrow ", "sites": ["riverside", "west-green"], "active": "yes"})
    assert response.status_code == 303
    with app.app_context():
        [person] = diary.practitioners()
        assert (person.name, person.site_codes, person.active) == ("Nell Harrow", ["riverside", "west-green"], True)
    assert response.headers["Location"].endswith(f"/staff/setup/practitioners/{person.id}")
    [event] = audit_events(app, "setup_practitioner")
    assert event["staff_email"] == "admin.0@clinic.example"
    assert event["detail"] == {"practitioner_id": person.id, "added": True, "changes": {
        "name": [None, "Nell Harrow"], "sites": [None, ["riverside", "west-green"]], "active": [None, True]}}
    assert "Nell Harrow: saved" in page(admin.client.get(response.headers["Location"]))


@pytest.mark.parametrize(("data", "messages"), [
    ({}, ["Enter their name", "Select at least one site they work at", "Select whether they are taking new appointments"]),
    ({"name": "x" * 101, "sites": "riverside", "active": "yes"}, ["Their name must be 100 characters or fewer"]),
    ({"name": "Nell\x1b[2J", "sites": "riverside", "active": "yes"}, ["Their name must not contain special control characters"]),
    ({"name": "Nell", "sites": ["riverside", "atlantis"], "active": "yes"}, ["Select sites from the list"]),
    ({"name": "Nell", "sites": "riverside", "active": "perhaps"}, ["Select whether they are taking new appointments"]),
    ({"name": "Nell", "sites": "riverside", "active": "yes", "staff_account": "1"}, ["Select a clinician account from the list"]),
])
def test_the_practitioner_form_says_what_is_wrong_next_to_each_field_and_keeps_the_answers(app, admin, data, messages):
    before = snapshot(app)
    response = admin.post("/staff/setup/practitioners/new", data)
    body = page(response)
    assert response.status_code == 400
    assert error_messages(response.get_data(as_text=True)) == messages
    assert "<title>Error:" in body
    if data.get("name", "").startswith("Nell"):
        assert 'value="Nell' in body
    assert snapshot(app) == before


def test_a_clinician_account_can_be_linked_to_one_practitioner_only(app, admin):
    clara = new_staff(app, "clinician", name="Clara Clinician")
    new_staff(app, "reception", name="Rita Reception")
    clara_id = staff_id(app, clara)
    form = page(admin.client.get("/staff/setup/practitioners/new"))
    assert "Clara Clinician (clinician" in form and "Rita Reception" not in form
    assert admin.post("/staff/setup/practitioners/new", {"name": "Clara", "sites": "riverside", "active": "yes",
                                                         "staff_account": str(clara_id)}).status_code == 303
    assert "Clara Clinician (clinician" not in page(admin.client.get("/staff/setup/practitioners/new"))
    response = admin.post("/staff/setup/practitioners/new", {"name": "Someone", "sites": "riverside", "active": "yes",
                                                             "staff_account": str(clara_id)})
    assert error_messages(response.get_data(as_text=True)) == ["Select a clinician account from the list"]
    with app.app_context():
        [person] = diary.practitioners()
        assert person.staff_user_id == clara_id
        assert f'value="{clara_id}" selected' in page(admin.client.get(f"/staff/setup/practitioners/{person.id}"))


def test_stopping_someone_with_future_appointments_says_how_many_and_links_to_each(app, admin):
    person_id = new_practitioner(app, "Nell Harrow")
    references = [new_request(app, first=name) for name in ("Ada", "Bea", "Cy")]
    with app.app_context():
        now = utcnow()
        for days, reference in zip((-3, 2, 9), references):
            starts = now + timedelta(days=days)
            db.session.add(Appointment(request_id=staff_services.find_request(reference).id, practitioner_id=person_id, site_code="riverside",
                                       starts_at=starts, blocked_until=starts + timedelta(minutes=60)))
        db.session.commit()
    response = admin.post(f"/staff/setup/practitioners/{person_id}", {"name": "Nell Harrow", "sites": "riverside", "active": "no"})
    assert response.status_code == 303
    body = page(admin.client.get(response.headers["Location"]))
    assert "Nell Harrow is not taking new appointments" in body
    assert "They still have <strong>2 future appointments</strong>" in body
    assert [f'href="/staff/requests/{reference}"' in body for reference in references] == [False, True, True]
    with app.app_context():
        assert diary.free_times(utcnow(), default_minutes=45, for_staff=True, practitioner_ids=[person_id]) == []
    assert audit_events(app, "setup_practitioner")[-1]["detail"]["changes"] == {"active": [True, False]}


def test_saving_a_practitioner_unchanged_adds_no_audit_entry(app, admin):
    person_id = new_practitioner(app, "Nell Harrow")
    response = admin.post(f"/staff/setup/practitioners/{person_id}", {"name": "Nell Harrow", "sites": "riverside", "active": "yes"})
    assert response.status_code == 303 and audit_events(app, "setup_practitioner") == []
    assert "Nothing changed" in page(admin.client.get(response.headers["Location"]))


# --- weekly hours -----------------------------------------------------------------------------

def hours_path(person_id: int) -> str:
    return f"/staff/setup/practitioners/{person_id}/hours"


@pytest.mark.parametrize(("changes", "messages"), [
    ({"starts": "25:00"}, ["Start time must be a real time on the 24-hour clock, like 09:00 or 17:30"]),
    ({"ends": "9999"}, ["End time must be a real time on the 24-hour clock, like 09:00 or 17:30"]),
    ({"starts": "", "ends": "١٢:٠٠"}, ["Enter the start time, like 09:00 or 17:30", "End time must be a real time on the 24-hour clock, like 09:00 or 17:30"]),
    ({"starts": "14:00", "ends": "13:00"}, ["The end time must be after the start time"]),
    ({"starts": "12:00", "ends": "15:00"}, ["This overlaps their Monday session from 09:00 to 13:00 at riverside"]),
    ({"site": "west-green"}, ["Select the site"]),
    ({"weekday": "7"}, ["Select the day"]),
    ({"weekday": None, "site": None}, ["Select the day", "Select the site"]),
])
def test_the_hours_form_refuses_bad_times_overlaps_and_sites_they_do_not_work_at(app, admin, changes, messages):
    person_id = new_practitioner(app, sites=("riverside", "canal-side"), hours=[(0, time(9), time(13))])
    before = snapshot(app)
    data = {key: value for key, value in {"weekday": "0", "site": "canal-side", "starts": "13:00", "ends": "17:00", **changes}.items() if value is not None}
    response = admin.post(hours_path(person_id), data)
    assert response.status_code == 400
    assert error_messages(response.get_data(as_text=True)) == messages
    assert snapshot(app) == before


def test_sessions_are_added_listed_by_weekday_and_removed_with_an_audit_entry_each(app, admin):
    person_id = new_practitioner(app, sites=("riverside", "canal-side"), hours=[])
    for weekday, site, starts, ends in (("5", "canal-side", "9:00", "13:00"), ("0", "riverside", "14:00", "20:00"), ("0", "canal-side", "08:00", "14:00")):
        response = admin.post(hours_path(person_id), {"weekday": weekday, "site": site, "starts": starts, "ends": ends})
        assert response.status_code == 303 and response.headers["Location"].endswith(hours_path(person_id))
    body = page(admin.client.get(hours_path(person_id)))
    rows = re.findall(r"<td>(Monday|Saturday)</td>\s*<td>([^<]+)</td>\s*<td>([0-9:]+)</td>", body)
    assert rows == [("Monday", "Canal Side", "08:00"), ("Monday", "Riverside", "14:00"), ("Saturday", "Canal Side", "09:00")]
    with app.app_context():
        saturday = [session.id for session in setup.weekly_hours(person_id) if session.weekday == 5][0]
    assert admin.post(hours_path(person_id), {"remove": str(saturday)}).status_code == 303
    assert "Saturday" not in page(admin.client.get(hours_path(person_id))).split("Add a session")[0]
    events = audit_events(app)
    assert [event["action"] for event in events if event["action"].startswith("setup_")] == ["setup_hours_add"] * 3 + ["setup_hours_remove"]
    assert events[-1]["detail"] == {"practitioner_id": person_id, "site": "canal-side", "weekday": "Saturday", "starts": "09:00", "ends": "13:00"}
    assert "Canal Side" in page(admin.client.get("/staff/setup/hours"))


@pytest.mark.parametrize("remove", ["OTHER", "999", "99999999999999999999", "-1", "x", ""])
def test_removing_a_session_that_is_not_theirs_is_not_found_and_changes_nothing(app, admin, remove):
    nell = new_practitioner(app, "Nell Harrow", hours=[(0, time(9), time(12))])
    ivo = new_practitioner(app, "Ivo Marsh", hours=[(0, time(9), time(12))])
    with app.app_context():
        [ivos] = setup.weekly_hours(ivo)
    before = snapshot(app)
    response = admin.post(hours_path(nell), {"remove": str(ivos.id) if remove == "OTHER" else remove})
    assert response.status_code == 404
    assert snapshot(app) == before


# --- exceptions -------------------------------------------------------------------------------

def away_form(first: date, last: date, **changes) -> dict:
    return {"practitioner": "", "site": "", **date_boxes("starts_on", first), **date_boxes("ends_on", last), "starts_at": "", "ends_at": "",
            "note": "", **changes}


def stored_exceptions(app) -> list[DiaryException]:
    with app.app_context():
        found = list(db.session.execute(select(DiaryException).order_by(DiaryException.id)).scalars())
        db.session.expunge_all()
        return found


def test_everyone_away_over_the_spring_clock_change_is_23_hours_stored_in_utc(app, admin):
    spring = next_clock_change(3)
    response = admin.post("/staff/setup/exceptions/away", away_form(spring, spring + timedelta(days=1), starts_at="00:00", ends_at="00:00",
                                                                     note="Clinic closed"))
    assert response.status_code == 303 and response.headers["Location"].endswith("/staff/setup/exceptions")
    [away] = stored_exceptions(app)
    assert (away.kind, away.practitioner_id, away.site_code, away.note) == ("away", None, None, "Clinic closed")
    assert away.starts_at == datetime.combine(spring, time(0), UTC)  # midnight GMT
    assert away.ends_at - away.starts_at == timedelta(hours=23)
    listing = page(admin.client.get("/staff/setup/exceptions"))
    assert "Exception added" in listing and "Everyone" in listing and "Every site" in listing
    [event] = audit_events(app, "setup_exception_add")
    assert event["detail"]["starts_at"] == away.starts_at.isoformat() and event["detail"]["ends_at"] == away.ends_at.isoformat()


def test_whole_days_away_in_the_autumn_are_25_hours_and_an_ambiguous_time_is_stated(app, admin):
    autumn = next_clock_change(10)
    person_id = new_practitioner(app, "Nell Harrow")
    assert admin.post("/staff/setup/exceptions/away", away_form(autumn, autumn, practitioner=str(person_id), site="riverside")).status_code == 303
    response = admin.post("/staff/setup/exceptions/away", away_form(autumn, autumn, starts_at="01:30"))
    assert response.status_code == 303
    listing = page(admin.client.get("/staff/setup/exceptions"))
    assert f"01:30 on {autumn:%-d %B %Y} happens twice in London (the clocks go back): taken as the first, in British Summer Time" in listing
    whole_day, from_half_past_one = stored_exceptions(app)
    assert (whole_day.practitioner_id, whole_day.site_code) == (person_id, "riverside")
    assert whole_day.ends_at - whole_day.starts_at == timedelta(hours=25)
    assert from_half_past_one.starts_at == datetime.combine(autumn, time(0, 30), UTC)


@pytest.mark.parametrize(("changes", "messages"), [
    ({"starts_on-day": "", "starts_on-month": "", "starts_on-year": ""}, ["Enter the first day"]),
    ({"ends_on-month": "13"}, ["The last day must be a real date"]),
    ({"starts_at": "1:30"}, ["SPRING-GAP"]),
    ({"ends_at": "24:00"}, ["Until time must be a real time on the 24-hour clock, like 09:00 or 17:30"]),
    ({"practitioner": "999"}, ["Select who is away from the list"]),
    ({"site": "atlantis"}, ["Select a site from the list"]),
    ({"note": "n" * 201}, ["The note must be 200 characters or fewer"]),
    ({"ends_on-year": "2020"}, ["The end must be today or later"]),
    ({"ends_on-year": "9999"}, ["Dates must be within the next 3 years"]),
])
def test_the_away_form_says_what_is_wrong_and_stores_nothing(app, admin, changes, messages):
    spring = next_clock_change(3)
    before = snapshot(app)
    response = admin.post("/staff/setup/exceptions/away", away_form(spring, spring, **changes))
    assert response.status_code == 400
    expected = [f"01:30 on {spring:%-d %B %Y} does not exist in London: the clocks go forward an hour at 01:00. Enter 02:00 or later"
                if message == "SPRING-GAP" else message for message in messages]
    assert error_messages(response.get_data(as_text=True)) == expected
    assert snapshot(app) == before


def test_an_extra_session_is_stored_in_utc_listed_and_deleted_with_audit_entries(app, admin):
    person_id = new_practitioner(app, "Nell Harrow", sites=("west-green",))
    summer_sunday = last_sunday(today_in_london().year + 1, 6)
    data = {"practitioner": str(person_id), "site": "west-green", **date_boxes("day", summer_sunday), "starts": "10:00", "ends": "12:30", "note": "Open day"}
    assert admin.post("/staff/setup/exceptions/extra", data).status_code == 303
    [extra] = stored_exceptions(app)
    assert (extra.kind, extra.starts_at, extra.ends_at) == ("extra", datetime.combine(summer_sunday, time(9), UTC), datetime.combine(summer_sunday, time(11, 30), UTC))
    listing = page(admin.client.get("/staff/setup/exceptions"))
    assert "Extra session" in listing and "Nell Harrow" in listing and "Open day" in listing
    assert admin.post("/staff/setup/exceptions", {"remove": str(extra.id)}).status_code == 303
    assert stored_exceptions(app) == []
    assert [event["action"] for event in audit_events(app) if event["action"].startswith("setup_")] == ["setup_exception_add", "setup_exception_delete"]
    assert admin.post("/staff/setup/exceptions", {"remove": str(extra.id)}).status_code == 404


@pytest.mark.parametrize(("changes", "messages"), [
    ({"practitioner": ""}, ["Select a practitioner from the list"]),
    ({"practitioner": "RESTING"}, ["Select a practitioner from the list"]),
    ({"site": "riverside"}, ["Select a site they work at"]),
    ({"starts": "12:00", "ends": "11:00"}, ["The end time must be after the start time"]),
    ({"day-day": "31", "day-month": "2"}, ["The date must be a real date"]),
])
def test_the_extra_session_form_says_what_is_wrong_and_stores_nothing(app, admin, changes, messages):
    person_id = new_practitioner(app, "Nell Harrow", sites=("west-green",))
    resting = new_practitioner(app, "Ivo Marsh", sites=("west-green",), active=False)
    data = {"practitioner": str(person_id), "site": "west-green", **date_boxes("day", today_in_london() + timedelta(days=10)),
            "starts": "10:00", "ends": "12:30", **changes}
    data = {key: str(resting) if value == "RESTING" else value for key, value in data.items()}
    before = snapshot(app)
    response = admin.post("/staff/setup/exceptions/extra", data)
    assert response.status_code == 400
    assert error_messages(response.get_data(as_text=True)) == messages
    assert snapshot(app) == before


# --- booking rules ----------------------------------------------------------------------------

RULES = {"notice_working_days": "2", "horizon_days": "28", "step_minutes": "10", "bank_holidays": "scotland",
         "patients_choose_times": "no", "minutes": "60", "buffer_minutes": "5"}


def test_the_rules_page_shows_the_defaults_and_the_next_bank_holidays(admin):
    body = page(admin.client.get("/staff/setup/rules"))
    for name, value in {"notice_working_days": "1", "horizon_days": "42", "step_minutes": "15", "minutes": "45", "buffer_minutes": "15"}.items():
        assert re.search(rf'name="{name}" type="text" value="{value}"', body), name
    assert re.search(r'value="england" checked', body)
    holidays = setup.next_bank_holidays("england", today_in_london())
    assert f"{holidays[0][0]:%A %-d %B %Y}: {holidays[0][1]}" in body


def test_saving_the_rules_stores_and_audits_them(app, admin):
    response = admin.post("/staff/setup/rules", RULES)
    assert response.status_code == 303
    with app.app_context():
        rules, kind = diary.booking_rules(), diary.assessment_type(45)
        assert (rules.notice_working_days, rules.horizon_days, rules.step_minutes, rules.bank_holidays, rules.patients_choose_times) == (2, 28, 10, "scotland", False)
        assert (kind.minutes, kind.buffer_minutes) == (60, 5)
    [event] = audit_events(app, "setup_rules")
    assert event["detail"]["changes"]["minutes"] == [45, 60]
    body = page(admin.client.get("/staff/setup/rules"))
    assert "Booking rules saved" in body and re.search(r'value="scotland" checked', body)


@pytest.mark.parametrize(("changes", "messages"), [
    ({"notice_working_days": "", "horizon_days": "x"}, ["Enter the minimum notice", "How far ahead must be a whole number from 1 to 366 days"]),
    ({"step_minutes": "٣٠"}, ["Time between start times must be a whole number from 5 to 120 minutes"]),
    ({"minutes": "99999999999999999999"}, ["Length must be a whole number from 5 to 480 minutes"]),
    ({"buffer_minutes": "-5"}, ["Time kept free must be a whole number from 0 to 120 minutes"]),
    ({"minutes": "4.5"}, ["Length must be a whole number from 5 to 480 minutes"]),
    ({"bank_holidays": "wales", "patients_choose_times": ""}, ["Select which bank holidays the clinic closes for", "Select whether patients can choose their own time"]),
])
def test_the_rules_form_says_what_is_wrong_keeps_the_answers_and_stores_nothing(app, admin, changes, messages):
    before = snapshot(app)
    response = admin.post("/staff/setup/rules", {**RULES, **changes})
    body = page(response)
    assert response.status_code == 400
    assert error_messages(response.get_data(as_text=True)) == messages
    assert 'name="horizon_days" type="text" value="' + html.escape(changes.get("horizon_days", "28")) in body
    assert snapshot(app) == before


def test_a_field_left_out_of_a_post_is_missing_not_the_stored_value(app, admin):
    person_id = new_practitioner(app, "Nell Harrow")
    response = admin.post(f"/staff/setup/practitioners/{person_id}", {"sites": "riverside", "active": "yes"})
    assert error_messages(response.get_data(as_text=True)) == ["Enter their name"]
    response = admin.post("/staff/setup/rules", {name: value for name, value in RULES.items() if name != "minutes"})
    assert error_messages(response.get_data(as_text=True)) == ["Enter the length"]
