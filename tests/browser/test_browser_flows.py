"""Whole journeys in a real browser: a patient using only the keyboard, and a receptionist moving a request on.

The keyboard journey presses keys only (Tab, Shift+Tab, arrow keys, Space, Enter and typing): no clicks,
no fill() or check(). Every element that takes focus on the way is checked for a visible focus style.
"""

from __future__ import annotations

import json
import re

from tests.factories import STAFF_PASSWORD
from tests.support.browser import STAFF_EMAIL, VIEWPORTS, answer_safety_pages_no, answer_where_and_how, continue_on, fill_about_you, screenshot, start

REFERENCE = re.compile(r"[A-Z2-9]{8}")


# What has focus, and whether focusing it changed how it (or its label) looks. The styles are read
# while focused, then with focus taken away, then focus is put back. An outline in a transparent
# colour (shown only in forced-colours mode) does not count as visible.
FOCUS_INFO = """
(el) => {
  if (!el || el === document.body || el === document.documentElement) return {what: '(nothing: the page body)', visible: true, body: true};
  const label = el.labels && el.labels.length ? el.labels[0].innerText.trim() : '';
  const words = label || (el.innerText || el.value || el.getAttribute('aria-label') || '').trim().replace(/\\s+/g, ' ').slice(0, 60);
  const what = `${location.pathname}: <${el.tagName.toLowerCase()}${el.id ? ' id="' + el.id + '"' : ''}${el.type ? ' type="' + el.type + '"' : ''}> "${words}"`;
  const parts = [el, ...(el.labels ? Array.from(el.labels) : [])];
  const props = ['outline-style', 'outline-width', 'box-shadow', 'background-color', 'color', 'border-top-color', 'border-top-width', 'text-decoration-line'];
  const snap = () => parts.map((part) => {
    const style = getComputedStyle(part);
    const transparent = style.outlineColor === 'rgba(0, 0, 0, 0)' || style.outlineColor === 'transparent';
    return props.map((name) => (transparent && name.startsWith('outline')) ? '-' : style.getPropertyValue(name)).join('|');
  }).join('||');
  const focused = snap();
  el.blur();
  const blurred = snap();
  el.focus({preventScroll: true});
  return {what, visible: focused !== blurred, body: false};
}
"""


class FocusLog:
    """Every element focused along the way, and those whose focus could not be seen."""

    def __init__(self) -> None:
        self.stops: list[str] = []
        self.invisible: list[str] = []

    def record(self, info: dict) -> None:
        self.stops.append(info["what"])
        if not info["visible"] and info["what"] not in self.invisible:
            self.invisible.append(info["what"])


def focused(page, predicate_js: str) -> dict:
    """Evaluate `predicate_js` (a JavaScript function of the focused element) and describe the focus."""
    return page.evaluate(
        f"(() => {{ const el = document.activeElement; return {{match: !!(({predicate_js})(el)), ...(({FOCUS_INFO})(el))}}; }})()"
    )


def tab_until(page, predicate_js: str, limit: int = 150, backwards: bool = False, log: FocusLog | None = None) -> dict:
    """Press Tab (or Shift+Tab) until `document.activeElement` matches `predicate_js`, a JavaScript
    function of the element such as `el => el.id === 'first_name'`. Fails, listing the stops, if it never does."""
    key = "Shift+Tab" if backwards else "Tab"
    passed = []
    for _ in range(limit):
        page.keyboard.press(key)
        info = focused(page, predicate_js)
        if log is not None and not info["body"]:
            log.record(info)
        passed.append(info["what"])
        if info["match"]:
            return info
    raise AssertionError(f"{key} never reached {predicate_js} on {page.url} in {limit} presses; focus went to:\n  " + "\n  ".join(passed))


def by_id(element_id: str) -> str:
    return f"el => el.id === {json.dumps(element_id)}"


def by_label(words: str) -> str:
    return f"el => !!(el.labels && el.labels.length && el.labels[0].innerText.trim() === {json.dumps(words)})"


def by_text(tag: str, words: str) -> str:
    return f"el => el.tagName === {json.dumps(tag.upper())} && el.innerText.trim() === {json.dumps(words)}"


def active(page, expression: str):
    return page.evaluate(f"(el => {expression})(document.activeElement)")


def press_and_wait(page, key: str) -> None:
    """Press a key that sends a form or follows a link, and wait for the next page."""
    with page.expect_navigation():
        page.keyboard.press(key)


def type_into(page, element_id: str, text: str, log: FocusLog) -> None:
    tab_until(page, by_id(element_id), log=log)
    page.keyboard.type(text)


def tick(page, words: str, log: FocusLog) -> None:
    """Tab to a checkbox by its label and tick it with Space."""
    tab_until(page, by_label(words), log=log)
    page.keyboard.press("Space")
    assert active(page, "el.type === 'checkbox' && el.checked"), f"Space did not tick “{words}”"


