"""The back office's rules: accounts and sign-in, finding requests, status changes, booking,
notes, the audit log and exports. Plain functions; they never touch the Flask request or session.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone

import phonenumbers
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import Row, Select, bindparam, func, or_, select

from intake.clinic import vocabulary
from intake.journey.models import REQUEST_STATUSES, AssessmentRequest, StatusCount
from intake.platform.database import statement_by_statement
from intake.platform.extensions import db
from intake.appointments.models import Appointment
from intake.staff.models import ROLES, AuditEvent, RequestNote, StaffLogin, StaffUser
from intake.platform.timeutil import LONDON

MIN_PASSWORD_LENGTH = 12
_hasher = PasswordHasher()
# Verifying against this keeps the time for an unknown email the same as for a wrong password.
_UNKNOWN_USER_HASH = _hasher.hash("not a real password, never matches")

# Which status can follow which. Booking is its own action, because it needs an appointment.
TRANSITIONS: dict[str, frozenset[str]] = {
    "new": frozenset({"contacted", "booked", "cancelled", "declined"}),
    "contacted": frozenset({"booked", "cancelled", "declined"}),
    "booked": frozenset({"booked", "attended", "no_show", "cancelled"}),  # booked again = rescheduled
    "no_show": frozenset({"booked", "contacted", "cancelled"}),
    "attended": frozenset(),
    "cancelled": frozenset(),
    "declined": frozenset(),
}
STATUS_WORDS = {
    "new": "New", "contacted": "Contacted", "booked": "Booked", "attended": "Attended",
    "no_show": "Did not attend", "cancelled": "Cancelled", "declined": "Declined",
}
LIKE_SPECIALS = re.compile(r"[%_\\]")
URGENCY_ORDER = "urgency"
NEWEST_ORDER = "newest"


class StaffError(Exception):
    """A back-office action that the rules do not allow; the message is shown to staff,
    next to `field` when the form has one."""

    def __init__(self, message: str, field: str = "") -> None:
        super().__init__(message)
        self.field = field


# --- accounts -----------------------------------------------------------------------------

def normalise_email(email: str) -> str:
    """Staff emails are compared without case or surrounding spaces."""
    return email.strip().lower()


def hash_password(password: str) -> str:
    """Hash a new password with Argon2, refusing short ones."""
    if len(password) < MIN_PASSWORD_LENGTH:
        raise StaffError(f"Passwords must be at least {MIN_PASSWORD_LENGTH} characters long.")
    return _hasher.hash(password)


def find_staff(email: str) -> StaffUser | None:
    """The staff account with this email, if any."""
    return db.session.execute(select(StaffUser).where(StaffUser.email == normalise_email(email))).scalar_one_or_none()


def create_staff(email: str, name: str, role: str, password: str) -> StaffUser:
    """Add a staff account (the caller commits)."""
    if role not in ROLES:
        raise StaffError(f"Role must be one of: {', '.join(ROLES)}.")
    if find_staff(email) is not None:
        raise StaffError("There is already an account with that email.")
    user = StaffUser(email=normalise_email(email), name=name.strip(), role=role, password_hash=hash_password(password))
    db.session.add(user)
    return user


def disable_staff(user: StaffUser) -> None:
    """Stop an account signing in and end all of its sessions."""
    user.active = False
    user.session_version += 1


def set_password(user: StaffUser, password: str) -> None:
    """Give an account a new password and end its other sessions."""
    user.password_hash = hash_password(password)
    user.session_version += 1


def authenticate(email: str, password: str, now: datetime) -> StaffUser | None:
    """Return the active account these credentials belong to, or None (no hint which part was wrong)."""
    user = find_staff(email)
    try:
        _hasher.verify(user.password_hash if user else _UNKNOWN_USER_HASH, password)
    except (VerificationError, InvalidHashError):
        return None
    if user is None or not user.active:
        return None
    if _hasher.check_needs_rehash(user.password_hash):
        user.password_hash = _hasher.hash(password)
    user.last_login_at = now
    return user


def end_all_sessions(user: StaffUser) -> None:
    """Sign the user out everywhere (every login cookie carries the old session version)."""
    user.session_version += 1


@dataclass(frozen=True, eq=False)
class SignedInStaff(StaffLogin):
    """The member of staff a login cookie names, as read for one request: who they are, their
    role, and whether the account may still be used. Changes to the account itself go through
    the StaffUser row (see `logout`)."""

    id: int
    email: str
    name: str
    role: str
    active: bool
    session_version: int


STAFF_BY_ID = select(
    StaffUser.id, StaffUser.email, StaffUser.name, StaffUser.role, StaffUser.active, StaffUser.session_version
).where(StaffUser.id == bindparam("staff_id"))


def load_staff(user_id: str) -> SignedInStaff | None:
    """Find the signed-in user from the login cookie's 'id:version', if that session is still valid.

    Read on every back-office request, so it is one plain SELECT with no transaction.
    """
    raw_id, _, version = user_id.partition(":")
    if not raw_id.isdigit() or not version.isdigit():
        return None
    with statement_by_statement() as connection:
        row = connection.execute(STAFF_BY_ID, {"staff_id": int(raw_id)}).first()
    if row is None or row.session_version != int(version):
        return None
    return SignedInStaff(**row._mapping)


def clinicians() -> list[StaffUser]:
    """Active clinicians who can be booked."""
    return list(db.session.execute(
        select(StaffUser).where(StaffUser.role == "clinician", StaffUser.active.is_(True)).order_by(StaffUser.name)
    ).scalars())


# --- the audit log ------------------------------------------------------------------------

def audit(user: StaffUser | SignedInStaff | None, action: str, request: AssessmentRequest | None = None, now: datetime | None = None, **detail) -> None:
    """Record what a member of staff did or saw (the caller commits, with the action itself)."""
    db.session.add(AuditEvent(
        at=now or datetime.now(timezone.utc),
        staff_id=user.id if user else None,
        staff_email=user.email if user else detail.pop("email", ""),
        action=action,
        request_id=request.id if request else None,
        detail=detail,
    ))


def audit_page(page: int, page_size: int, reference: str = "") -> tuple[list[tuple[AuditEvent, str | None]], int]:
    """Audit entries with their request's reference, newest first, optionally for one request."""
    query = select(AuditEvent, AssessmentRequest.reference).outerjoin(
        AssessmentRequest, AssessmentRequest.id == AuditEvent.request_id
    )
    if reference:
        query = query.where(AssessmentRequest.reference == reference.strip().upper())
    total = db.session.execute(select(func.count()).select_from(query.subquery())).scalar_one()
    rows = db.session.execute(query.order_by(AuditEvent.at.desc(), AuditEvent.id.desc()).limit(page_size).offset((page - 1) * page_size))
    return [(event, event_reference) for event, event_reference in rows], total


