"""axe-core (WCAG 2.2 A and AA) on the patient's manage pages, used as a patient would on a phone
or a computer: the appointment, choosing a new time, confirming it, a refused cancel, and the
cancellation; and the page for a link that opens nothing."""

from __future__ import annotations

import re

from tests.factories import book_appointment, free_slot, new_practitioner, new_request, outbox
from tests.support.browser import ADMIN_EMAIL, axe_violations, describe, screenshot


def test_the_manage_pages_have_no_axe_violations(page, live_server, monkeypatch):
    app = live_server.app
    monkeypatch.setitem(app.config, "MANAGE_CUTOFF_HOURS", 1)  # the new time may be tomorrow morning: still cancellable online
    email = f"manage.{page.viewport_name}@example.com"
    clara = new_practitioner(app, f"Clara {page.viewport_name.title()}")
    book_appointment(app, new_request(app, first="Grace", email=email), ADMIN_EMAIL, free_slot(app, practitioner=clara, index=40))
    [message] = [message for message in outbox(app) if message.recipient == email and message.kind == "patient_booking_confirmation"]
    link = re.search(r"http\S+/appointment\?token=\S+", message.text_body).group(0).replace(app.config["PUBLIC_BASE_URL"], live_server)
    checked: dict[str, list[dict]] = {}

    def check(name: str) -> None:
        page.wait_for_load_state()
        checked[name] = axe_violations(page)
        screenshot(page, f"axe-manage-{name}")

    def press(role: str, name: str) -> None:
        with page.expect_navigation():
            page.get_by_role(role, name=name, exact=True).click()

    page.goto(link)
    assert page.get_by_role("heading", name="Your appointment, Grace").is_visible()
    check("appointment")
    page.get_by_label("Why are you cancelling? (optional)").fill("x" * 201)
    press("button", "Cancel my appointment")
    assert page.title().startswith("Error:")
    check("cancel-errors")
    press("link", "Choose a new time")
    check("times")
    page.get_by_role("radio").nth(2).check()
    press("button", "Continue")
    check("confirm")
    press("button", "Move my appointment")
    assert page.get_by_text("Your appointment has moved").is_visible()
    page.get_by_label("Why are you cancelling? (optional)").fill("Feeling better")
    press("button", "Cancel my appointment")
    assert page.get_by_role("heading", name="Your appointment is cancelled").is_visible()
    check("cancelled")
    page.goto(link)
    assert page.get_by_role("heading", name="This link no longer works").is_visible()
    check("ended")
    page.goto(live_server + "/appointment?token=nothing")
    check("unknown")

    assert all(not violations for violations in checked.values()), describe([v for found in checked.values() for v in found])
