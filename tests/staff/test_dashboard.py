"""The attendance dashboard: per site and London month, booked, attended, did not attend,
cancelled in good time or late, and refilled from the waitlist; the same figures as a chart (an
SVG image, no script) and a CSV."""

from __future__ import annotations

import csv
import io
from datetime import datetime, timedelta, timezone

import pytest

from intake.appointments.models import Appointment
from intake.journey.models import AssessmentRequest
from intake.mail.models import OutboxMessage
from intake.platform.extensions import db
from intake.staff import dashboard
from intake.waitlist.models import WaitlistEntry, WaitlistOffer
from tests.factories import new_practitioner, new_request, sign_in

UTC = timezone.utc


def add(app, practitioner: int, starts: datetime, *, site="riverside", outcome=None, cancelled_hours_before=None) -> None:
    """An appointment written directly (of any month), as the diary would hold it."""
    with app.app_context():
        request_id = db.session.execute(db.select(AssessmentRequest.id).limit(1)).scalar_one()
        db.session.add(Appointment(
            request_id=request_id, practitioner_id=practitioner, site_code=site, starts_at=starts, minutes=45, buffer_minutes=15,
            blocked_until=starts + timedelta(hours=1), outcome=outcome, cancelled=cancelled_hours_before is not None,
            cancelled_at=None if cancelled_hours_before is None else starts - timedelta(hours=cancelled_hours_before),
        ))
        db.session.commit()


@pytest.fixture
def history(app, make_staff):
    clara = new_practitioner(app, "Clara Clinician", sites=("riverside", "west-green"))
    new_request(app)
    # October 2026 at Riverside: two attended, one missed, one cancelled a week before, one the evening before.
    for day, outcome in ((5, "attended"), (6, "attended"), (7, "no_show")):
        add(app, clara, datetime(2026, 10, day, 9, tzinfo=UTC), outcome=outcome)
    add(app, clara, datetime(2026, 10, 8, 9, tzinfo=UTC), cancelled_hours_before=24 * 7)
    add(app, clara, datetime(2026, 10, 9, 9, tzinfo=UTC), cancelled_hours_before=12)
    # 31 October 23:30 UTC is still 31 October in London (GMT since the clocks went back on the 25th).
    add(app, clara, datetime(2026, 10, 31, 23, 30, tzinfo=UTC), outcome="attended")
    # 30 September 23:30 UTC is 1 October 00:30 in London (BST): October's.
    add(app, clara, datetime(2026, 9, 30, 23, 30, tzinfo=UTC), outcome="no_show")
    add(app, clara, datetime(2026, 11, 2, 9, tzinfo=UTC), site="west-green", outcome="attended")
    return make_staff("reception")


def test_the_figures_count_each_appointment_in_its_london_month_with_late_cancellations_apart(app, history):
    with app.app_context():
        months = dashboard.months_ending(datetime(2026, 11, 15).date(), 3)
        figures = {(row.site_code, row.month.month): row for row in dashboard.monthly_figures(["riverside", "west-green"], months, cutoff_hours=24)}
    october = figures[("riverside", 10)]
    assert (october.booked, october.attended, october.no_show, october.cancelled_early, october.cancelled_late) == (7, 3, 2, 1, 1)
    assert october.attendance_rate == pytest.approx(3 / 5)
    assert figures[("riverside", 9)].booked == 0 and figures[("west-green", 11)].attended == 1
    assert figures[("riverside", 11)].attendance_rate is None


def test_the_page_chart_and_csv_show_the_same_figures(app, history, monkeypatch):
    monkeypatch.setattr("intake.staff.dashboard_routes.today_in_london", lambda: datetime(2026, 11, 15).date())
    staff = sign_in(app, history)
    page = staff.client.get("/staff/dashboard?site=riverside&months=3").get_data(as_text=True)
    assert "October 2026" in page and "60%" in page and "Cancelled late" in page and "West Green</caption>" not in page
    chart = staff.client.get("/staff/dashboard/appointments.svg?site=riverside&months=3")
    assert chart.mimetype == "image/svg+xml" and "Oct 2026" in chart.get_data(as_text=True)
    rows = list(csv.DictReader(io.StringIO(staff.client.get("/staff/dashboard.csv?site=riverside&months=3").get_data(as_text=True))))
    assert [row["month"] for row in rows] == ["2026-09", "2026-10", "2026-11"]
    assert rows[1] == {"site": "riverside", "month": "2026-10", "booked": "7", "attended": "3", "no_show": "2",
                       "cancelled_early": "1", "cancelled_late": "1", "refilled": "0", "reminders_sent": "0", "reminders_failed": "0"}


@pytest.mark.parametrize("query", ["site=atlantis", "months=9999", "months=-1", "site=%00", "months=" + "9" * 400])
def test_a_bad_query_gets_the_default_view_with_a_message_never_a_server_error(app, history, query):
    staff = sign_in(app, history)
    response = staff.client.get(f"/staff/dashboard?{query}")
    assert response.status_code == 400 and ("%00" in query or "There is a problem" in response.get_data(as_text=True))
    expected = 400 if "%00" in query else 200  # a NUL anywhere in an address is refused before any view
    assert staff.client.get(f"/staff/dashboard.csv?{query}").status_code == expected
    assert staff.client.get(f"/staff/dashboard/appointments.svg?{query}").status_code == expected


def test_clinicians_do_not_see_the_dashboard(app, history, make_staff):
    clinician = sign_in(app, make_staff("clinician", email="c@example.com"))
    assert clinician.client.get("/staff/dashboard").status_code == 403
    assert "Attendance" not in clinician.client.get("/staff/").get_data(as_text=True)


