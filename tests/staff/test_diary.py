"""The reception diary: a site's day and week, a practitioner's printable day list, a clinician's
own day; bad days in the query string; the clocks changing; a handful of queries per page."""

from __future__ import annotations

import html
import re
from datetime import datetime, time, timedelta, timezone

import pytest
from sqlalchemy import event, update

from intake.appointments.models import Appointment, DiaryException
from intake.journey.models import AssessmentRequest
from intake.platform.extensions import db
from intake.platform.timeutil import LONDON, today_in_london
from intake.staff import diary_routes
from tests.factories import book_appointment, free_slot, new_practitioner, new_request, sign_in
from tests.support.back_office import error_messages

SLOT_TIME = re.compile(r"\.(\d{8}T\d{4}Z)$")


def local_start(slot: str) -> datetime:
    return datetime.strptime(SLOT_TIME.search(slot).group(1) + "+0000", "%Y%m%dT%H%MZ%z").astimezone(LONDON)


@pytest.fixture
def booked_clinic(app, make_staff):
    """Clara (a clinician's sign-in) works at Riverside and West Green, Dev at Riverside; Grace is
    booked with Clara at Riverside and Alan with her at West Green, on the same day."""
    clinician = make_staff("clinician", name="Clara Clinician")
    reception = make_staff("reception")
    clara = new_practitioner(app, "Clara Clinician", sites=("riverside", "west-green"), staff_email=clinician)
    new_practitioner(app, "Dev Physio")
    grace = new_request(app, first="Grace", last="Hopper", email="grace@example.com", phone="07400 111222",
                        general_health={"night_pain": "yes"})
    # A working day at least two days on, so the whole day is to come at any hour the tests run.
    later = today_in_london() + timedelta(days=2)
    while later.weekday() >= 5:
        later += timedelta(days=1)
    slot = free_slot(app, practitioner=clara, day=later)
    book_appointment(app, grace, reception, slot)
    day = local_start(slot).date()
    alan = new_request(app, first="Alan", last="Turing", email="alan@example.com", site="west-green")
    book_appointment(app, alan, reception, free_slot(app, "west-green", practitioner=clara, day=day, index=8))
    return {"clara": clara, "clinician": clinician, "reception": reception, "grace": grace, "alan": alan, "day": day, "slot": slot}


def page(staff, path: str) -> str:
    response = staff.client.get(path)
    assert response.status_code == 200, (response.status_code, error_messages(response.get_data(as_text=True)))
    return html.unescape(response.get_data(as_text=True))


def test_the_day_view_shows_practitioners_as_columns_with_appointments_hours_and_free_times(app, booked_clinic):
    staff = sign_in(app, booked_clinic["reception"])
    day, grace = booked_clinic["day"], booked_clinic["grace"]
    body = page(staff, f"/staff/diary?site=riverside&day={day}")
    assert re.search(r'<th scope="col">\s*Clara Clinician', body) and re.search(r'<th scope="col">\s*Dev Physio', body)
    assert "<caption" in body and f"Appointments and free times at Riverside on {day:%A} {day.day} {day:%B %Y}" in body
    start = local_start(booked_clinic["slot"])
    assert re.search(rf'<th scope="row" class="diary__time">{start:%H:%M}</th>\s*<td class="diary__cell diary__cell--appointment">', body)
    assert f'href="/staff/requests/{grace}">Grace Hopper</a>' in body and "Urgent" in body
    assert "Alan Turing" not in body  # at West Green
    assert body.count("09:00–17:00") == 2 and "diary__cell--free" in body and ">Free<" in body
    assert f'href="/staff/diary?site=riverside&day={day - timedelta(days=1)}">Previous day' in body
    assert f'href="/staff/diary?site=riverside&day={day + timedelta(days=1)}">Next day' in body
    assert '<option value="west-green">West Green</option>' in body and '<option value="riverside" selected>' in body
    today = page(staff, "/staff/diary?site=riverside")
    assert f"{today_in_london():%A} {today_in_london().day} {today_in_london():%B %Y} (today)" in today
    assert 'aria-current="date">Today</a>' in today


