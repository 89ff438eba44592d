"""axe-core (WCAG 2.2 A and AA) on every page people see, at phone and desktop widths.

The pages are reached the way people reach them: by driving the real journey (a question page needs a
draft in this browser's session, and a confirmation is only shown to the browser that sent the request).
Each question page is checked clean and again showing its errors. Run with `pytest -s` to see the list.
"""

from __future__ import annotations

import re
from datetime import timedelta
from urllib.parse import urlencode

from intake.appointments.slots import Slot, parse_slot_value, slot_value
from tests.factories import STAFF_PASSWORD, give_up_on_a_text, give_up_on_an_email
from tests.support.browser import (
    STAFF_EMAIL, VIEWPORTS, answer_all_no, answer_back_pain, answer_where_and_how, axe_violations, continue_on, describe, fill_about_you, screenshot,
)

NOT_CHECKED = {"/staff/audit": "admin only; the test receptionist is refused it (tests/test_staff_access.py covers the refusal)"}


def off_the_grid(value: str) -> str:
    """A time 7 minutes after a free one: never free (the diary's grid is 15 minutes), so the page
    says it has just been taken and offers the nearest times."""
    practitioner, site, starts = parse_slot_value(value)
    return slot_value(Slot(practitioner, site, starts + timedelta(minutes=7), starts + timedelta(minutes=52)))


