"""Signal receivers: a freed time, or hours that opened, are offered to the waitlist; a patient who books leaves it.

Like every receiver (booking.signals), these only add rows to the session they are given,
so the offers and their emails commit or roll back with the change that freed the time.
"""

from flask import current_app

from booking import signals
from booking.appointments.bookings import Context
from booking.appointments.settings import load_rules
from booking.calendar.ical import Clinic
from booking.outbox import messages
from booking.outbox.receivers import absolute, queue_email
from booking.patients.record import contact_of
from booking.crypto import cipher_for
from booking.waitlist import rules

OFFER_PATH = "/waitlist/offer/"


def offer_link(config, token):
    """The absolute link of an offer (built without a request: receivers also run from the CLI)."""
    return absolute(config, OFFER_PATH + token)


def rules_context(session, now):
    """The rules Context at `now` with this app's zone and the clinic's current rules."""
    config = current_app.config
    return Context(now=now, zone=config["CLINIC_TIMEZONE"], rules=load_rules(session, config))


def _offer(session, now, *, clinician_id, starts_at, patient_id):
    """Offer the freed time to the first matching waiting patients and queue their emails.

    Who waits for such a time is asked first: when nobody does (most cancellations), whether the
    time could be booked online (the clinic's rules, the clinician's hours and bookings) is not
    read at all."""
    zone = current_app.config["CLINIC_TIMEZONE"]
    waiting = [entry for entry in rules.desk_list(session, now)
               if entry.patient_id != patient_id and rules.suits(entry, clinician_id, starts_at, zone)]
    if not waiting:
        return
    freed = rules.offer_freed_time(session, rules_context(session, now), clinician_id=clinician_id,
                                   starts_at=starts_at, limit=int(current_app.config["WAITLIST_OFFERS_PER_TIME"]),
                                   exclude_patient_id=patient_id, entries=waiting)
    email_offers(session, now, freed)


def email_offers(session, now, freed):
    """Queue each offer's email (patients without an address are left to the desk's list)."""
    config = current_app.config
    for offer, token in freed:
        patient = contact_of(offer.entry.patient, cipher_for(config))
        if not patient.get("email"):
            continue
        subject, body = messages.waitlist_offer(Clinic.from_config(config), name=patient["name"],
                                                when=messages.describe_time(offer.starts_at,
                                                                            config["CLINIC_TIMEZONE"]),
                                                clinician=offer.clinician.name, link=offer_link(config, token))
        queue_email(session, kind="waitlist_offer", recipient=patient["email"], subject=subject, body=body, now=now)


def on_booking_cancelled(sender, *, session, now, booking, **extra):
    """The cancelled time is free again: offer it."""
    _offer(session, now, clinician_id=booking.clinician_id, starts_at=booking.starts_at,
           patient_id=booking.patient_id)


def on_booking_moved(sender, *, session, now, booking, previous_starts_at=None, previous_clinician_id=None, **extra):
    """The time the booking moved from is free again: offer it."""
    if previous_starts_at is not None:
        _offer(session, now, clinician_id=previous_clinician_id or booking.clinician_id,
               starts_at=previous_starts_at, patient_id=booking.patient_id)


def offer_open_times(session, now):
    """Offer free times to waiting patients who hold no open offer, and queue their emails (hours, the CLI)."""
    freed = rules.offer_open_times(session, rules_context(session, now),
                                   limit=int(current_app.config["WAITLIST_OFFERS_PER_TIME"]))
    email_offers(session, now, freed)
    return freed


def on_hours_opened(sender, *, session, now, **extra):
    """New or longer hours, or a block or holiday gone: offer the times that opened."""
    offer_open_times(session, now)


def on_booking_created(sender, *, session, now, booking, **extra):
    """A patient who has a consultation no longer waits, however it was booked."""
    rules.mark_booked(session, booking.patient_id)


RECEIVERS = (
    (signals.booking_cancelled, on_booking_cancelled),
    (signals.booking_moved, on_booking_moved),
    (signals.booking_created, on_booking_created),
    (signals.hours_opened, on_hours_opened),
)


def connect():
    """Subscribe every receiver (idempotent: blinker keeps one connection per receiver)."""
    for signal, receiver in RECEIVERS:
        signal.connect(receiver)
