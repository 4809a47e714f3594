"""Staff account rules: creation, password policy, sign-in with lockout. Free of Flask."""

import re
from dataclasses import dataclass
from datetime import timedelta

import sqlalchemy as sa
from email_validator import EmailNotValidError, validate_email
from werkzeug.security import check_password_hash, generate_password_hash
from zxcvbn import zxcvbn

from booking.models import ROLES, SignInFailure, StaffUser

GENERIC_REFUSAL = "The email or password is not right."
MAX_PASSWORD_LENGTH = 256
# zxcvbn's cost grows with length; beyond this many characters a password is long enough anyway.
ESTIMATE_CHARACTERS = 100
# Checked for unknown emails, so that they cost the same scrypt time as a known one.
_DUMMY_HASH = generate_password_hash("not a password anyone has", method="scrypt")


class StaffError(ValueError):
    """A staff account change that cannot be made; the message is for the person asking."""


class WrongPassword(StaffError):
    """The current password given to change it was not right."""


class SignInRefused(Exception):
    """Sign-in failed; `message` is safe to show (it never says whether the email exists)."""

    def __init__(self, message, user=None):
        super().__init__(message)
        self.message = message
        self.user = user


@dataclass(frozen=True)
class PasswordPolicy:
    """A password needs this many characters and this zxcvbn score (0 to 4)."""

    min_length: int = 12
    min_score: int = 3

    @classmethod
    def from_config(cls, config):
        """The policy an app's settings describe."""
        return cls(config["STAFF_PASSWORD_MIN_LENGTH"], config["STAFF_PASSWORD_MIN_SCORE"])


@dataclass(frozen=True)
class SignInPolicy:
    """Failures within `lockout` lock an account for one address, or, many more, everywhere."""

    max_failures: int = 5  # per account and address: a stranger can only lock themselves out
    max_account_failures: int = 50  # per account from every address together
    lockout: timedelta = timedelta(minutes=15)

    @classmethod
    def from_config(cls, config):
        """The policy an app's settings describe."""
        return cls(config["STAFF_MAX_FAILED_LOGINS"], config["STAFF_MAX_ACCOUNT_FAILED_LOGINS"],
                   config["STAFF_LOCKOUT"])


def normalise_email(email):
    """Lower-case, trimmed, and shaped like an email address, or StaffError."""
    try:
        return validate_email((email or "").strip(), check_deliverability=False).normalized.lower()
    except EmailNotValidError as error:
        raise StaffError(f"That email address is not valid: {error}") from error


def check_password_policy(password, policy=PasswordPolicy(), user_inputs=()):
    """Raise StaffError if `password` is too short, too long or too easy to guess.

    `user_inputs` (the person's email and name) count as words a guesser would try first.
    """
    password = password or ""
    if len(password) < policy.min_length:
        raise StaffError(f"The password must have at least {policy.min_length} characters.")
    if len(password) > MAX_PASSWORD_LENGTH:
        raise StaffError(f"The password must have at most {MAX_PASSWORD_LENGTH} characters.")
    words = []
    for text in filter(None, user_inputs):  # the whole text, its parts, and the parts run together
        parts = [part for part in re.split(r"[\s@._-]+", text.lower()) if part]
        words += [text.lower(), "".join(parts)] + parts
    estimate = zxcvbn(password[:ESTIMATE_CHARACTERS], user_inputs=words)
    if estimate["score"] < policy.min_score:
        feedback = estimate["feedback"]
        hints = " ".join(filter(None, [feedback.get("warning")] + list(feedback.get("suggestions") or [])))
        raise StaffError("That password is too easy to guess. " + (hints or "Try a few unrelated words."))


def _checked_identity(session, email, name, user_id=None):
    """The normalised (email, name) for an account, or StaffError (bad name, bad or taken email)."""
    email = normalise_email(email)
    name = (name or "").strip()
    if not name or len(name) > 120:
        raise StaffError("Give a name of 1 to 120 characters.")
    if session.scalar(sa.select(StaffUser.id).where(StaffUser.email == email, StaffUser.id != user_id)) is not None:
        raise StaffError("A staff account with that email already exists.")
    return email, name


