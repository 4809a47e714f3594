"""Appointments tables: clinicians' opening hours and exceptions, clinic settings, bookings.

Slots are computed (booking.appointments.availability), not stored. The database itself
refuses two active bookings of one clinician whose busy time (start to end plus buffer)
overlaps: an EXCLUDE constraint on PostgreSQL, triggers on SQLite (which serialises
writers, so a trigger is race-free there). A booking holds no contact details: it points
to its patient, whose details are encrypted; a partial unique index allows each patient
one upcoming consultation.
"""

import sqlalchemy as sa
from sqlalchemy.ext.hybrid import hybrid_property
from sqlalchemy.orm import Mapped, mapped_column, relationship

from booking.extensions import db
from booking.timeutil import UTCDateTime, utcnow

__all__ = [
    "Booking", "BookingEvent", "ClinicianProfile", "OpeningHours", "ScheduleException", "RecurringBlock",
    "ClinicSettings",
    "ScheduleVersion",
    "BOOKING_STATUSES", "ACTIVE_STATUSES", "ACTIVE_SQL", "CANCELLED", "UPCOMING", "BOOKING_SOURCES", "BOOKING_EVENT_KINDS",
    "EXCEPTION_KINDS",
]

BOOKING_STATUSES = ("booked", "arrived", "completed", "no_show", "cancelled")
# The one definition of an active booking: it holds its time, whatever its status but this one.
# ACTIVE_SQL is the partial indexes' and overlap guards' condition; Booking.active says the same
# in Python and in queries; ACTIVE_STATUSES lists the same statuses.
CANCELLED = "cancelled"
ACTIVE_SQL = f"status <> '{CANCELLED}'"
_HAS_INTAKE = "intake_id IS NOT NULL"
ACTIVE_STATUSES = tuple(status for status in BOOKING_STATUSES if status != CANCELLED)
BOOKING_SOURCES = ("online", "phone")
BOOKING_EVENT_KINDS = ("created", "moved", "cancelled", "arrived", "completed", "no_show")
# closed: a whole day or days off (holiday); blocked: a period taken out of the hours;
# extra: one-off hours added to the week.
EXCEPTION_KINDS = ("closed", "blocked", "extra")


class ClinicianProfile(db.Model):
    """A clinician's booking settings. A clinician without a profile takes no bookings."""

    __tablename__ = "clinician_profile"

    clinician_id: Mapped[int] = mapped_column(sa.ForeignKey("staff_user.id"), primary_key=True)
    clinician = relationship("StaffUser", lazy="joined")
    accepts_bookings: Mapped[bool] = mapped_column(default=True)
    consultation_minutes: Mapped[int] = mapped_column(default=30)
    buffer_minutes: Mapped[int] = mapped_column(default=0)
    updated_at: Mapped[object] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)

    __table_args__ = (
        sa.CheckConstraint(sa.text("consultation_minutes BETWEEN 5 AND 480"), name="consultation_minutes"),
        sa.CheckConstraint(sa.text("buffer_minutes BETWEEN 0 AND 240"), name="buffer_minutes"),
    )


class OpeningHours(db.Model):
    """One weekly interval of a clinician's hours, as wall-clock time in the clinic's zone."""

    __tablename__ = "opening_hours"

    id: Mapped[int] = mapped_column(primary_key=True)
    clinician_id: Mapped[int] = mapped_column(sa.ForeignKey("staff_user.id"), index=True)
    weekday: Mapped[int]  # 0 = Monday ... 6 = Sunday (Python's date.weekday())
    start_time: Mapped[object] = mapped_column(sa.Time())
    end_time: Mapped[object] = mapped_column(sa.Time())

    __table_args__ = (
        sa.CheckConstraint(sa.text("weekday BETWEEN 0 AND 6"), name="weekday"),
        sa.CheckConstraint(sa.text("start_time < end_time"), name="start_before_end"),
    )


