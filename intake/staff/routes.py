"""Back-office views. Every view states the roles that may use it; a view without roles is refused."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from functools import wraps

from flask import (
    Blueprint,
    Response,
    abort,
    current_app,
    redirect,
    render_template,
    request,
    session,
    stream_with_context,
    url_for,
)
from flask_login import current_user, logout_user

from intake.appointments.services import all_appointments
from intake.clinic.sites import site_by_code
from intake.journey.journey import STEPS
from intake.mail.models import OutboxMessage
from intake.mail.outbox import background_sender
from intake.mail.services import NotRetryable, failing_messages, retry_message
from intake.platform.database import reads_only
from intake.platform.extensions import db, limiter, login_manager
from intake.platform.timeutil import LONDON, utcnow
from intake.staff import accounts, services, sign_in, two_factor
from intake.staff.audit import audit, audit_page, history
from intake.staff.forms import BookingForm, CancelForm, ListDates, LoginForm, MoveForm, NoteForm, StatusForm
from intake.staff.free_times import free_times_for
from intake.waitlist.services import WaitlistRules
from intake.staff.listing import WHOLE_SEARCH_WORDS, RequestFilters, count_matching, export_rows, list_page, resolve_search
from intake.staff.models import StaffUser
from intake.staff.sign_in import SESSION_SECOND_FACTOR, SESSION_SEEN
from intake.triage import QUESTIONS

bp = Blueprint("staff", __name__, url_prefix="/staff")
ALL_ROLES = ("reception", "clinician", "admin")
PUBLIC_ENDPOINTS = {"staff.login"}
# The second step of signing in (the code, or setting up an authenticator): reached after the
# right password with nobody signed in yet; each view checks that half-done sign-in itself.
SECOND_STEP_ENDPOINTS = {"staff.login_code", "staff.enrol"}
# The last-seen time is written at most this often: a cookie signed and sent again with every
# page would cost each request, and a minute either way does not matter to a 30-minute limit.
SEEN_PRECISION_SECONDS = 60
# A larger page or id would overflow the database's integers (a 500 instead of an empty page or a 404).
MAX_AUDIT_PAGE = 1_000_000
MAX_ROW_ID = 2**31 - 1


@login_manager.user_loader
def load_user(user_id: str) -> StaffUser | None:
    """Flask-Login: the user behind a login cookie, if their session is still valid."""
    return accounts.load_staff(user_id)


def roles(*allowed: str) -> Callable:
    """Mark which roles may use a view (checked for every request in `require_staff`)."""
    def mark(view: Callable) -> Callable:
        @wraps(view)
        def wrapper(*args, **kwargs):
            return view(*args, **kwargs)

        wrapper.staff_roles = frozenset(allowed)
        return wrapper

    return mark


def _redirect(endpoint: str, **values):
    return redirect(url_for(endpoint, **values), code=303)


@bp.before_request
def require_staff():
    """Refuse anyone not signed in, idle too long, or not in a role the view allows."""
    if request.endpoint in PUBLIC_ENDPOINTS:
        return None
    if request.endpoint in SECOND_STEP_ENDPOINTS and not current_user.is_authenticated:
        return None  # the view admits only a half-done sign-in, and sends anyone else to sign in
    if not current_user.is_authenticated:
        return _redirect("staff.login", next=request.path)
    now = utcnow().timestamp()
    idle_limit = current_app.config["STAFF_IDLE_MINUTES"] * 60
    if now - session.get(SESSION_SEEN, 0) > idle_limit:
        logout_user()
        session.clear()
        return _redirect("staff.login", idle=1)
    if two_factor.required_for(current_user.role, current_app.config["STAFF_2FA_REQUIRED"]) and not session.get(SESSION_SECOND_FACTOR):
        # Signed in without a code before their role needed one: sign in again, with one.
        logout_user()
        session.clear()
        return _redirect("staff.login")
    if now - session.get(SESSION_SEEN, 0) >= SEEN_PRECISION_SECONDS:
        session[SESSION_SEEN] = now
    view = current_app.view_functions.get(request.endpoint)
    if current_user.role not in getattr(view, "staff_roles", frozenset()):
        abort(403)
    return None


@bp.context_processor
def signed_in_user() -> dict[str, object]:
    """The back office's pages name who is signed in; the user is loaded only if a page asks."""
    return {"current_user": current_user}


