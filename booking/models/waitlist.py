"""Waitlist tables: patients waiting for a time that suits, and the times offered to them.

An offer is a private link (stored as a SHA-256 hash, as manage links are) to book one
freed time in one step. Several patients may hold offers of one time: the booking guards
(one active booking per clinician and start, one upcoming consultation per patient) decide
who gets it, so the database, not the order of clicks in Python, picks the winner.
"""

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from booking.extensions import db
from booking.timeutil import UTCDateTime, utcnow

__all__ = ["WaitlistEntry", "WaitlistOffer", "WAITLIST_STATUSES", "WAITING", "IS_WAITING"]

# waiting: on the list; booked: got a consultation (from an offer or otherwise); left: removed.
WAITING = "waiting"
WAITLIST_STATUSES = (WAITING, "booked", "left")
WAITING_SQL = f"status = '{WAITING}'"


class WaitlistEntry(db.Model):
    """One patient waiting for a time: a clinician (or anyone), weekdays and parts of the day."""

    __tablename__ = "waitlist_entry"

    id: Mapped[int] = mapped_column(primary_key=True)
    patient_id: Mapped[int] = mapped_column(sa.ForeignKey("patient.id"), index=True)
    patient = relationship("Patient", lazy="joined")
    intake_id: Mapped[int | None] = mapped_column(sa.ForeignKey("intake.id"))
    clinician_id: Mapped[int | None] = mapped_column(sa.ForeignKey("staff_user.id"))  # None: anyone
    clinician = relationship("StaffUser", lazy="joined")
    days: Mapped[int] = mapped_column(sa.SmallInteger())  # bit n set: weekday n (0 = Monday) suits
    parts: Mapped[int] = mapped_column(sa.SmallInteger())  # bits of booking.waitlist.rules.PARTS
    status: Mapped[str] = mapped_column(sa.String(10), default=WAITING)
    created_at: Mapped[object] = mapped_column(UTCDateTime(), default=utcnow)
    expires_at: Mapped[object] = mapped_column(UTCDateTime(), index=True)  # the booking horizon when joined

    __table_args__ = (
        sa.CheckConstraint(sa.text("status IN ('waiting', 'booked', 'left')"), name="status"),
        sa.CheckConstraint(sa.text("days BETWEEN 1 AND 127"), name="days"),
        sa.CheckConstraint(sa.text("parts BETWEEN 1 AND 7"), name="parts"),
        # One place on the list per patient.
        sa.Index("uq_waitlist_entry_patient_waiting", "patient_id", unique=True,
                 sqlite_where=sa.text(WAITING_SQL), postgresql_where=sa.text(WAITING_SQL)),
    )


# A waiting entry, in queries: the partial index's condition as a literal, not a bound
# parameter, for the reason models.appointments.UPCOMING gives.
IS_WAITING = WaitlistEntry.__table__.c.status == sa.literal_column(f"'{WAITING}'")


class WaitlistOffer(db.Model):
    """One freed time offered to one waiting patient by email."""

    __tablename__ = "waitlist_offer"

    id: Mapped[int] = mapped_column(primary_key=True)
    entry_id: Mapped[int] = mapped_column(sa.ForeignKey("waitlist_entry.id"), index=True)
    entry = relationship("WaitlistEntry", lazy="joined")
    clinician_id: Mapped[int] = mapped_column(sa.ForeignKey("staff_user.id"))
    clinician = relationship("StaffUser", lazy="joined")
    starts_at: Mapped[object] = mapped_column(UTCDateTime())
    token_hash: Mapped[str] = mapped_column(sa.String(64), unique=True)
    created_at: Mapped[object] = mapped_column(UTCDateTime(), default=utcnow)
    taken_at: Mapped[object | None] = mapped_column(UTCDateTime())

    __table_args__ = (
        # A time freed twice (cancelled, rebooked, cancelled) is not offered twice to one patient.
        sa.UniqueConstraint("entry_id", "clinician_id", "starts_at", name="uq_waitlist_offer_time"),
    )
