"""axe-core (WCAG 2.2 A and AA) on the pages of a patient's rights to correction and erasure,
reached as an admin reaches them from the right-of-access search: correcting contact details (and
its errors), the erasure's confirmation (and its error), what erasure did, and the erased request."""

from __future__ import annotations

from tests.factories import STAFF_PASSWORD, new_request
from tests.support.browser import ADMIN_EMAIL, VIEWPORTS, axe_violations, describe, screenshot


def test_the_correction_and_erasure_pages_have_no_axe_violations(page, live_server):
    email = f"rights.{page.viewport_name}@example.com"
    reference = new_request(live_server.app, first="Grace", last="Hopper", email=email, phone="07400 555777")
    checked: dict[str, list[dict]] = {}

    def check(name: str) -> None:
        page.wait_for_load_state()
        checked[name] = axe_violations(page)
        screenshot(page, f"axe-rights-{name}")

    def press(role: str, name: str) -> None:
        with page.expect_navigation():
            page.get_by_role(role, name=name, exact=True).click()

    page.goto(live_server + "/staff/login")
    page.get_by_label("Email address").fill(ADMIN_EMAIL)
    page.get_by_label("Password").fill(STAFF_PASSWORD)
    press("button", "Sign in")
    page.goto(live_server + f"/staff/subject-access?q={email}")
    press("link", f"Correct contact details of {reference}")
    check("correct")
    page.get_by_label("Email address").fill("not an address")
    press("button", "Save the corrected details")
    assert page.title().startswith("Error:") and page.get_by_role("alert").filter(has_text="There is a problem").is_visible()
    check("correct-errors")
    page.get_by_label("Email address").fill(f"corrected.{email}")
    press("button", "Save the corrected details")
    assert page.get_by_text("corrected the contact details: email").is_visible()
    press("link", "Erase personal data")
    check("erase")
    press("button", "Erase their personal data")
    assert page.title().startswith("Error:")
    check("erase-errors")
    page.get_by_label("Why are you erasing this request's personal data?").fill("Asked by phone, identity checked")
    press("button", "Erase their personal data")
    assert page.get_by_role("heading", name=f"Personal data erased {reference}").is_visible()
    check("erased")
    press("link", "Back to the request")
    assert page.get_by_role("heading", name=f"Erased request {reference}").is_visible() and "Grace" not in page.content()
    check("erased-request")

    size = VIEWPORTS[page.viewport_name]
    print(f"\naxe-core on the correction and erasure pages, {page.viewport_name} ({size['width']}x{size['height']}): {len(checked)} pages checked")
    failing = {name: violations for name, violations in checked.items() if violations}
    assert not failing, "\n\n".join(f"{name}:\n{describe(violations)}" for name, violations in failing.items())
