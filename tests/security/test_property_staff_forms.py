"""Property-based tests of the back office's forms for a booked appointment: moving it to another
free time and cancelling it (the sign-in, status, note, booking and retry forms are in
test_property_back_office_forms.py; the set-up forms in test_property_setup_forms.py).

Whatever is posted (forged slot values such as year 1 or year 9999, a page's version that is not a
whole number, control characters, repeated keys), no page fails with a server error or shows a
traceback; a post that is refused (or has no valid form token) changes nothing; an accepted one
changes exactly what was chosen; and a post whose every field is valid is accepted. One app per
test; the appointment is put back where it was booked (or booked again once cancelled) before each example.
"""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import update

from intake.appointments.models import Appointment
from intake.appointments.slots import Slot, slot_value
from intake.appointments.statuses import AFTER_CANCELLING
from intake.platform.extensions import db
from intake.staff.forms import STALE_PAGE
from tests.factories import Patient, a_working_day_ahead, book_appointment, free_slot, new_practitioner, update_request
from tests.support.fuzz import (
    FUZZ, TOKENS, added, assert_refused_unchanged, choice, cleaned, first, is_clean_text, near_examples,
    other_sessions_token, posts, state, text_field, with_token,
)

FREE = "FREE"  # stands for another time free when the example runs
SEEN = "SEEN"  # stands for the appointment's version as the page shows it when the example runs
PLACE = ("practitioner_id", "site_code", "starts_at", "blocked_until", "cancelled", "cancel_reason")


@dataclass
class Booked:
    """A receptionist in front of a request with one booked appointment at Riverside, with Clara."""

    app: object
    staff: object
    reference: str
    appointment: int
    original: dict
    booker: str
    token: str
    other: str

    def path(self, action: str) -> str:
        return f"/staff/requests/{self.reference}/appointments/{self.appointment}/{action}"

    def post(self, action: str, data: dict, token_choice: str):
        return self.staff.client.post(self.path(action), data=with_token(data, token_choice, self.token, self.other))

    def row(self) -> dict:
        with self.app.app_context():
            appointment = db.session.get(Appointment, self.appointment)
            return {name: getattr(appointment, name) for name in (*PLACE, "sequence")}

    def put_back(self) -> None:
        """The appointment where it was first booked, not cancelled, and the request booked; its
        version stays (each version's email has its own message id)."""
        place = {name: self.original[name] for name in PLACE}
        with self.app.app_context():
            db.session.execute(update(Appointment).where(Appointment.id == self.appointment).values(cancelled_at=None, **place))
            db.session.commit()
        update_request(self.app, self.reference, status="booked")

    def booked_again(self) -> None:
        """A new appointment in place of a cancelled one (a cancelled one stays cancelled, as its
        cancellation email's id is taken)."""
        if self.row()["cancelled"]:
            update_request(self.app, self.reference, status="new")
            self.appointment = book_appointment(self.app, self.reference, self.booker)


@pytest.fixture
def booked(unlimited_app, make_staff, staff_client) -> Booked:
    app = unlimited_app
    reference = Patient(app.test_client()).complete()
    new_practitioner(app, "Clara Clinician")
    reception = staff_client("reception")
    booker = make_staff("reception")
    # Two days on: an appointment booked at today's first free time would start part-way through a
    # long run, after which every move is rightly refused.
    appointment = book_appointment(app, reference, booker, free_slot(app, day=a_working_day_ahead()))
    desk = Booked(app, reception, reference, appointment, {}, booker, reception.csrf_token("/staff/"), other_sessions_token(app))
    desk.original = desk.row()
    return desk


def nearly_free_times(booked: Booked) -> list:
    """Slot values that are nearly right: the edges of the calendar (year 1, 1999, 9999), the past,
    off the grid, an impossible day, an unknown practitioner, and forged text."""
    free = free_slot(booked.app, index=1)
    clara, _, stamp = free.split(".")
    return [
        f"{clara}.riverside.00010101T0000Z", f"{clara}.riverside.19991231T2359Z", f"{clara}.riverside.99991231T2359Z",
        f"{clara}.riverside.20200106T1000Z", f"{clara}.riverside.{stamp[:12]}5Z", f"{clara}.riverside.20270230T1000Z",
        f"999999999999999999.riverside.{stamp}", f"{clara}.atlantis.{stamp}", free.upper(), f"{free}\x00", [free, "x"][::-1], "",
    ]


SEQUENCE_NEAR = ["-1", "0.0", "٠", "０", "0x0", "9" * 30, "", "\x00", ["x", SEEN]]


