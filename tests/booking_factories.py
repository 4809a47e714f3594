"""Test data builders for the booking feature: clinicians with hours, intakes, bookings."""

import itertools
import re
from datetime import datetime, time, timedelta, timezone

from booking.appointments.availability import Rules, clinic_day, local_instant
from booking.appointments.bookings import Context
from booking.models import Booking, BookingEvent, ClinicianProfile, Intake, OpeningHours
from booking.timeutil import utcnow
from booking.tokens import new_token, token_hash
from tests.factories import create_staff_user
from tests.patient_factories import make_patient

ZONE = "America/New_York"
# Mon-Fri 9:00-12:00 and 13:00-17:00, the demo clinic's hours.
WEEKDAY_HOURS = {day: [(time(9), time(12)), (time(13), time(17))] for day in range(5)}
_counter = itertools.count(1)


def utc(*parts):
    """An aware UTC datetime."""
    return datetime(*parts, tzinfo=timezone.utc)


def earlier_today(minutes):
    """A whole minute `minutes` ago, but never before today's midnight in the clinic's zone, so
    that a booking "on today's list" stays on it when the test runs just after midnight."""
    now = utcnow().replace(second=0, microsecond=0)
    return max(now - timedelta(minutes=minutes), local_instant(clinic_day(now, ZONE), time(0), ZONE))


def context(now, zone=ZONE, **rules):
    """A booking Context at `now` with default (or given) rules."""
    return Context(now=now, zone=zone, rules=Rules(**rules))


def add_clinician(session, *, name=None, hours=None, length=30, buffer=0, accepts=True, user=None):
    """Commit a clinician (`user`, or a new one) with a booking profile and weekly hours; returns the StaffUser id."""
    user = user or create_staff_user(session, "clinician", name=name)
    session.add(ClinicianProfile(clinician_id=user.id, consultation_minutes=length, buffer_minutes=buffer,
                                 accepts_bookings=accepts))
    for weekday, intervals in (WEEKDAY_HOURS if hours is None else hours).items():
        for start, end in intervals:
            session.add(OpeningHours(clinician_id=user.id, weekday=weekday, start_time=start, end_time=end))
    session.commit()
    return user.id


def add_intake(session, config, *, flag_level=None, cleared=False, status="submitted",
               contact=None):
    """Commit a submitted intake (of a new patient) with a booking link; returns (intake id, booking token)."""
    number = next(_counter)
    contact = contact or {"name": f"Pat Patient {number}", "email": f"pat{number}@example.org",
                          "phone": "555-0100"}
    patient = make_patient(session, config=config, **contact)
    token = new_token()
    intake = Intake(status=status, flag_level=flag_level, patient_id=patient.id,
                    booking_token_hash=token_hash(token), submitted_at=datetime.now(timezone.utc),
                    cleared_at=datetime.now(timezone.utc) if cleared else None)
    session.add(intake)
    session.commit()
    return intake.id, token


def add_booking(session, clinician_id, starts_at, *, minutes=30, buffer=0, status="booked", name=None,
                intake_id=None, source="online", patient_id=None):
    """Commit a booking row directly (no rules checked); returns (booking id, manage token).

    The booking belongs to `patient_id`, or to the intake's patient, or to a new patient.
    """
    token = new_token()
    ends_at = starts_at + timedelta(minutes=minutes)
    if patient_id is None and intake_id is not None:
        patient_id = session.get(Intake, intake_id).patient_id
    if patient_id is None:
        patient_id = make_patient(session, name=name or f"Booked Person {next(_counter)}", email="b@example.org").id
    booking = Booking(clinician_id=clinician_id, starts_at=starts_at, ends_at=ends_at,
                      busy_until=ends_at + timedelta(minutes=buffer), status=status, patient_id=patient_id,
                      manage_token_hash=token_hash(token), intake_id=intake_id, source=source,
                      cancelled_at=starts_at if status == "cancelled" else None)
    session.add(booking)
    session.add(BookingEvent(booking=booking, kind="created"))
    session.commit()
    return booking.id, token


def add_many_bookings(session, clinician_id, starts, minutes=30):
    """Commit one booking per start time (each for a patient of its own) in a single transaction."""
    for starts_at in starts:
        ends_at = starts_at + timedelta(minutes=minutes)
        patient = make_patient(session, name=f"Volume Person {next(_counter)}")
        session.add(Booking(clinician_id=clinician_id, starts_at=starts_at, ends_at=ends_at, busy_until=ends_at,
                            status="booked", patient_id=patient.id,
                            manage_token_hash=token_hash(new_token()), source="phone"))
    session.commit()


def first_free_time_fields(client):
    """The confirm form's hidden fields for the first free time on `client`'s week page."""
    week = client.get("/book/").get_data(as_text=True)
    slot = re.search(r'<a class="slot"[^>]*href="([^"]+)"', week).group(1).replace("&amp;", "&")
    page = client.get(slot).get_data(as_text=True)
    return dict(re.findall(r'<input[^>]*name="(clinician|start|tz)"[^>]*value="([^"]*)"', page))


def book_first_free_time(client, name="Jordan Example", email="jordan@example.org"):
    """Book the first free time on `client`'s week page (its browser may book); returns the manage token."""
    fields = first_free_time_fields(client)
    response = client.post("/book/confirm", data={**fields, "name": name, "email": email})
    assert response.status_code == 302, response.get_data(as_text=True)[:500]
    return response.location.rsplit("/", 1)[1]