def choose(page, group: str, answer: str, log: FocusLog) -> None:
    """Tab into a radio group (by its visible legend), move to the answer with the arrow keys, press Space."""
    tab_until(page, f"el => el.type === 'radio' && el.closest('fieldset').querySelector('legend').innerText.trim() === {json.dumps(group)}", log=log)
    for _ in range(15):
        if active(page, "el.labels[0].innerText.trim()") == answer:
            break
        page.keyboard.press("ArrowDown")
    else:
        raise AssertionError(f"The arrow keys never reached “{answer}” in “{group}”")
    page.keyboard.press("Space")
    assert active(page, "el.checked"), f"“{answer}” in “{group}” was not chosen"


def answer_no_to_each_question(page, log: FocusLog) -> int:
    """Tab through a page of yes/no questions, answering No to each with the arrow keys; stop at Continue."""
    answered = 0
    while True:
        info = tab_until(page, "el => (el.type === 'radio' && el.labels[0].innerText.trim() === 'Yes') || (el.tagName === 'BUTTON' && el.innerText.trim() === 'Continue')", log=log)
        if active(page, "el.tagName") == "BUTTON":
            return answered
        page.keyboard.press("ArrowDown")
        assert active(page, "el.checked && el.labels[0].innerText.trim() === 'No'"), f"ArrowDown did not choose No after {info['what']}"
        answered += 1


def continue_with_enter(page, log: FocusLog, heading: str | None = None) -> None:
    """Tab to Continue (if not already there), press Enter and check where we landed."""
    if not active(page, "el.tagName === 'BUTTON' && el.innerText.trim() === 'Continue'"):
        tab_until(page, by_text("button", "Continue"), log=log)
    press_and_wait(page, "Enter")
    assert not page.title().startswith("Error:"), f"{page.url} shows errors: " + page.locator(".error-summary").inner_text()
    if heading:
        assert page.locator("h1").inner_text().strip() == heading


def assert_skip_link_first_and_working(page, log: FocusLog) -> None:
    """The first Tab stop is a visible skip link, and Enter on it moves focus to the main content."""
    page.keyboard.press("Tab")
    info = focused(page, by_text("a", "Skip to main content"))
    log.record(info)
    assert info["match"], f"The first Tab stop on {page.url} is {info['what']}, not the skip link"
    box = page.evaluate("(() => { const r = document.activeElement.getBoundingClientRect(); return {w: r.width, h: r.height, top: r.top}; })()")
    assert box["w"] > 20 and box["h"] > 20 and box["top"] >= 0, f"The focused skip link is not visible on {page.url}: {box}"
    page.keyboard.press("Enter")
    assert active(page, "el.id") == "main-content", f"Enter on the skip link left focus on {focused(page, 'el => true')['what']}"
    page.keyboard.press("Tab")
    assert page.evaluate("document.getElementById('main-content').contains(document.activeElement)"), "Tab after the skip link left the main content"


def test_the_journey_can_be_completed_with_the_keyboard_alone(page, live_server):
    log = FocusLog()
    page.goto(live_server + "/")
    assert_skip_link_first_and_working(page, log)
    tab_until(page, by_text("a", "Request a free assessment"), log=log)
    press_and_wait(page, "Enter")
    assert page.url.endswith("/book/")
    tab_until(page, by_text("button", "Start now"), log=log)
    press_and_wait(page, "Enter")

    # About you: the back link comes before the main content, so the skip link matters here too.
    assert page.locator("h1").inner_text() == "About you"
    assert_skip_link_first_and_working(page, log)
    type_into(page, "first_name", "Ada", log)
    type_into(page, "last_name", "Lovelace", log)
    type_into(page, "date_of_birth-day", "10", log)
    type_into(page, "date_of_birth-month", "12", log)
    type_into(page, "date_of_birth-year", "1985", log)
    type_into(page, "email", "ada@example.com", log)
    type_into(page, "phone", "07400 123456", log)
    choose(page, "How would you like us to contact you?", "Phone call", log)
    type_into(page, "postcode", "N1 9GU", log)
    # Shift+Tab goes back the way it came.
    tab_until(page, by_text("button", "Continue"), log=log)
    tab_until(page, by_id("postcode"), backwards=True, log=log)
    continue_with_enter(page, log, "Where it hurts")

    choose(page, "Where is your main problem?", "Knee", log)
    choose(page, "Which side is it on?", "Left", log)
    choose(page, "How long have you had it?", "2 to 6 weeks", log)
    choose(page, "How did it start?", "Gradually, for no clear reason", log)
    continue_with_enter(page, log, "How it feels")

    choose(page, "How bad is your pain right now?", "4", log)
    choose(page, "How bad is your pain at its worst?", "7", log)
    tick(page, "Stiffness", log)
    type_into(page, "description", "Aches after running.", log)
    continue_with_enter(page, log, "Questions about your back, legs, bladder and bowels")

    assert answer_no_to_each_question(page, log) == 5
    continue_with_enter(page, log, "Questions about your problem")
    assert answer_no_to_each_question(page, log) == 2  # a knee: a hot joint, a swollen calf
    continue_with_enter(page, log, "Your general health")
    assert answer_no_to_each_question(page, log) == 3  # weight loss, fever, night pain: asked of everyone
    continue_with_enter(page, log, "When and where you can come")

    choose(page, "Which clinic would you like to go to?", "Riverside", log)
    tick(page, "Monday", log)
    tick(page, "Morning (8am to 12 noon)", log)
    continue_with_enter(page, log, "Check your answers before sending your request")

    tick(page, "I agree to the clinic storing and using my health information to assess me", log)
    tab_until(page, by_text("button", "Continue to choose a time"), log=log)
    press_and_wait(page, "Enter")
    assert page.locator("h1").inner_text().strip() == "Choose a time for your assessment"
    # Choosing a time by keyboard is tests/browser/test_browser_picker.py; this patient would rather be called.
    tab_until(page, by_text("button", "I’d rather you phone me"), log=log)
    press_and_wait(page, "Enter")
    screenshot(page, "keyboard-confirmation")
    assert page.get_by_role("heading", name="Request sent").is_visible()
    assert REFERENCE.fullmatch(page.locator(".reference").inner_text())

    assert not log.invisible, "No visible focus indicator on:\n  " + "\n  ".join(log.invisible)


