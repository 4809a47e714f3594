"""Patient tables: one record per person, its blind search indexes and staff notes.

Contact details (legal name, date of birth, email, phone) are stored only encrypted
(booking.crypto, the intake keys). Search never decrypts the table: `patient_index` holds
keyed, truncated HMACs of searchable forms of each value (booking.patients.search), so
one index value matches a few people, whose records are then decrypted and filtered.
"""

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from booking.extensions import db
from booking.timeutil import UTCDateTime, utcnow

__all__ = ["Patient", "PatientIndex", "PatientNote", "INDEX_KINDS"]

# email: normalised address; phone: its digits; dob: YYYY-MM-DD; name: each lower-cased
# name word and its prefixes of three letters or more ("part of a name").
INDEX_KINDS = ("email", "phone", "dob", "name")


class Patient(db.Model):
    """One person the clinic knows: every intake and booking points here."""

    __tablename__ = "patient"

    id: Mapped[int] = mapped_column(primary_key=True)
    # Encrypted JSON {"name", "date_of_birth", "email", "phone"}; never stored in the clear.
    contact_encrypted: Mapped[str] = mapped_column(sa.Text)
    created_at: Mapped[object] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[object] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)
    # A record merged into another stays as a pointer, so old links still find the person.
    merged_into_id: Mapped[int | None] = mapped_column(sa.ForeignKey("patient.id"))
    erased_at: Mapped[object | None] = mapped_column(UTCDateTime())
    # A questionnaire link the clinic sent to this patient (only its SHA-256 is kept): an
    # intake started from it belongs to this patient instead of a new one.
    questionnaire_token_hash: Mapped[str | None] = mapped_column(sa.String(64), unique=True)
    questionnaire_expires_at: Mapped[object | None] = mapped_column(UTCDateTime())

    notes = relationship("PatientNote", order_by="PatientNote.id", cascade="all, delete-orphan",
                         back_populates="patient")


class PatientIndex(db.Model):
    """One blind index value of a patient: kind plus a truncated HMAC-SHA256 (hex)."""

    __tablename__ = "patient_index"

    id: Mapped[int] = mapped_column(primary_key=True)
    patient_id: Mapped[int] = mapped_column(sa.ForeignKey("patient.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(sa.String(10))
    value: Mapped[str] = mapped_column(sa.String(16))

    __table_args__ = (
        sa.CheckConstraint(sa.text("kind IN ('email', 'phone', 'dob', 'name')"), name="kind"),
        sa.Index("ix_patient_index_lookup", "kind", "value", "patient_id"),
    )


class PatientNote(db.Model):
    """A staff note on a patient (non-clinical, e.g. "prefers mornings"), encrypted."""

    __tablename__ = "patient_note"

    id: Mapped[int] = mapped_column(primary_key=True)
    patient_id: Mapped[int] = mapped_column(sa.ForeignKey("patient.id"), index=True)
    patient = relationship("Patient", back_populates="notes")
    body_encrypted: Mapped[str] = mapped_column(sa.Text)
    author_id: Mapped[int | None] = mapped_column(sa.ForeignKey("staff_user.id"))
    author = relationship("StaffUser", lazy="joined")
    created_at: Mapped[object] = mapped_column(UTCDateTime(), default=utcnow)
