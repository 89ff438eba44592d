"""The reception diary and the request page's booking, moving and cancelling forms in Chromium:
axe-core (WCAG 2.2 A and AA) clean at desktop and tablet widths, no page wider than the screen,
and a free time booked with the keyboard alone."""

from __future__ import annotations

import re

import pytest

from tests.factories import STAFF_PASSWORD
from tests.support.browser import (
    DESKTOP, STAFF_EMAIL, answer_safety_pages_no, answer_where_and_how, axe_violations, continue_on, describe, fill_about_you, screenshot, start,
)

TABLET = {"width": 820, "height": 1180}
WIDTHS = {"desktop": DESKTOP, "tablet": TABLET}


@pytest.fixture(params=list(WIDTHS))
def tab(request, browser):
    """A fresh browser tab at desktop or tablet width; any script error or failed resource fails the test."""
    context = browser.new_context(viewport=WIDTHS[request.param])
    page = context.new_page()
    page.set_default_timeout(10_000)
    page.viewport_name = request.param
    problems: list[str] = []
    # A 400 page (a bad day on purpose) logs "Failed to load resource": only other errors count.
    page.on("console", lambda message: problems.append(message.text)
            if message.type == "error" and "Failed to load resource" not in message.text else None)
    page.on("pageerror", lambda error: problems.append(str(error)))
    yield page
    context.close()
    assert problems == [], problems


def go(page, action, *args) -> None:
    """Do something that loads another page, and wait for that page to load."""
    with page.expect_navigation():
        action(*args)


def a_patients_request(browser, live_server, first_name: str) -> str:
    """A request sent through the public journey in its own browser; returns the reference."""
    context = browser.new_context()
    try:
        page = context.new_page()
        page.set_default_timeout(10_000)
        page.viewport_name = "patient"
        start(page, live_server)
        fill_about_you(page, first_name=first_name)
        go(page, continue_on, page)
        answer_where_and_how(page)
        page.wait_for_url("**/book/nerve-symptoms")
        answer_safety_pages_no(page)
        page.get_by_role("group", name="Which clinic would you like to go to?").get_by_label("Riverside").check()
        page.get_by_label("Monday").check()
        page.get_by_label("Morning (8am to 12 noon)").check()
        go(page, continue_on, page)
        page.get_by_label("I agree to the clinic storing and using my health information to assess me").check()
        go(page, page.get_by_role("button", name="Continue to choose a time").click)
        go(page, page.get_by_role("button", name="I’d rather you phone me").click)  # reception books it: the request stays New
        return page.locator(".reference").inner_text()
    finally:
        context.close()


def sign_in(page, live_server) -> None:
    page.goto(live_server + "/staff/login")
    page.get_by_label("Email address").fill(STAFF_EMAIL)
    page.get_by_label("Password").fill(STAFF_PASSWORD)
    go(page, page.get_by_role("button", name="Sign in").click)


def fits_the_screen(page) -> bool:
    """The page itself never scrolls sideways (a wide table scrolls inside its own region)."""
    return page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")


def test_the_diary_and_the_booking_forms_have_no_axe_violations(tab, browser, live_server):
    reference = a_patients_request(browser, live_server, "Hedy")
    sign_in(tab, live_server)
    checked: dict[str, list[dict]] = {}

    def check(name: str) -> None:
        tab.wait_for_load_state()
        assert fits_the_screen(tab), f"{name} is wider than the {tab.viewport_name} screen"
        checked[name] = axe_violations(tab)
        screenshot(tab, f"diary-{name}")

    go(tab, tab.get_by_role("link", name="Diary", exact=True).click)
    assert tab.get_by_role("table").get_by_role("columnheader", name=re.compile("Clara Clinician")).is_visible()
    check("day")
    go(tab, tab.get_by_role("link", name="Week view").click)
    check("week")
    go(tab, tab.get_by_role("link", name="Day view").click)
    go(tab, tab.get_by_role("link", name=re.compile("Day list for Clara Clinician")).click)
    check("day-list")
    tab.goto(live_server + "/staff/diary?site=riverside&day=9999-12-31")
    assert tab.title().startswith("Error:")
    check("day-with-an-error")

    tab.goto(f"{live_server}/staff/requests/{reference}")
    check("request-booking")
    tab.get_by_label(re.compile("^Free time at Riverside")).select_option(index=3)
    go(tab, tab.get_by_role("button", name="Book and email the patient").click)
    assert tab.get_by_role("heading", name="Move the appointment").is_visible()
    check("request-move-and-cancel")
    go(tab, tab.get_by_role("button", name="Cancel and email the patient").click)
    assert tab.get_by_role("alert").filter(has_text="There is a problem").is_visible()
    check("request-cancel-errors")
    tab.get_by_label("Why is the appointment cancelled?").fill("The patient rang: away that week")
    tab.get_by_label("The patient needs a new time").check()
    go(tab, tab.get_by_role("button", name="Cancel and email the patient").click)
    assert tab.get_by_role("heading", name="Book the assessment").is_visible()

    failing = {name: violations for name, violations in checked.items() if violations}
    assert not failing, "\n\n".join(f"{name}:\n{describe(violations)}" for name, violations in failing.items())


def test_a_receptionist_books_a_free_time_with_the_keyboard_alone(tab, browser, live_server):
    """Tab to the free times, choose one with the arrow keys, Tab to the button, press Enter."""
    reference = a_patients_request(browser, live_server, "Katherine")
    sign_in(tab, live_server)
    tab.goto(f"{live_server}/staff/requests/{reference}")
    for _ in range(200):
        tab.keyboard.press("Tab")
        if tab.evaluate("document.activeElement.id") == "slot":
            break
    else:
        pytest.fail("Tab never reached the free times")
    tab.keyboard.press("ArrowDown")
    tab.keyboard.press("ArrowDown")
    chosen = tab.evaluate("document.activeElement.selectedOptions[0].textContent")
    day = tab.evaluate("document.activeElement.selectedOptions[0].parentElement.label")
    tab.keyboard.press("Tab")
    assert tab.evaluate("document.activeElement.innerText.trim()") == "Book and email the patient"
    with tab.expect_navigation():
        tab.keyboard.press("Enter")
    assert tab.get_by_role("heading", name="Move the appointment").is_visible()
    time, practitioner = re.fullmatch(r"(\d\d:\d\d) with (.+)", chosen.strip()).groups()
    booked = tab.locator("h2:text-is('Appointment') + ul").inner_text()
    day_number, month = re.search(r"\w+day (\d+) (\w{3})", day).groups()
    assert f"{day_number} {month}" in booked and time in booked and practitioner in booked
