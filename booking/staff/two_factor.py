"""Second factor: TOTP (RFC 6238) codes from an authenticator app, and one-time recovery codes.

Free of Flask. The TOTP secret is stored encrypted with the intake keys (`cipher`); the
last accepted time step is stored so that a code cannot be used twice, and that check is
one conditional UPDATE, so two requests racing with the same code cannot both win.
"""

import hmac
import secrets

import pyotp
import segno
import sqlalchemy as sa

from booking.models import RecoveryCode, StaffUser
from booking.staff.accounts import end_sessions
from booking.tokens import token_hash

ALWAYS_REQUIRED_ROLES = ("admin", "clinician")
RECOVERY_CODE_COUNT = 10
RECOVERY_ALPHABET = "abcdefghjkmnpqrstuvwxyz23456789"  # no 0/o, 1/l/i to misread
RECOVERY_CODE_LENGTH = 16  # about 79 bits: a plain SHA-256 of it cannot be searched
VALID_WINDOW = 1  # accept the previous and next 30-second step (clock drift)


def second_factor_required(user, receptionists_too=False):
    """True if `user` must give a code at sign-in."""
    return user.role in ALWAYS_REQUIRED_ROLES or (receptionists_too and user.role == "receptionist")


def start_enrolment(user, cipher):
    """Give `user` an unconfirmed secret (kept if one is already waiting); returns the secret."""
    if user.totp_secret is None or user.totp_confirmed_at is not None:
        user.totp_secret = cipher.encrypt(pyotp.random_base32())
        user.totp_confirmed_at = None
        user.totp_last_step = None
    return cipher.decrypt(user.totp_secret)


def provisioning_uri(secret, email, issuer):
    """The otpauth:// URI an authenticator app reads from the QR code."""
    return pyotp.TOTP(secret).provisioning_uri(name=email, issuer_name=issuer)


def qr_svg(uri):
    """The URI as an inline SVG QR code (drawn here, no third-party request)."""
    return segno.make(uri, error="m").svg_inline(scale=5, border=4, title="QR code for your authenticator app")


def _clean(code):
    return "".join(ch for ch in (code or "") if not ch.isspace() and ch != "-").lower()


def verify_totp(session, user, code, cipher, now):
    """True (and the step recorded) if `code` is the current TOTP code, not used before."""
    code = _clean(code)
    if user.totp_secret is None or len(code) != 6 or not code.isdigit():
        return False
    totp = pyotp.TOTP(cipher.decrypt(user.totp_secret))
    current = totp.timecode(now)
    for step in range(current - VALID_WINDOW, current + VALID_WINDOW + 1):
        if hmac.compare_digest(totp.generate_otp(step), code):
            claimed = session.execute(
                sa.update(StaffUser).where(StaffUser.id == user.id, sa.or_(
                    StaffUser.totp_last_step.is_(None), StaffUser.totp_last_step < step))
                .values(totp_last_step=step).execution_options(synchronize_session=False))
            if claimed.rowcount == 1:
                user.totp_last_step = step
                return True
            return False
    return False


def confirm_enrolment(session, user, code, cipher, now):
    """Confirm the waiting secret with its first code; returns the new recovery codes, or None."""
    if user.totp_secret is None or user.totp_confirmed_at is not None:
        return None
    if not verify_totp(session, user, code, cipher, now):
        return None
    user.totp_confirmed_at = now
    return issue_recovery_codes(session, user)


def issue_recovery_codes(session, user):
    """Replace `user`'s recovery codes with ten new ones; returns them (shown once)."""
    session.execute(sa.delete(RecoveryCode).where(RecoveryCode.user_id == user.id))
    codes = []
    for _ in range(RECOVERY_CODE_COUNT):
        raw = "".join(secrets.choice(RECOVERY_ALPHABET) for _ in range(RECOVERY_CODE_LENGTH))
        codes.append("-".join(raw[i:i + 4] for i in range(0, RECOVERY_CODE_LENGTH, 4)))
        session.add(RecoveryCode(user_id=user.id, code_hash=token_hash(raw)))
    return codes


def use_recovery_code(session, user, code, now):
    """True (and the code spent) if `code` is one of `user`'s unused recovery codes."""
    code = _clean(code)
    if len(code) != RECOVERY_CODE_LENGTH:
        return False
    spent = session.execute(
        sa.update(RecoveryCode).where(RecoveryCode.user_id == user.id, RecoveryCode.code_hash == token_hash(code),
                                      RecoveryCode.used_at.is_(None))
        .values(used_at=now).execution_options(synchronize_session=False))
    return spent.rowcount == 1


def unused_recovery_codes(session, user):
    """How many recovery codes `user` has left."""
    return session.scalar(sa.select(sa.func.count()).where(RecoveryCode.user_id == user.id,
                                                           RecoveryCode.used_at.is_(None)))


def reset_second_factor(session, user):
    """Forget `user`'s authenticator and recovery codes and end their sessions: they enrol again."""
    end_sessions(user)
    user.totp_secret = None
    user.totp_confirmed_at = None
    user.totp_last_step = None
    session.execute(sa.delete(RecoveryCode).where(RecoveryCode.user_id == user.id))
