"""Staff accounts: one role each, hashed passwords, lockout after repeated failures."""

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
    failed_logins: Mapped[int] = mapped_column(default=0)
    locked_until: Mapped[object | None] = mapped_column(UTCDateTime())
    created_at: Mapped[object] = mapped_column(UTCDateTime(), default=utcnow)
    # Bumped when the password is reset or the account deactivated, which ends every session.
    session_version: Mapped[int] = mapped_column(default=1)

    def set_password(self, password):
        """Store a scrypt hash of `password`, never the password itself."""
        self.password_hash = generate_password_hash(password, method="scrypt")

    def check_password(self, password):
        """True if `password` matches the stored hash."""
        return check_password_hash(self.password_hash, password)

    def get_id(self):
        """Session identity: the id and the session version, so a reset signs out everywhere."""
        return f"{self.id}:{self.session_version}"

    @property
    def is_active(self):
        """Flask-Login refuses inactive accounts."""
        return self.active

    def __repr__(self):
        return f"<StaffUser {self.id} {self.role}>"
