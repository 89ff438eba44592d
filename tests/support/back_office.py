"""The back office for tests: its URL map (who may use each page, a real value for every URL
parameter, a body each POST would accept), a snapshot of everything a request could change (to
show that a refused request changed nothing), and readers of what its pages and records hold."""

from __future__ import annotations

import csv
import html
import io
import re
from urllib.parse import urlsplit

import pytest
from flask import url_for
from sqlalchemy import func, select

from intake.appointments.models import (
    Appointment, AppointmentType, BookingRules, DiaryException, Practitioner, PractitionerSite, WorkingHours,
)
from intake.journey.models import AssessmentRequest, Draft
from intake.mail.models import OutboxMessage
from intake.platform.extensions import db
from intake.staff import services as staff_services
from intake.staff.models import ROLES, AuditEvent, RequestNote, StaffRecoveryCode, StaffSecondFactor, StaffUser
from tests.factories import STAFF_PASSWORD, Staff, booking_form, valid_answers

ALL_ROLES = frozenset(ROLES)
DESK = frozenset({"reception", "admin"})
ADMIN = frozenset({"admin"})
# What clinic set-up changes: a refused request leaves all of it as it was.
DIARY_SET_UP = (Practitioner, PractitionerSite, WorkingHours, DiaryException, BookingRules, AppointmentType)
# Audit actions that a page view or a sign-in adds by design; anything else is a change.
PASSIVE_AUDIT_ACTIONS = ("view_request", "login")


ROLE_CASES = [
    # what, method, path, who may
    ("request list", "GET", "/staff/", ALL_ROLES),
    ("request page", "GET", "/staff/requests/{ref}", ALL_ROLES),
    ("add a note", "POST", "/staff/requests/{ref}/notes", ALL_ROLES),
    ("change status", "POST", "/staff/requests/{ref}/status", DESK),
    ("book", "POST", "/staff/requests/{ref}/book", DESK),
    ("move an appointment", "POST", "/staff/requests/{booked}/appointments/{appt}/move", DESK),
    ("cancel an appointment", "POST", "/staff/requests/{booked}/appointments/{appt}/cancel", DESK),
    ("diary day", "GET", "/staff/diary", ALL_ROLES),
    ("mark attended or not", "POST", "/staff/diary/appointments/{begun}/outcome", DESK),
    ("diary week", "GET", "/staff/diary/week", ALL_ROLES),
    ("a practitioner's day list", "GET", "/staff/diary/practitioners/{who}", ALL_ROLES),
    ("my day", "GET", "/staff/diary/mine", ALL_ROLES),
    ("CSV export", "GET", "/staff/export.csv", DESK),
    ("attendance dashboard", "GET", "/staff/dashboard", DESK),
    ("attendance chart", "GET", "/staff/dashboard/appointments.svg", DESK),
    ("reminders chart", "GET", "/staff/dashboard/reminders.svg", DESK),
    ("attendance CSV", "GET", "/staff/dashboard.csv", DESK),
    ("waitlist", "GET", "/staff/waitlist", DESK),
    ("audit log", "GET", "/staff/audit", ADMIN),
    ("email problems", "GET", "/staff/outbox", DESK),
    ("retry an email", "POST", "/staff/outbox/{msg}/retry", DESK),
    ("right of access", "GET", "/staff/subject-access", ADMIN),
    ("prepare a patient's record", "POST", "/staff/subject-access?q={ref}", ADMIN),
    # Clinic set-up: each form posts to its own page's address, so these name every set-up view.
    ("clinic set-up", "GET", "/staff/setup/", ADMIN),
    ("add a practitioner", "GET", "/staff/setup/practitioners/new", ADMIN),
    ("everyone's weekly hours", "GET", "/staff/setup/hours", ADMIN),
    ("diary exceptions", "GET", "/staff/setup/exceptions", ADMIN),
    ("add time away", "GET", "/staff/setup/exceptions/away", ADMIN),
    ("add an extra session", "GET", "/staff/setup/exceptions/extra", ADMIN),
    ("booking rules", "GET", "/staff/setup/rules", ADMIN),
    # Two-step sign-in: everyone may choose it; starting it leaves a secret to scan on the set-up page.
    ("two-step sign-in", "GET", "/staff/two-step", ALL_ROLES),
    ("start setting up two-step sign-in", "POST", "/staff/two-step/start", ALL_ROLES),
    ("set up two-step sign-in", "GET", "/staff/two-step/set-up", ALL_ROLES),
    # A patient's rights to correction and erasure (last: erasing the request changes what the pages above show).
    ("correct contact details", "GET", "/staff/requests/{ref}/contact-details", ADMIN),
    ("save corrected contact details", "POST", "/staff/requests/{ref}/contact-details", ADMIN),
    ("erase personal data", "GET", "/staff/requests/{ref}/erase", ADMIN),
    ("confirm erasing personal data", "POST", "/staff/requests/{ref}/erase", ADMIN),
    ("what erasure did", "GET", "/staff/requests/{ref}/erased", ADMIN),
]
# Bodies the rights' forms accept.
CORRECTED_CONTACT_DETAILS = {"email": "corrected@example.com", "phone": "07400 555666"}
ERASURE_REASON = {"reason": "Asked by phone, identity checked"}