def go(page, action, *args) -> None:
    """Do something that loads another page, and wait for that page to load."""
    with page.expect_navigation():
        action(*args)


def send_a_request_as_a_patient(page, live_server) -> str:
    """The public journey (by visible labels) up to the confirmation; returns the reference."""
    start(page, live_server)
    fill_about_you(page, first_name="Grace")
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
    go(page, page.get_by_role("button", name="I’d rather you phone me").click)  # reception calls: the request stays New
    reference = page.locator(".reference").inner_text()
    assert REFERENCE.fullmatch(reference)
    return reference


def test_a_receptionist_finds_a_request_by_reference_and_marks_it_contacted(page, live_server):
    reference = send_a_request_as_a_patient(page, live_server)

    context = page.context.browser.new_context(viewport=page.viewport_size)
    try:
        staff = context.new_page()
        staff.set_default_timeout(10_000)
        staff.viewport_name = page.viewport_name
        staff.goto(live_server + "/staff/login")
        staff.get_by_label("Email address").fill(STAFF_EMAIL)
        staff.get_by_label("Password").fill(STAFF_PASSWORD)
        go(staff, staff.get_by_role("button", name="Sign in").click)
        assert staff.get_by_role("heading", name="Requests").is_visible()

        staff.get_by_label("Reference, name, email or phone").fill(reference)
        go(staff, staff.get_by_role("button", name="Show requests").click)
        screenshot(staff, "staff-list-search")
        assert staff.get_by_role("status").inner_text().strip() == "1 request"
        go(staff, staff.get_by_role("link", name=reference, exact=True).click)
        screenshot(staff, "staff-request")
        assert staff.get_by_role("heading", name=re.compile("Grace Lovelace")).is_visible()
        assert "Status: New" in staff.get_by_text("Status:").inner_text()

        staff.get_by_label("New status").select_option(label="Contacted")
        go(staff, staff.get_by_role("button", name="Change status").click)
        screenshot(staff, "staff-request-contacted")
        status_line = staff.get_by_text("Status:").inner_text()
        assert "Status: Contacted" in status_line
        history = staff.locator(".history li").last.inner_text()
        assert re.search(rf"{re.escape(STAFF_EMAIL)}\s+changed the status from new to contacted", history), history
    finally:
        context.close()


def test_the_journey_works_with_javascript_switched_off(browser, live_server):
    """Progressive enhancement: scripts only help; with them off a patient can still choose a time and book it."""
    context = browser.new_context(viewport=VIEWPORTS["phone"], java_script_enabled=False)
    page = context.new_page()
    page.viewport_name = "phone-no-js"
    try:
        start(page, live_server)
        fill_about_you(page)
        continue_on(page)
        answer_where_and_how(page)
        answer_safety_pages_no(page)
        page.get_by_role("group", name="Which clinic would you like to go to?").get_by_label("Riverside").check()
        page.get_by_label("Monday").check()
        page.get_by_label("Morning (8am to 12 noon)").check()
        continue_on(page)
        page.get_by_label("I agree to the clinic storing and using my health information to assess me").check()
        for button in ("Continue to choose a time", None, "Continue", "Confirm booking"):
            if button is None:  # the times page: choose a time
                screenshot(page, "times-without-javascript")
                page.get_by_role("radio").nth(1).check()
                continue
            with page.expect_navigation():
                page.get_by_role("button", name=button, exact=True).click()
        screenshot(page, "confirmation-without-javascript")
        assert page.get_by_role("heading", name="Assessment booked").is_visible()
        assert REFERENCE.fullmatch(page.locator(".reference").inner_text())
    finally:
        context.close()
