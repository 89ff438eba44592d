"""The waitlist's patient pages, on the `self_service` blueprint: asking for an earlier time (from
the manage page or the confirmation page, through the manage link) and leaving; and an offer's
page, where the patient takes the earlier time or says no.

Tokens travel in the query string and forms, never the path. A token that opens nothing counts
against the address (the manage link's limit, shared), so guessing either kind is slowed alike.
Every refusal is a page that says what happened, never a server error.
"""

from __future__ import annotations

from flask import current_app, redirect, render_template, request, url_for

from intake.mail.outbox import background_sender
from intake.platform.extensions import db
from intake.platform.timeutil import LONDON, utcnow
from intake.self_service import services, waitlist
from intake.self_service.forms import LinkActionForm
from intake.self_service.routes import _opened, _rules, bp, guesses_limited
from intake.waitlist.services import WaitlistRules, entry_for

# What each way an offer can be closed answers: the page's status.
CLOSED_STATUS = {"taken": 200, "declined": 200, "gone": 410, "expired": 410, "withdrawn": 410, "not_earlier": 409, "too_late": 409}


def _earlier_page(managed, token: str, status: int = 200):
    wishes, waiting = waitlist.wishes(managed.appointment), entry_for(managed.appointment.id)
    return render_template("self_service/earlier.html", managed=managed, token=token, form=LinkActionForm(token=token), waiting=waiting,
                           asked=waiting.asked_at.astimezone(LONDON) if waiting else None, wishes=wishes, minutes=managed.appointment.minutes), status


@bp.get("/earlier")
@guesses_limited
def earlier():
    """Ask to hear of an earlier time, or see that you have asked and leave the waitlist."""
    token = request.args.get("token", "")
    managed, elsewhere = _opened(token)
    return elsewhere or _earlier_page(managed, token)


def _waitlist_change(change, outcome: str):
    """Join or leave through the manage link, then back to the appointment with a word on what happened."""
    form = LinkActionForm()
    managed, elsewhere = _opened(form.token.data or "")
    if elsewhere or not form.validate_on_submit():
        return elsewhere or _earlier_page(managed, form.token.data, 400)
    try:
        change(form.token.data, **_rules())
    except services.TooLate:
        db.session.rollback()
        return _earlier_page(managed, form.token.data, 409)
    db.session.commit()
    return redirect(url_for("self_service.manage", token=form.token.data, waitlist=outcome), code=303)


@bp.post("/earlier")
@guesses_limited
def join_waitlist():
    """Put the appointment on the waitlist for an earlier time."""
    return _waitlist_change(waitlist.join, "joined")


@bp.post("/earlier/leave")
@guesses_limited
def leave_waitlist():
    """Take the appointment off the waitlist."""
    return _waitlist_change(waitlist.leave, "left")


def _offer_page(token: str, form: LinkActionForm | None = None, closed: waitlist.OfferClosed | None = None):
    """The offer to take or decline, or the page saying why it is closed (404 for a link that opens nothing)."""
    rules = WaitlistRules.from_config(current_app.config)
    try:
        offered = closed.offered if closed else waitlist.open_offer(token, now=utcnow(), rules=rules)
    except waitlist.OfferUnknown:
        return render_template("self_service/offer_unknown.html"), 404
    except waitlist.OfferClosed as found:
        closed, offered = found, found.offered
    if closed is not None:
        return render_template("self_service/offer_closed.html", offered=offered, why=closed.why), CLOSED_STATUS[closed.why]
    return render_template("self_service/offer.html", offered=offered, form=form or LinkActionForm(token=token)), 400 if form else 200


@bp.get("/offer")
@guesses_limited
def offer():
    """An earlier time offered from the waitlist: take it, or say no thanks."""
    return _offer_page(request.args.get("token", ""))


def _answer(answer):
    """Take or decline the offer in the form, then show the offer's page as it now stands."""
    form = LinkActionForm()
    token = form.token.data or ""
    if not form.validate_on_submit():
        return _offer_page(token, form)
    try:
        messages = answer(token, now=utcnow(), rules=WaitlistRules.from_config(current_app.config)) or []
    except waitlist.OfferUnknown:
        return _offer_page(token)
    except waitlist.OfferClosed as closed:
        db.session.commit()  # a time that went meanwhile: the offer is marked gone, the attempt audited
        return _offer_page(token, closed=closed)
    db.session.commit()
    background_sender(current_app).send_after_commit(messages)
    return redirect(url_for("self_service.offer", token=token), code=303)


@bp.post("/offer/take")
@guesses_limited
def take_offer():
    """Move the appointment to the offered time, if it is still free."""
    return _answer(waitlist.take)


@bp.post("/offer/decline")
@guesses_limited
def decline_offer():
    """Say no to this time; stay on the waitlist for others."""
    return _answer(waitlist.decline)
