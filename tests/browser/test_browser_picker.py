"""Choosing a time on a phone with the keyboard alone: Tab, the arrow keys, Space and Enter, at 390 px."""

from __future__ import annotations

import json

from tests.support.browser import PHONE, answer_safety_pages_no, answer_where_and_how, continue_on, fill_about_you, screenshot, start


def tab_to(page, predicate_js: str, limit: int = 120) -> None:
    """Press Tab until the focused element matches `predicate_js` (a JavaScript function of it)."""
    for _ in range(limit):
        page.keyboard.press("Tab")
        if page.evaluate(f"({predicate_js})(document.activeElement)"):
            return
    raise AssertionError(f"Tab never reached {predicate_js} on {page.url}")


def button(words: str) -> str:
    return f"el => el.tagName === 'BUTTON' && el.innerText.trim() === {json.dumps(words)}"


def press_enter_and_wait(page) -> None:
    with page.expect_navigation():
        page.keyboard.press("Enter")


def fits_the_screen(page) -> bool:
    return page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")


def test_a_time_is_chosen_and_booked_with_the_keyboard_alone_on_a_phone(browser, live_server):
    context = browser.new_context(viewport=PHONE)
    page = context.new_page()
    page.set_default_timeout(10_000)
    page.viewport_name = "phone"
    try:
        start(page, live_server)  # the questions themselves: tests/browser/test_browser_flows.py does them by keyboard
        fill_about_you(page)
        continue_on(page)
        answer_where_and_how(page)
        answer_safety_pages_no(page)
        page.get_by_role("group", name="Which clinic would you like to go to?").get_by_label("Riverside").check()
        page.get_by_label("Wednesday").check()
        page.get_by_label("Afternoon (12 noon to 5pm)").check()
        continue_on(page)

        # From the check page on, keys only.
        tab_to(page, "el => el.id === 'consent'")
        page.keyboard.press("Space")
        tab_to(page, button("Continue to choose a time"))
        press_enter_and_wait(page)
        assert page.locator("h1").inner_text() == "Choose a time for your assessment"
        assert fits_the_screen(page), "the times page scrolls sideways at 390 px"

        # Tab lands on the first time; the arrow keys move through the times (and choose as they go).
        tab_to(page, "el => el.type === 'radio'")
        first = page.evaluate("document.activeElement.value")
        page.keyboard.press("ArrowDown")
        page.keyboard.press("Space")
        chosen = page.evaluate("({value: document.activeElement.value, checked: document.activeElement.checked,"
                               " label: document.activeElement.labels[0].innerText})")
        assert chosen["checked"] and chosen["value"] != first
        assert " with " in chosen["label"]
        screenshot(page, "picker-keyboard-times")
        tab_to(page, button("Continue"))
        press_enter_and_wait(page)

        assert page.locator("h1").inner_text() == "Confirm your appointment"
        assert page.locator("input[name=slot]").input_value() == chosen["value"]
        assert fits_the_screen(page)
        tab_to(page, button("Confirm booking"))
        press_enter_and_wait(page)
        screenshot(page, "picker-keyboard-confirmation")
        assert page.get_by_role("heading", name="Assessment booked").is_visible()
        assert page.get_by_text(chosen["label"].split(" with ")[0].split("\n")[0] + " (UK time)", exact=False).is_visible()
        assert fits_the_screen(page)
    finally:
        context.close()