def test_every_page_has_no_axe_violations_at_wcag_2_2_a_and_aa(page, live_server):
    checked: dict[str, tuple[str, list[dict]]] = {}

    def check(name: str) -> None:
        page.wait_for_load_state()
        checked[name] = (page.url.removeprefix(live_server), axe_violations(page))
        screenshot(page, f"axe-{name}")

    def go(action, *args) -> None:
        """Do something that loads another page, and wait for that page to load."""
        with page.expect_navigation():
            action(*args)

    def press(role: str, name: str) -> None:
        go(page.get_by_role(role, name=name, exact=True).click)

    def check_with_errors(name: str) -> None:
        """Send the question page as it is (empty) and check it showing its error summary."""
        go(continue_on, page)
        assert page.title().startswith("Error:"), f"{name}: sending it empty showed no errors"
        check(f"{name}-errors")

    # Public pages.
    page.goto(live_server + "/")
    check("home")
    page.goto(live_server + "/privacy")
    check("privacy")
    page.goto(live_server + "/articles/")
    check("articles")
    go(page.locator(".article-list").get_by_role("link").first.click)
    check("article")
    page.goto(live_server + "/articles/?q=xylophone+trampoline")
    assert page.get_by_role("status").inner_text().startswith("0 articles")
    check("articles-search-no-results")
    page.goto(live_server + "/no-such-page")
    assert page.get_by_role("heading", name="Page not found").is_visible()
    check("404")

    # The journey, each question page clean and then with its errors.
    page.goto(live_server + "/book/")
    check("book-start")
    press("button", "Start now")
    check("about-you")
    check_with_errors("about-you")
    fill_about_you(page)
    go(continue_on, page)

    check("where-it-hurts")
    check_with_errors("where-it-hurts")
    page.get_by_label("Lower back", exact=True).check()
    page.get_by_label("In the middle", exact=True).check()
    page.get_by_label("2 to 6 weeks").check()
    page.get_by_label("Gradually, for no clear reason").check()
    go(continue_on, page)

    check("how-it-feels")
    check_with_errors("how-it-feels")
    page.get_by_role("group", name="How bad is your pain right now?").get_by_label("4", exact=True).check()
    page.get_by_role("group", name="How bad is your pain at its worst?").get_by_label("7", exact=True).check()
    page.get_by_label("Stiffness").check()
    go(continue_on, page)

    check("nerve-symptoms")
    check_with_errors("nerve-symptoms")
    answer_all_no(page)
    page.get_by_role("group", name=re.compile("trouble starting to pee")).get_by_label("Yes", exact=True).check()
    go(continue_on, page)
    assert page.url.endswith("/book/advice/emergency")
    check("emergency-care-card")
    # Take the emergency answer back, so the urgent card can be reached.
    page.goto(live_server + "/book/nerve-symptoms")
    answer_all_no(page)
    go(continue_on, page)

    check("general-health")
    check_with_errors("general-health")
    answer_all_no(page)
    page.get_by_role("group", name=re.compile("Have you ever had cancer")).get_by_label("Yes", exact=True).check()
    go(continue_on, page)
    assert page.url.endswith("/book/advice/urgent")
    check("urgent-care-card")
    press("link", "Continue with my request")

    check("back-pain")
    check_with_errors("back-pain")
    answer_back_pain(page, agree=("leg_pain", "worrying_thoughts"))
    go(continue_on, page)

    check("when-and-where")
    check_with_errors("when-and-where")
    page.get_by_role("group", name="Which clinic would you like to go to?").get_by_label("Riverside").check()
    page.get_by_label("Monday").check()
    page.get_by_label("Morning (8am to 12 noon)").check()
    go(continue_on, page)

    assert page.url.endswith("/book/check")
    check("check-answers")
    press("button", "Send my request")
    assert page.title().startswith("Error:")
    check("check-answers-consent-error")
    page.get_by_label("I agree to the clinic storing and using my health information to assess me").check()
    press("button", "Send my request")
    assert page.get_by_role("heading", name="Request sent").is_visible()
    reference = page.locator(".reference").inner_text()
    check("confirmation")

    # A routine request: its times (clean and with the error), a time to confirm, a time taken
    # meanwhile, and the confirmation of a booking.
    page.goto(live_server + "/book/")
    press("button", "Start now")
    fill_about_you(page)
    go(continue_on, page)
    answer_where_and_how(page)  # a knee
    answer_all_no(page)
    go(continue_on, page)
    check("your-problem")
    check_with_errors("your-problem")
    answer_all_no(page)
    page.get_by_role("group", name=re.compile("calves")).get_by_label("Yes", exact=True).check()
    go(continue_on, page)
    assert page.url.endswith("/book/advice/urgent")
    assert page.get_by_role("heading", name=re.compile("Get medical help today")).is_visible()
    check("same-day-care-card")
    # Take the calf back, so the request stays routine and offers times.
    page.goto(live_server + "/book/your-problem")
    answer_all_no(page)
    go(continue_on, page)
    answer_all_no(page)
    go(continue_on, page)
    page.get_by_role("group", name="Which clinic would you like to go to?").get_by_label("Riverside").check()
    page.get_by_label("Monday").check()
    page.get_by_label("Morning (8am to 12 noon)").check()
    go(continue_on, page)
    page.get_by_label("I agree to the clinic storing and using my health information to assess me").check()
    press("button", "Continue to choose a time")
    check("times")
    press("button", "Continue")
    assert page.title().startswith("Error:")
    check("times-errors")
    page.get_by_role("radio").first.check()
    press("button", "Continue")
    check("time-confirm")
    chosen = page.locator("input[name=slot]").input_value()
    page.goto(live_server + "/book/time/confirm?" + urlencode({"slot": off_the_grid(chosen)}))
    assert page.get_by_role("heading", name="Sorry, that time has just been taken").is_visible()
    check("time-taken")
    page.goto(live_server + "/book/time/confirm?" + urlencode({"slot": chosen}))
    press("button", "Confirm booking")
    assert page.get_by_role("heading", name="Assessment booked").is_visible()
    check("confirmation-booked")

    # The back office, as a receptionist.
    page.goto(live_server + "/staff/login")
    check("staff-login")
    page.get_by_label("Email address").fill("nobody@clinic.example")
    page.get_by_label("Password").fill("not the password")
    press("button", "Sign in")
    assert page.get_by_role("alert").filter(has_text="There is a problem").is_visible()
    check("staff-login-failed")
    page.get_by_label("Email address").fill(STAFF_EMAIL)
    page.get_by_label("Password").fill(STAFF_PASSWORD)
    press("button", "Sign in")
    assert page.get_by_role("heading", name="Requests").is_visible()
    check("staff-requests")
    page.get_by_label("Reference, name, email or phone").fill(reference)
    press("button", "Show requests")
    assert page.get_by_text("Showing requests whose reference is").is_visible()
    check("staff-requests-searched")
    press("link", reference)
    assert page.get_by_role("heading", name="Flags for a clinician").is_visible()
    check("staff-request-flagged")
    give_up_on_an_email(live_server.app)
    give_up_on_a_text(live_server.app)
    page.goto(live_server + "/staff/outbox")
    assert page.get_by_role("cell", name="Text", exact=True).first.is_visible()
    check("staff-outbox")

    size = VIEWPORTS[page.viewport_name]
    print(f"\naxe-core WCAG 2.2 A/AA, {page.viewport_name} ({size['width']}x{size['height']}): {len(checked)} pages checked")
    for name, (path, violations) in checked.items():
        nodes = sum(len(item["nodes"]) for item in violations)
        print(f"  {name:<30} {path:<45} {len(violations)} violation{'' if len(violations) == 1 else 's'}" + (f" ({nodes} elements)" if nodes else ""))
    for path, reason in NOT_CHECKED.items():
        print(f"  not checked: {path} ({reason})")

    failing = {name: violations for name, (_, violations) in checked.items() if violations}
    assert not failing, f"axe-core violations at {page.viewport_name} width on {len(failing)} of {len(checked)} pages:\n\n" + "\n\n".join(
        f"{name} ({checked[name][0]}):\n{describe(violations)}" for name, violations in failing.items()
    )


def test_the_axe_check_finds_what_it_is_there_to_find(page):
    """The check itself can fail: a picture with no text and an unnamed button are reported, and a
    second check of the same page (axe-core already loaded) reports them again."""
    page.set_content('<!doctype html><html lang="en"><head><title>Broken</title></head><body><main>'
                     '<img src="data:image/gif;base64,R0lGODlhAQABAAAAACw=" width="1" height="1"><button></button></main></body></html>')
    for _ in range(2):
        found = {violation["id"] for violation in axe_violations(page)}
        assert {"image-alt", "button-name"} <= found
