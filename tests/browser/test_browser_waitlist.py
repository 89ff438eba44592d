"""axe-core (WCAG 2.2 A and AA) on the waitlist, used as patients and reception would: asking for
an earlier time from the manage page, the offer of a freed time, taking it, the page for the one
who was too late, a link that opens nothing, and reception's waitlist page."""

from __future__ import annotations

import re

from intake.platform.extensions import db
from intake.platform.timeutil import utcnow
from intake.self_service import services as manage
from intake.waitlist.services import WaitlistRules
from tests.factories import STAFF_PASSWORD, book_appointment, free_slot, new_practitioner, new_request, outbox
from tests.support.browser import ADMIN_EMAIL, axe_violations, describe, screenshot

WEEKDAYS = {"days": ["mon", "tue", "wed", "thu", "fri"], "times": ["morning", "afternoon"]}


def test_the_waitlist_pages_have_no_axe_violations(page, live_server):
    app, viewport = live_server.app, page.viewport_name
    clara = new_practitioner(app, f"Clara Waitlist {viewport.title()}")

    def booked(name: str, index: int) -> str:
        email = f"{name.lower()}.waitlist.{viewport}@example.com"
        book_appointment(app, new_request(app, first=name, email=email, when_and_where=WEEKDAYS), ADMIN_EMAIL,
                         free_slot(app, practitioner=clara, index=index))
        [message] = [message for message in outbox(app) if message.recipient == email and message.kind == "patient_booking_confirmation"]
        return re.search(r"http\S+/appointment\?token=\S+", message.text_body).group(0).replace(app.config["PUBLIC_BASE_URL"], live_server)

    def offer_link(name: str) -> str:
        message, *_later = [message for message in outbox(app) if message.kind == "waitlist_offer" and message.recipient == f"{name.lower()}.waitlist.{viewport}@example.com"]
        return re.search(r"http\S+/appointment/offer\?token=\S+", message.text_body).group(0).replace(app.config["PUBLIC_BASE_URL"], live_server)

    alan, grace, hedy = booked("Alan", 45), booked("Grace", 100), booked("Hedy", 110)
    checked: dict[str, list[dict]] = {}

    def check(name: str) -> None:
        page.wait_for_load_state()
        checked[name] = axe_violations(page)
        screenshot(page, f"axe-waitlist-{name}")

    def press(role: str, name: str) -> None:
        with page.expect_navigation():
            page.get_by_role(role, name=name, exact=True).click()

    for link in (hedy, grace):  # Hedy asks first
        page.goto(link)
        press("link", "Ask for an earlier time")
        check("ask")
        press("button", "Tell me about earlier times")
        assert page.get_by_text("You are on the waitlist.").is_visible()
    check("manage-waiting")
    press("link", "See how the waitlist works, or leave it")
    check("waiting")

    with app.app_context():  # Alan cancels through his link: his time is offered to both
        token = alan.rsplit("token=", 1)[1]
        managed = manage.open_link(token, now=utcnow(), cutoff_hours=app.config["MANAGE_CUTOFF_HOURS"], sites=app.config["CLINIC_SITES"])
        manage.cancel(token, seen=managed.appointment.sequence, reason="", now=utcnow(), cutoff_hours=app.config["MANAGE_CUTOFF_HOURS"],
                      sites=app.config["CLINIC_SITES"], settings=WaitlistRules.from_config(app.config).mail,
                      offers=WaitlistRules.from_config(app.config))
        db.session.commit()

    page.goto(offer_link("Grace"))
    assert page.get_by_role("heading", name="An earlier time for you, Grace").is_visible()
    check("offer")
    press("button", "Take the earlier time")
    assert page.get_by_role("heading", name="The earlier time is yours").is_visible()
    check("taken")
    page.goto(offer_link("Hedy"))
    assert page.get_by_role("heading", name="Sorry, this time has gone").is_visible()
    check("gone")
    page.goto(live_server + "/appointment/offer?token=nothing")
    check("unknown")

    page.goto(live_server + "/staff/login")
    page.get_by_label("Email address").fill(ADMIN_EMAIL)
    page.get_by_label("Password").fill(STAFF_PASSWORD)
    with page.expect_navigation():
        page.get_by_role("button", name="Sign in").click()
    page.goto(live_server + "/staff/waitlist?site=riverside")
    assert page.get_by_role("heading", name="Waitlist: Riverside").is_visible()
    check("reception")
    page.goto(live_server + "/staff/waitlist?site=atlantis")
    assert page.title().startswith("Error:")
    check("reception-error")

    assert all(not violations for violations in checked.values()), describe([v for found in checked.values() for v in found])
