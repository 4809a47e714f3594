"""Staff account rules: creation, password policy, sign-in with lockout. Free of Flask."""

from dataclasses import dataclass
from datetime import timedelta

import sqlalchemy as sa
from email_validator import EmailNotValidError, validate_email

from booking.models import ROLES, StaffUser


class StaffError(ValueError):
    """A staff account change that cannot be made; the message is for the person asking."""


class SignInRefused(Exception):
    """Sign-in failed; `message` is safe to show (it never says whether the email exists)."""

    def __init__(self, message, user=None):
        super().__init__(message)
        self.message = message
        self.user = user


@dataclass(frozen=True)
class SignInPolicy:
    """How many failures lock an account, and for how long."""

    max_failures: int = 5
    lockout: timedelta = timedelta(minutes=15)


def normalise_email(email):
    """Lower-case, trimmed, and shaped like an email address, or StaffError."""
    try:
        return validate_email((email or "").strip(), check_deliverability=False).normalized.lower()
    except EmailNotValidError as error:
        raise StaffError(f"That email address is not valid: {error}") from error


def check_password_policy(password, min_length):
    """Raise StaffError if `password` is too short or too long."""
    if len(password or "") < min_length:
        raise StaffError(f"The password must have at least {min_length} characters.")
    if len(password) > 256:
        raise StaffError("The password must have at most 256 characters.")


def create_staff(session, *, email, name, role, password, min_length=12):
    """Add a staff account (caller commits). Raises StaffError for a bad or duplicate entry."""
    email = normalise_email(email)
    name = (name or "").strip()
    if not name or len(name) > 120:
        raise StaffError("Give a name of 1 to 120 characters.")
    if role not in ROLES:
        raise StaffError(f"The role must be one of: {', '.join(ROLES)}.")
    check_password_policy(password, min_length)
    if session.scalar(sa.select(StaffUser.id).where(StaffUser.email == email)) is not None:
        raise StaffError("A staff account with that email already exists.")
    user = StaffUser(email=email, name=name, role=role)
    user.set_password(password)
    session.add(user)
    return user


def reset_password(user, password, min_length=12):
    """Set a new password and end the account's sessions everywhere."""
    check_password_policy(password, min_length)
    user.set_password(password)
    user.failed_logins = 0
    user.locked_until = None
    user.session_version += 1


def authenticate(session, email, password, *, now, policy=SignInPolicy()):
    """Return the StaffUser for valid credentials, or raise SignInRefused.

    Failures are counted on the account; the `policy.max_failures`-th locks it for
    `policy.lockout`. A locked account is refused even with the right password.
    """
    generic = "The email or password is not right."
    try:
        email = normalise_email(email)
    except StaffError:
        raise SignInRefused(generic) from None
    user = session.scalar(sa.select(StaffUser).where(StaffUser.email == email))
    if user is None:
        raise SignInRefused(generic)
    if user.locked_until is not None and user.locked_until > now:
        minutes = max(1, int((user.locked_until - now).total_seconds() // 60) + 1)
        raise SignInRefused(
            f"This account is locked after too many failed attempts. Try again in {minutes} minutes, "
            "or ask an administrator to reset the password.", user)
    if not user.active:
        raise SignInRefused("This account has been deactivated. Ask an administrator.", user)
    if not user.check_password(password or ""):
        user.failed_logins += 1
        if user.failed_logins >= policy.max_failures:
            user.locked_until = now + policy.lockout
            user.failed_logins = 0
            raise SignInRefused(
                "Too many failed attempts: this account is locked for "
                f"{int(policy.lockout.total_seconds() // 60)} minutes.", user)
        raise SignInRefused(generic, user)
    user.failed_logins = 0
    user.locked_until = None
    return user
