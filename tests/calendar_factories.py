"""Test data for the calendar and outbox features: bookings made directly as rows."""

from datetime import datetime, timedelta, timezone

from booking.models import Booking
from booking.tokens import new_token, token_hash
from tests.patient_factories import make_patient

BASE_TIME = datetime(2026, 12, 1, 15, 0, tzinfo=timezone.utc)


def add_booking(session, clinician_id, *, starts_at=BASE_TIME, minutes=30, status="booked",
                patient_name="Jordan Rivers", patient_email="jordan@patient.example", token=None, **fields):
    """Add (not commit) a booking row for a new patient; returns (booking, manage token)."""
    token = token or new_token()
    patient = make_patient(session, name=patient_name, email=patient_email)
    booking = Booking(clinician_id=clinician_id, starts_at=starts_at, ends_at=starts_at + timedelta(minutes=minutes),
                      busy_until=starts_at + timedelta(minutes=minutes), status=status, patient_id=patient.id,
                      manage_token_hash=token_hash(token), sequence=0,
                      created_at=fields.pop("created_at", starts_at - timedelta(days=7)), **fields)
    session.add(booking)
    session.flush()
    return booking, token
