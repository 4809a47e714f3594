"""Staff accounts: one role each, hashed passwords, a second factor, server-side sessions."""

import sqlalchemy as sa
from flask_login import UserMixin
from sqlalchemy.orm import Mapped, mapped_column
from werkzeug.security import check_password_hash, generate_password_hash

from booking.extensions import db
from booking.timeutil import UTCDateTime, utcnow

ROLES = ("admin", "receptionist", "clinician")


class StaffUser(UserMixin, db.Model):
    """A member of staff who signs in at /staff/login."""

    __tablename__ = "staff_user"
    __table_args__ = (sa.CheckConstraint(sa.text("role IN ('admin', 'receptionist', 'clinician')"), name="role"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(sa.String(254), unique=True)
    name: Mapped[str] = mapped_column(sa.String(120))
    role: Mapped[str] = mapped_column(sa.String(20))
    password_hash: Mapped[str] = mapped_column(sa.String(255))
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[object] = mapped_column(UTCDateTime(), default=utcnow)
    # Bumped by a password change or reset, a factor reset and deactivation: every session
    # records the version it was opened under, so one bump ends them all, in any store.
    session_version: Mapped[int] = mapped_column(default=1)
    # Set by an admin's reset: the next sign-in goes to "choose a new password" first.
    must_change_password: Mapped[bool] = mapped_column(default=False)
    # TOTP secret, encrypted with the intake keys; confirmed once the first code matched.
    totp_secret: Mapped[str | None] = mapped_column(sa.Text())
    totp_confirmed_at: Mapped[object | None] = mapped_column(UTCDateTime())
    # The last RFC 6238 time step accepted, so a code cannot be used twice.
    totp_last_step: Mapped[int | None] = mapped_column(sa.BigInteger())

    def set_password(self, password):
        """Store a scrypt hash of `password`, never the password itself."""
        self.password_hash = generate_password_hash(password, method="scrypt")

    def check_password(self, password):
        """True if `password` matches the stored hash."""
        return check_password_hash(self.password_hash, password)

    def get_id(self):
        """Flask-Login's identity; sessions themselves live server-side (booking.staff.sessions)."""
        return str(self.id)

    @property
    def is_active(self):
        """Flask-Login refuses inactive accounts."""
        return self.active

    @property
    def has_second_factor(self):
        """True once an authenticator app is enrolled and confirmed."""
        return self.totp_confirmed_at is not None

    def __repr__(self):
        return f"<StaffUser {self.id} {self.role}>"


class StaffSession(db.Model):
    """A signed-in browser. The cookie holds a random token; only its SHA-256 hash is kept here."""

    __tablename__ = "staff_session"

    id: Mapped[int] = mapped_column(primary_key=True)
    token_hash: Mapped[str] = mapped_column(sa.String(64), unique=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("staff_user.id", ondelete="CASCADE"), index=True)
    session_version: Mapped[int]
    # False between the password and the second factor (or enrolment): only those pages open.
    verified: Mapped[bool] = mapped_column(default=False)
    created_at: Mapped[object] = mapped_column(UTCDateTime(), default=utcnow)
    last_seen_at: Mapped[object] = mapped_column(UTCDateTime(), default=utcnow)
    ip: Mapped[str | None] = mapped_column(sa.String(64))
    user_agent: Mapped[str | None] = mapped_column(sa.String(255))


class RecoveryCode(db.Model):
    """A one-time recovery code for a lost authenticator, stored as a SHA-256 hash."""

    __tablename__ = "staff_recovery_code"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("staff_user.id", ondelete="CASCADE"), index=True)
    code_hash: Mapped[str] = mapped_column(sa.String(64))
    used_at: Mapped[object | None] = mapped_column(UTCDateTime())


class SignInFailure(db.Model):
    """One failed password or code for an account, from an address: lockout counts these."""

    __tablename__ = "staff_sign_in_failure"
    __table_args__ = (sa.Index("ix_staff_sign_in_failure_user_at", "user_id", "at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("staff_user.id", ondelete="CASCADE"))
    ip: Mapped[str] = mapped_column(sa.String(64))
    at: Mapped[object] = mapped_column(UTCDateTime(), default=utcnow)
