"""The waitlist, as patients and reception meet it: asking for an earlier time through the manage
link, a freed time offered by each patient's channel in order of asking, the first to confirm
moving to it (one winner, even at the same instant), the others told kindly that it has gone,
offers that expire, links that open nothing, and every use audited."""

from __future__ import annotations

import html
import re
import threading
from datetime import timedelta
from urllib.parse import urlencode

import pytest
from sqlalchemy import select

from intake.appointments.models import Appointment
from intake.mail.outbox import send_due_messages, wait_for_background_sends
from intake.mail.segments import segment_count
from intake.platform.extensions import db, limiter
from intake.self_service import waitlist_routes
from intake.staff.models import AuditEvent
from intake.waitlist import services as waitlist_services
from intake.waitlist.models import WaitlistEntry, WaitlistOffer
from intake.waitlist.services import WaitlistRules
from tests.factories import CSRF_PATTERN, book_appointment, free_slot, new_practitioner, new_request, new_staff, outbox, sign_in

MANAGE_TOKEN = re.compile(r"/appointment\?token=([A-Za-z0-9_-]{43})")
OFFER_TOKEN = re.compile(r"/appointment/offer\?token=([A-Za-z0-9_-]{43})")
ANY_TIME = {"days": ["mon", "tue", "wed", "thu", "fri"], "times": ["morning", "afternoon"]}


def text(response) -> str:
    return re.sub(r"\s+", " ", html.unescape(response.get_data(as_text=True)))


def fields(response) -> dict[str, str]:
    body = response.get_data(as_text=True)
    return {"token": re.search(r'name="token" type="hidden" value="([^"]*)"', body).group(1), "csrf_token": CSRF_PATTERN.search(body).group(1)}


class Clinic:
    """Riverside with one practitioner, reception, and patients booked through reception."""

    def __init__(self, app) -> None:
        self.app = app
        self.reception = new_staff(app, "reception")
        self.clara = new_practitioner(app, "Clara Clinician")

    def booked(self, name: str, index: int, **answers) -> dict:
        """A patient booked at the `index`th free time; their manage token and appointment id."""
        reference = new_request(self.app, first=name, email=f"{name.lower()}@example.com", when_and_where=answers.pop("when", ANY_TIME), **answers)
        appointment = book_appointment(self.app, reference, self.reception, free_slot(self.app, practitioner=self.clara, index=index))
        [email] = [message for message in outbox(self.app) if message.recipient == f"{name.lower()}@example.com"
                   and message.kind == "patient_booking_confirmation"]
        return {"reference": reference, "appointment": appointment, "token": MANAGE_TOKEN.search(email.text_body).group(1)}

    def join(self, patient: dict):
        client = self.app.test_client()
        page = client.get("/appointment/earlier?" + urlencode({"token": patient["token"]}))
        assert page.status_code == 200 and "Ask for an earlier time" in text(page)
        return client.post("/appointment/earlier", data=fields(page))

    def cancel(self, patient: dict):
        client = self.app.test_client()
        page = client.get("/appointment?" + urlencode({"token": patient["token"]}))
        data = {**fields(page), "seen": re.search(r'name="seen" type="hidden" value="(\d+)"', page.get_data(as_text=True)).group(1)}
        return client.post("/appointment/cancel", data=data)

    def offers_to(self, name: str) -> list[str]:
        """The offer tokens sent to a patient, oldest first."""
        return [OFFER_TOKEN.search(message.text_body).group(1) for message in outbox(self.app)
                if message.kind == "waitlist_offer" and message.recipient.startswith(name.lower())]

    def appointment(self, patient: dict) -> Appointment:
        with self.app.app_context():
            found = db.session.get(Appointment, patient["appointment"])
            db.session.expunge(found)
            return found

    def audit(self) -> list[str]:
        with self.app.app_context():
            return list(db.session.execute(select(AuditEvent.action).order_by(AuditEvent.id)).scalars())


@pytest.fixture
def clinic(app) -> Clinic:
    return Clinic(app)