def is_signed_in(client) -> bool:
    """True when the client still reaches the request list."""
    response = client.get("/staff/")
    assert response.status_code in (200, 303), response.status_code
    return response.status_code == 200


def location_path(response) -> str:
    return urlsplit(response.headers.get("Location", "")).path


def snapshot(app) -> dict:
    """Everything a state-changing request could touch, in comparable form."""
    with app.app_context():
        def count(model, *where) -> int:
            return db.session.execute(select(func.count()).select_from(model).where(*where)).scalar_one()

        return {
            "requests": sorted(db.session.execute(select(AssessmentRequest.reference, AssessmentRequest.status)).all()),
            "drafts": sorted((d.id, repr(d.answers), d.expires_at) for d in db.session.execute(select(Draft)).scalars()),
            "audit": count(AuditEvent, AuditEvent.action.not_in(PASSIVE_AUDIT_ACTIONS)),
            "notes": count(RequestNote),
            "appointments": sorted(db.session.execute(select(Appointment.id, Appointment.cancelled)).all()),
            "outbox": sorted(db.session.execute(
                select(OutboxMessage.id, OutboxMessage.status, OutboxMessage.attempts, OutboxMessage.next_attempt_at)
            ).all()),
            "staff": sorted(db.session.execute(
                select(StaffUser.email, StaffUser.active, StaffUser.session_version, StaffUser.password_hash)
            ).all()),
            "two-step sign-in": sorted(db.session.execute(
                select(StaffSecondFactor.staff_id, StaffSecondFactor.enrolled_at, StaffSecondFactor.last_step)
            ).all()) + sorted(db.session.execute(select(StaffRecoveryCode.staff_id, StaffRecoveryCode.used_at)).all()),
            "diary": [sorted(tuple(row) for row in db.session.execute(select(*model.__table__.columns)).all()) for model in DIARY_SET_UP],
        }


def url_values(reference: str, message_id: int, appointment_id: int = 1, practitioner_id: int = 1) -> dict[str, object]:
    """A real value for every URL parameter the app uses (a new parameter must be added here)."""
    return {"reference": reference, "message_id": message_id, "slug": "about-you", "level": "urgent",
            "appointment_id": appointment_id, "practitioner_id": practitioner_id, "name": "appointments"}