@bp.after_request
def never_cache(response):
    """Back-office pages show health data: never keep them in any cache."""
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.route("/login", methods=["GET", "POST"])
@limiter.limit(lambda: current_app.config["LOGIN_LIMIT_PER_ADDRESS"], methods=["POST"], deduct_when=sign_in.failed_login)
@limiter.limit(lambda: current_app.config["LOGIN_LIMIT_PER_ACCOUNT"], methods=["POST"], key_func=sign_in.account_and_address_key,
               deduct_when=sign_in.failed_login)
def login():
    """Sign in. One message for an unknown email and a wrong password.

    Failures are counted per address (any account) and per account from one address (above),
    and per account from everywhere, a far larger ceiling (see intake.staff.sign_in): a tight
    count per account alone would let anyone lock a member of staff out. Unknown emails are
    counted the same way as known ones, so the answers never tell them apart.
    """
    form = LoginForm()
    error = ""
    if form.validate_on_submit():
        answer = sign_in.after_password(form.email.data, form.password.data, request.args.get("next", ""))
        if answer is not None:
            return answer
        error = "Enter a correct email address and password"
    elif request.method == "POST":
        sign_in.count_against_ceiling()
    return render_template("staff/login.html", form=form, error=error, idle=bool(request.args.get("idle")),
                           expired=bool(request.args.get("expired")))


@bp.post("/logout")
@roles(*ALL_ROLES)
def logout():
    """Sign out, ending every session of this account."""
    user = accounts.end_all_sessions(current_user.id)
    audit(user, "logout")
    db.session.commit()
    logout_user()
    session.clear()
    return _redirect("staff.login")


@bp.get("/")
@reads_only
@roles(*ALL_ROLES)
def requests():
    """The list of requests, flagged first, with filters, search, counts and pages."""
    dates = ListDates(request.args)
    return _list_page(dates, 200 if dates.validate() else 400)