def offer_page(client, token: str):
    return client.get("/appointment/offer?" + urlencode({"token": token}))


def take(client, token: str):
    return client.post("/appointment/offer/take", data=fields(offer_page(client, token)))


def test_a_waiting_patient_is_offered_a_cancelled_earlier_time_and_takes_it(app, clinic):
    alan, grace = clinic.booked("Alan", 45), clinic.booked("Grace", 100)
    joined = clinic.join(grace)
    assert joined.status_code == 303 and "waitlist=joined" in joined.headers["Location"]
    assert "You are on the waitlist" in text(app.test_client().get(joined.headers["Location"]))
    freed = clinic.appointment(alan).starts_at
    assert clinic.cancel(alan).status_code == 303
    [token] = clinic.offers_to("Grace")
    client = app.test_client()
    shown = offer_page(client, token)
    assert shown.status_code == 200 and "An earlier time for you, Grace" in text(shown) and "Clara Clinician" in text(shown)
    response = client.post("/appointment/offer/take", data=fields(shown))
    assert response.status_code == 303
    moved = clinic.appointment(grace)
    assert moved.starts_at == freed and moved.sequence == 1 and not moved.cancelled
    assert "The earlier time is yours" in text(client.get(response.headers["Location"]))
    again = client.post("/appointment/offer/take", data=fields(shown))  # a reused link changes nothing more
    assert again.status_code == 200 and "The earlier time is yours" in text(again) and clinic.appointment(grace).sequence == 1
    with app.app_context():
        assert db.session.execute(select(WaitlistEntry.ended_because)).scalar_one() == "offer_taken"
    email = outbox(app)[-1]
    assert email.recipient == "grace@example.com" and "has moved" in email.subject
    assert {"waitlist_join", "patient_cancel", "waitlist_take_offer"} <= set(clinic.audit())


def test_the_first_to_confirm_gets_the_time_and_the_others_are_told_kindly_it_has_gone(app, clinic):
    alan, grace, hedy = clinic.booked("Alan", 45), clinic.booked("Grace", 100), clinic.booked("Hedy", 110)
    clinic.join(grace), clinic.join(hedy)
    clinic.cancel(alan)
    [grace_token], [hedy_token] = clinic.offers_to("Grace"), clinic.offers_to("Hedy")
    hedy_client = app.test_client()
    hedy_form = fields(offer_page(hedy_client, hedy_token))
    assert take(app.test_client(), grace_token).status_code == 303  # Grace confirms first
    gone = offer_page(hedy_client, hedy_token)
    assert gone.status_code == 410 and "Sorry, this time has gone" in text(gone) and "has not changed" in text(gone)
    late = hedy_client.post("/appointment/offer/take", data=hedy_form)
    assert late.status_code == 410 and "Sorry, this time has gone" in text(late)
    assert clinic.appointment(hedy).sequence == 0


def test_a_time_reception_books_meanwhile_is_gone_when_the_patient_confirms_and_the_attempt_is_audited(app, clinic):
    alan, grace = clinic.booked("Alan", 45), clinic.booked("Grace", 100)
    clinic.join(grace)
    freed = clinic.appointment(alan)
    clinic.cancel(alan)
    [token] = clinic.offers_to("Grace")
    client = app.test_client()
    form = fields(offer_page(client, token))
    walk_in = new_request(app, first="Walter", email="walter@example.com")
    slot = f"{freed.practitioner_id}.{freed.site_code}.{freed.starts_at:%Y%m%dT%H%MZ}"
    book_appointment(app, walk_in, clinic.reception, slot)
    refused = client.post("/appointment/offer/take", data=form)
    assert refused.status_code == 410 and "Sorry, this time has gone" in text(refused)
    assert clinic.appointment(grace).sequence == 0 and "waitlist_offer_gone" in clinic.audit()
    with app.app_context():
        assert db.session.execute(select(WaitlistOffer.outcome)).scalar_one() == "gone"