def shown(data: dict, seen: int, offered: str = "") -> dict:
    """The post with the placeholders replaced by the free time offered and the version shown."""
    def fill(value):
        if isinstance(value, list):
            return [fill(item) for item in value]
        return {FREE: offered, SEEN: str(seen)}.get(value, value) if isinstance(value, str) else value
    return {name: fill(value) for name, value in data.items()}


def test_moving_an_appointment_stores_exactly_the_free_time_chosen(booked):
    """Any slot and version: no 5xx; a refusal changes nothing (400 or 409, with a message); an
    accepted move puts the appointment at the time the value names, one version on, with one email
    and one audit entry; a time on offer with the version shown is always accepted."""
    fields = {
        "slot": text_field(st.just(FREE), 80, nearly_free_times(booked)),
        "sequence": text_field(st.just(SEEN), 12, SEQUENCE_NEAR),
    }

    @FUZZ
    @near_examples(fields, {"slot": FREE, "sequence": SEEN}, ["slot", "sequence"])
    @given(post=posts(fields), token_choice=TOKENS)
    def check(post, token_choice):
        data, all_valid = post
        booked.put_back()
        offered = free_slot(booked.app, index=1)
        before, row_before = state(booked.app), booked.row()
        data = shown(data, row_before["sequence"], offered)
        response = booked.post("move", data, token_choice)
        after, row_after = state(booked.app), booked.row()
        body = assert_refused_unchanged(response, before, after, token_choice)
        accepted = (token_choice == "valid" and first(data.get("slot")) == offered
                    and (first(data.get("sequence")) or "").strip() == str(row_before["sequence"]))
        assert response.status_code in ((303,) if accepted else (400, 409)), body[:500]
        if response.status_code == 303:
            assert added(before, after) == {"OutboxMessage": 1, "AuditEvent": 1}
            moved = Slot(row_after["practitioner_id"], row_after["site_code"], row_after["starts_at"], row_after["starts_at"])
            assert slot_value(moved) == offered and row_after["sequence"] == row_before["sequence"] + 1
        else:
            assert row_after == row_before
            if token_choice == "valid":
                assert "There is a problem" in body or STALE_PAGE in body, body[:500]
        assert not (all_valid and token_choice == "valid") or response.status_code == 303

    check()


REASON_FIELDS = {
    "reason": text_field(st.text(st.characters(exclude_categories=("Cc", "Cf", "Cs", "Co", "Zl", "Zp")), max_size=200).filter(cleaned), 200,
                         ["x" * 201, "Rang\x00", "Rang\r\nBcc: x@example.com", "Away\u202eAugust", " ", ["ok", "x\x00"]]),
    "then": choice(tuple(zip(AFTER_CANCELLING, ("The patient needs a new time", "The patient no longer wants an assessment")))),
    "sequence": text_field(st.just(SEEN), 12, SEQUENCE_NEAR),
}


@given(post=posts(REASON_FIELDS), token_choice=TOKENS)
@near_examples(REASON_FIELDS, {"reason": "Patient rang", "then": "contacted", "sequence": SEEN}, REASON_FIELDS)
@FUZZ
def test_cancelling_an_appointment_stores_the_reason_as_typed_or_nothing(booked, post, token_choice):
    """Any reason, next step and version: no 5xx; a refusal changes nothing; an accepted cancel
    frees the time, keeps the reason trimmed, moves the request on as chosen, with one email and
    one audit entry; every plain reason within 200 characters with the version shown is accepted."""
    data, all_valid = post
    booked.booked_again()
    before, row_before = state(booked.app), booked.row()
    data = shown(data, row_before["sequence"])
    response = booked.post("cancel", data, token_choice)
    after, row_after = state(booked.app), booked.row()
    body = assert_refused_unchanged(response, before, after, token_choice)
    if response.status_code == 303:
        assert token_choice == "valid" and first(data["sequence"]).strip() == str(row_before["sequence"])
        assert added(before, after) == {"OutboxMessage": 1, "AuditEvent": 1}
        assert row_after["cancelled"] and row_after["cancel_reason"] == cleaned(data["reason"])
        assert is_clean_text(row_after["cancel_reason"], 200) and after.statuses[booked.reference] == first(data["then"])
    else:
        assert response.status_code in (400, 409) and row_after == row_before, body[:500]
        if token_choice == "valid":
            assert "There is a problem" in body or STALE_PAGE in body, body[:500]
    assert not (all_valid and token_choice == "valid") or response.status_code == 303, body[:500]
