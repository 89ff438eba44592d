"""The session side of signing in to the back office, for the sign-in views (routes.py and
two_factor_routes.py): counting failures, the half-done sign-in between the password and the
code, and starting a new session.

Throttling. Failed sign-ins are counted per address (any account), per account from one address,
and per account from everywhere. Only the first two are tight: a tight count per account alone
would let anyone lock a member of staff out by typing wrong passwords for their email, so a
stranger's failures from their own address do not stop the member of staff signing in from
theirs. The count per account from everywhere (LOGIN_LIMIT_PER_ACCOUNT_ANYWHERE) is a ceiling many
times larger, only to bound guessing spread over many addresses. It is counted here rather than by
a decorator because even at the ceiling the right password of an account with two-step sign-in
goes on to the code page (whose own limits guard the code): strangers cannot lock out anyone who
has set it up, and a wrong password there still gets the same refusal as an unknown email.

The half-done sign-in. After the right password, an account that must give a code (it has an
authenticator) or set one up (its role requires it) gets a new session holding only who it is,
its session version, when, and where it was going: nobody is signed in, so every back-office page
still sends it to sign in. It lasts CODE_STEP_SECONDS (ENROL_STEP_SECONDS while setting up).
"""

from __future__ import annotations

from datetime import datetime

from flask import Response, current_app, redirect, request, session, url_for
from flask_limiter.util import get_remote_address
from flask_login import login_user
from limits import parse as parse_limit
from werkzeug.exceptions import TooManyRequests

from intake.platform.extensions import db, limiter
from intake.platform.timeutil import utcnow
from intake.staff import accounts, two_factor
from intake.staff.audit import audit
from intake.staff.models import StaffUser

SESSION_SEEN = "staff_seen"
SESSION_PENDING = "staff_pending"
# Set when this session's sign-in included a second factor.
SESSION_SECOND_FACTOR = "staff_second_factor"
CODE_STEP_SECONDS = 5 * 60
ENROL_STEP_SECONDS = 15 * 60


def account_key() -> str:
    """The account a sign-in form names (as typed, tidied), for counting its failures."""
    return "staff-login:" + accounts.normalise_email(request.form.get("email", ""))[:254]


def account_and_address_key() -> str:
    return f"{account_key()}:from:{get_remote_address()}"


def failed_login(response) -> bool:
    """Only failed sign-ins count towards the limits."""
    return response.status_code != 303


def _account_ceiling() -> tuple[object, tuple[str, ...]]:
    """The limit on failures for the posted account from every address, and its storage key."""
    prefix = current_app.config.get("RATELIMIT_KEY_PREFIX", "")
    key = (account_key(), "staff.login-anywhere")
    return parse_limit(current_app.config["LOGIN_LIMIT_PER_ACCOUNT_ANYWHERE"]), (prefix, *key) if prefix else key


def ceiling_reached() -> bool:
    ceiling, key = _account_ceiling()
    return limiter.enabled and not limiter.limiter.test(ceiling, *key)


def count_against_ceiling() -> None:
    if limiter.enabled:
        ceiling, key = _account_ceiling()
        limiter.limiter.hit(ceiling, *key)


def _too_many_attempts() -> TooManyRequests:
    ceiling, key = _account_ceiling()
    reset_at = limiter.limiter.get_window_stats(ceiling, *key).reset_time
    return TooManyRequests(retry_after=max(1, int(reset_at - utcnow().timestamp())))


def after_password(email: str, password: str, going: str) -> Response | None:
    """Where a sign-in goes after its email and password: on to the code (or to setting up an
    authenticator), signed in, or refused (429) at the account's ceiling; None when they are wrong
    (the failure is counted and audited)."""
    now = utcnow()
    over_ceiling = ceiling_reached()
    user = accounts.authenticate(email, password, now)
    if user is not None and two_factor.is_enrolled(user.id):
        return begin_second_step(user, now, going, enrol=False)
    if over_ceiling:
        db.session.rollback()
        raise _too_many_attempts()
    if user is not None:
        if two_factor.required_for(user.role, current_app.config["STAFF_2FA_REQUIRED"]):
            return begin_second_step(user, now, going, enrol=True)
        return signed_in(user, now, going)
    count_against_ceiling()
    audit(None, "login_failed", now=now, email=accounts.normalise_email(email)[:254])
    db.session.commit()
    return None


def begin_second_step(user: StaffUser, now: datetime, going: str, enrol: bool) -> Response:
    """The password was right: a new session holding only a half-done sign-in, then the code page
    (or, for someone whose role needs a code but has no authenticator yet, setting one up)."""
    if enrol:
        two_factor.start_enrolment(user)
    session.clear()  # a new session, and nobody signed in until the second step passes
    session[SESSION_PENDING] = {"id": user.id, "version": user.session_version, "at": now.timestamp(), "enrol": enrol,
                                "next": accounts.safe_return_path(going, "")}
    db.session.commit()  # the secret to set up; a password rehashed on the way
    return redirect(url_for("staff.enrol" if enrol else "staff.login_code"), code=303)


def pending_sign_in(enrol: bool) -> StaffUser | None:
    """The account whose sign-in is half done in this session, if it is still fresh and still valid."""
    pending = session.get(SESSION_PENDING)
    if not isinstance(pending, dict) or pending.get("enrol") is not enrol:
        return None
    lifetime = ENROL_STEP_SECONDS if enrol else CODE_STEP_SECONDS
    if not 0 <= utcnow().timestamp() - pending.get("at", 0) <= lifetime:
        return None
    user = db.session.get(StaffUser, pending.get("id", 0))
    if user is None or not user.active or user.session_version != pending.get("version"):
        return None
    return user


def pending_destination() -> str:
    """Where the half-done sign-in was going (a back-office path, or nothing)."""
    pending = session.get(SESSION_PENDING)
    return pending.get("next", "") if isinstance(pending, dict) else ""


def signed_in(user: StaffUser, now: datetime, going: str, second_factor: str = "") -> Response:
    """Start a new session for the user and send them on to where they were going."""
    start_session(user, now, second_factor)
    db.session.commit()
    return redirect(accounts.safe_return_path(going, url_for("staff.requests")), code=303)


def start_session(user: StaffUser, now: datetime, second_factor: str = "") -> None:
    """Sign the user in, in a new session, noting whether a second factor was given (audited)."""
    session.clear()  # a new session at every sign-in
    login_user(user)
    session[SESSION_SEEN] = now.timestamp()
    if second_factor:
        session[SESSION_SECOND_FACTOR] = True
        audit(user, "login", now=now, second_factor=second_factor)
    else:
        audit(user, "login", now=now)
