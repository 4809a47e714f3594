"""The patient record: contact details, the questionnaire's state in front-desk words, notes.

Plain functions over a session, free of Flask: the cipher (booking.crypto), the search key
and `now` are arguments. Contact details are a dict {"name", "date_of_birth", "email",
"phone"}; they exist only encrypted in the database and decrypted in memory.
"""

from datetime import timedelta

import sqlalchemy as sa
from sqlalchemy.orm import lazyload

from booking.models import Booking, Intake, Patient, PatientNote
from booking.models.appointments import UPCOMING
from booking.models.intake import booking_allowed
from booking.patients.search import normal_email, reindex
from booking.tokens import new_token, plausible_token, token_hash

CONTACT_FIELDS = ("name", "date_of_birth", "email", "phone")
NOTE_MAX_LENGTH = 1000

# The questionnaire's state as the front desk reads it: never answers, scores, flags or urgency.
NONE, STARTED, RECEIVED, WAITING, CLEARED, WILL_CALL = (
    "none", "started", "received", "waiting", "cleared", "will_call")
STATE_WORDS = {
    NONE: "no questionnaire yet",
    STARTED: "started, not sent yet",
    RECEIVED: "received",
    WAITING: "waiting for a clinician",
    CLEARED: "cleared to book",
    WILL_CALL: "a clinician will call",
}


class PatientError(Exception):
    """A change to a patient record that cannot be made; `message` is shown to staff."""

    def __init__(self, message):
        super().__init__(message)
        self.message = message


def clean_contact(name=None, date_of_birth=None, email=None, phone=None):
    """A contact dict with trimmed values (email lower-cased); empty values become None."""
    def trimmed(value):
        return (str(value).strip() or None) if value is not None else None
    return {"name": trimmed(name), "date_of_birth": trimmed(date_of_birth), "email": normal_email(email),
            "phone": trimmed(phone)}


def contact_of(patient, cipher):
    """The patient's decrypted contact dict (every field present, None when unknown).

    Decrypted once per loaded record: a schedule shows one name several times.
    """
    cached = patient.__dict__.get("_contact_cache")
    if cached is not None and cached[0] == patient.contact_encrypted:
        return cached[1]
    stored = cipher.decrypt(patient.contact_encrypted) or {}
    contact = {field: stored.get(field) for field in CONTACT_FIELDS}
    patient.__dict__["_contact_cache"] = (patient.contact_encrypted, contact)
    return contact


def create_patient(session, contact, *, cipher, key, now):
    """Add a patient with `contact` (a dict, possibly empty) and its search index."""
    patient = Patient(contact_encrypted=cipher.encrypt(clean_contact(**contact)), created_at=now, updated_at=now)
    session.add(patient)
    session.flush()
    reindex(session, patient.id, contact_of(patient, cipher), key)
    return patient


def set_contact(session, patient, contact, *, cipher, key, now):
    """Replace the patient's contact details (fields not given are kept) and re-index them.

    Details that are already the record's write nothing: a patient confirming what the form
    prefilled does not rewrite the record and its index (on SQLite, the first write of a
    booking takes the database's one write lock until the booking commits).
    """
    current = contact_of(patient, cipher)
    cleaned = clean_contact(**{**current, **{k: v for k, v in contact.items() if k in CONTACT_FIELDS}})
    if cleaned == current:
        return
    patient.contact_encrypted = cipher.encrypt(cleaned)
    patient.updated_at = now
    reindex(session, patient.id, contact_of(patient, cipher), key)
    session.flush()


def intakes_of(session, patient_id):
    """The patient's questionnaires, newest first."""
    return session.scalars(sa.select(Intake).where(Intake.patient_id == patient_id)
                           .order_by(Intake.id.desc())).unique().all()


# What questionnaire_state (and the link to the answers) reads of an intake.
STATE_COLUMNS = (Intake.id, Intake.patient_id, Intake.status, Intake.decision, Intake.flag_level, Intake.cleared_at)


