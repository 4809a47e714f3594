"""Patients' rights: everything held about one patient (export), and erasure. Free of Flask."""

import sqlalchemy as sa

from booking.models import Booking, Intake, OutboxMessage, PatientIndex, PatientNote, StaffUser
from booking.outbox.sender import recipient_of
from booking.patients.record import PatientError, bookings_of, contact_of, intakes_of, upcoming_booking


def _when(moment):
    return None if moment is None else moment.isoformat()


def export_patient(session, patient, cipher):
    """A JSON-ready dict of everything held about `patient` (decrypted): contact, questionnaires
    with answers, scores, flags and decisions, bookings with their history, notes, and messages."""
    names = dict(session.execute(sa.select(StaffUser.id, StaffUser.name)).all())
    bookings = bookings_of(session, patient.id)
    booking_ids = [booking.id for booking in bookings]
    messages = session.scalars(sa.select(OutboxMessage).where(OutboxMessage.booking_id.in_(booking_ids))
                               .order_by(OutboxMessage.id)).all() if booking_ids else []
    return {
        "patient_id": patient.id,
        "created_at": _when(patient.created_at),
        "contact": contact_of(patient, cipher),
        "questionnaires": [{
            "id": intake.id, "status": intake.status, "started_at": _when(intake.created_at),
            "submitted_at": _when(intake.submitted_at), "urgent": intake.urgent,
            "answers": cipher.decrypt(intake.answers_encrypted), "scores": cipher.decrypt(intake.scores_encrypted),
            "flags": cipher.decrypt(intake.flags_encrypted), "decision": intake.decision,
            "decision_notes": cipher.decrypt(intake.decision_notes_encrypted), "decided_at": _when(intake.decided_at),
            "cleared_at": _when(intake.cleared_at), "consent_version": intake.consent_version,
            "consent_at": _when(intake.consent_at),
        } for intake in intakes_of(session, patient.id)],
        "bookings": [{
            "id": booking.id, "starts_at": _when(booking.starts_at), "ends_at": _when(booking.ends_at),
            "clinician": names.get(booking.clinician_id), "status": booking.status, "source": booking.source,
            "history": [{"at": _when(event.at), "what": event.kind, "detail": event.detail,
                         "by": names.get(event.actor_id, "the patient")} for event in booking.events],
        } for booking in bookings],
        "notes": [{"at": _when(note.created_at), "by": names.get(note.author_id), "text": cipher.decrypt(note.body_encrypted)}
                  for note in patient.notes],
        "messages": [{"at": _when(message.created_at), "kind": message.kind, "subject": message.subject,
                      "to": recipient_of(message, cipher), "status": message.status} for message in messages],
    }


def erase_patient(session, patient, *, cipher, now):
    """Erase a patient's questionnaires, contact details and notes. Raises PatientError.

    Their bookings stay on the schedule without a name (the clinic's own record that a time
    was used); an upcoming consultation must be cancelled first so nobody is left expected.
    """
    if patient.erased_at is not None:
        raise PatientError("This patient's record has already been erased.")
    if (upcoming := upcoming_booking(session, patient.id)) is not None:
        raise PatientError(f"Cancel the upcoming consultation (booking #{upcoming.id}) before erasing the record.")
    intake_ids = [intake.id for intake in intakes_of(session, patient.id)]
    if intake_ids:
        session.execute(sa.update(Booking).where(Booking.intake_id.in_(intake_ids)).values(intake_id=None)
                        .execution_options(synchronize_session=False))
        session.execute(sa.update(Intake).where(Intake.id.in_(intake_ids)).values(previous_id=None)
                        .execution_options(synchronize_session=False))
        session.execute(sa.delete(Intake).where(Intake.id.in_(intake_ids)).execution_options(synchronize_session=False))
    session.execute(sa.delete(PatientNote).where(PatientNote.patient_id == patient.id)
                    .execution_options(synchronize_session=False))
    session.execute(sa.delete(PatientIndex).where(PatientIndex.patient_id == patient.id))
    patient.contact_encrypted = cipher.encrypt({})
    patient.questionnaire_token_hash = patient.questionnaire_expires_at = None
    patient.erased_at = patient.updated_at = now
    session.flush()
    session.expire_all()  # the deleted intakes and notes must not linger in the identity map
