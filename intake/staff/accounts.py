"""Staff accounts and sign-in: creating, disabling, passwords, and who a login cookie names.

Plain functions; the caller (a view or a CLI command) commits.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import bindparam, select

from intake.platform.extensions import db
from intake.platform.forms import has_control_characters
from intake.staff.errors import StaffError
from intake.staff.models import ROLES, StaffLogin, StaffUser

MIN_PASSWORD_LENGTH = 12
_hasher = PasswordHasher()
# Verifying against this keeps the time for an unknown email the same as for a wrong password.
_UNKNOWN_USER_HASH = _hasher.hash("not a real password, never matches")


def normalise_email(email: str) -> str:
    """Staff emails are compared without case or surrounding spaces."""
    return email.strip().lower()


def hash_password(password: str) -> str:
    """Hash a new password with Argon2, refusing short ones."""
    if len(password) < MIN_PASSWORD_LENGTH:
        raise StaffError(f"Passwords must be at least {MIN_PASSWORD_LENGTH} characters long.")
    return _hasher.hash(password)


def hash_secret(secret: str) -> str:
    """Hash another secret (a recovery code) with the passwords' Argon2 hasher."""
    return _hasher.hash(secret)


def verify_secret(secret_hash: str, secret: str) -> bool:
    """Whether `secret` is the one `secret_hash` was made from."""
    try:
        return _hasher.verify(secret_hash, secret)
    except (VerificationError, InvalidHashError):
        return False


def find_staff(email: str) -> StaffUser | None:
    """The staff account with this email, if any."""
    return db.session.execute(select(StaffUser).where(StaffUser.email == normalise_email(email))).scalar_one_or_none()


def clinician_accounts(also: int | None = None) -> list[StaffUser]:
    """Active clinician accounts by name (and the account `also`, whatever it is now): those a
    practitioner in the diary can be linked to."""
    query = select(StaffUser).where(((StaffUser.role == "clinician") & StaffUser.active.is_(True)) | (StaffUser.id == (also or 0)))
    return list(db.session.execute(query.order_by(StaffUser.name, StaffUser.id)).scalars())


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


def safe_return_path(target: str, home: str) -> str:
    """Where to go after signing in: `target` if it is a back-office path on this site, else `home`.

    Only a relative /staff/ path is followed: no scheme, no host, no backslash (browsers read it
    as a slash), no "..", and no control characters, which would break the Location header.
    """
    if has_control_characters(target) or "\\" in target or not target.startswith("/staff/"):
        return home
    if ".." in target.split("?", 1)[0].split("/"):
        return home
    return target


def end_all_sessions(user_id: int) -> StaffUser | None:
    """Sign the user out everywhere (every login cookie carries the old session version)."""
    user = db.session.get(StaffUser, user_id)
    if user is not None:
        user.session_version += 1
    return user


@dataclass(frozen=True, eq=False)
class SignedInStaff(StaffLogin):
    """The member of staff a login cookie names, as read for one request: who they are, their
    role, and whether the account may still be used. Changes to the account itself go through
    the StaffUser row (see `end_all_sessions`)."""

    id: int
    email: str
    name: str
    role: str
    active: bool
    session_version: int


# On the table's columns, not the mapped class's: a plain Core read, a third cheaper than the ORM's.
_STAFF = StaffUser.__table__
STAFF_BY_ID = select(
    _STAFF.c.id, _STAFF.c.email, _STAFF.c.name, _STAFF.c.role, _STAFF.c.active, _STAFF.c.session_version
).where(_STAFF.c.id == bindparam("staff_id"))


def load_staff(user_id: str) -> SignedInStaff | None:
    """Find the signed-in user from the login cookie's 'id:version', if that session is still valid.

    Read on every back-office request, so it is one plain SELECT with no transaction.
    """
    raw_id, _, version = user_id.partition(":")
    if not raw_id.isdigit() or not version.isdigit():
        return None
    row = db.session.execute(STAFF_BY_ID, {"staff_id": int(raw_id)}).first()
    if row is None or row.session_version != int(version):
        return None
    return SignedInStaff(**row._mapping)