def create_staff(session, *, email, name, role, password, policy=PasswordPolicy()):
    """Add a staff account (caller commits). Raises StaffError for a bad or duplicate entry."""
    email, name = _checked_identity(session, email, name)
    if role not in ROLES:
        raise StaffError(f"The role must be one of: {', '.join(ROLES)}.")
    check_password_policy(password, policy, (email, name))
    user = StaffUser(email=email, name=name, role=role)
    user.set_password(password)
    session.add(user)
    return user


def correct_identity(session, user, *, email, name):
    """An admin corrects an account's name and email; returns what changed, in words free of the values.

    Raises StaffError for a bad name or a bad or taken email (nothing is changed then).
    """
    email, name = _checked_identity(session, email, name, user_id=user.id)
    changes = [label for label, old, new in (("name corrected", user.name, name), ("email corrected", user.email, email))
               if old != new]
    user.email, user.name = email, name
    return changes


def end_sessions(user):
    """End every session of `user`, in whichever store holds them (they carry the old version)."""
    user.session_version += 1


def reset_password(session, user, password, policy=PasswordPolicy()):
    """An admin sets a password: sessions end, failures are forgotten, a change is due at sign-in."""
    check_password_policy(password, policy, (user.email, user.name))
    user.set_password(password)
    user.must_change_password = True
    end_sessions(user)
    session.execute(sa.delete(SignInFailure).where(SignInFailure.user_id == user.id))


def change_password(user, current, new, policy=PasswordPolicy()):
    """The person changes their own password; ends every session (the caller opens a new one)."""
    if not user.check_password(current or ""):
        raise WrongPassword("Your current password is not right.")
    if current == new:
        raise StaffError("Choose a password different from the current one.")
    check_password_policy(new, policy, (user.email, user.name))
    user.set_password(new)
    user.must_change_password = False
    end_sessions(user)


def record_failure(session, user, ip, now):
    """Count one wrong password or code for `user` from `ip`."""
    session.add(SignInFailure(user_id=user.id, ip=(ip or "unknown")[:64], at=now))


def is_locked(session, user, ip, now, policy):
    """True if `user` may not sign in from `ip` now (too many recent failures)."""
    since = now - policy.lockout
    recent = sa.select(sa.func.count()).where(SignInFailure.user_id == user.id, SignInFailure.at > since)
    if session.scalar(recent.where(SignInFailure.ip == (ip or "unknown")[:64])) >= policy.max_failures:
        return True
    return session.scalar(recent) >= policy.max_account_failures


def authenticate(session, email, password, *, ip, now, policy=SignInPolicy()):
    """Return the StaffUser for valid credentials, or raise SignInRefused.

    Unknown, wrong, locked and deactivated all cost one scrypt check and give the same
    answer; only after the right password does the message say "locked" or "deactivated".
    """
    try:
        email = normalise_email(email)
    except StaffError:
        email = None
    user = None if email is None else session.scalar(sa.select(StaffUser).where(StaffUser.email == email))
    if user is None:
        check_password_hash(_DUMMY_HASH, password or "")
        raise SignInRefused(GENERIC_REFUSAL)
    if not user.check_password(password or ""):
        record_failure(session, user, ip, now)
        raise SignInRefused(GENERIC_REFUSAL, user)
    if not user.active:
        raise SignInRefused("This account has been deactivated. Ask an administrator.", user)
    if is_locked(session, user, ip, now, policy):
        minutes = int(policy.lockout.total_seconds() // 60)
        raise SignInRefused(f"This account is locked after too many failed attempts. Try again in up to "
                            f"{minutes} minutes, or ask an administrator to reset the password.", user)
    forget_failures(session, user, ip)
    return user


def forget_failures(session, user, ip):
    """A successful sign-in from `ip` clears that address's failures (not other addresses')."""
    session.execute(sa.delete(SignInFailure).where(SignInFailure.user_id == user.id,
                                                   SignInFailure.ip == (ip or "unknown")[:64]))
