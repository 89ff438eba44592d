"""axe-core (WCAG 2.2 A and AA) on the right-of-access pages, reached as an admin reaches them:
the search, its errors, the requests found, and the record prepared as a page."""

from __future__ import annotations

from tests.factories import new_request
from tests.support.browser import AxeWalk


def test_the_right_of_access_pages_have_no_axe_violations(page, live_server):
    email = f"access.{page.viewport_name}@example.com"
    reference = new_request(live_server.app, first="Grace", last="Hopper", email=email, phone="07400 555666")
    walk = AxeWalk(page, live_server, "subject-access")
    walk.sign_in()
    walk.press("link", "Right of access")
    walk.check("search")
    walk.press("button", "Find their requests")
    assert page.title().startswith("Error:") and page.get_by_role("alert").filter(has_text="There is a problem").is_visible()
    walk.check("search-errors")
    page.get_by_label("Reference, email address or phone number").fill(email.upper())
    walk.press("button", "Find their requests")
    assert page.get_by_label(reference, exact=False).is_checked()  # the only request found is chosen already
    walk.check("found")
    walk.press("button", "Prepare their record")
    assert page.get_by_role("heading", name=f"Request {reference}").is_visible()
    walk.check("record")
    walk.assert_no_violations("the right-of-access pages")
