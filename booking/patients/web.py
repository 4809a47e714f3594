"""What the patient views (and others that show patients) take from the app: keys and settings."""

from flask import current_app

from booking.crypto import cipher_for
from booking.patients.record import STATE_COLUMNS, STATE_WORDS, latest_intakes, questionnaire_state


def cipher():
    """The app's Cipher (the intake keys)."""
    return cipher_for(current_app.config)


def search_key():
    """The app's PATIENT_SEARCH_KEY, the HMAC key of the blind indexes."""
    return current_app.config["PATIENT_SEARCH_KEY"]


def clearance_blocks():
    """Whether a clearance flag stops booking until a clinician clears the patient."""
    return current_app.config.get("INTAKE_CLEARANCE_BLOCKS_BOOKING", True)


def questionnaires_for(session, patient_ids, role):
    """{patient id: {"words", "intake_id"}} for pages that list patients (one query).

    `intake_id` (the link to the answers) is given to clinicians only; the words are the
    front desk's and say nothing clinical.
    """
    latest = latest_intakes(session, patient_ids, STATE_COLUMNS)  # the state's columns, not whole intakes
    shown = {}
    for patient_id in set(patient_ids):
        intake = latest.get(patient_id)
        shown[patient_id] = {"words": STATE_WORDS[questionnaire_state(intake, clearance_blocks())],
                             "intake_id": intake.id if intake is not None and role == "clinician" else None}
    return shown
