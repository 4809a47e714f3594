"""Signal receivers: turn booking and intake events into outbox rows in the sender's transaction.

Each receiver only adds rows to the `session` it is given (see booking.signals), so the
message commits or rolls back with the change. The words come from booking.outbox.messages,
the invite from booking.calendar.ical; this module is the glue that reads the app's settings.
"""

import sqlalchemy as sa
from flask import current_app

from booking import signals
from booking.calendar.ical import Clinic, invite_draft_for
from booking.crypto import cipher_for
from booking.models import OutboxMessage, Patient, StaffUser
from booking.outbox import messages
from booking.outbox.sender import draft_email, queue_drafts
from booking.outbox.sender import queue_email as queue_encrypted
from booking.patients.record import contact_of
from booking.timeutil import local_text

STAFF_SCHEDULE_PATH = "/staff/schedule"
STAFF_INTAKES_PATH = "/staff/intakes"


def queue_email(session, **fields):
    """Queue an email, its body and invite encrypted with this app's intake keys."""
    return queue_encrypted(session, cipher=cipher_for(current_app.config), **fields)


def absolute(config, path):
    """An absolute URL on this site, for emails."""
    return config["PUBLIC_BASE_URL"].rstrip("/") + path


def _when(booking, config, moment=None):
    return messages.describe_time(moment or booking.starts_at, config["CLINIC_TIMEZONE"], booking.patient_timezone)


def _patient(booking, config):
    """The booking's patient's decrypted contact dict."""
    return contact_of(booking.patient, cipher_for(config))


def _queue(session, drafts, *, booking, now):
    """Write the outbox rows of `drafts` (None: nobody to tell) about `booking` (written, with its
    id), in one statement, held (on PostgreSQL it goes with the next statement or the COMMIT)."""
    queue_drafts(session, [draft for draft in drafts if draft is not None], booking_id=booking.id, now=now,
                 cipher=cipher_for(current_app.config))


# What the emails need of a clinician, built once: the whole StaffUser entity (password hash,
# session version and all) took 0.7 ms of each booking change to load.
_CLINICIAN = sa.select(StaffUser.name, StaffUser.email, StaffUser.active).where(
    StaffUser.id == sa.bindparam("clinician_id"))


def _clinician(session, clinician_id):
    """A clinician's name, email and whether active, read by id (a row, or None): after a move, a
    relationship loaded earlier would name the old one."""
    # On the session's connection: nothing pending changes a clinician's name or address.
    return session.connection().execute(_CLINICIAN, {"clinician_id": clinician_id}).first()


def _patient_invite(booking, *, kind, now, subject_body, link, patient):
    """A Draft of a patient email carrying the booking's invite (REQUEST or CANCEL); `patient` is
    the patient's decrypted contact."""
    config = current_app.config
    subject, body = subject_body
    return draft_email(kind=kind, recipient=patient["email"], subject=subject, body=body,
                       cipher=cipher_for(config),
                       invite=invite_draft_for(booking, config=config, now=now, link=link, contact=patient))


def _staff_booking(booking, clinician, *, change, moment=None):
    """A Draft telling `clinician` (a row of _clinician, or None) that a booking changed (time only,
    no patient details); None when there is no one active to tell.

    `moment` is the time to name (the booking's own by default; the old time for a removal).
    Callers read the clinician once for both emails (a second read by id was a second SELECT on
    every booking change)."""
    config = current_app.config
    if clinician is None or not clinician.active:
        return None
    moment, zone = moment or booking.starts_at, config["CLINIC_TIMEZONE"]
    subject, body = messages.staff_booking_changed(
        Clinic.from_config(config), change=change, clinic_time=local_text(moment, zone),
        patient_time=messages.patient_time(moment, zone, booking.patient_timezone), clinician=clinician.name,
        link=absolute(config, STAFF_SCHEDULE_PATH))
    return draft_email(kind="staff_booking_changed", recipient=clinician.email, subject=subject, body=body,
                       cipher=cipher_for(config))


def _ensure_id(session, booking):
    """The booking needs its id (for the UID) before a message can name it."""
    if booking.id is None:
        session.flush()


