"""Demo data for `flask seed-demo`: weekly hours for the demo clinicians and a few bookings."""

from datetime import time, timedelta

from flask import current_app, has_app_context

from booking.appointments.availability import clinic_day, local_instant
from booking.crypto import cipher_for
from booking.demo import DEMO_EXTENSIONS
from booking.patients.record import create_patient
from booking.models import Booking, BookingEvent, ClinicianProfile, OpeningHours
from booking.tokens import new_token, token_hash

DEMO_ZONE = "America/New_York"
DEMO_HOURS = [(time(9), time(12)), (time(13), time(17))]  # Monday to Friday
DEMO_PATIENTS = [("Jordan Lee", "jordan.lee@example.org", "(555) 010-2001"),
                 ("Morgan Diaz", "morgan.diaz@example.org", "(555) 010-2002"),
                 ("Casey Nguyen", "casey.nguyen@example.org", "(555) 010-2003"),
                 ("Taylor Brooks", "taylor.brooks@example.org", "(555) 010-2004"),
                 ("Riley Chen", "riley.chen@example.org", "(555) 010-2005"),
                 ("Avery Patel", "avery.patel@example.org", "(555) 010-2006")]
DEMO_TIMES = [time(9, 30), time(11), time(14), time(15, 30)]


def seed_booking_demo(session, clinicians, now, zone=None):
    """Give each demo clinician weekday hours and a few bookings today and on the next weekdays,
    each for a patient of its own (a patient has one upcoming consultation)."""
    zone = zone or (current_app.config["CLINIC_TIMEZONE"] if has_app_context() else DEMO_ZONE)
    cipher, key = cipher_for(current_app.config), current_app.config["PATIENT_SEARCH_KEY"]
    for clinician in clinicians:
        session.add(ClinicianProfile(clinician_id=clinician.id, consultation_minutes=30, buffer_minutes=0))
        for weekday in range(5):
            for start, end in DEMO_HOURS:
                session.add(OpeningHours(clinician_id=clinician.id, weekday=weekday, start_time=start, end_time=end))
    day, made = clinic_day(now, zone), 0
    while made < 3:
        if day.weekday() < 5:
            for index, clinician in enumerate(clinicians):
                name, email, phone = DEMO_PATIENTS[(made * len(clinicians) + index) % len(DEMO_PATIENTS)]
                patient = create_patient(session, {"name": name, "email": email, "phone": phone}, cipher=cipher,
                                         key=key, now=now)
                starts_at = local_instant(day, DEMO_TIMES[(made + 2 * index) % len(DEMO_TIMES)], zone)
                booking = Booking(clinician_id=clinician.id, starts_at=starts_at, patient_id=patient.id,
                                  ends_at=starts_at + timedelta(minutes=30), busy_until=starts_at + timedelta(minutes=30),
                                  status="booked",
                                  manage_token_hash=token_hash(new_token()), source="phone" if index else "online")
                session.add(booking)
                session.add(BookingEvent(booking=booking, kind="created", detail="demo booking"))
            made += 1
        day += timedelta(days=1)


def register():
    """Add the booking demo to `flask seed-demo` (once, however often this module is imported)."""
    if seed_booking_demo not in DEMO_EXTENSIONS:
        DEMO_EXTENSIONS.append(seed_booking_demo)