def test_the_week_view_shows_each_day_by_practitioner_and_marks_today(app, booked_clinic):
    staff = sign_in(app, booked_clinic["clinician"])  # clinicians read the diary too
    day = booked_clinic["day"]
    monday = day - timedelta(days=day.weekday())
    body = page(staff, f"/staff/diary/week?site=west-green&week={day}")
    assert f"Week of {monday:%A} {monday.day} {monday:%B %Y}" in body
    assert "Alan Turing" in body and "Grace Hopper" not in body and "Dev Physio" not in body
    assert re.search(r"\d+ free times?, first \d\d:\d\d", body)
    assert f'href="/staff/diary/week?site=west-green&week={monday + timedelta(days=7)}">Next week' in body
    this_week = page(staff, "/staff/diary/week?site=riverside")
    assert 'class="diary__today"' in this_week and "Today</strong>" in this_week


def test_the_day_list_prints_a_practitioners_day_at_every_site(app, booked_clinic):
    staff = sign_in(app, booked_clinic["reception"])
    body = page(staff, f"/staff/diary/practitioners/{booked_clinic['clara']}?day={booked_clinic['day']}")
    rows = re.findall(r"<tr[^>]*>\s*<td>(\d\d:\d\d)–\d\d:\d\d</td>\s*<th scope=\"row\">([^<]+)</th>\s*<td><a[^>]*>(\w{8})</a></td>"
                      r"\s*<td>([^<]+)</td>\s*<td>(\w+)</td>\s*<td>([^<]+)</td>", body)
    assert [(name, reference, phone, urgency, site) for _, name, reference, phone, urgency, site in rows] == [
        ("Grace Hopper", booked_clinic["grace"], "07400 111222", "Urgent", "Riverside"),
        ("Alan Turing", booked_clinic["alan"], "07400 123456", "Routine", "West Green"),
    ]
    assert rows[0][0] == f"{local_start(booked_clinic['slot']):%H:%M}"
    css = app.test_client().get("/static/css/app.css").get_data(as_text=True)
    assert re.search(r"@media print \{[^}]*\.staff-nav[^}]*display: none", css)
    assert staff.client.get("/staff/diary/practitioners/999999").status_code == 404


def test_a_clinician_sees_their_own_day_and_one_without_a_practitioner_is_told_why(app, booked_clinic, make_staff):
    mine = page(sign_in(app, booked_clinic["clinician"]), f"/staff/diary/mine?day={booked_clinic['day']}")
    assert "My day: Clara Clinician" in mine and "Grace Hopper" in mine and "Alan Turing" in mine
    assert '>My day</a>' in mine
    other = page(sign_in(app, make_staff("clinician", name="Nell Newcomer")), f"/staff/diary/mine?day={booked_clinic['day']}")
    assert "not linked to a practitioner" in other and "Grace Hopper" not in other
    assert ">My day</a>" not in page(sign_in(app, booked_clinic["reception"]), "/staff/diary")


@pytest.mark.parametrize("query", ["day=9999-12-31", "day=0001-01-01", "day=2026-02-30", "day=tomorrow", "site=atlantis",
                                   "site=riverside&day=2100-01-01"])
@pytest.mark.parametrize("path", ["/staff/diary", "/staff/diary/week", "/staff/diary/mine"])
def test_a_bad_day_or_site_gets_a_message_next_to_the_field_not_a_server_error(app, booked_clinic, path, query):
    staff = sign_in(app, booked_clinic["reception"])
    if path.endswith("/week"):
        query = query.replace("day=", "week=")
    if path.endswith("/mine") and query.startswith("site="):
        return  # a day list has no site
    response = staff.client.get(f"{path}?{query}")
    body = response.get_data(as_text=True)
    assert response.status_code == 400
    field = "site" if "atlantis" in query else ("week" if path.endswith("/week") else "day")
    assert f'id="{field}-error"' in body and error_messages(body)
    assert body.startswith("<!doctype html>") and "Error:" in body.split("</title>")[0]


