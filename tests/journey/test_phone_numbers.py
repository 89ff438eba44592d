"""The phone number on 'About you': the example we show is accepted, any number that could be a
phone number is kept (in E.164), and what cannot be one is refused next to the field."""

from __future__ import annotations

import re

import phonenumbers
import pytest

from tests.factories import valid_answers
from intake.journey.models import Draft
from intake.platform.extensions import db

EXAMPLES = re.compile(r"like (0[0-9 ]+[0-9]) or (\+44 [0-9 ]+[0-9])")


def about_you(patient, **changes):
    patient.start()
    return patient.answer("about-you", {**valid_answers()["about-you"], **changes})


def saved_phone(app) -> str:
    with app.app_context():
        latest = db.select(Draft.answers).order_by(Draft.updated_at.desc()).limit(1)
        return db.session.execute(latest).scalar_one()["about_you"]["phone"]


def test_the_examples_in_the_hint_and_the_error_are_numbers_the_form_accepts(app, client, patient):
    refused = about_you(patient, phone="not a number").get_data(as_text=True)
    national, international = EXAMPLES.search(refused).groups()
    hint = client.get("/book/about-you").get_data(as_text=True)
    assert f"like {national}" in hint
    for example in (national, international):
        fresh = type(patient)(app.test_client())
        assert about_you(fresh, phone=example, contact_method="text").status_code == 303, example
    assert saved_phone(app) == phonenumbers.format_number(phonenumbers.parse(international), phonenumbers.PhoneNumberFormat.E164)


@pytest.mark.parametrize(("typed", "stored"), [
    ("07603 123456", "+447603123456"),  # a mobile-length number in a range the library does not list
    ("07700 900 982", "+447700900982"),  # kept for TV drama, so not in the tables: a real patient may still type it wrongly
    ("+44 (0)20 7946-0018", "+442079460018"),
])
def test_a_number_that_could_be_a_phone_number_is_kept_in_e164(app, patient, typed, stored):
    assert about_you(patient, phone=typed).status_code == 303
    assert saved_phone(app) == stored


def test_texts_are_allowed_to_a_number_whose_range_is_not_yet_known(app, patient):
    assert about_you(patient, phone="07603 123456", contact_method="text").status_code == 303
    assert saved_phone(app) == "+447603123456"


@pytest.mark.parametrize("typed", [
    "12", "0740 123", "0740 1234", "07400 1234567", "+44 12", "+1 555 0100", "0800 FLOWERS", "07400 12345six", "+",
])
def test_what_cannot_be_a_phone_number_is_refused_next_to_the_field_keeping_the_other_answers(patient, typed):
    response = about_you(patient, phone=typed, first_name="Grace")
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "There is a problem" in page and '<a href="#phone">Enter a phone number, like' in page
    assert re.search(r'id="phone-error"><span class="visually-hidden">Error:</span> Enter a phone number, like', page)
    assert 'value="Grace"' in page and 'value="ada@example.com"' in page
