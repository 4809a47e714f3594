"""Reminders: one per booking, queued REMINDER_LEAD_HOURS before it; safe to run from cron often."""

from datetime import timedelta

import sqlalchemy as sa

from booking.calendar.ical import Clinic
from booking.crypto import cipher_for
from booking.models import Booking, OutboxMessage
from booking.models.appointments import UPCOMING
from booking.outbox import messages
from booking.outbox.sender import queue_email
from booking.patients.record import contact_of


def reminder_key(booking):
    """The dedupe key of a booking's reminder: a move to a new time earns a new reminder."""
    return f"reminder:{booking.id}:{booking.starts_at:%Y%m%dT%H%M%SZ}"


def due_for_reminder(session, *, now, lead):
    """Booked bookings starting within `lead` of `now` (the email address is checked once decrypted)."""
    window_end = now + lead
    return session.scalars(
        sa.select(Booking)
        .where(UPCOMING, Booking.starts_at > now, Booking.starts_at <= window_end)
        .order_by(Booking.starts_at)).unique().all()


def queue_reminders(session, *, now, lead_hours, config):
    """Queue the reminders now due and commit each; returns how many were queued.

    The dedupe key's unique index makes a second reminder impossible, even when two cron
    runs overlap: the loser's insert fails inside its savepoint and is skipped.
    """
    lead = timedelta(hours=lead_hours)
    clinic, cipher = Clinic.from_config(config), cipher_for(config)
    # A booking made inside the lead time is skipped (its confirmation was the reminder), and
    # so is a patient with no email address.
    bookings = [b for b in due_for_reminder(session, now=now, lead=lead)
                if b.created_at <= b.starts_at - lead and contact_of(b.patient, cipher)["email"]]
    keys = {reminder_key(b): b for b in bookings}
    if keys:
        existing = set(session.scalars(sa.select(OutboxMessage.dedupe_key)
                                       .where(OutboxMessage.dedupe_key.in_(list(keys)))).all())
    else:
        existing = set()
    queued = 0
    cipher = cipher_for(config)
    for key, booking in keys.items():
        if key in existing:
            continue
        when = messages.describe_time(booking.starts_at, config["CLINIC_TIMEZONE"], booking.patient_timezone)
        contact = contact_of(booking.patient, cipher)
        subject, body = messages.booking_reminder(clinic, name=contact["name"], when=when,
                                                  clinician=booking.clinician.name)
        try:
            with session.begin_nested():
                queue_email(session, kind="booking_reminder", recipient=contact["email"], subject=subject,
                            body=body, now=now, dedupe_key=key, booking_id=booking.id, cipher=cipher)
        except sa.exc.IntegrityError:
            continue  # another run queued it a moment ago
        queued += 1
    session.commit()
    return queued