def test_the_old_time_of_a_patient_who_takes_an_offer_is_offered_in_turn(app, clinic):
    alan, grace, hedy = clinic.booked("Alan", 45), clinic.booked("Grace", 90), clinic.booked("Hedy", 110)
    clinic.join(grace), clinic.join(hedy)
    graces_old = clinic.appointment(grace).starts_at
    clinic.cancel(alan)
    [alans_time] = clinic.offers_to("Grace")
    take(app.test_client(), alans_time)
    first, second = clinic.offers_to("Hedy")  # Alan's time (now gone), then Grace's old time
    shown = offer_page(app.test_client(), second)
    assert shown.status_code == 200 and graces_old.strftime("%Y") in text(shown)
    assert take(app.test_client(), second).status_code == 303 and clinic.appointment(hedy).starts_at == graces_old
    assert offer_page(app.test_client(), first).status_code == 410


def test_offers_go_in_order_of_asking_to_at_most_the_set_number(make_app):
    app = make_app(WAITLIST_OFFERS_PER_TIME=2)
    clinic = Clinic(app)
    alan = clinic.booked("Alan", 45)
    waiting = [clinic.booked(name, 90 + 10 * number) for number, name in enumerate(("Hedy", "Grace", "Ida"))]
    for patient in waiting:
        clinic.join(patient)
    clinic.cancel(alan)
    assert [message.recipient for message in outbox(app) if message.kind == "waitlist_offer"] == ["hedy@example.com", "grace@example.com"]


def test_a_time_that_does_not_suit_the_patient_is_not_offered(app, clinic):
    alan = clinic.booked("Alan", 45)
    grace = clinic.booked("Grace", 100, when={**ANY_TIME, "times": ["evening"]})  # the clinic closes at 17:00
    clinic.join(grace)
    clinic.cancel(alan)
    assert clinic.offers_to("Grace") == []


def test_an_offer_by_text_for_those_who_chose_texts_is_short_and_carries_the_link(app, clinic):
    alan = clinic.booked("Alan", 45)
    grace = clinic.booked("Grace", 100, about_you={"contact_method": "text", "phone": "07400 123456"})
    clinic.join(grace)
    clinic.cancel(alan)
    [message] = [message for message in outbox(app) if message.kind == "waitlist_offer"]
    assert message.channel == "sms" and message.recipient == "+447400123456" and segment_count(message.text_body) <= 2
    token = OFFER_TOKEN.search(message.text_body).group(1)
    assert offer_page(app.test_client(), token).status_code == 200


def test_an_expired_offer_says_so_and_cannot_be_taken(app, clinic, monkeypatch):
    alan, grace = clinic.booked("Alan", 45), clinic.booked("Grace", 100)
    clinic.join(grace)
    clinic.cancel(alan)
    [token] = clinic.offers_to("Grace")
    client = app.test_client()
    form = fields(offer_page(client, token))
    with app.app_context():
        expires = db.session.execute(select(WaitlistOffer.expires_at)).scalar_one()
    monkeypatch.setattr(waitlist_routes, "utcnow", lambda: expires + timedelta(seconds=1))
    assert "Sorry, this offer has ended" in text(offer_page(client, token))
    refused = client.post("/appointment/offer/take", data=form)
    assert refused.status_code == 410 and "Sorry, this offer has ended" in text(refused)
    assert clinic.appointment(grace).sequence == 0


def test_an_offer_message_that_could_not_go_before_the_offer_ended_is_never_sent(app, clinic):
    """The outbox gives up on an offer's message at the offer's expiry (a mail server down till then)."""
    alan, grace = clinic.booked("Alan", 45), clinic.booked("Grace", 100)
    clinic.join(grace)
    clinic.cancel(alan)
    [message] = [message for message in outbox(app) if message.kind == "waitlist_offer"]
    with app.app_context():
        expires = db.session.execute(select(WaitlistOffer.expires_at)).scalar_one()
        assert message.send_before == expires and message.status == "pending"
        report = send_due_messages(app.config, due_by=expires)
    assert report.dead == [message.id] and message.id not in report.sent