def offer(app, practitioner: int, starts: datetime, outcome: str | None, *, site="riverside") -> None:
    """An offer from the waitlist of a time, written directly, answered as `outcome` (None: still open)."""
    with app.app_context():
        appointment = db.session.execute(db.select(Appointment).limit(1)).scalar_one()
        entry = WaitlistEntry(request_id=appointment.request_id, appointment_id=appointment.id, asked_at=starts - timedelta(days=9),
                              ended_at=starts - timedelta(days=2), ended_because="left")
        db.session.add(entry)
        db.session.flush()
        offered = starts - timedelta(days=3)
        db.session.add(WaitlistOffer(entry_id=entry.id, practitioner_id=practitioner, site_code=site, starts_at=starts,
                                     token_digest=f"{starts.isoformat()}{outcome}"[:64].ljust(64, "0"), channel="email", offered_at=offered,
                                     expires_at=offered + timedelta(hours=2), outcome=outcome, answered_at=offered if outcome else None))
        db.session.commit()


def test_times_refilled_from_the_waitlist_count_in_the_london_month_they_are_held(app, history, monkeypatch):
    with app.app_context():
        clara = db.session.execute(db.select(Appointment.practitioner_id).limit(1)).scalar_one()
    offer(app, clara, datetime(2026, 9, 30, 23, 30, tzinfo=UTC), "taken")  # 1 October 00:30 in London
    offer(app, clara, datetime(2026, 10, 20, 9, tzinfo=UTC), "taken")
    offer(app, clara, datetime(2026, 10, 20, 9, tzinfo=UTC), "gone")  # the same time, offered to another: not counted twice
    offer(app, clara, datetime(2026, 10, 21, 9, tzinfo=UTC), None)  # never taken
    offer(app, clara, datetime(2026, 11, 3, 9, tzinfo=UTC), "taken", site="west-green")
    monkeypatch.setattr("intake.staff.dashboard_routes.today_in_london", lambda: datetime(2026, 11, 15).date())
    staff = sign_in(app, history)
    rows = {(row["site"], row["month"]): row["refilled"] for row in csv.DictReader(io.StringIO(
        staff.client.get("/staff/dashboard.csv?months=3").get_data(as_text=True)))}
    assert {key: count for key, count in rows.items() if key[0] in ("riverside", "west-green")} == {
        ("riverside", "2026-09"): "0", ("riverside", "2026-10"): "2", ("riverside", "2026-11"): "0",
        ("west-green", "2026-09"): "0", ("west-green", "2026-10"): "0", ("west-green", "2026-11"): "1"}
    page = staff.client.get("/staff/dashboard?site=riverside&months=3").get_data(as_text=True)
    assert "Refilled from the waitlist</th>" in page
    chart = staff.client.get("/staff/dashboard/appointments.svg?site=riverside&months=3").get_data(as_text=True)
    assert "Refilled from the waitlist" in chart


def reminder(app, appointment_starts: datetime, status: str, kind: str = "reminder_before") -> None:
    """A reminder in the outbox for the appointment starting then, as the worker left it."""
    with app.app_context():
        appointment = db.session.execute(db.select(Appointment).where(Appointment.starts_at == appointment_starts)).scalar_one()
        db.session.add(OutboxMessage(
            channel="email", kind=kind, request_id=appointment.request_id, appointment_id=appointment.id, recipient="a@example.com",
            subject="Reminder", text_body="", html_body="", message_id=f"<{kind}.{appointment.id}.{status}@test>", status=status,
            attempts=1, next_attempt_at=appointment_starts - timedelta(days=2), created_at=appointment_starts - timedelta(days=2),
        ))
        db.session.commit()


def test_reminders_sent_and_failed_count_with_their_appointments_month(app, history, monkeypatch):
    reminder(app, datetime(2026, 9, 30, 23, 30, tzinfo=UTC), "sent")  # its appointment is on 1 October in London
    reminder(app, datetime(2026, 10, 5, 9, tzinfo=UTC), "sent")
    reminder(app, datetime(2026, 10, 5, 9, tzinfo=UTC), "dead", kind="reminder_morning")
    reminder(app, datetime(2026, 10, 6, 9, tzinfo=UTC), "pending")  # still waiting: neither
    reminder(app, datetime(2026, 11, 2, 9, tzinfo=UTC), "dead")  # West Green
    monkeypatch.setattr("intake.staff.dashboard_routes.today_in_london", lambda: datetime(2026, 11, 15).date())
    staff = sign_in(app, history)
    rows = {(row["site"], row["month"]): (row["reminders_sent"], row["reminders_failed"]) for row in csv.DictReader(io.StringIO(
        staff.client.get("/staff/dashboard.csv?months=3").get_data(as_text=True)))}
    assert rows[("riverside", "2026-10")] == ("2", "1") and rows[("riverside", "2026-11")] == ("0", "0")
    assert rows[("west-green", "2026-11")] == ("0", "1")
    page = staff.client.get("/staff/dashboard?site=riverside&months=3").get_data(as_text=True)
    assert "Reminders sent</th>" in page and "Reminders that failed</th>" in page
    chart = staff.client.get("/staff/dashboard/reminders.svg?site=riverside&months=3")
    assert chart.mimetype == "image/svg+xml" and "Reminders by month" in chart.get_data(as_text=True)
    assert "Reminders that failed" in chart.get_data(as_text=True)