class ScheduleException(db.Model):
    """A holiday, a blocked period or extra one-off hours. No clinician means the whole clinic."""

    __tablename__ = "schedule_exception"

    id: Mapped[int] = mapped_column(primary_key=True)
    clinician_id: Mapped[int | None] = mapped_column(sa.ForeignKey("staff_user.id"), index=True)
    kind: Mapped[str] = mapped_column(sa.String(10))
    starts_at: Mapped[object] = mapped_column(UTCDateTime(), index=True)
    ends_at: Mapped[object] = mapped_column(UTCDateTime(), index=True)
    note: Mapped[str] = mapped_column(sa.String(120), default="")  # e.g. "Thanksgiving"; no health data
    created_at: Mapped[object] = mapped_column(UTCDateTime(), default=utcnow)
    created_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("staff_user.id"))

    __table_args__ = (
        sa.CheckConstraint(sa.text("kind IN ('closed', 'blocked', 'extra')"), name="kind"),
        sa.CheckConstraint(sa.text("starts_at < ends_at"), name="start_before_end"),
    )


class RecurringBlock(db.Model):
    """A clinician's weekly blocked time (e.g. every Wednesday 13:00-17:00) from one date to another.

    Wall-clock times in the clinic's zone, like OpeningHours; both dates are clinic dates and
    inclusive. Availability expands it into one blocked period per matching day.
    """

    __tablename__ = "recurring_block"

    id: Mapped[int] = mapped_column(primary_key=True)
    clinician_id: Mapped[int] = mapped_column(sa.ForeignKey("staff_user.id"), index=True)
    weekday: Mapped[int]  # 0 = Monday ... 6 = Sunday
    start_time: Mapped[object] = mapped_column(sa.Time())
    end_time: Mapped[object] = mapped_column(sa.Time())
    first_day: Mapped[object] = mapped_column(sa.Date())
    last_day: Mapped[object] = mapped_column(sa.Date())
    note: Mapped[str] = mapped_column(sa.String(120), default="")  # no health data
    created_at: Mapped[object] = mapped_column(UTCDateTime(), default=utcnow)
    created_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("staff_user.id"))

    __table_args__ = (
        sa.CheckConstraint(sa.text("weekday BETWEEN 0 AND 6"), name="weekday"),
        sa.CheckConstraint(sa.text("start_time < end_time"), name="start_before_end"),
        sa.CheckConstraint(sa.text("first_day <= last_day"), name="first_day_before_last"),
    )


class ClinicSettings(db.Model):
    """The clinic's booking rules, edited by staff. One row (id 1); defaults come from config."""

    __tablename__ = "clinic_settings"

    id: Mapped[int] = mapped_column(primary_key=True)
    min_notice_hours: Mapped[int]
    horizon_days: Mapped[int]
    cancel_cutoff_hours: Mapped[int]
    updated_at: Mapped[object] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)
    updated_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("staff_user.id"))

    __table_args__ = (
        sa.CheckConstraint(sa.text("min_notice_hours BETWEEN 0 AND 720"), name="min_notice_hours"),
        sa.CheckConstraint(sa.text("horizon_days BETWEEN 1 AND 730"), name="horizon_days"),
        sa.CheckConstraint(sa.text("cancel_cutoff_hours BETWEEN 0 AND 720"), name="cancel_cutoff_hours"),
    )


class ScheduleVersion(db.Model):
    """Row 1's number goes up whenever anything that affects availability changes; row 2's (the
    plan version) whenever anything but a booking does.

    Bumped in the committing transaction by booking.appointments.schedule_version, so every
    server process can tell with one cheap read whether its cached weeks are still current.
    """

    __tablename__ = "schedule_version"

    id: Mapped[int] = mapped_column(primary_key=True)
    version: Mapped[int] = mapped_column(sa.BigInteger(), default=0)


# The rows exist from the start, so a bump is a plain UPDATE (no insert race between servers).
sa.event.listen(ScheduleVersion.__table__, "after_create",
                sa.DDL("INSERT INTO schedule_version (id, version) VALUES (1, 0), (2, 0)"))