def test_offers_stand_for_the_set_hours(make_app):
    app = make_app(WAITLIST_OFFER_HOURS=1)
    clinic = Clinic(app)
    alan, grace = clinic.booked("Alan", 45), clinic.booked("Grace", 100)
    clinic.join(grace)
    clinic.cancel(alan)
    with app.app_context():
        offer = db.session.execute(select(WaitlistOffer)).scalar_one()
        assert offer.expires_at - offer.offered_at == timedelta(hours=1)


@pytest.mark.parametrize("token", ["", "x", "A" * 43, "A" * 5000, "../../etc/passwd", "é" * 43])
def test_an_offer_link_that_opens_nothing_gets_a_clear_page_never_a_server_error(app, clinic, token):
    grace = clinic.booked("Grace", 100)
    client = app.test_client()
    response = offer_page(client, token)
    assert response.status_code == 404 and "We could not find that offer" in text(response)
    csrf = fields(client.get("/appointment/earlier?" + urlencode({"token": grace["token"]})))["csrf_token"]
    for path in ("/appointment/offer/take", "/appointment/offer/decline"):
        assert client.post(path, data={"token": token, "csrf_token": csrf}).status_code == 404


def test_a_manage_link_opens_no_offer_and_an_offer_link_opens_no_appointment(app, clinic):
    alan, grace = clinic.booked("Alan", 45), clinic.booked("Grace", 100)
    clinic.join(grace)
    clinic.cancel(alan)
    [token] = clinic.offers_to("Grace")
    client = app.test_client()
    assert offer_page(client, grace["token"]).status_code == 404
    assert client.get("/appointment?" + urlencode({"token": token})).status_code == 404
    with app.app_context():
        assert token not in str(db.session.execute(select(WaitlistOffer.token_digest)).scalars().all())  # only its digest is kept


def test_guessing_offer_links_counts_with_guessing_manage_links(make_app):
    app = make_app(MANAGE_LINK_LIMIT_PER_ADDRESS="3 per hour")
    limiter.reset()
    client = app.test_client()
    assert [offer_page(client, "B" * 43).status_code, client.get("/appointment?token=" + "C" * 43).status_code,
            offer_page(client, "D" * 43).status_code, offer_page(client, "E" * 43).status_code] == [404, 404, 404, 429]


def test_a_patient_who_says_no_thanks_keeps_their_appointment_and_stays_waiting(app, clinic):
    alan, grace = clinic.booked("Alan", 45), clinic.booked("Grace", 100)
    clinic.join(grace)
    clinic.cancel(alan)
    [token] = clinic.offers_to("Grace")
    client = app.test_client()
    response = client.post("/appointment/offer/decline", data=fields(offer_page(client, token)))
    assert response.status_code == 303
    assert "You said no to this time" in text(client.get(response.headers["Location"]))
    with app.app_context():
        assert db.session.execute(select(WaitlistEntry.ended_at)).scalar_one() is None
    assert clinic.appointment(grace).sequence == 0 and "waitlist_decline_offer" in clinic.audit()


def test_leaving_the_waitlist_closes_open_offers(app, clinic):
    alan, grace = clinic.booked("Alan", 45), clinic.booked("Grace", 100)
    clinic.join(grace)
    clinic.cancel(alan)
    [token] = clinic.offers_to("Grace")
    client = app.test_client()
    page = client.get("/appointment/earlier?" + urlencode({"token": grace["token"]}))
    assert "You are on the waitlist" in text(page)
    left = client.post("/appointment/earlier/leave", data=fields(page))
    assert left.status_code == 303 and "You have left the waitlist" in text(client.get(left.headers["Location"]))
    closed = offer_page(client, token)
    assert closed.status_code == 410 and "This offer has closed" in text(closed)
    assert "waitlist_leave" in clinic.audit()