def _list_page(dates: ListDates, status: int):
    """The list as its query string asks (a bad day is left out, with its message next to its box)."""
    filters = _filters()
    page = max(1, min(request.args.get("page", 1, type=int) or 1, 10_000))
    page_size = current_app.config["STAFF_PAGE_SIZE"]
    listed = list_page(filters, page, page_size)
    return render_template(
        "staff/requests.html",
        rows=listed.rows,
        total=listed.total,
        more=listed.more,
        page=page,
        pages=max(1, -(-listed.total // page_size)),
        filters=filters,
        whole_search_words=WHOLE_SEARCH_WORDS,
        counts=listed.counts,
        statuses=services.STATUS_WORDS,
        site_names={site.code: site.name for site in current_app.config["CLINIC_SITES"]},
        dates=dates,
    ), status


def _filters() -> RequestFilters:
    """The list's filters from the query string, checked against the clinic's sites, with the
    search matched whole where it can be (the list and its export show the same requests)."""
    return resolve_search(RequestFilters.from_args(request.args, {site.code for site in current_app.config["CLINIC_SITES"]}))


def _request_or_404(reference: str):
    return services.find_request(reference) or abort(404)


def _request_page(stored, status: int = 200, *, nearest=(), **forms):
    """The request's page, with its forms (showing errors when one failed): status, booking or
    moving and cancelling, notes. Free times are looked up only for those who may book."""
    config = current_app.config
    appointments = all_appointments(stored.id)
    # The appointment still to happen (or not yet marked): the one reception may move or cancel.
    booked = next((appointment for appointment in appointments if not appointment.cancelled and appointment.outcome is None), None)
    times = None
    if current_user.role in ("reception", "admin") and not stored.erased and (booked or "booked" in services.TRANSITIONS[stored.status]):
        times = free_times_for(stored.site_code, utcnow(), moving=booked.id if booked else None, nearest=list(nearest))
        status = 400 if times.query.errors and status == 200 else status
    choices = times.choices if times else []
    return render_template(
        "staff/request.html",
        stored=stored,
        site=site_by_code(config["CLINIC_SITES"], stored.site_code),
        status_form=forms.get("status_form") or StatusForm(),
        next_statuses=_status_choices(stored),
        booking_form=forms.get("booking_form") or BookingForm(times=choices),
        move_form=forms.get("move_form") or MoveForm(times=choices),
        cancel_form=forms.get("cancel_form") or CancelForm(),
        note_form=forms.get("note_form") or NoteForm(),
        notes=services.notes(stored),
        history=history(stored.id),
        appointments=appointments,
        cancel_reasons={appointment.id: appointment.cancel_reason for appointment in appointments if appointment.cancel_reason},
        booked=booked,
        times=times,
        sites=config["CLINIC_SITES"],
        site_names={site.code: site.name for site in config["CLINIC_SITES"]},
        can_book=booked is None and not stored.erased and "booked" in services.TRANSITIONS[stored.status],
        statuses=services.STATUS_WORDS,
        safety_questions=QUESTIONS,
        back_screen_wording=config["BACK_SCREEN_WORDING"],
        steps=STEPS,
        london=LONDON,
    ), status


def _status_choices(stored) -> list[tuple[str, str]]:
    return [(status, services.STATUS_WORDS[status]) for status in services.allowed_next(stored.status)]


@bp.get("/requests/<reference>")
@roles(*ALL_ROLES)
def request_detail(reference: str):
    """Every answer, the flags and the history of one request (the view is audited)."""
    stored = _request_or_404(reference)
    audit(current_user, "view_request", stored.id)
    db.session.commit()
    return _request_page(stored)


@bp.post("/requests/<reference>/status")
@roles("reception", "admin")
def change_status(reference: str):
    """Move the request on (only to a status the rules allow)."""
    stored = _request_or_404(reference)
    form = StatusForm()
    if not form.validate():
        return _request_page(stored, 400, status_form=form)
    try:
        offered = services.change_status(stored, form.status.data, current_user, utcnow(), WaitlistRules.from_config(current_app.config))
    except services.StaffError as error:
        form.status.errors = [str(error)]
        return _request_page(stored, 400, status_form=form)
    db.session.commit()
    background_sender(current_app).send_after_commit(offered)
    return _redirect("staff.request_detail", reference=reference)


@bp.post("/requests/<reference>/notes")
@roles(*ALL_ROLES)
def add_note(reference: str):
    """Add a note to the request's record."""
    stored = _request_or_404(reference)
    form = NoteForm()
    if not form.validate():
        return _request_page(stored, 400, note_form=form)
    try:
        services.add_note(stored, form.body.data, current_user, utcnow())
    except services.StaffError as error:
        form.body.errors = [str(error)]
        return _request_page(stored, 400, note_form=form)
    db.session.commit()
    return _redirect("staff.request_detail", reference=reference)


@bp.get("/export.csv")
@roles("reception", "admin")
def export():
    """The filtered list as CSV, safe to open in a spreadsheet; every export is audited. A bad
    day shows the list with its message instead (400), so nothing is exported that was not asked for."""
    dates = ListDates(request.args)
    if not dates.validate():
        return _list_page(dates, 400)
    filters = _filters()
    audit(current_user, "export_csv", filters=filters.as_args(), rows=count_matching(filters))
    db.session.commit()
    stamp = datetime.now(LONDON).strftime("%Y-%m-%d-%H%M")
    return Response(
        stream_with_context(export_rows(filters)),
        mimetype="text/csv",
        headers={"Content-Disposition": f'attachment; filename="requests-{stamp}.csv"'},
    )


@bp.get("/audit")
@roles("admin")
def audit_log():
    """Who did what and when (read only)."""
    page = max(1, min(request.args.get("page", 1, type=int) or 1, MAX_AUDIT_PAGE))
    reference = request.args.get("reference", "")[:8]
    page_size = current_app.config["STAFF_PAGE_SIZE"] * 2
    events, total = audit_page(page, page_size, reference)
    return render_template(
        "staff/audit.html", events=events, total=total, page=page, pages=max(1, -(-total // page_size)),
        reference=reference, london=LONDON,
    )


@bp.get("/outbox")
@roles("reception", "admin")
def outbox():
    """Emails and texts that failed or gave up, with their last error and a retry button (never a text's body)."""
    return render_template("staff/outbox.html", messages=failing_messages(), london=LONDON)


@bp.post(f"/outbox/<int(max={MAX_ROW_ID}):message_id>/retry")
@roles("reception", "admin")
@limiter.limit(lambda: current_app.config["EMAIL_ACTION_LIMIT"])
def retry_email(message_id: int):
    """Try a failed email again now."""
    message = db.session.get(OutboxMessage, message_id) or abort(404)
    now = utcnow()
    try:
        retry_message(message, now, current_app.config["OUTBOX_MAX_ATTEMPTS"])
    except NotRetryable:
        abort(409)
    audit(current_user, "retry_email", message.request_id, now, message_id=message.id, kind=message.kind)
    db.session.commit()
    background_sender(current_app).send_after_commit([message.id])
    return _redirect("staff.outbox")


@bp.app_template_filter("london")
def london(value: datetime | str) -> str:
    """Show a UTC time (or its ISO text, as kept in the audit log) as clinic (Europe/London) time."""
    moment = datetime.fromisoformat(value) if isinstance(value, str) else value
    return moment.astimezone(LONDON).strftime("%-d %b %Y, %H:%M")
