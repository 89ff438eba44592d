"""Red flags in the patient's own words, in a real browser: the page that asks about them is clean
for axe with and without its errors, works at phone width with the keyboard alone and with
JavaScript off, and each answer leads where it should."""

from __future__ import annotations

import re

from tests.support.browser import PHONE, answer_all_no, answer_where_and_how, axe_violations, continue_on, describe, fill_about_you, screenshot, start

WORDS = "I can't feel myself wee properly since Monday"


def to_the_words_page(page, live_server) -> None:
    """Answer the first pages, writing words that show a red flag in the description."""
    start(page, live_server)
    fill_about_you(page)
    continue_on(page)
    answer_where_and_how(page, description=f"My knee aches. {WORDS}.")


def test_the_words_page_quotes_the_patient_passes_axe_and_yes_shows_the_emergency_card(page, live_server):
    to_the_words_page(page, live_server)
    assert page.url.endswith("/book/your-words")
    assert page.get_by_role("heading", name="About what you wrote").is_visible()
    question = page.get_by_role("group", name=re.compile("trouble starting to pee"))
    assert question.get_by_text(f"You wrote: “{WORDS}”").is_visible()
    screenshot(page, "06w-your-words")
    assert (violations := axe_violations(page)) == [], describe(violations)

    continue_on(page)  # nothing chosen
    assert page.title().startswith("Error:")
    assert page.get_by_role("alert").filter(has_text="There is a problem").is_visible()
    assert (violations := axe_violations(page)) == [], describe(violations)

    question.get_by_label("Yes", exact=True).check()
    continue_on(page)
    assert page.url.endswith("/book/advice/emergency")
    assert page.get_by_role("heading", name=re.compile("Go to A&E now or call 999")).is_visible()
    assert (violations := axe_violations(page)) == [], describe(violations)


def test_with_the_keyboard_alone_and_javascript_off_no_continues_to_the_urgent_card(browser, live_server):
    """Scripts are off in this tab, so nothing here runs in the page: locators and keys only."""
    context = browser.new_context(viewport=PHONE, java_script_enabled=False)
    page = context.new_page()
    page.set_default_timeout(10_000)
    page.viewport_name = "phone-no-js"
    try:
        to_the_words_page(page, live_server)
        assert page.url.endswith("/book/your-words")
        for _ in range(60):
            page.keyboard.press("Tab")
            if page.locator("input[name=bladder_change]:focus").count():
                break
        page.keyboard.press("ArrowDown")  # from Yes to No
        assert page.locator("input[name=bladder_change][value=no]").is_checked()
        for _ in range(10):
            page.keyboard.press("Tab")
            if page.locator("button:focus").count():
                break
        with page.expect_navigation():
            page.keyboard.press("Enter")
        assert page.url.endswith("/book/advice/urgent")
        with page.expect_navigation():
            page.get_by_role("link", name="Continue with my request").click()
        assert page.get_by_role("heading", name="Questions about your back, legs, bladder and bowels").is_visible()
        answer_all_no(page)
        continue_on(page)
        assert page.get_by_role("heading", name="Questions about your problem").is_visible()
    finally:
        context.close()
