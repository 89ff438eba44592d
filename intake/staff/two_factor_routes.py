"""Two-step sign-in, on the `staff` blueprint: the code page after the password, setting up an
authenticator app (required by the role, or chosen), and new recovery codes.

The code page and the set-up page also serve a half-done sign-in (the password was right, nobody
is signed in yet): they admit only that, for a few minutes, and every other back-office page still
sends its holder to sign in. Recovery codes are shown in the answer to the form that made them,
never stored in plain or put in the session cookie, so they are shown exactly once.
"""

from __future__ import annotations

from flask import current_app, render_template, session, url_for
from flask_limiter.util import get_remote_address
from flask_login import current_user

from intake.platform.extensions import db, limiter
from intake.platform.timeutil import utcnow
from intake.staff import accounts, two_factor
from intake.staff.audit import audit
from intake.staff.errors import StaffError
from intake.staff.models import StaffUser
from intake.staff.routes import ALL_ROLES, _redirect, bp, roles
from intake.staff.sign_in import SESSION_PENDING, SESSION_SECOND_FACTOR, pending_destination, pending_sign_in, signed_in, start_session
from intake.staff.two_factor_forms import AuthenticatorCodeForm, CodeForm


def _code_account_key() -> str:
    """Whose code is being tried: the signed-in account, or the half-signed-in one."""
    if current_user.is_authenticated:
        return f"staff-code:{current_user.id}"
    pending = session.get(SESSION_PENDING)
    return f"staff-code:{pending.get('id', 'none') if isinstance(pending, dict) else 'none'}"


def _code_account_and_address_key() -> str:
    return f"{_code_account_key()}:from:{get_remote_address()}"


def _wrong_code(response) -> bool:
    """A refused code (or a form that was not a code at all) answers 400; only those count."""
    return response.status_code == 400


def code_limits(view):
    """Wrong codes are counted like wrong passwords: per address, per account from one address,
    and per account from everywhere (a ceiling). Only someone who knew the password gets here, so
    the count per account is no lock-out switch for strangers."""
    config = lambda name: lambda: current_app.config[name]  # noqa: E731
    view = limiter.limit(config("LOGIN_LIMIT_PER_ACCOUNT_ANYWHERE"), methods=["POST"], key_func=_code_account_key, deduct_when=_wrong_code)(view)
    view = limiter.limit(config("LOGIN_LIMIT_PER_ACCOUNT"), methods=["POST"], key_func=_code_account_and_address_key, deduct_when=_wrong_code)(view)
    return limiter.limit(config("LOGIN_LIMIT_PER_ADDRESS"), methods=["POST"], deduct_when=_wrong_code)(view)


def _expired():
    """The half-done sign-in is missing, too old or no longer valid: start again."""
    had_one = SESSION_PENDING in session
    session.pop(SESSION_PENDING, None)
    return _redirect("staff.login", expired=1) if had_one else _redirect("staff.login")


@bp.route("/login/code", methods=["GET", "POST"])
@roles(*ALL_ROLES)
@code_limits
def login_code():
    """The second step of signing in: the authenticator app's code, or a recovery code."""
    if current_user.is_authenticated:
        return _redirect("staff.requests")
    user = pending_sign_in(enrol=False)
    if user is None:
        return _redirect("staff.enrol") if pending_sign_in(enrol=True) else _expired()
    form = CodeForm()
    if form.validate_on_submit():
        now = utcnow()
        try:
            used = two_factor.check_code(user, form.code.data, now)
        except StaffError as error:
            form.code.errors = [str(error)]
            audit(user, "login_code_failed", now=now)
            db.session.commit()
        else:
            return signed_in(user, now, pending_destination(), second_factor=used)
    return render_template("staff/login_code.html", form=form), 400 if form.errors else 200


def _enrolling_user() -> StaffUser | None:
    """Who is setting up: the signed-in member of staff, or the half-signed-in one whose role needs it."""
    if current_user.is_authenticated:
        return db.session.get(StaffUser, current_user.id)
    return pending_sign_in(enrol=True)


@bp.route("/two-step/set-up", methods=["GET", "POST"])
@roles(*ALL_ROLES)
@code_limits
def enrol():
    """Set up an authenticator app: its QR code and secret, then its first code proves it works;
    the ten recovery codes are shown in the answer, once."""
    user = _enrolling_user()
    if user is None:
        return _redirect("staff.login_code") if pending_sign_in(enrol=False) else _expired()
    enrolment = two_factor.pending_enrolment(user, current_app.config["CLINIC_NAME"])
    if enrolment is None:  # set up already, or not started (from the two-step page)
        return _redirect("staff.two_step") if current_user.is_authenticated else _expired()
    form = AuthenticatorCodeForm()
    if form.validate_on_submit():
        now = utcnow()
        try:
            codes = two_factor.finish_enrolment(user, form.code.data, now)
        except StaffError as error:
            form.code.errors = [str(error)]
        else:
            return _enrolled(user, codes, now)
    page = render_template("staff/enrol.html", form=form, enrolment=enrolment, signing_in=not current_user.is_authenticated)
    return page, 400 if form.errors else 200


def _enrolled(user: StaffUser, codes: list[str], now):
    """Set up: finish the sign-in that had to set it up (or mark this session as using it), then
    show the recovery codes."""
    going = ""
    if current_user.is_authenticated:
        session[SESSION_SECOND_FACTOR] = True
    else:
        going = pending_destination()
        start_session(user, now, second_factor="new authenticator")
    db.session.commit()
    return _recovery_codes_page(codes, going, first=True)


@bp.post("/two-step/start")
@roles(*ALL_ROLES)
def start_enrolment():
    """Choose to set up two-step sign-in: a new secret to scan (or the one already waiting)."""
    try:
        two_factor.start_enrolment(current_user)
    except StaffError:
        return _redirect("staff.two_step")  # already on
    db.session.commit()
    return _redirect("staff.enrol")


def _recovery_codes_page(codes: list[str], going: str, first: bool):
    """The ten recovery codes, shown in this answer only (it is never cached: see never_cache)."""
    onward = accounts.safe_return_path(going, url_for("staff.requests"))
    return render_template("staff/recovery_codes.html", codes=codes, onward=onward, first=first)


@bp.get("/two-step")
@roles(*ALL_ROLES)
def two_step():
    """Whether two-step sign-in is on for this account, how many recovery codes are left, and the
    way to set it up or to make new recovery codes."""
    enrolled = two_factor.is_enrolled(current_user.id)
    return render_template(
        "staff/two_step.html", enrolled=enrolled, form=AuthenticatorCodeForm(),
        codes_left=two_factor.recovery_codes_left(current_user.id) if enrolled else 0,
    )


@bp.post("/two-step/recovery-codes")
@roles(*ALL_ROLES)
@code_limits
def renew_recovery_codes():
    """Ten new recovery codes in place of the old ones, after a current code from the app."""
    if not two_factor.is_enrolled(current_user.id):
        return _redirect("staff.two_step")
    form = AuthenticatorCodeForm()
    if form.validate():
        try:
            codes = two_factor.renew_recovery_codes(current_user, form.code.data, utcnow())
        except StaffError as error:
            form.code.errors = [str(error)]
        else:
            db.session.commit()
            return _recovery_codes_page(codes, "", first=False)
    db.session.rollback()
    return render_template(
        "staff/two_step.html", enrolled=True, form=form, codes_left=two_factor.recovery_codes_left(current_user.id),
    ), 400
