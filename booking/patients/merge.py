"""Duplicate records: finding likely ones, and merging two into one. Free of Flask."""

import sqlalchemy as sa

from booking.models import Booking, Intake, Patient, PatientIndex, PatientNote
from booking.patients.record import PatientError, contact_of, upcoming_booking
from booking.patients.search import blind_index, phone_digits, searchable_forms


def likely_duplicates(session, patient, *, cipher, key):
    """Other live records with the same email, or the same phone and date of birth (one query)."""
    contact = contact_of(patient, cipher)
    forms = searchable_forms(contact)
    wanted = [(kind, form) for kind, form in forms if kind in ("email", "phone", "dob")]
    if not wanted:
        return []
    values = [blind_index(key, kind, form) for kind, form in wanted]
    candidates = session.scalars(
        sa.select(Patient).where(Patient.id != patient.id, Patient.merged_into_id.is_(None),
                                 Patient.erased_at.is_(None),
                                 Patient.id.in_(sa.select(PatientIndex.patient_id)
                                                .where(PatientIndex.value.in_(values))))
        .order_by(Patient.id)).all()
    found = []
    for other in candidates:
        theirs = contact_of(other, cipher)
        same_email = contact["email"] and contact["email"] == theirs["email"]
        same_phone_and_birth = (phone_digits(contact["phone"]) and contact["date_of_birth"]
                                and phone_digits(contact["phone"]) == phone_digits(theirs["phone"])
                                and contact["date_of_birth"] == theirs["date_of_birth"])
        if same_email or same_phone_and_birth:
            found.append((other, theirs))
    return found


def merge_patients(session, keep, other, *, now):
    """Move `other`'s questionnaires, bookings and notes to `keep`; `other` becomes a pointer.

    Raises PatientError when both have an upcoming consultation (one must be cancelled first),
    or when either record is merged or erased already.
    """
    if keep.id == other.id:
        raise PatientError("A record cannot be merged with itself.")
    for record in (keep, other):
        if record.merged_into_id is not None or record.erased_at is not None:
            raise PatientError(f"Record #{record.id} has been merged or erased already.")
    if upcoming_booking(session, keep.id) is not None and upcoming_booking(session, other.id) is not None:
        raise PatientError("Both records have an upcoming consultation. Cancel one of them, then merge.")
    for model in (Intake, Booking, PatientNote):
        session.execute(sa.update(model).where(model.patient_id == other.id).values(patient_id=keep.id)
                        .execution_options(synchronize_session=False))
    session.execute(sa.delete(PatientIndex).where(PatientIndex.patient_id == other.id))
    other.merged_into_id = keep.id
    other.updated_at = keep.updated_at = now
    session.flush()
    session.expire_all()
