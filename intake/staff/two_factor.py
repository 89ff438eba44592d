"""Two-step sign-in for staff: an authenticator app's six-digit code (TOTP) after the password,
with ten one-time recovery codes for when the phone is lost.

Plain functions; the caller (a view or a CLI command) commits. They never touch the Flask request,
session or app: the clinic's name and the STAFF_2FA_REQUIRED setting are passed in.

A secret is stored as the authenticator needs it (TOTP codes are computed from it) and is shown
only while setting up, never after; it is never logged. A code is accepted once: the newest
accepted time step is stored and only a later one passes, claimed by a conditional UPDATE, so two
requests racing with the same code cannot both succeed. Recovery codes are stored as Argon2
hashes, made and checked by the same hasher as passwords, and each is spent the same way.
"""

from __future__ import annotations

import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime

import pyotp
import segno
from markupsafe import Markup
from sqlalchemy import delete, func, select, update

from intake.platform.extensions import db
from intake.platform.forms import has_control_characters
from intake.staff import accounts
from intake.staff.audit import audit
from intake.staff.errors import StaffError
from intake.staff.models import StaffLogin, StaffRecoveryCode, StaffSecondFactor, StaffUser

RECOVERY_CODE_COUNT = 10
# Ten characters from 31 that cannot be mistaken for each other (no 0/o, 1/l/i): about 50 bits.
RECOVERY_ALPHABET = "23456789abcdefghjkmnpqrstuvwxyz"
RECOVERY_CODE_LENGTH = 10
CODE_DIGITS = 6
# One step either side of now: a phone clock up to 30 seconds out still works.
VALID_WINDOW = 1
WRONG_CODE = "That code is not right, or it has been used already. Enter the newest code from your authenticator app"
WRONG_FIRST_CODE = "That code is not right. Check the time on your phone is set automatically, and enter the newest code"
WRONG_CONFIRMATION = "That code is not right. Enter the newest code from your authenticator app"


@dataclass(frozen=True)
class EnteredCode:
    """What a member of staff typed on the code page, tidied: six digits, or a recovery code."""

    kind: str  # "totp" or "recovery"
    value: str


def parse_code(text: str) -> EnteredCode | None:
    """Read a six-digit code or a recovery code, ignoring spaces, hyphens and case; None if it is neither."""
    compact = "".join(text.split()).replace("-", "").lower()
    if len(compact) == CODE_DIGITS and compact.isascii() and compact.isdigit():
        return EnteredCode("totp", compact)
    if len(compact) == RECOVERY_CODE_LENGTH and all(character in RECOVERY_ALPHABET for character in compact):
        return EnteredCode("recovery", compact)
    return None


def required_for(role: str, setting: str) -> bool:
    """Whether STAFF_2FA_REQUIRED (all, admin, off) makes this role sign in with a code."""
    return setting == "all" or (setting == "admin" and role == "admin")


def second_factor(user_id: int) -> StaffSecondFactor | None:
    """The account's authenticator secret, set up or still pending, if it has one."""
    return db.session.get(StaffSecondFactor, user_id)


def is_enrolled(user_id: int) -> bool:
    """Whether the account has proved an authenticator app and must give its code to sign in."""
    factor = second_factor(user_id)
    return factor is not None and factor.enrolled_at is not None


def needs_second_step(user: StaffLogin, setting: str) -> bool:
    """After the right password: must this account give a code (enrolled), or set one up (required)?"""
    return is_enrolled(user.id) or required_for(user.role, setting)


@dataclass(frozen=True)
class Enrolment:
    """What the set-up page shows: the secret as text in groups of four, and as a QR code."""

    secret: str
    uri: str

    @property
    def grouped_secret(self) -> str:
        return " ".join(self.secret[start:start + 4] for start in range(0, len(self.secret), 4))

    def qr_svg(self) -> Markup:
        """The otpauth:// address drawn as an inline SVG QR code (segno's markup from our own data,
        not anything a visitor typed: the secret, the account's email and the clinic's name, encoded)."""
        code = segno.make(self.uri, error="m")
        return Markup(code.svg_inline(scale=5, border=4, dark="#000", light="#fff", omitsize=False))


def start_enrolment(user: StaffLogin) -> None:
    """Give the account a new authenticator secret to set up, unless one is pending already (so the
    QR code already scanned stays good). Refused once set up (the caller commits)."""
    factor = second_factor(user.id)
    if factor is not None and factor.enrolled_at is not None:
        raise StaffError("Two-step sign-in is already set up for this account.")
    if factor is None:
        db.session.add(StaffSecondFactor(staff_id=user.id, secret=pyotp.random_base32()))


def pending_enrolment(user: StaffLogin, issuer: str) -> Enrolment | None:
    """The secret being set up, to show as text and as a QR code; None when there is none, and
    always once set up: the secret is never shown again."""
    factor = second_factor(user.id)
    if factor is None or factor.enrolled_at is not None:
        return None
    uri = pyotp.TOTP(factor.secret).provisioning_uri(name=user.email, issuer_name=issuer)
    return Enrolment(secret=factor.secret, uri=uri)


def _matching_step(secret: str, code: str, now: datetime) -> int | None:
    """The newest time step near `now` whose code is `code`, or None."""
    totp = pyotp.TOTP(secret)
    current = totp.timecode(now)
    for step in range(current + VALID_WINDOW, current - VALID_WINDOW - 1, -1):
        if hmac.compare_digest(totp.generate_otp(step), code):
            return step
    return None


