"""The list's rows come from the Jinja template: escaped, linked, with the site's name and a
phone number written as people write it."""

from __future__ import annotations

from datetime import datetime, timezone
from types import SimpleNamespace

from flask import render_template
from sqlalchemy import select

from tests.factories import Patient
from intake.appointments.statuses import STATUS_WORDS
from intake.journey.models import AssessmentRequest
from intake.platform.extensions import db
from intake.staff.forms import ListDates
from intake.staff.listing import RequestFilters


def test_the_list_rows_escape_every_typed_value(app):
    """Moved from test_fast_paths (the rows were rendered in Python then); same markup, from the template."""
    row = SimpleNamespace(
        reference="ABCD2345", urgency="urgent", first_name='<b>"Ada"</b>', last_name="O'Neil & Co", phone="+447400", phone_display="<07400>",
        site_code="river<side>", status="new", created_at=datetime(2026, 7, 1, 11, 30, tzinfo=timezone.utc),
    )
    with app.test_request_context("/staff/"):
        html = render_template(
            "staff/requests.html", rows=[row], total=1, page=1, pages=1, filters=RequestFilters(),
            counts={status: 0 for status in STATUS_WORDS}, statuses={**STATUS_WORDS, "new": "New <today>"},
            site_names={}, current_user=SimpleNamespace(role="reception"), dates=ListDates(),
        )
    assert '<tr class="table__row--urgent">' in html
    assert '<a href="/staff/requests/ABCD2345">ABCD2345</a>' in html
    assert '<strong class="tag tag--urgent">Urgent</strong>' in html
    assert "&lt;b&gt;&#34;Ada&#34;&lt;/b&gt; O&#39;Neil &amp; Co" in html
    assert "&lt;07400&gt;" in html and "river&lt;side&gt;" in html and "New &lt;today&gt;" in html
    assert "1 Jul 2026, 12:30" in html  # British Summer Time
    assert "<b>" not in html


def test_the_list_shows_the_sites_name_and_a_national_phone_number(app, staff_client):
    Patient(app.test_client()).complete()  # 07400 123456 at Riverside (site code riverside)
    page = staff_client("reception").client.get("/staff/").get_data(as_text=True)
    assert "<td>Riverside</td>" in page and "<td>riverside</td>" not in page
    assert "<td>07400 123456</td>" in page and "+447400123456" not in page


def test_a_request_keeps_its_number_as_written_so_the_list_need_not_format_it(app):
    Patient(app.test_client()).complete()  # 07400 123456
    with app.app_context():
        stored = db.session.execute(select(AssessmentRequest.phone, AssessmentRequest.phone_display)).one()
    assert tuple(stored) == ("+447400123456", "07400 123456")