def test_cancelling_takes_a_patient_off_the_waitlist_and_moving_keeps_them_on(app, clinic):
    grace, hedy = clinic.booked("Grace", 90), clinic.booked("Hedy", 100)
    clinic.join(grace), clinic.join(hedy)
    clinic.cancel(grace)
    client = app.test_client()
    times = client.get("/appointment/move?" + urlencode({"token": hedy["token"]})).get_data(as_text=True)
    new_time = re.findall(r'name="slot" type="radio" value="([^"]+)"', times)[-1]
    confirm = client.get("/appointment/move/confirm?" + urlencode({"token": hedy["token"], "slot": new_time}))
    body = confirm.get_data(as_text=True)
    moved = client.post("/appointment/move", data={**fields(confirm), "slot": new_time,
                                                   "seen": re.search(r'name="seen" type="hidden" value="(\d+)"', body).group(1)})
    assert moved.status_code == 303
    assert "still on the waitlist" in text(client.get(moved.headers["Location"]))
    with app.app_context():
        entries = dict(db.session.execute(select(WaitlistEntry.appointment_id, WaitlistEntry.ended_because)).all())
    assert entries == {grace["appointment"]: "appointment_cancelled", hedy["appointment"]: None}


def test_reception_cancelling_and_erasure_free_times_for_the_waitlist(app, clinic, make_staff):
    alan, bea, grace = clinic.booked("Alan", 45), clinic.booked("Bea", 50), clinic.booked("Grace", 100)
    clinic.join(grace)
    staff = sign_in(app, clinic.reception)
    cancelled = staff.post(f"/staff/requests/{alan['reference']}/appointments/{alan['appointment']}/cancel",
                           {"reason": "Clinician unwell", "then": "contacted", "sequence": "0"}, form_path=f"/staff/requests/{alan['reference']}")
    assert cancelled.status_code == 303 and len(clinic.offers_to("Grace")) == 1
    admin = sign_in(app, make_staff("admin"))
    erased = admin.post(f"/staff/requests/{bea['reference']}/erase", {"reason": "Asked by phone"}, form_path=f"/staff/requests/{bea['reference']}/erase")
    assert erased.status_code == 303 and len(clinic.offers_to("Grace")) == 2


def test_offers_of_times_reception_or_erasure_frees_go_out_straight_after_the_change(app, clinic, make_staff):
    """As with a patient's own cancelling, the offers are sent just after the response, not at
    the outbox worker's next pass: a freed time is worth most the moment it is free."""
    app.config["OUTBOX_SEND_AFTER_REQUEST"] = True
    alan, bea, cara, grace = clinic.booked("Alan", 45), clinic.booked("Bea", 50), clinic.booked("Cara", 55), clinic.booked("Grace", 100)
    clinic.join(grace)

    def offers_sent() -> list[str]:
        wait_for_background_sends(app)
        return [message.status for message in outbox(app) if message.kind == "waitlist_offer"]

    staff = sign_in(app, clinic.reception)
    staff.post(f"/staff/requests/{alan['reference']}/appointments/{alan['appointment']}/cancel",
               {"reason": "Clinician unwell", "then": "contacted", "sequence": "0"}, form_path=f"/staff/requests/{alan['reference']}")
    assert offers_sent() == ["sent"]
    moved = staff.post(f"/staff/requests/{cara['reference']}/appointments/{cara['appointment']}/move",
                       {"slot": free_slot(app, practitioner=clinic.clara, index=120), "sequence": "0"},
                       form_path=f"/staff/requests/{cara['reference']}")
    assert moved.status_code == 303 and offers_sent() == ["sent"] * 2
    admin = sign_in(app, make_staff("admin"))
    admin.post(f"/staff/requests/{bea['reference']}/erase", {"reason": "Asked by phone"}, form_path=f"/staff/requests/{bea['reference']}/erase")
    assert offers_sent() == ["sent"] * 3


def test_the_booking_confirmation_page_offers_the_waitlist(app):
    new_practitioner(app, "Clara Clinician")
    from tests.factories import Patient

    patient = Patient(app.test_client())
    patient.answer_all()
    patient.submit()
    first = re.search(r'name="slot" type="radio" value="([^"]+)"', patient.client.get("/book/time").get_data(as_text=True)).group(1)
    confirm = patient.client.get("/book/time/confirm?" + urlencode({"slot": first})).get_data(as_text=True)
    booked = patient.client.post("/book/time/confirm", data={
        "slot": first, "csrf_token": CSRF_PATTERN.search(confirm).group(1),
        "answers_seen": re.search(r'name="answers_seen" type="hidden" value="(\d+)"', confirm).group(1),
    })
    confirmation = patient.client.get(booked.headers["Location"]).get_data(as_text=True)
    link = html.unescape(re.search(r'href="(/appointment/earlier\?token=[^"]+)"', confirmation).group(1))
    assert "Ask for an earlier time" in text(patient.client.get(link))