def draft_booking_created(sender, *, session, now, booking, link=None, questionnaire_link=None, clinician=None,
                          **extra):
    """booking_creating's receiver, before the new `booking` is written: its confirmation with a
    REQUEST invite to the patient (and, for a patient with no questionnaire, the link to one tied
    to their record) and its note to the clinician, composed; a list of Drafts.

    It reads (the patient's contact, and the clinician's name and address unless the sender gave
    their row as `clinician`) but must not write: nothing is flushed, so the patient's details
    typed with the booking are read as they are in the session."""
    config = current_app.config
    with session.no_autoflush:
        patient = contact_of(session.get(Patient, booking.patient_id), cipher_for(config))
    if clinician is None:
        clinician = _clinician(session, booking.clinician_id)
    drafts = []
    if patient["email"]:
        text = messages.booking_confirmation(Clinic.from_config(config), name=patient["name"],
                                             when=_when(booking, config), link=link, clinician=clinician.name,
                                             questionnaire_link=questionnaire_link)
        drafts.append(_patient_invite(booking, kind="booking_confirmation", now=now, subject_body=text, link=link,
                                      patient=patient))
    return drafts + [_staff_booking(booking, clinician, change="booked")]


def on_booking_created(sender, *, session, now, booking, prepared=None, **fields):
    """The messages draft_booking_created composed (`prepared` by booking_creating), or composes
    them now for a booking created without it, queued with the booking's id."""
    drafts = (prepared or {}).get(draft_booking_created)
    if drafts is None:
        _ensure_id(session, booking)
        drafts = draft_booking_created(sender, session=session, now=now, booking=booking, **fields)
    queue_drafts(session, [draft for draft in drafts if draft is not None], booking_id=booking.id, now=now,
                 cipher=cipher_for(current_app.config))


def on_booking_moved(sender, *, session, now, booking, previous_starts_at=None, previous_clinician_id=None,
                     actor=None, link=None, **extra):
    """Change notice with the updated REQUEST invite (higher SEQUENCE) naming the clinician (and
    the change of clinician); a note to the clinician, or to both when the clinician changed."""
    _ensure_id(session, booking)
    config = current_app.config
    patient, clinician = _patient(booking, config), _clinician(session, booking.clinician_id)
    changed = previous_clinician_id is not None and previous_clinician_id != booking.clinician_id
    before = _clinician(session, previous_clinician_id) if changed else None
    drafts = []
    if patient["email"]:
        previous = _when(booking, config, previous_starts_at) if previous_starts_at else None
        text = messages.booking_change(Clinic.from_config(config), name=patient["name"],
                                       when=_when(booking, config), previous=previous, link=link,
                                       clinician=clinician.name, previous_clinician=before and before.name)
        drafts.append(_patient_invite(booking, kind="booking_change", now=now, subject_body=text, link=link,
                                      patient=patient))
    if changed:
        drafts += [_staff_booking(booking, before, change="removed from your schedule", moment=previous_starts_at),
                   _staff_booking(booking, clinician, change="added to your schedule")]
    else:
        drafts.append(_staff_booking(booking, clinician, change="moved"))
    _queue(session, drafts, booking=booking, now=now)


def _status_notices(session, now, booking, *, kind, words, change):
    """The patient's email built by `words` with the invite as the booking now stands; a note to the clinician."""
    _ensure_id(session, booking)
    config = current_app.config
    patient, clinician = _patient(booking, config), _clinician(session, booking.clinician_id)
    drafts = []
    if patient["email"]:
        text = words(Clinic.from_config(config), name=patient["name"], when=_when(booking, config),
                     clinician=clinician.name)
        drafts.append(_patient_invite(booking, kind=kind, now=now, subject_body=text, link=None, patient=patient))
    _queue(session, drafts + [_staff_booking(booking, clinician, change=change)], booking=booking, now=now)


def on_booking_cancelled(sender, *, session, now, booking, actor=None, reason=None, **extra):
    """Cancellation with a CANCEL invite (same UID, higher SEQUENCE); a note to the clinician."""
    _status_notices(session, now, booking, kind="booking_cancellation", words=messages.booking_cancellation,
                    change="cancelled")


def on_booking_restored(sender, *, session, now, booking, actor=None, **extra):
    """A cancellation undone: the REQUEST invite again (higher SEQUENCE); a note to the clinician."""
    _status_notices(session, now, booking, kind="booking_restored", words=messages.booking_restored,
                    change="booked again")