class Booking(db.Model):
    """One consultation of one patient with one clinician. Cancelled bookings free their time."""

    __tablename__ = "booking"
    # A move, a cancellation or a restore sets `sequence` to an expression (sequence + 1, in SQL,
    # so two changes at once cannot lose one) that the database works out: with this and the
    # column's FetchedValue, the UPDATE returns the new value (RETURNING) for the invite it goes
    # in, instead of a SELECT of its own after it (a round trip on PostgreSQL).
    __mapper_args__ = {"eager_defaults": True}

    id: Mapped[int] = mapped_column(primary_key=True)
    clinician_id: Mapped[int] = mapped_column(sa.ForeignKey("staff_user.id"))
    clinician = relationship("StaffUser", lazy="joined", foreign_keys=[clinician_id])
    intake_id: Mapped[int | None] = mapped_column(sa.ForeignKey("intake.id"))
    starts_at: Mapped[object] = mapped_column(UTCDateTime())
    ends_at: Mapped[object] = mapped_column(UTCDateTime())
    # ends_at plus the clinician's buffer at booking time: the database constraint covers it.
    busy_until: Mapped[object] = mapped_column(UTCDateTime())
    status: Mapped[str] = mapped_column(sa.String(20), default="booked")
    # Name, email and phone come from the patient record (encrypted there).
    patient_id: Mapped[int] = mapped_column(sa.ForeignKey("patient.id"), index=True)
    patient = relationship("Patient", lazy="joined")
    patient_timezone: Mapped[str | None] = mapped_column(sa.String(64))  # IANA name, when it differs
    manage_token_hash: Mapped[str] = mapped_column(sa.String(64), unique=True)
    # iCalendar SEQUENCE: 0 at creation, +1 on every move and on cancellation.
    sequence: Mapped[int] = mapped_column(default=0, server_onupdate=sa.FetchedValue())  # see __mapper_args__
    source: Mapped[str] = mapped_column(sa.String(10), default="online")
    created_at: Mapped[object] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[object] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)
    cancelled_at: Mapped[object | None] = mapped_column(UTCDateTime())
    cancel_reason: Mapped[str | None] = mapped_column(sa.String(300))
    created_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("staff_user.id"))

    events = relationship("BookingEvent", back_populates="booking", order_by="BookingEvent.id",
                          cascade="all, delete-orphan")

    __table_args__ = (
        sa.CheckConstraint(sa.text("status IN ('booked', 'arrived', 'completed', 'no_show', 'cancelled')"),
                           name="status"),
        sa.CheckConstraint(sa.text("source IN ('online', 'phone')"), name="source"),
        sa.CheckConstraint(sa.text("starts_at < ends_at AND ends_at <= busy_until"), name="times_in_order"),
        # One clinician, one active booking per start time (the overlap guard below covers the rest).
        sa.Index("uq_booking_clinician_start_active", "clinician_id", "starts_at", unique=True,
                 sqlite_where=sa.text(ACTIVE_SQL), postgresql_where=sa.text(ACTIVE_SQL)),
        # One active booking per intake.
        sa.Index("uq_booking_intake_active", "intake_id", unique=True,
                 sqlite_where=sa.text(ACTIVE_SQL), postgresql_where=sa.text(ACTIVE_SQL)),
        # Whether any version of a questionnaire holds a booking asks `intake_id IN (...)` before
        # every booking. Phone bookings have no questionnaire: once SQLite's statistics
        # (ANALYZE) counted their NULLs as one value held by most rows, it judged the index
        # above useless for that and scanned every booking (22 ms at 96,000). This one leaves
        # the NULLs out, so its statistics say what a lookup finds.
        sa.Index("ix_booking_intake_id", "intake_id", sqlite_where=sa.text(_HAS_INTAKE),
                 postgresql_where=sa.text(_HAS_INTAKE)),
        sa.Index("ix_booking_clinician_time", "clinician_id", "starts_at", "busy_until"),
        sa.Index("ix_booking_starts_at", "starts_at"),
    )

    @hybrid_property
    def active(self):
        """True unless cancelled: an active booking holds its time (in queries: the SQL condition)."""
        return self.status != CANCELLED

    @active.inplace.expression
    @classmethod
    def _active_condition(cls):
        # A literal, not a bound parameter, so that SQLite's planner can match the partial indexes.
        return cls.status != sa.literal_column(f"'{CANCELLED}'")