def test_a_bad_form_on_the_offer_page_changes_nothing(app, clinic):
    alan, grace = clinic.booked("Alan", 45), clinic.booked("Grace", 100)
    clinic.join(grace)
    clinic.cancel(alan)
    [token] = clinic.offers_to("Grace")
    client = app.test_client()
    offer_page(client, token)
    assert client.post("/appointment/offer/take", data={"token": token}).status_code == 400  # no CSRF token
    assert clinic.appointment(grace).sequence == 0


def test_two_patients_confirming_the_same_time_at_once_get_one_winner(app, clinic):
    alan = clinic.booked("Alan", 45)
    racers = [clinic.booked(name, 90 + 10 * number) for number, name in enumerate(("Grace", "Hedy", "Ida"))]
    for patient in racers:
        clinic.join(patient)
    clinic.cancel(alan)
    tokens = [clinic.offers_to(name)[0] for name in ("Grace", "Hedy", "Ida")]
    clients = [app.test_client() for _ in tokens]
    forms = [fields(offer_page(client, token)) for client, token in zip(clients, tokens)]
    barrier, statuses = threading.Barrier(len(tokens)), []

    def confirm(client, form) -> None:
        barrier.wait()
        statuses.append(client.post("/appointment/offer/take", data=form).status_code)

    threads = [threading.Thread(target=confirm, args=pair) for pair in zip(clients, forms)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert sorted(statuses) == [303, 410, 410]
    moved = [patient for patient in racers if clinic.appointment(patient).sequence == 1]
    assert len(moved) == 1
    with app.app_context():
        outcomes = sorted(db.session.execute(select(WaitlistOffer.outcome).where(WaitlistOffer.starts_at == clinic.appointment(moved[0]).starts_at)).scalars())
    assert outcomes == ["gone", "gone", "taken"]


def test_a_time_whose_offers_all_ended_untaken_goes_to_the_next_patients_waiting_once(make_app):
    app = make_app(WAITLIST_OFFERS_PER_TIME=1)
    clinic = Clinic(app)
    alan = clinic.booked("Alan", 45)
    hedy, grace, ida = (clinic.booked(name, 90 + 10 * number) for number, name in enumerate(("Hedy", "Grace", "Ida")))
    for patient in (hedy, grace, ida):
        clinic.join(patient)
    clinic.cancel(alan)
    rules = WaitlistRules.from_config(app.config)
    with app.app_context():
        expires = db.session.execute(select(WaitlistOffer.expires_at)).scalar_one()
        assert waitlist_services.offer_again(rules, expires - timedelta(minutes=1)) == []  # Hedy's offer still stands
        db.session.commit()
    assert [message.recipient for message in outbox(app) if message.kind == "waitlist_offer"] == ["hedy@example.com"]
    with app.app_context():
        assert len(waitlist_services.offer_again(rules, expires + timedelta(minutes=1))) == 1  # Hedy let it pass: Grace next
        db.session.commit()
        assert waitlist_services.offer_again(rules, expires + timedelta(minutes=2)) == []  # never twice at once
    client = app.test_client()
    [grace_token] = clinic.offers_to("Grace")
    client.post("/appointment/offer/decline", data=fields(offer_page(client, grace_token)))
    with app.app_context():
        assert len(waitlist_services.offer_again(rules, expires + timedelta(minutes=3))) == 1  # Grace said no: Ida next, never Hedy again
        db.session.commit()
    assert [message.recipient for message in outbox(app) if message.kind == "waitlist_offer"] == [
        "hedy@example.com", "grace@example.com", "ida@example.com"]
