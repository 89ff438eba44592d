"""axe-core (WCAG 2.2 A and AA) on the pages of a patient's rights to correction and erasure,
reached as an admin reaches them from the right-of-access search: correcting contact details (and
its errors), the erasure's confirmation (and its error), what erasure did, and the erased request."""

from __future__ import annotations

from tests.factories import new_request
from tests.support.browser import AxeWalk


def test_the_correction_and_erasure_pages_have_no_axe_violations(page, live_server):
    email = f"rights.{page.viewport_name}@example.com"
    reference = new_request(live_server.app, first="Grace", last="Hopper", email=email, phone="07400 555777")
    walk = AxeWalk(page, live_server, "rights")
    walk.sign_in()
    page.goto(live_server + f"/staff/subject-access?q={email}")
    walk.press("link", f"Correct contact details of {reference}")
    walk.check("correct")
    page.get_by_label("Email address").fill("not an address")
    walk.press("button", "Save the corrected details")
    assert page.title().startswith("Error:") and page.get_by_role("alert").filter(has_text="There is a problem").is_visible()
    walk.check("correct-errors")
    page.get_by_label("Email address").fill(f"corrected.{email}")
    walk.press("button", "Save the corrected details")
    assert page.get_by_text("corrected the contact details: email").is_visible()
    walk.press("link", "Erase personal data")
    walk.check("erase")
    walk.press("button", "Erase their personal data")
    assert page.title().startswith("Error:")
    walk.check("erase-errors")
    page.get_by_label("Why are you erasing this request's personal data?").fill("Asked by phone, identity checked")
    walk.press("button", "Erase their personal data")
    assert page.get_by_role("heading", name=f"Personal data erased {reference}").is_visible()
    walk.check("erased")
    walk.press("link", "Back to the request")
    assert page.get_by_role("heading", name=f"Erased request {reference}").is_visible() and "Grace" not in page.content()
    walk.check("erased-request")
    walk.assert_no_violations("the correction and erasure pages")