def test_the_last_day_shown_has_no_next_day_and_the_clock_changes_show_23_and_25_hours(app, make_staff):
    """A practitioner working Sunday nights 00:00-04:00: the spring Sunday has no 01:xx row, the
    autumn Sunday shows 01:00 twice (BST, then GMT); 2099-12-31 is shown without a next day."""
    new_practitioner(app, "Nina Nights", hours=((6, time(0), time(4)),))
    staff = sign_in(app, make_staff("reception"))
    spring = page(staff, "/staff/diary?site=riverside&day=2027-03-28")
    spring_rows = re.findall(r'<th scope="row" class="diary__time">([^<]+)</th>', spring)
    assert spring_rows[:4] == ["00:00 GMT", "00:15 GMT", "00:30 GMT", "00:45 GMT"] and spring_rows[4] == "02:00 BST"
    assert len(spring_rows) == 3 * 4 and "the clocks change" in spring
    autumn = page(staff, "/staff/diary?site=riverside&day=2026-10-25")
    autumn_rows = re.findall(r'<th scope="row" class="diary__time">([^<]+)</th>', autumn)
    assert len(autumn_rows) == 5 * 4 and autumn_rows.count("01:00 BST") == 1 and autumn_rows.count("01:00 GMT") == 1
    last = page(staff, "/staff/diary?site=riverside&day=2099-12-31")
    assert "Next day" not in last and "Previous day" in last
    assert "Next week" not in page(staff, "/staff/diary/week?site=riverside&week=2099-12-31")


def test_names_in_the_diary_are_shown_as_text(app, make_staff):
    reception = make_staff("reception")
    clara = new_practitioner(app, "Clara <b>Clinician</b>")
    reference = new_request(app, first="Ada")
    with app.app_context():  # the row as an import or a bug might leave it
        stored = db.session.execute(db.select(AssessmentRequest).where(AssessmentRequest.reference == reference)).scalar_one()
        stored.last_name = "<script>alert(1)</script>"
        db.session.commit()
    slot = free_slot(app)
    book_appointment(app, reference, reception, slot)
    staff = sign_in(app, reception)
    for path in (f"/staff/diary?site=riverside&day={local_start(slot).date()}", f"/staff/diary/week?site=riverside&week={local_start(slot).date()}",
                 f"/staff/diary/practitioners/{clara}?day={local_start(slot).date()}"):
        body = staff.client.get(path).get_data(as_text=True)
        assert "<script>alert(1)</script>" not in body and "<b>Clinician</b>" not in body
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in body


def _queries(app, client, path: str) -> int:
    with app.app_context():
        engine = db.engine
    statements = []
    listener = lambda *args: statements.append(args[2])  # noqa: E731
    event.listen(engine, "before_cursor_execute", listener)
    try:
        assert client.get(path).status_code == 200
    finally:
        event.remove(engine, "before_cursor_execute", listener)
    return len([statement for statement in statements if not statement.lstrip().upper().startswith(("SAVEPOINT", "RELEASE"))])


def test_the_week_and_day_views_take_a_handful_of_queries_however_many_appointments(app, make_staff):
    """No query per appointment or per practitioner: the week with 1 or 12 bookings costs the same."""
    reception = make_staff("reception")
    for name in ("Clara", "Dev", "Eve"):
        new_practitioner(app, name)
    first = new_request(app)
    # A working day from its start: late in the afternoon, today has too few free times left for twelve.
    day = next(day for day in (today_in_london() + timedelta(days=ahead) for ahead in range(1, 8)) if day.weekday() < 5)
    book_appointment(app, first, reception, free_slot(app, day=day))
    staff = sign_in(app, reception)
    week, day_path = f"/staff/diary/week?site=riverside&week={day}", f"/staff/diary?site=riverside&day={day}"
    before = (_queries(app, staff.client, week), _queries(app, staff.client, day_path))
    for number in range(11):
        book_appointment(app, new_request(app, first=f"Patient{chr(65 + number)}"), reception, free_slot(app, day=day))
    after = (_queries(app, staff.client, week), _queries(app, staff.client, day_path))
    assert after == before and max(after) <= 12, after
    # Seen again at the same version of the diary, its set-up and free times are kept, and the
    # week's table too: the staff member and the version; the day also reads the appointments with
    # their patients and the day's time away.
    assert (_queries(app, staff.client, week), _queries(app, staff.client, day_path)) == (2, 4)