def role_case_path(template: str, reference: str, message_id: int, booked: str = "", appointment_id: int = 1,
                   practitioner_id: int = 1, begun_id: int = 1) -> str:
    """A ROLE_CASES path with real values: `booked` is a request with appointment `appointment_id`;
    `begun_id` an appointment that has begun (to mark attended)."""
    return template.format(ref=reference, msg=message_id, booked=booked or reference, appt=appointment_id, who=practitioner_id,
                           begun=begun_id)


def build_url(app, rule, values: dict[str, object]) -> str:
    missing = set(rule.arguments) - set(values)
    if missing:
        pytest.fail(f"{rule.rule}: add a test value for URL parameter(s) {sorted(missing)}")
    with app.test_request_context():
        return url_for(rule.endpoint, **{name: values[name] for name in rule.arguments})


def staff_rules(app):
    return [rule for rule in app.url_map.iter_rules() if rule.endpoint.startswith("staff.") and rule.endpoint != "staff.login"]


def post_rules(app):
    return [rule for rule in app.url_map.iter_rules() if "POST" in rule.methods]


def valid_post_data(endpoint: str, admin_email: str, slot: str, sequence: int = 0) -> dict:
    """A body each POST would accept if it carried a token (so only the token is missing); `slot`
    is a free time, `sequence` the version of the appointment moved or cancelled."""
    return {
        "staff.login": {"email": admin_email, "password": STAFF_PASSWORD},
        "staff.change_status": {"status": "contacted"},
        "staff.book": booking_form(slot),
        "staff.move_appointment": {**booking_form(slot), "sequence": str(sequence)},
        "staff.cancel_appointment": {"reason": "The patient rang to cancel", "then": "contacted", "sequence": str(sequence)},
        "staff.add_note": {"body": "Rang, left a message."},
        "staff.record_outcome": {"outcome": "attended"},
        "staff.correct_contact_details": CORRECTED_CONTACT_DETAILS,
        "staff.erase_request": ERASURE_REASON,
        "journey.question": valid_answers()["about-you"],
        "journey.check": {"consent": "y"},
    }.get(endpoint, {})


def cli(app, *args: str, input: str | None = None):
    return app.test_cli_runner().invoke(args=list(args), input=input)


def copy_session(app, staff: Staff):
    other = app.test_client()
    other.set_cookie("session", staff.client.get_cookie("session").value)
    return other



EXPORT_HEADER = [
    "Reference", "Received (London)", "Status", "Urgency", "First name", "Last name", "Phone", "Email",
    "Preferred contact", "Site", "Main problem",
]


def request_value(app, reference: str, column: str):
    with app.app_context():
        return getattr(staff_services.find_request(reference), column)


def request_id(app, reference: str) -> int:
    return request_value(app, reference, "id")


def audit_events(app, action: str | None = None, reference: str | None = None) -> list[dict]:
    """The audit log as plain dicts, oldest first."""
    with app.app_context():
        query = select(AuditEvent).order_by(AuditEvent.id)
        if action:
            query = query.where(AuditEvent.action == action)
        if reference:
            query = query.where(AuditEvent.request_id == staff_services.find_request(reference).id)
        return [
            {"id": e.id, "at": e.at, "staff_id": e.staff_id, "staff_email": e.staff_email, "action": e.action,
             "request_id": e.request_id, "detail": dict(e.detail)}
            for e in db.session.execute(query).scalars()
        ]


def error_messages(body: str) -> list[str]:
    """The messages in the page's error summary."""
    summary = re.search(r'<ul class="error-summary__list">(.*?)</ul>', body, re.S)
    return [html.unescape(re.sub(r"<[^>]+>", "", item)).strip() for item in re.findall(r"<li>(.*?)</li>", summary.group(1), re.S)] if summary else []


def csv_rows(response) -> list[list[str]]:
    """Read (and close) a streamed CSV download. An unread stream would keep its request
    context pushed in this thread and leak into the next request."""
    try:
        assert response.status_code == 200, response.status_code
        return list(csv.reader(io.StringIO(response.get_data(as_text=True))))
    finally:
        response.close()
