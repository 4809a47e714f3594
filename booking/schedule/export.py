"""The schedule as CSV rows: plain functions over a session, free of Flask.

A year of a 50-clinician practice is about 90,000 rows and 10,000 patients, so rows are read
as plain columns in one statement (no ORM objects to build and expire) and each patient's
contact is decrypted once, however many consultations they had.
"""

import csv
import io
from datetime import timedelta
from zoneinfo import ZoneInfo

import sqlalchemy as sa

from booking.appointments.availability import local_midnight
from booking.models import Booking, Patient, StaffUser
from booking.timeutil import with_zone_on_change

HEADER = ["booking_id", "date", "start", "end", "time_zone", "clinician", "patient_name", "patient_email",
          "patient_phone", "status", "source"]
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
BATCH = 1000  # rows read from the database, and written to the response, at a time


def csv_safe(value):
    """A CSV cell that a spreadsheet will not run as a formula."""
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(FORMULA_START) else text


def starting_on(query, first_day, last_day, zone, clinician_ids=None):
    """`query` narrowed to bookings starting on the clinic dates `first_day` to `last_day`, of
    `clinician_ids` only when given (the day view, its list, and the export all ask this)."""
    query = query.where(Booking.starts_at >= local_midnight(first_day, zone),
                        Booking.starts_at < local_midnight(last_day + timedelta(days=1), zone))
    return query if clinician_ids is None else query.where(Booking.clinician_id.in_(clinician_ids))


def _of(clinician_id):
    return None if clinician_id is None else [clinician_id]


def count_rows(session, first_day, last_day, zone, clinician_id=None):
    """How many bookings schedule_rows gives for the same arguments (for the audit line)."""
    return session.scalar(starting_on(sa.select(sa.func.count(Booking.id)), first_day, last_day, zone,
                                      _of(clinician_id)))


def schedule_rows(session, first_day, last_day, zone, cipher, clinician_id=None):
    """CSV rows (header first) of every booking, cancelled ones included, starting on the clinic
    dates `first_day` to `last_day`, by time; only `clinician_id`'s when given. Read from the
    database in batches, so a year of a big practice is never held in memory at once."""
    query = starting_on(sa.select(Booking.id, Booking.starts_at, Booking.ends_at, StaffUser.name, Booking.patient_id,
                                Patient.contact_encrypted, Booking.status, Booking.source)
                      .join(StaffUser, StaffUser.id == Booking.clinician_id)
                      .join(Patient, Patient.id == Booking.patient_id)
                      .order_by(Booking.starts_at, Booking.id), first_day, last_day, zone, _of(clinician_id))
    local, contacts = ZoneInfo(zone), {}
    yield HEADER
    rows = session.execute(query.execution_options(yield_per=BATCH))
    for booking_id, starts_at, ends_at, clinician, patient_id, sealed, status, source in rows:
        contact = contacts.get(patient_id)
        if contact is None:
            contact = contacts[patient_id] = cipher.decrypt(sealed) or {}
        start, end = starts_at.astimezone(local), ends_at.astimezone(local)
        # Only typed text can start a formula; ids, dates, times and status words are the app's own.
        # On a day the clocks change a time names its offset: the two 01:30s of the repeated hour differ.
        yield [booking_id, start.date().isoformat(),
               with_zone_on_change(start, f"{start.hour:02d}:{start.minute:02d}", zone),
               with_zone_on_change(end, f"{end.hour:02d}:{end.minute:02d}", zone), zone, csv_safe(clinician),
               csv_safe(contact.get("name")), csv_safe(contact.get("email")), csv_safe(contact.get("phone")),
               status, source]


def csv_text(rows):
    """The CSV text of `rows`, in pieces of BATCH rows (for a streamed response)."""
    out = io.StringIO()
    writer = csv.writer(out)
    for number, row in enumerate(rows, 1):
        writer.writerow(row)
        if number % BATCH == 0:
            yield out.getvalue()
            out.seek(0)
            out.truncate()
    yield out.getvalue()
