"""Reception's waitlist page: per site, who is waiting in order of asking, what each has been
offered and what became of it, and the times refilled; for reception and admins only."""

from __future__ import annotations

import html
import re

import pytest

from intake.appointments.models import Appointment
from intake.platform.extensions import db
from intake.platform.timeutil import utcnow
from intake.waitlist import services as waitlist
from intake.waitlist.models import WaitlistOffer
from tests.factories import book_appointment, free_slot, new_practitioner, new_request, sign_in

ANY_TIME = {"days": ["mon", "tue", "wed", "thu", "fri"], "times": ["morning", "afternoon"]}


def booked(app, reception: str, name: str, index: int, **when) -> int:
    reference = new_request(app, first=name, last="Tester", email=f"{name.lower()}@example.com", when_and_where={**ANY_TIME, **when})
    return book_appointment(app, reference, reception, free_slot(app, index=index))


def join(app, appointment_id: int) -> None:
    with app.app_context():
        waitlist.join(db.session.get(Appointment, appointment_id), utcnow())
        db.session.commit()


@pytest.fixture
def waiting(app, make_staff):
    """Alan's earlier time cancelled and offered to Hedy and Grace, who asked in that order; Ida waits at another site's list."""
    reception = make_staff("reception")
    new_practitioner(app, "Clara Clinician")
    alan = booked(app, reception, "Alan", 45)
    grace, hedy = booked(app, reception, "Grace", 100), booked(app, reception, "Hedy", 90)
    join(app, hedy), join(app, grace)
    with app.app_context():
        cancelled = db.session.get(Appointment, alan)
        cancelled.cancelled, cancelled.cancelled_at = True, utcnow()
        waitlist.after_cancelling([cancelled], waitlist.WaitlistRules.from_config(app.config), utcnow())
        db.session.commit()
    return reception


def page_text(response) -> str:
    return re.sub(r"\s+", " ", html.unescape(re.sub(r"<[^>]+>", " ", response.get_data(as_text=True))))


def test_reception_sees_who_is_waiting_in_order_of_asking_and_what_they_were_offered(app, waiting):
    staff = sign_in(app, waiting)
    response = staff.client.get("/staff/waitlist?site=riverside")
    assert response.status_code == 200
    shown = page_text(response)
    assert "Waiting (2)" in shown and shown.index("Hedy Tester") < shown.index("Grace Tester")
    assert shown.count("with Clara Clinician, by email") == 2 and shown.count(": Open until") == 2
    assert "Monday, Tuesday, Wednesday, Thursday, Friday; morning (8am to 12 noon), afternoon (12 noon to 5pm)" in shown
    assert "Waitlist" in staff.client.get("/staff/").get_data(as_text=True)


def test_a_taken_offer_shows_as_refilled_and_the_others_as_gone(app, waiting):
    with app.app_context():
        offers = db.session.execute(db.select(WaitlistOffer).order_by(WaitlistOffer.id)).scalars().all()
        offers[0].outcome, offers[0].answered_at = "taken", utcnow()
        offers[1].outcome, offers[1].answered_at = "gone", utcnow()
        db.session.commit()
    shown = page_text(sign_in(app, waiting).client.get("/staff/waitlist?site=riverside"))
    assert ": Taken" in shown and ": Gone to someone else" in shown
    refilled = shown[shown.index("Times refilled from the waitlist"):]
    assert "Hedy Tester" in refilled and "Clara Clinician" in refilled


@pytest.mark.parametrize("query", ["site=atlantis", "site=", "site=%C3%A9" * 50])
def test_a_bad_site_shows_the_first_site_with_a_message_never_a_server_error(app, waiting, query):
    response = sign_in(app, waiting).client.get(f"/staff/waitlist?{query}")
    assert response.status_code == 400 and "Choose one of the clinic's sites" in page_text(response)
    assert "Waitlist: Canal Side" in page_text(response)  # the first of the clinic's sites


def test_clinicians_do_not_see_the_waitlist(app, waiting, make_staff):
    clinician = sign_in(app, make_staff("clinician", email="c@example.com"))
    assert clinician.client.get("/staff/waitlist").status_code == 403