def history(request: AssessmentRequest) -> list[AuditEvent]:
    """What has happened to a request, oldest first (views are in the audit log, not here)."""
    return list(db.session.execute(
        select(AuditEvent)
        .where(AuditEvent.request_id == request.id, AuditEvent.action != "view_request")
        .order_by(AuditEvent.at, AuditEvent.id)
    ).scalars())


# --- finding requests ---------------------------------------------------------------------

@dataclass(frozen=True)
class RequestFilters:
    """What reception has asked the list to show. Values are checked against allow-lists."""

    status: str = ""
    site: str = ""
    urgency: str = ""
    date_from: date | None = None
    date_to: date | None = None
    search: str = ""
    order: str = URGENCY_ORDER

    @classmethod
    def from_args(cls, args, site_codes) -> RequestFilters:
        """Read filters from query-string values, dropping anything not on an allow-list."""
        def day(name: str) -> date | None:
            try:
                return date.fromisoformat(args.get(name, ""))
            except ValueError:
                return None

        status = args.get("status", "")
        site = args.get("site", "")
        urgency = args.get("urgency", "")
        order = args.get("order", URGENCY_ORDER)
        return cls(
            status=status if status in REQUEST_STATUSES else "",
            site=site if site in site_codes else "",
            urgency=urgency if urgency in ("routine", "urgent", "emergency") else "",
            date_from=day("from"),
            date_to=day("to"),
            search=args.get("q", "")[:100].strip(),
            order=order if order in (URGENCY_ORDER, NEWEST_ORDER) else URGENCY_ORDER,
        )

    def as_args(self) -> dict[str, str]:
        """The filters as query-string values (for links that keep them)."""
        values = {
            "status": self.status, "site": self.site, "urgency": self.urgency, "q": self.search,
            "from": self.date_from.isoformat() if self.date_from else "",
            "to": self.date_to.isoformat() if self.date_to else "",
            "order": self.order if self.order != URGENCY_ORDER else "",
        }
        return {key: value for key, value in values.items() if value}


def _london_midnight_utc(day: date) -> datetime:
    return datetime.combine(day, time(0), tzinfo=LONDON).astimezone(timezone.utc)


def _search_condition(search: str):
    """Match a reference exactly, or a name, email or phone number in part."""
    text = search.strip()
    conditions = [AssessmentRequest.reference == text.upper()]
    pattern = "%" + LIKE_SPECIALS.sub("", text.lower()) + "%"
    full_name = func.lower(AssessmentRequest.first_name + " " + AssessmentRequest.last_name)
    conditions += [full_name.like(pattern), func.lower(AssessmentRequest.email).like(pattern)]
    digits = "".join(char for char in text if char.isdigit())
    if len(digits) >= 4:
        try:
            number = phonenumbers.parse(text, "GB")
            conditions.append(AssessmentRequest.phone == phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164))
        except phonenumbers.NumberParseException:
            pass
        conditions.append(AssessmentRequest.phone.like(f"%{digits.lstrip('0')}%"))
    return or_(*conditions)


