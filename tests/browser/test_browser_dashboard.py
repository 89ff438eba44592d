"""axe-core (WCAG 2.2 A and AA) on the attendance dashboard, with its two charts (appointments, reminders) drawn as images."""

from __future__ import annotations

from tests.factories import STAFF_PASSWORD
from tests.support.browser import ADMIN_EMAIL, axe_violations, describe, screenshot


def test_the_dashboard_has_no_axe_violations_and_its_charts_load(page, live_server):
    page.goto(live_server + "/staff/login")
    page.get_by_label("Email address").fill(ADMIN_EMAIL)
    page.get_by_label("Password").fill(STAFF_PASSWORD)
    with page.expect_navigation():
        page.get_by_role("button", name="Sign in").click()
    with page.expect_navigation():
        page.get_by_role("link", name="Attendance").click()
    page.wait_for_load_state("networkidle")
    widths = page.evaluate("[...document.querySelectorAll('img.dashboard__chart')].map(chart => chart.naturalWidth)")
    assert len(widths) == 2 and all(width > 0 for width in widths)  # both charts loaded
    screenshot(page, "axe-dashboard")
    violations = axe_violations(page)
    assert not violations, describe(violations)
    page.get_by_label("Months").select_option("3")
    with page.expect_navigation():
        page.get_by_role("button", name="Show").click()
    assert page.locator("tbody tr").count() == 3 * page.locator("table").count()
    assert not axe_violations(page)