def latest_intakes(session, patient_ids, columns=None):
    """{patient id: the questionnaire that speaks for them} in one query: the newest one sent,
    else the newest draft. With `columns` (id, patient_id and status among them, e.g.
    STATE_COLUMNS), rows of those columns instead of whole intakes."""
    latest = {}
    # Not joining each intake's patient: no caller reads it, and a list page has them already.
    query = sa.select(*columns) if columns else sa.select(Intake).options(lazyload(Intake.patient))
    # Run even for no patients, so a page's statement count does not depend on its bookings.
    found = session.execute(query.where(Intake.patient_id.in_(sorted(set(patient_ids)))).order_by(Intake.id.desc()))
    rows = found.all() if columns else found.scalars().all()
    for intake in rows:
        current = latest.get(intake.patient_id)
        if current is None or (current.status == "draft" and intake.status != "draft"):
            latest[intake.patient_id] = intake
    return latest


def latest_intake(session, patient_id):
    """The questionnaire that speaks for the patient (see latest_intakes), or None."""
    return latest_intakes(session, [patient_id]).get(patient_id)


def waits_for_clearance(intake, clearance_blocks_booking=True):
    """True if a sent questionnaire may not book until a clinician clears it (models.intake.booking_allowed);
    `intake` is an Intake or a row of STATE_COLUMNS."""
    return (intake is not None and intake.status != "draft" and intake.decision != "not_suitable"
            and not booking_allowed(intake.status, intake.decision, intake.flag_level, intake.cleared_at,
                                    clearance_blocks_booking))


def questionnaire_state(intake, clearance_blocks_booking=True):
    """The front-desk state key of `intake`, an Intake or a row of STATE_COLUMNS (None: no questionnaire).
    See STATE_WORDS."""
    if intake is None:
        return NONE
    if intake.status == "draft":
        return STARTED
    if intake.decision in ("not_suitable", "need_info"):
        return WILL_CALL
    if waits_for_clearance(intake, clearance_blocks_booking):
        return WAITING
    if intake.cleared_at is not None:
        return CLEARED
    return RECEIVED


def bookings_of(session, patient_id):
    """The patient's bookings, latest first."""
    return session.scalars(sa.select(Booking).where(Booking.patient_id == patient_id)
                           .order_by(Booking.starts_at.desc())).unique().all()


def upcoming_booking(session, patient_id):
    """The patient's one upcoming consultation (models.appointments.UPCOMING), or None."""
    return session.scalars(sa.select(Booking).where(Booking.patient_id == patient_id, UPCOMING)).unique().first()


def add_note(session, patient, text, *, author, cipher, now):
    """Add a staff note (non-clinical). Raises PatientError for an empty or overlong note."""
    text = (text or "").strip()
    if not text:
        raise PatientError("Write the note first.")
    if len(text) > NOTE_MAX_LENGTH:
        raise PatientError(f"Keep a note under {NOTE_MAX_LENGTH} characters.")
    note = PatientNote(patient_id=patient.id, body_encrypted=cipher.encrypt(text), author_id=getattr(author, "id", None),
                       created_at=now)
    session.add(note)
    session.flush()
    return note


def issue_questionnaire_link(patient, *, now, days):
    """A new private token for a questionnaire tied to `patient` (valid `days`); shown once."""
    token = new_token()
    patient.questionnaire_token_hash = token_hash(token)
    patient.questionnaire_expires_at = now + timedelta(days=days)
    return token


def patient_for_questionnaire(session, token, now):
    """The patient a questionnaire link was sent to, or None if made up, unknown or expired."""
    if not plausible_token(token):
        return None
    patient = session.scalar(sa.select(Patient).where(Patient.questionnaire_token_hash == token_hash(token)))
    if patient is None or patient.erased_at is not None or patient.questionnaire_expires_at is None \
            or patient.questionnaire_expires_at <= now:
        return None
    return patient