def filtered_requests(filters: RequestFilters) -> Select:
    """The query for the list (and its CSV export), in the chosen order."""
    query = select(AssessmentRequest)
    if filters.status:
        query = query.where(AssessmentRequest.status == filters.status)
    if filters.site:
        query = query.where(AssessmentRequest.site_code == filters.site)
    if filters.urgency:
        query = query.where(AssessmentRequest.urgency == filters.urgency)
    if filters.date_from:
        query = query.where(AssessmentRequest.created_at >= _london_midnight_utc(filters.date_from))
    if filters.date_to:
        query = query.where(AssessmentRequest.created_at < _london_midnight_utc(filters.date_to + timedelta(days=1)))
    if filters.search:
        query = query.where(_search_condition(filters.search))
    if filters.order == NEWEST_ORDER:
        return query.order_by(AssessmentRequest.created_at.desc(), AssessmentRequest.id.desc())
    return query.order_by(AssessmentRequest.urgency_rank, AssessmentRequest.created_at.desc(), AssessmentRequest.id.desc())


# What the list shows of each request. Loading whole requests (every answer decoded from JSON)
# would cost more than the query itself.
LIST_COLUMNS = (
    AssessmentRequest.reference, AssessmentRequest.urgency, AssessmentRequest.first_name, AssessmentRequest.last_name,
    AssessmentRequest.phone, AssessmentRequest.site_code, AssessmentRequest.status, AssessmentRequest.created_at,
)


@dataclass(frozen=True)
class ListPage:
    """One page of the back-office list: its rows, how many requests match, and the per-status counts."""

    rows: list[Row]
    total: int
    counts: dict[str, int]


STATUS_COUNTS = select(StatusCount.status, StatusCount.requests)


def list_page(filters: RequestFilters, page: int, page_size: int) -> ListPage:
    """One page of the filtered list (the columns it shows), how many requests match in all, and
    how many are in each status; plain reads on one connection, with no transaction.

    With no filter but status, the total comes from the per-status counts instead of
    counting rows, so the usual views cost the same at 1,000 or 100,000 requests.
    """
    query = filtered_requests(filters)
    shown = query.with_only_columns(*LIST_COLUMNS).limit(page_size).offset((page - 1) * page_size)
    with statement_by_statement() as connection:
        stored_counts = dict(connection.execute(STATUS_COUNTS).all())
        counts = {status: stored_counts.get(status, 0) for status in REQUEST_STATUSES}
        if not (filters.site or filters.urgency or filters.date_from or filters.date_to or filters.search):
            total = counts[filters.status] if filters.status else sum(counts.values())
        else:
            total = connection.execute(select(func.count()).select_from(query.order_by(None).subquery())).scalar_one()
        return ListPage(list(connection.execute(shown).all()), total, counts)


def find_request(reference: str) -> AssessmentRequest | None:
    """The request with this reference, if any."""
    return db.session.execute(select(AssessmentRequest).where(AssessmentRequest.reference == reference)).scalar_one_or_none()


# --- changing a request -------------------------------------------------------------------

def allowed_next(status: str) -> list[str]:
    """The statuses a request may move to next, in a sensible order (booking excluded)."""
    return [candidate for candidate in REQUEST_STATUSES if candidate in TRANSITIONS[status] and candidate != "booked"]


def change_status(request: AssessmentRequest, new_status: str, user: StaffUser | SignedInStaff, now: datetime) -> None:
    """Move a request on, if the rules allow it (booking goes through book_appointment)."""
    if new_status == "booked":
        raise StaffError("To book, choose a date, time and clinician.")
    if new_status not in TRANSITIONS.get(request.status, frozenset()):
        raise StaffError(f"A request that is {STATUS_WORDS[request.status].lower()} cannot become {STATUS_WORDS.get(new_status, new_status).lower()}.")
    if new_status in ("no_show", "cancelled"):
        # The appointment is not going ahead (or was missed): it no longer counts as booked.
        for appointment in active_appointments(request):
            appointment.cancelled = True
    audit(user, "change_status", request, now, **{"from": request.status, "to": new_status})
    request.move_to(new_status)
    request.updated_at = now


