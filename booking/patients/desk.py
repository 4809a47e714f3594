"""Front-desk rules for phone bookings: who may book a patient, and the questionnaire link."""

from booking.patients.record import PatientError, issue_questionnaire_link, latest_intake, waits_for_clearance

INVITED_ENDPOINT_PATH = "/intake/invited/{token}"


def refuse_unless_may_book(intake, *, role, clearance_blocks_booking, response_time):
    """Raise PatientError if a receptionist (or admin) may not book this patient by phone.

    A patient whose latest questionnaire waits for a clinician's clearance is refused at the
    front desk, with what to do instead; a clinician may still book them.
    """
    if role != "clinician" and waits_for_clearance(intake, clearance_blocks_booking):
        raise PatientError(
            "This patient's questionnaire is waiting for a clinician's clearance, so the front desk cannot "
            "book them yet. Ask a clinician to review it (a clinician can book the patient), and tell the "
            f"patient the clinic will be in touch within {response_time}.")


def phone_booking_questionnaire_link(session, patient, *, role, config, now):
    """Check the patient may be booked by `role`; return a questionnaire link tied to the patient
    if they have no questionnaire yet (else None). Raises PatientError."""
    intake = latest_intake(session, patient.id)
    refuse_unless_may_book(intake, role=role, clearance_blocks_booking=config["INTAKE_CLEARANCE_BLOCKS_BOOKING"],
                           response_time=config["INTAKE_REVIEW_RESPONSE_TIME"])
    if intake is not None:
        return None
    token = issue_questionnaire_link(patient, now=now, days=config["INTAKE_DRAFT_DAYS"])
    return config["PUBLIC_BASE_URL"].rstrip("/") + INVITED_ENDPOINT_PATH.format(token=token)