def on_booking_link_reissued(sender, *, session, now, booking, link=None, **extra):
    """The booking's new manage link, to the address on the patient's record (no invite: nothing moved)."""
    config = current_app.config
    patient = _patient(booking, config)
    if not patient["email"] or not link:
        return
    subject, body = messages.booking_link(Clinic.from_config(config), name=patient["name"],
                                          when=_when(booking, config), link=link,
                                          clinician=_clinician(session, booking.clinician_id).name)
    queue_email(session, kind=messages.LINK_AGAIN_KIND, recipient=patient["email"], subject=subject, body=body,
                now=now, booking_id=booking.id)


def on_intake_started(sender, *, session, now, intake=None, email=None, link=None, **extra):
    """Email the patient their private resume link."""
    if not email or not link:
        return
    subject, body = messages.intake_resume(Clinic.from_config(current_app.config), link=link)
    queue_email(session, kind="intake_resume", recipient=email, subject=subject, body=body, now=now)


def on_intake_correction_requested(sender, *, session, now, intake=None, email=None, link=None, **extra):
    """Email the one-time correction link, to the address on the questionnaire only."""
    if not email or not link:
        return
    subject, body = messages.intake_correction(Clinic.from_config(current_app.config), link=link)
    queue_email(session, kind="intake_correction", recipient=email, subject=subject, body=body, now=now)


def on_intake_urgent(sender, *, session, now, intake, **extra):
    """A crisis answer: tell every active clinician at once, before the intake is even sent."""
    _notify_clinicians(session, now, intake, urgent=True)


def on_intake_submitted(sender, *, session, now, intake, **extra):
    """Tell every active clinician an intake needs review ("urgent" when it does), nothing more."""
    _notify_clinicians(session, now, intake, urgent=bool(getattr(intake, "urgent", False)))


def _notify_clinicians(session, now, intake, *, urgent):
    """Queue the staff notice for each active clinician; an urgent one only once per intake."""
    config = current_app.config
    subject, body = messages.staff_intake(Clinic.from_config(config), urgent=urgent,
                                          link=absolute(config, STAFF_INTAKES_PATH))
    clinicians = session.scalars(sa.select(StaffUser).where(StaffUser.role == "clinician",
                                                            StaffUser.active.is_(True))).all()
    session.flush()  # the intake needs its id for the de-duplication key
    for clinician in clinicians:
        # The crisis answer and the submit both call for an urgent notice: send one.
        dedupe_key = f"urgent-intake-{intake.id}-to-{clinician.id}" if urgent else None
        if dedupe_key and session.scalar(sa.select(OutboxMessage.id).where(OutboxMessage.dedupe_key == dedupe_key)):
            continue
        queue_email(session, kind="staff_urgent_intake" if urgent else "staff_new_intake",
                    recipient=clinician.email, subject=subject, body=body, now=now, dedupe_key=dedupe_key)


def on_intake_cleared(sender, *, session, now, intake, actor=None, link=None, **extra):
    """Email the patient the private booking link once a clinician has cleared them."""
    email = contact_of(intake.patient, cipher_for(current_app.config))["email"]
    if not email or not link:
        return
    subject, body = messages.intake_cleared(Clinic.from_config(current_app.config), link=link)
    queue_email(session, kind="intake_cleared", recipient=email, subject=subject, body=body, now=now)


RECEIVERS = (
    (signals.booking_creating, draft_booking_created),
    (signals.booking_created, on_booking_created),
    (signals.booking_moved, on_booking_moved),
    (signals.booking_cancelled, on_booking_cancelled),
    (signals.booking_link_reissued, on_booking_link_reissued),
    (signals.booking_restored, on_booking_restored),
    (signals.intake_started, on_intake_started),
    (signals.intake_correction_requested, on_intake_correction_requested),
    (signals.intake_urgent, on_intake_urgent),
    (signals.intake_submitted, on_intake_submitted),
    (signals.intake_cleared, on_intake_cleared),
)


def connect():
    """Subscribe every receiver (idempotent: blinker keeps one connection per receiver)."""
    for signal, receiver in RECEIVERS:
        signal.connect(receiver)