def add_note(request: AssessmentRequest, body: str, user: StaffUser | SignedInStaff, now: datetime) -> RequestNote:
    """Add a note to a request (notes are never edited)."""
    text = body.strip()
    if not text:
        raise StaffError("Write a note before adding it.")
    note = RequestNote(request_id=request.id, author_id=user.id, body=text, created_at=now)
    db.session.add(note)
    audit(user, "add_note", request, now)
    return note


def notes(request: AssessmentRequest) -> list[RequestNote]:
    """A request's notes, oldest first."""
    return list(db.session.execute(
        select(RequestNote).where(RequestNote.request_id == request.id).order_by(RequestNote.created_at, RequestNote.id)
    ).scalars())


def active_appointments(request: AssessmentRequest) -> list[Appointment]:
    """The request's appointments that have not been cancelled."""
    return list(db.session.execute(
        select(Appointment).where(Appointment.request_id == request.id, Appointment.cancelled.is_(False)).order_by(Appointment.starts_at)
    ).scalars())


def book_appointment(
    request: AssessmentRequest,
    *,
    local_start: datetime,
    minutes: int,
    clinician: StaffUser,
    site_code: str,
    user: StaffUser | SignedInStaff,
    now: datetime,
) -> Appointment:
    """Book the assessment: the time is entered in Europe/London and stored in UTC.

    Refuses a time in the past, a clinician who is not an active clinician, and a clash
    with the clinician's other appointments.
    """
    if "booked" not in TRANSITIONS.get(request.status, frozenset()):
        raise StaffError(f"A request that is {STATUS_WORDS[request.status].lower()} cannot be booked.")
    if clinician.role != "clinician" or not clinician.active:
        raise StaffError("Choose a clinician who is working here.", field="clinician")
    starts_at = local_start.replace(tzinfo=LONDON).astimezone(timezone.utc)
    if starts_at <= now:
        raise StaffError("The appointment must be in the future.", field="day")
    ends_at = starts_at + timedelta(minutes=minutes)
    for other in db.session.execute(
        select(Appointment).where(
            Appointment.clinician_id == clinician.id,
            Appointment.cancelled.is_(False),
            Appointment.starts_at < ends_at,
            Appointment.starts_at > starts_at - timedelta(hours=12),
            Appointment.request_id != request.id,
        )
    ).scalars():
        if other.starts_at + timedelta(minutes=other.minutes) > starts_at:
            raise StaffError(f"{clinician.name} already has an appointment at that time.", field="start_time")
    rescheduled = active_appointments(request)
    for earlier in rescheduled:
        earlier.cancelled = True
    appointment = Appointment(
        request_id=request.id, starts_at=starts_at, minutes=minutes, clinician_id=clinician.id,
        site_code=site_code, booked_by_id=user.id, created_at=now,
    )
    db.session.add(appointment)
    audit(
        user, "book", request, now, starts_at=starts_at.isoformat(), clinician=clinician.name, site=site_code,
        rescheduled=bool(rescheduled), **{"from": request.status},
    )
    request.move_to("booked")
    request.updated_at = now
    db.session.flush()
    return appointment


# --- export -------------------------------------------------------------------------------

FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")
EXPORT_COLUMNS = (
    ("Reference", lambda r: r.reference),
    ("Received (London)", lambda r: r.created_at.astimezone(LONDON).strftime("%Y-%m-%d %H:%M")),
    ("Status", lambda r: STATUS_WORDS[r.status]),
    ("Urgency", lambda r: r.urgency),
    ("First name", lambda r: r.first_name),
    ("Last name", lambda r: r.last_name),
    ("Phone", lambda r: r.phone),
    ("Email", lambda r: r.email),
    ("Preferred contact", lambda r: vocabulary.label_for(vocabulary.CONTACT_METHODS, r.contact_method)),
    ("Site", lambda r: r.site_code),
    ("Main problem", lambda r: vocabulary.label_for(vocabulary.BODY_REGIONS, r.region)),
)


def neutralise(value: str) -> str:
    """Stop a spreadsheet reading a value as a formula (CSV injection)."""
    return f"'{value}" if value.startswith(FORMULA_PREFIXES) else value


def export_rows(filters: RequestFilters) -> Iterator[str]:
    """The filtered list as CSV text, a line at a time (streams large exports)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)

    def flush() -> str:
        text = buffer.getvalue()
        buffer.seek(0)
        buffer.truncate()
        return text

    writer.writerow([heading for heading, _ in EXPORT_COLUMNS])
    yield flush()
    for request in db.session.execute(filtered_requests(filters).execution_options(yield_per=500)).scalars():
        writer.writerow([neutralise(str(value(request))) for _, value in EXPORT_COLUMNS])
        yield flush()


def count_matching(filters: RequestFilters) -> int:
    """How many requests an export of these filters will hold."""
    return db.session.execute(select(func.count()).select_from(filtered_requests(filters).order_by(None).subquery())).scalar_one()
