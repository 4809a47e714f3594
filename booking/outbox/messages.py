"""The words of every email. Pure functions returning (subject, body); no health data, ever.

Patient emails say when and where, and carry the private link they need; staff emails say
only that something changed and where to look, never who the patient is or why they came.
"""

from booking.timeutil import TIME_FORMAT, local_text, to_zone

# The email with a booking's new manage link (the page that asked for it checks it was queued).
LINK_AGAIN_KIND = "booking_link"


def describe_time(moment, clinic_zone, patient_zone=None):
    """A booking's time in the clinic's zone, with the patient's own beside it when it differs."""
    text = local_text(moment, clinic_zone)
    theirs = patient_time(moment, clinic_zone, patient_zone)
    return text + (f" ({theirs}, your time)" if theirs else "")


def patient_time(moment, clinic_zone, patient_zone):
    """The time in the patient's own zone, or None when that reads the same as the clinic's (or is unknown)."""
    if not patient_zone or patient_zone == clinic_zone:
        return None
    try:
        theirs = to_zone(moment, patient_zone)
    except (ValueError, KeyError, OSError):
        return None  # an unknown zone name: the clinic's time alone is still right
    if theirs.utcoffset() == to_zone(moment, clinic_zone).utcoffset():
        return None
    return f"{theirs.strftime(TIME_FORMAT)} {theirs.tzname()}"


def _sign_off(clinic):
    """The closing lines of every patient email."""
    return (f"\n\n{clinic.name}\n{clinic.address}\n{clinic.phone}\n\n"
            "If you need help urgently, call or text 988 at any time; in an emergency call 911.\n"
            "Please do not reply with health information: email is not a secure channel.")


def _greeting(name):
    return f"Hello {name},\n\n" if name else "Hello,\n\n"


def booking_confirmation(clinic, *, name, when, clinician, link, questionnaire_link=None):
    """Patient: your consultation is booked (the invite is attached); a patient with no
    questionnaire also gets a link to one tied to their record, which the clinician needs."""
    body = _greeting(name) + f"Your consultation at {clinic.name} with {clinician} is booked for {when}.\n\n"
    body += f"Address: {clinic.address}\n\n"
    body += "The attached calendar invite adds it to your calendar app.\n"
    if link:
        body += f"To cancel or reschedule, use your private link: {link}\n"
    if questionnaire_link:
        body += ("\nBefore your consultation, please fill in our online health questionnaire "
                 f"(about 15 to 20 minutes; you can save it and come back): {questionnaire_link}\n")
    return f"Your consultation at {clinic.name} is booked", body + _sign_off(clinic)


def booking_change(clinic, *, name, when, previous, clinician, link, previous_clinician=None):
    """Patient: your consultation has moved (the updated invite is attached), and to whom if the
    clinician changed."""
    body = _greeting(name) + f"Your consultation at {clinic.name} has moved to {when} with {clinician}"
    body += f" (it was {previous}).\n\n" if previous else ".\n\n"
    if previous_clinician and previous_clinician != clinician:
        body += f"Your clinician has changed: you will now see {clinician} instead of {previous_clinician}.\n\n"
    body += "The attached calendar invite updates the event in your calendar app.\n"
    if link:
        body += f"To cancel or reschedule, use your private link: {link}\n"
    return f"Your consultation at {clinic.name} has moved", body + _sign_off(clinic)


def booking_cancellation(clinic, *, name, when, clinician):
    """Patient: your consultation is cancelled (the attached cancellation removes it)."""
    body = _greeting(name) + f"Your consultation at {clinic.name} with {clinician} on {when} is cancelled.\n\n"
    body += "The attached calendar update removes it from your calendar app.\n"
    body += f"To book another time, call us on {clinic.phone} or reply to this email.\n"
    return f"Your consultation at {clinic.name} is cancelled", body + _sign_off(clinic)


def booking_link(clinic, *, name, when, clinician, link):
    """Patient: the new private link to their booking, sent on request (the old link stops working)."""
    body = _greeting(name) + f"You asked for the link to your consultation at {clinic.name} with {clinician} "
    body += f"on {when}.\n\n"
    body += f"To see, cancel or reschedule it, use your new private link: {link}\n\n"
    body += "The link in our earlier emails no longer works. Keep this one to yourself.\n"
    body += "If you did not ask for this, call us: someone may have used your questionnaire's link.\n"
    return f"The link to your consultation at {clinic.name}", body + _sign_off(clinic)


