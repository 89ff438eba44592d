"""axe-core (WCAG 2.2 A and AA) on the right-of-access pages, reached as an admin reaches them:
the search, its errors, the requests found, and the record prepared as a page."""

from __future__ import annotations

from tests.factories import STAFF_PASSWORD, new_request
from tests.support.browser import ADMIN_EMAIL, VIEWPORTS, axe_violations, describe, screenshot


def test_the_right_of_access_pages_have_no_axe_violations(page, live_server):
    email = f"access.{page.viewport_name}@example.com"
    reference = new_request(live_server.app, first="Grace", last="Hopper", email=email, phone="07400 555666")
    checked: dict[str, list[dict]] = {}

    def check(name: str) -> None:
        page.wait_for_load_state()
        checked[name] = axe_violations(page)
        screenshot(page, f"axe-subject-access-{name}")

    def press(role: str, name: str) -> None:
        with page.expect_navigation():
            page.get_by_role(role, name=name, exact=True).click()

    page.goto(live_server + "/staff/login")
    page.get_by_label("Email address").fill(ADMIN_EMAIL)
    page.get_by_label("Password").fill(STAFF_PASSWORD)
    press("button", "Sign in")
    press("link", "Right of access")
    check("search")
    press("button", "Find their requests")
    assert page.title().startswith("Error:") and page.get_by_role("alert").filter(has_text="There is a problem").is_visible()
    check("search-errors")
    page.get_by_label("Reference, email address or phone number").fill(email.upper())
    press("button", "Find their requests")
    assert page.get_by_label(reference, exact=False).is_checked()  # the only request found is chosen already
    check("found")
    press("button", "Prepare their record")
    assert page.get_by_role("heading", name=f"Request {reference}").is_visible()
    check("record")

    size = VIEWPORTS[page.viewport_name]
    print(f"\naxe-core on the right-of-access pages, {page.viewport_name} ({size['width']}x{size['height']}): {len(checked)} pages checked")
    failing = {name: violations for name, violations in checked.items() if violations}
    assert not failing, "\n\n".join(f"{name}:\n{describe(violations)}" for name, violations in failing.items())
