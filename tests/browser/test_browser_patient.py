"""The patient journey in a real browser, at phone and desktop widths, using only what a person sees."""

from __future__ import annotations

import re

from intake.clinic.back_screen import load_wording
from tests.support.browser import answer_all_no, answer_back_pain, answer_where_and_how, continue_on, fill_about_you, screenshot, start


def test_a_patient_completes_the_journey_changes_an_answer_and_sees_the_reference(page, live_server):
    start(page, live_server)
    fill_about_you(page)
    screenshot(page, "03-about-you")
    continue_on(page)
    screenshot(page, "04-where-it-hurts")
    answer_where_and_how(page)
    screenshot(page, "06-nerve-symptoms")
    answer_all_no(page)
    continue_on(page)
    screenshot(page, "07a-your-problem")
    answer_all_no(page)
    continue_on(page)
    screenshot(page, "07b-general-health")
    answer_all_no(page)
    continue_on(page)
    page.get_by_role("group", name="Which clinic would you like to go to?").get_by_label("Riverside").check()
    page.get_by_label("Monday").check()
    page.get_by_label("Morning (8am to 12 noon)").check()
    screenshot(page, "08-when-and-where")
    continue_on(page)

    screenshot(page, "09-check")
    page.get_by_role("link", name="Change which side is it on?").click()
    page.get_by_label("Right", exact=True).check()
    continue_on(page)
    assert page.url.endswith("/book/check")
    assert page.get_by_text("Right", exact=True).is_visible()

    page.get_by_label("I agree to the clinic storing and using my health information to assess me").check()
    with page.expect_navigation():  # the next page has loaded before it is looked at
        page.get_by_role("button", name="Continue to choose a time").click()
    assert page.get_by_role("heading", name="Choose a time for your assessment").is_visible()
    screenshot(page, "10-times")
    first_time = page.get_by_role("radio").first
    label = first_time.evaluate("el => el.labels[0].innerText")  # "10:15 with Clara Clinician" (and the day, for screen readers)
    first_time.check()
    with page.expect_navigation():  # the next page has loaded before it is looked at
        page.get_by_role("button", name="Continue").click()
    screenshot(page, "11-confirm-time")
    assert page.get_by_role("heading", name="Confirm your appointment").is_visible()
    assert page.get_by_text(label.split(" with ")[0] + " (UK time)").is_visible()
    with page.expect_navigation():  # the next page has loaded before it is looked at
        page.get_by_role("button", name="Confirm booking").click()
    screenshot(page, "12-confirmation")
    assert page.get_by_role("heading", name="Assessment booked").is_visible()
    reference = page.locator(".reference").inner_text()
    assert re.fullmatch(r"[A-Z2-9]{8}", reference)
    assert page.get_by_role("heading", name="What happens next").is_visible()
    assert page.get_by_text("3 Ferry Lane").is_visible()


def test_empty_required_fields_show_the_error_summary_and_lead_to_the_field(page, live_server):
    start(page, live_server)
    page.get_by_label("First name").fill("Ada")
    continue_on(page)
    screenshot(page, "03b-about-you-errors")
    assert page.title().startswith("Error:")
    summary = page.get_by_role("alert").filter(has_text="There is a problem")
    assert summary.is_visible()
    assert page.evaluate("document.activeElement.hasAttribute('data-error-summary')")
    summary.get_by_role("link", name="Enter your last name").click()
    assert page.evaluate("document.activeElement.id") == "last_name"
    assert page.get_by_label("First name").input_value() == "Ada"
    fill_about_you(page)
    continue_on(page)
    assert page.get_by_role("heading", name="Where it hurts").is_visible()
    page.get_by_role("link", name="Back").click()
    assert page.get_by_label("Email address").input_value() == "ada@example.com"


def test_an_emergency_answer_shows_the_immediate_action_card_first(page, live_server):
    start(page, live_server)
    fill_about_you(page)
    continue_on(page)
    answer_where_and_how(page, region="Lower back")
    answer_all_no(page)
    page.get_by_role("group", name=re.compile("trouble starting to pee")).get_by_label("Yes", exact=True).check()
    continue_on(page)
    screenshot(page, "06b-emergency-card")
    assert page.get_by_role("heading", name=re.compile("Go to A&E now or call 999")).is_visible()
    assert page.get_by_text("Do not wait for a physiotherapy appointment").is_visible()
    assert page.get_by_role("link", name="Continue with my request").is_visible()


def test_a_lower_back_patient_answers_the_back_pain_questions_and_reads_how_pain_works_first(page, live_server):
    """The screen comes after the safety questions; an unanswered question leads to its radios;
    the answers show on the check page; high psychological risk puts "how pain works" first."""
    wording = load_wording()
    start(page, live_server)
    fill_about_you(page)
    continue_on(page)
    answer_where_and_how(page, region="Lower back", description="It hurts and I worry it will never get better")
    for _ in range(2):
        answer_all_no(page)
        continue_on(page)
    assert page.get_by_role("heading", name="How your back pain affects you").is_visible()
    assert page.get_by_text(wording.intro).is_visible()
    continue_on(page)
    screenshot(page, "07b-back-pain-errors")
    summary = page.get_by_role("alert").filter(has_text="There is a problem")
    summary.get_by_role("link", name=f"Select how much: {wording.bothersome}").click()
    assert page.evaluate("document.activeElement.name") == "bothersome"
    answer_back_pain(page, agree=("activity_unsafe", "worrying_thoughts", "never_better", "no_enjoyment"), bothered="very_much")
    continue_on(page)
    page.get_by_role("group", name="Which clinic would you like to go to?").get_by_label("Riverside").check()
    page.get_by_label("Monday").check()
    page.get_by_label("Morning (8am to 12 noon)").check()
    continue_on(page)
    assert page.url.endswith("/book/check")
    assert page.get_by_text(dict(wording.statements)["never_better"], exact=True).is_visible()
    page.get_by_label("I agree to the clinic storing and using my health information to assess me").check()
    with page.expect_navigation():  # the clinic has free times, so a routine request may choose one
        page.get_by_role("button", name="Continue to choose a time").click()
    with page.expect_navigation():
        page.get_by_role("button", name="I’d rather you phone me").click()
    screenshot(page, "12b-back-pain-confirmation")
    assert page.get_by_role("heading", name="Request sent").is_visible()
    articles = page.locator("a[href^='/articles/']")
    assert articles.first.get_attribute("href") == "/articles/persistent-pain-how-pain-works"