def _claim_step(user_id: int, step: int) -> bool:
    """Record `step` as used, if no code of it or a later step was accepted before (one UPDATE,
    so two requests with the same code cannot both pass)."""
    table = StaffSecondFactor.__table__
    claimed = db.session.execute(
        update(table)
        .where(table.c.staff_id == user_id, table.c.enrolled_at.is_not(None))
        .where((table.c.last_step.is_(None)) | (table.c.last_step < step))
        .values(last_step=step)
    )
    return claimed.rowcount == 1


def _new_recovery_codes(user_id: int, now: datetime) -> list[str]:
    """Replace the account's recovery codes with ten new ones; return them as shown (xxxxx-xxxxx)."""
    db.session.execute(delete(StaffRecoveryCode).where(StaffRecoveryCode.staff_id == user_id))
    codes = ["".join(secrets.choice(RECOVERY_ALPHABET) for _ in range(RECOVERY_CODE_LENGTH)) for _ in range(RECOVERY_CODE_COUNT)]
    db.session.add_all(StaffRecoveryCode(staff_id=user_id, code_hash=accounts.hash_secret(code), created_at=now) for code in codes)
    return [f"{code[:5]}-{code[5:]}" for code in codes]


def finish_enrolment(user: StaffUser, code: str, now: datetime) -> list[str]:
    """Prove the authenticator app with its first code; then it is asked for at every sign-in.
    Returns the ten recovery codes, the only time they exist in plain (the caller commits)."""
    factor = second_factor(user.id)
    entered = parse_code(code)
    if factor is None or factor.enrolled_at is not None:
        raise StaffError("Start setting up two-step sign-in again.", field="code")
    step = _matching_step(factor.secret, entered.value, now) if entered and entered.kind == "totp" else None
    if step is None:
        raise StaffError(WRONG_FIRST_CODE, field="code")
    factor.enrolled_at = now
    factor.last_step = step
    codes = _new_recovery_codes(user.id, now)
    audit(user, "two_factor_enrolled", now=now)
    return codes


def check_code(user: StaffLogin, code: str, now: datetime) -> str:
    """Accept a current authenticator code not used before, or an unused recovery code (then spent).
    Returns "code" or "recovery code"; raises StaffError for anything else (the caller commits)."""
    entered = parse_code(code)
    factor = second_factor(user.id)
    if entered is None or factor is None or factor.enrolled_at is None:
        raise StaffError(WRONG_CODE, field="code")
    if entered.kind == "totp":
        step = _matching_step(factor.secret, entered.value, now)
        if step is None or not _claim_step(user.id, step):
            raise StaffError(WRONG_CODE, field="code")
        return "code"
    if not _spend_recovery_code(user.id, entered.value, now):
        raise StaffError(WRONG_CODE, field="code")
    audit(user, "recovery_code_used", now=now, left=recovery_codes_left(user.id))
    return "recovery code"


def _spend_recovery_code(user_id: int, code: str, now: datetime) -> bool:
    """Mark the unused recovery code matching `code` as used; False if none matches (or a racing
    request spent it first). Up to ten Argon2 checks: only ever on this rare path."""
    unused = db.session.execute(
        select(StaffRecoveryCode.id, StaffRecoveryCode.code_hash)
        .where(StaffRecoveryCode.staff_id == user_id, StaffRecoveryCode.used_at.is_(None))
    ).all()
    for row in unused:
        if accounts.verify_secret(row.code_hash, code):
            table = StaffRecoveryCode.__table__
            spent = db.session.execute(
                update(table).where(table.c.id == row.id, table.c.used_at.is_(None)).values(used_at=now)
            )
            return spent.rowcount == 1
    return False


def recovery_codes_left(user_id: int) -> int:
    """How many of the account's recovery codes are still unused."""
    return db.session.execute(
        select(func.count()).select_from(StaffRecoveryCode)
        .where(StaffRecoveryCode.staff_id == user_id, StaffRecoveryCode.used_at.is_(None))
    ).scalar_one()


def renew_recovery_codes(user: StaffLogin, code: str, now: datetime) -> list[str]:
    """Ten new recovery codes in place of the old ones, once a current authenticator code proves
    it is the account's owner (the caller commits)."""
    entered = parse_code(code)
    if entered is None or entered.kind != "totp":
        raise StaffError("Enter the 6-digit code from your authenticator app", field="code")
    try:
        check_code(user, entered.value, now)
    except StaffError:
        raise StaffError(WRONG_CONFIRMATION, field="code") from None
    codes = _new_recovery_codes(user.id, now)
    audit(user, "recovery_codes_renewed", now=now)
    return codes


def reset(user: StaffUser, by: StaffUser, reason: str, now: datetime) -> None:
    """Remove an account's authenticator and recovery codes and end its sessions, so that its next
    sign-in sets up two-step sign-in afresh (or skips it, if the role does not require it).
    Only an active admin may; `reason` is kept in the audit log (the caller commits)."""
    if by.role != "admin" or not by.active:
        raise StaffError(f"{by.email} is not an active admin: only an admin may reset two-step sign-in.")
    if has_control_characters(reason):
        raise StaffError("The reason must not contain control characters.")
    reason = " ".join(reason.split())
    if not reason:
        raise StaffError("Give a reason for the reset (it is kept in the audit log).")
    if len(reason) > 200:
        raise StaffError("Keep the reason to 200 characters or fewer.")
    had_factor = second_factor(user.id) is not None
    db.session.execute(delete(StaffRecoveryCode).where(StaffRecoveryCode.staff_id == user.id))
    db.session.execute(delete(StaffSecondFactor).where(StaffSecondFactor.staff_id == user.id))
    user.session_version += 1
    audit(by, "two_factor_reset", now=now, account=user.email, had_two_factor=had_factor, reason=reason)
