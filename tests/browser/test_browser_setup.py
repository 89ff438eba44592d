"""axe-core (WCAG 2.2 A and AA) on every clinic set-up page, at phone and desktop widths, clean and
showing its errors, reached as an admin reaches them: from the back office's navigation.

Only refused posts are sent, and the one exception added (years ahead) is deleted again, so the
other browser tests' free times are untouched."""

from __future__ import annotations

from datetime import timedelta

from tests.factories import STAFF_PASSWORD
from tests.support.browser import ADMIN_EMAIL, VIEWPORTS, axe_violations, describe, screenshot
from intake.platform.timeutil import today_in_london


def test_every_set_up_page_has_no_axe_violations_clean_or_with_errors(page, live_server):
    checked: dict[str, tuple[str, list[dict]]] = {}

    def check(name: str) -> None:
        page.wait_for_load_state()
        checked[name] = (page.url.removeprefix(live_server), axe_violations(page))
        screenshot(page, f"axe-setup-{name}")

    def press(role: str, name: str) -> None:
        with page.expect_navigation():
            page.get_by_role(role, name=name, exact=True).click()

    def check_with_errors(name: str, button: str) -> None:
        press("button", button)
        assert page.title().startswith("Error:"), f"{name}: no errors shown"
        assert page.get_by_role("alert").filter(has_text="There is a problem").is_visible()
        check(f"{name}-errors")

    page.goto(live_server + "/staff/login")
    page.get_by_label("Email address").fill(ADMIN_EMAIL)
    page.get_by_label("Password").fill(STAFF_PASSWORD)
    press("button", "Sign in")
    press("link", "Clinic set-up")
    assert page.get_by_role("heading", name="Practitioners").is_visible()
    check("index")

    press("link", "Add a practitioner")
    check("practitioner-new")
    check_with_errors("practitioner-new", "Save")

    page.goto(live_server + "/staff/setup/")
    press("link", "Details of Clara Clinician")
    check("practitioner-edit")
    page.get_by_label("Name").fill("")
    check_with_errors("practitioner-edit", "Save")

    page.goto(live_server + "/staff/setup/")
    press("link", "Weekly hours of Clara Clinician")
    check("hours")
    page.get_by_label("Start time").fill("25:00")
    check_with_errors("hours", "Add the session")

    page.goto(live_server + "/staff/setup/")
    press("link", "Everyone's weekly hours")
    check("week")

    page.goto(live_server + "/staff/setup/")
    press("link", "Exceptions: leave, closures and extra sessions")
    check("exceptions-empty")
    press("link", "Add time away")
    check("away")
    check_with_errors("away", "Add time away")
    far = today_in_london() + timedelta(days=700)
    for group in ("From", "Until"):
        boxes = page.get_by_role("group", name=group, exact=True)
        boxes.get_by_label("Day").fill(str(far.day))
        boxes.get_by_label("Month").fill(str(far.month))
        boxes.get_by_label("Year").fill(str(far.year))
    page.get_by_label("Note (optional)").fill("Browser test")
    press("button", "Add time away")
    assert page.get_by_role("cell", name="Browser test").is_visible()
    check("exceptions-listed")
    press("button", f"Delete the exception from {far.day} {far:%b %Y}, 00:00")
    assert page.get_by_text("Exception deleted").is_visible()

    press("link", "Add an extra session")
    check("extra")
    check_with_errors("extra", "Add the session")

    page.goto(live_server + "/staff/setup/rules")
    check("rules")
    page.get_by_label("Length of the initial assessment, in minutes").fill("five")
    check_with_errors("rules", "Save the rules")

    size = VIEWPORTS[page.viewport_name]
    print(f"\naxe-core WCAG 2.2 A/AA on the set-up pages, {page.viewport_name} ({size['width']}x{size['height']}): {len(checked)} pages checked")
    failing = {name: violations for name, (_, violations) in checked.items() if violations}
    assert not failing, f"axe-core violations at {page.viewport_name} width on {len(failing)} of {len(checked)} pages:\n\n" + "\n\n".join(
        f"{name} ({checked[name][0]}):\n{describe(violations)}" for name, violations in failing.items()
    )