def test_time_away_shows_in_the_day_view_with_its_note_as_text(app, booked_clinic):
    """Clara is away from 11:00 to 13:00 on the booked day (a note with markup in it), and the whole
    clinic is closed from 16:00 at Riverside only: reception sees why those hours have no free times."""
    day, clara = booked_clinic["day"], booked_clinic["clara"]
    at = lambda hour: datetime.combine(day, time(hour), LONDON).astimezone(timezone.utc)  # noqa: E731
    with app.app_context():
        db.session.add_all([
            DiaryException(kind="away", practitioner_id=clara, starts_at=at(11), ends_at=at(13), note="<b>Course</b>"),
            DiaryException(kind="away", site_code="riverside", starts_at=at(16), ends_at=at(18), note="Staff meeting"),
            DiaryException(kind="away", site_code="west-green", starts_at=at(9), ends_at=at(18), note="West Green closed"),
        ])
        db.session.commit()
    staff = sign_in(app, booked_clinic["reception"])
    raw = staff.client.get(f"/staff/diary?site=riverside&day={day}").get_data(as_text=True)
    assert "&lt;b&gt;Course&lt;/b&gt;" in raw and "<b>Course" not in raw
    body = html.unescape(raw)
    assert re.search(r'<th scope="row" class="diary__time">11:00</th>\s*<td class="diary__cell diary__cell--away">Away: <b>Course</b>', body)
    assert body.count("Away: <b>Course</b>") == 1 and body.count("Away: Staff meeting") == 2  # once in each column
    assert "West Green closed" not in body


def _week_table(body: str) -> str:
    return body[body.index('<div class="table-scroll diary"'):body.index("</table>")]


def test_the_weeks_table_is_drawn_once_per_version_of_the_diary_and_every_change_shows_at_once(app, booked_clinic, make_staff):
    """Kept for the diary's version, which the database raises with any change to the diary or to
    what it shows of a booked patient: a renamed patient, a new urgency or a cancellation shows on
    the next view, and the table kept for the older version is gone from memory."""
    kept = app.extensions["kept_fragments"]
    path = f"/staff/diary/week?site=riverside&week={booked_clinic['day']}"
    reception, clinician = sign_in(app, booked_clinic["reception"]), sign_in(app, booked_clinic["clinician"])
    first = page(reception, path)
    assert "Grace Hopper" in first and len(kept.fragments) == 1
    assert _week_table(page(clinician, path)) == _week_table(first) and len(kept.fragments) == 1  # the same table whoever looks
    assert "Clara Clinician (clinician)" in page(clinician, path)  # their own name is outside it

    grace = AssessmentRequest.reference == booked_clinic["grace"]
    changes = [
        (update(AssessmentRequest).where(grace).values(first_name="Gracie"), lambda body: "Gracie Hopper" in body and "Grace Hopper" not in body),
        (update(AssessmentRequest).where(grace).values(urgency="urgent", urgency_rank=1), lambda body: "tag--urgent" in body),
        (update(Appointment).values(cancelled=True), lambda body: "Gracie" not in body),
    ]
    for change, shows in changes:
        with app.app_context():
            db.session.execute(change)
            db.session.commit()
        body = page(reception, path)
        assert shows(body), change
        assert len(kept.fragments) == 1 and all("Grace Hopper" not in fragment for fragment in kept.fragments.values())


def test_the_week_shows_fewer_free_times_as_the_day_goes_by(app, make_staff, monkeypatch):
    make_staff("reception", email="desk@example.com")
    new_practitioner(app, "Clara Clinician")
    tuesday = today_in_london() + timedelta(days=(1 - today_in_london().weekday()) % 7 or 7)
    staff = sign_in(app, "desk@example.com")
    path = f"/staff/diary/week?site=riverside&week={tuesday}"
    seen = []
    for local in (time(8), time(10, 5)):
        moment = datetime.combine(tuesday, local, LONDON).astimezone(timezone.utc)
        monkeypatch.setattr(diary_routes, "utcnow", lambda: moment)
        seen.append(re.search(r"(\d+) free times, first (\d\d:\d\d)", _week_table(page(staff, path)).split('class="diary__today"')[1]).groups())
    assert seen[0][1] == "09:00" and seen[1][1] == "10:15" and int(seen[1][0]) < int(seen[0][0])


def test_a_kept_table_cannot_read_who_is_looking(app):
    environment = app.extensions["kept_fragments"].environment
    with pytest.raises(Exception, match="may not read 'current_user'"):
        environment.from_string("{{ current_user.name }}").render()