def booking_restored(clinic, *, name, when, clinician):
    """Patient: the cancellation was undone, the consultation stands (the attached invite puts it back)."""
    body = _greeting(name) + (f"Your consultation at {clinic.name} with {clinician} on {when} is booked again: "
                              "the clinic has undone its cancellation.\n\n")
    body += "The attached calendar invite puts it back in your calendar app.\n"
    body += "The private link in your confirmation email works again to cancel or reschedule.\n"
    return f"Your consultation at {clinic.name} is booked again", body + _sign_off(clinic)


def booking_reminder(clinic, *, name, when, clinician):
    """Patient: a reminder of tomorrow's consultation."""
    body = _greeting(name) + f"A reminder: your consultation at {clinic.name} with {clinician} is on {when}.\n\n"
    body += f"Address: {clinic.address}\n\n"
    body += "To cancel or reschedule, use the private link in your confirmation email, or call us.\n"
    return f"Reminder: your consultation at {clinic.name}", body + _sign_off(clinic)


def intake_resume(clinic, *, link):
    """Patient: the private link to carry on with the health questionnaire."""
    body = _greeting(None) + f"You started the health questionnaire for {clinic.name}.\n\n"
    body += f"To carry on where you left off, use your private link: {link}\n\n"
    body += "Keep this link to yourself: anyone with it can see your answers.\n"
    return f"Your questionnaire link for {clinic.name}", body + _sign_off(clinic)


def intake_correction(clinic, *, link):
    """Patient: the one-time link to correct a sent questionnaire."""
    body = _greeting(None) + f"You asked to correct the health questionnaire you sent to {clinic.name}.\n\n"
    body += f"Open your answers with this link, which works once, within the next hour: {link}\n\n"
    body += ("If you did not ask for this, you can ignore this email: nothing changes unless the link is used.\n")
    return f"Correct your questionnaire for {clinic.name}", body + _sign_off(clinic)


def intake_cleared(clinic, *, link):
    """Patient: you can now book a consultation."""
    body = _greeting(None) + f"A clinician at {clinic.name} has reviewed your questionnaire, "
    body += "and you can now book a consultation.\n\n"
    body += f"Choose a time with your private link: {link}\n"
    return f"You can now book your consultation at {clinic.name}", body + _sign_off(clinic)


def waitlist_offer(clinic, *, name, when, clinician, link):
    """Patient on the waitlist: a time has freed up; the link books it in one step (first come)."""
    body = _greeting(name) + f"A consultation time has freed up at {clinic.name}: {when} with {clinician}.\n\n"
    body += f"To take it, open this private link and press the button: {link}\n\n"
    body += ("We have offered this time to a few patients on the waitlist: the first to book it gets it. "
             "If it has gone, you stay on the waitlist and we will email you when another time frees up.\n")
    return f"A consultation time has freed up at {clinic.name}", body + _sign_off(clinic)


# A staff email's plain subject for each change (a move between clinicians adds the booking to
# the new clinician's schedule and removes it from the previous one's: each is told which).
STAFF_SUBJECTS = {"booked": "New booking", "moved": "Booking moved", "cancelled": "Booking cancelled",
                  "added to your schedule": "Booking added to your schedule",
                  "removed from your schedule": "Booking removed from your schedule",
                  "booked again": "Booking restored"}


def staff_booking_changed(clinic, *, change, clinic_time, patient_time=None, clinician, link):
    """Staff: a booking was made, moved, cancelled, added to or removed from a clinician's
    schedule (no patient details in email). Times: the clinic's with its zone, and the
    patient's own only when it differs, labelled as the patient's."""
    body = f"A consultation with {clinician} was {change}.\n\nClinic time: {clinic_time}\n"
    if patient_time:
        body += f"The patient's time: {patient_time}\n"
    body += f"\nSee the schedule for details: {link}\n"
    return f"{STAFF_SUBJECTS[change]}: {clinic_time}", body


def staff_intake(clinic, *, urgent, link):
    """Staff: an intake needs review; urgent ones say so, and nothing more."""
    if urgent:
        subject = "URGENT: an intake needs a clinician's attention today"
        body = ("A patient's intake needs a clinician's attention today. "
                "It is at the top of the review queue.\n\n")
    else:
        subject = "An intake needs review"
        body = "An intake was submitted and is waiting in the review queue.\n\n"
    return subject, body + f"Open the intake queue: {link}\n"
