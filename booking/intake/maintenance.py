"""Housekeeping for intakes: purging stale drafts and re-encrypting under the newest key."""

from datetime import timedelta

import sqlalchemy as sa
from sqlalchemy.orm.attributes import flag_modified

from booking.models import Intake, Patient, PatientNote

ENCRYPTED_COLUMNS = ("answers_encrypted", "flags_encrypted", "scores_encrypted", "decision_notes_encrypted")


def purge_drafts(session, *, now, days):
    """Delete drafts untouched for `days` days. Returns how many were deleted.

    An urgent draft (a crisis answer) that no clinician has yet seen is kept, however old:
    someone still has to look at it.
    """
    cutoff = now - timedelta(days=days)
    unseen_crisis = sa.and_(Intake.urgent, Intake.urgent_seen_at.is_(None))
    result = session.execute(sa.delete(Intake).where(Intake.status == "draft", Intake.updated_at < cutoff,
                                                     sa.not_(unseen_crisis))
                             .execution_options(synchronize_session=False))
    return result.rowcount


def rotate_intake_keys(session, cipher, batch_size=200):
    """Re-encrypt every encrypted intake column under the first key. Returns how many rows changed.

    Raises booking.crypto.InvalidToken if a value fits none of the configured keys (nothing is
    committed by this function, so the caller rolls back).
    """
    changed, last_id = 0, 0
    while True:
        rows = session.scalars(sa.select(Intake).where(Intake.id > last_id).order_by(Intake.id).limit(batch_size)).all()
        if not rows:
            return changed
        for intake in rows:
            for column in ENCRYPTED_COLUMNS:
                value = getattr(intake, column)
                if value:
                    setattr(intake, column, cipher.rotate(value))
            # Rotation rewrites ciphertext only: it must not count as the patient touching the
            # draft (which would postpone its purge), so keep updated_at as it was.
            flag_modified(intake, "updated_at")
            changed += 1
            last_id = intake.id
        session.flush()


def rotate_patient_keys(session, cipher):
    """Re-encrypt every patient's contact details and every staff note under the first key."""
    for patient in session.scalars(sa.select(Patient)).all():
        patient.contact_encrypted = cipher.rotate(patient.contact_encrypted)
    for note in session.scalars(sa.select(PatientNote)).all():
        note.body_encrypted = cipher.rotate(note.body_encrypted)
    session.flush()