# "An upcoming consultation": booked, not yet arrived, completed, missed or cancelled. A time
# cannot go into an index predicate (now() is not immutable), so a past booking nobody marked
# still counts until staff mark it. The same expression builds the index and the queries; in
# them a literal, not a bound parameter: SQLite prepares a statement again on every run when
# a bound value decides whether a partial index applies (which made the booking POST's check
# for a booking held already, a recursive CTE, take seven times as long).
UPCOMING = Booking.__table__.c.status == sa.literal_column("'booked'")
# One upcoming consultation per patient, refused by the database itself.
sa.Index("uq_booking_patient_upcoming", Booking.__table__.c.patient_id, unique=True,
         sqlite_where=UPCOMING, postgresql_where=UPCOMING)


class BookingEvent(db.Model):
    """The status history of a booking: who changed what, when. `detail` never holds health data."""

    __tablename__ = "booking_event"

    id: Mapped[int] = mapped_column(primary_key=True)
    booking_id: Mapped[int] = mapped_column(sa.ForeignKey("booking.id"), index=True)
    booking = relationship("Booking", back_populates="events")
    at: Mapped[object] = mapped_column(UTCDateTime(), default=utcnow)
    kind: Mapped[str] = mapped_column(sa.String(20))
    actor_id: Mapped[int | None] = mapped_column(sa.ForeignKey("staff_user.id"))  # None: the patient
    actor = relationship("StaffUser", lazy="joined", foreign_keys=[actor_id])
    detail: Mapped[str | None] = mapped_column(sa.String(255))

    __table_args__ = (
        sa.CheckConstraint(
            sa.text("kind IN ('created', 'moved', 'cancelled', 'arrived', 'completed', 'no_show', 'undone', "
                    "'link_sent')"),
            name="kind"),
    )


# --- Database-level overlap guard -------------------------------------------------------
# PostgreSQL: an exclusion constraint over the busy range (needs btree_gist for `=` on int).
_POSTGRES_DDL = [
    (Booking.__table__, "before_create", sa.DDL("CREATE EXTENSION IF NOT EXISTS btree_gist")),
    (Booking.__table__, "after_create", sa.DDL(
        "ALTER TABLE booking ADD CONSTRAINT booking_no_overlap EXCLUDE USING gist "
        "(clinician_id WITH =, tstzrange(starts_at, busy_until) WITH &&) WHERE (" + ACTIVE_SQL + ")")),
]
# SQLite: triggers that abort (as a constraint error) an insert or update that would overlap.
# Times are stored as ISO text of one fixed format, so text comparison is time order.
# The guard itself keeps a clinician's active bookings apart, so in order of start they are
# in order of end too: of those starting before the new one is over, the last to start is
# the last to end, and if any still runs when the new one starts, that one does. So the check
# reads one booking, found by a seek on uq_booking_clinician_start_active, instead of every
# earlier booking of the clinician (a year's history made each booking's INSERT scan it all).
_SQLITE_OVERLAP = (
    "SELECT RAISE(ABORT, 'booking_no_overlap: the clinician already has a booking at that time') "
    "WHERE (SELECT other.busy_until FROM booking AS other WHERE other.clinician_id = NEW.clinician_id "
    f"AND other.{ACTIVE_SQL} AND other.id IS NOT NEW.id AND other.starts_at < NEW.busy_until "
    "ORDER BY other.starts_at DESC LIMIT 1) > NEW.starts_at"
)
_SQLITE_DDL = [
    (Booking.__table__, "after_create", sa.DDL(
        "CREATE TRIGGER booking_no_overlap_insert BEFORE INSERT ON booking "
        f"WHEN NEW.{ACTIVE_SQL} BEGIN {_SQLITE_OVERLAP}; END")),
    (Booking.__table__, "after_create", sa.DDL(
        "CREATE TRIGGER booking_no_overlap_update BEFORE UPDATE OF clinician_id, starts_at, busy_until, status "
        f"ON booking WHEN NEW.{ACTIVE_SQL} BEGIN {_SQLITE_OVERLAP}; END")),
]
for _table, _event, _ddl in _POSTGRES_DDL:
    sa.event.listen(_table, _event, _ddl.execute_if(dialect="postgresql"))
for _table, _event, _ddl in _SQLITE_DDL:
    sa.event.listen(_table, _event, _ddl.execute_if(dialect="sqlite"))
