"""The schedule as CSV rows: plain functions over a session, free of Flask.

A year of a 50-clinician practice is about 90,000 rows and 10,000 patients, so rows are read
as the driver's plain values in one statement (no ORM objects, no SQLAlchemy rows) and each
patient's contact is decrypted once, however many consultations they had.
"""

from datetime import timedelta
from zoneinfo import ZoneInfo

import sqlalchemy as sa

from booking.appointments.availability import local_midnight
from booking.extensions import DriverRead
from booking.models import Booking, Patient, StaffUser
from booking.timeutil import from_driver, with_zone_on_change

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
    """How many bookings schedule_csv writes for the same arguments (for the audit line)."""
    return session.scalar(starting_on(sa.select(sa.func.count(Booking.id)), first_day, last_day, zone,
                                      _of(clinician_id)))


def _export_reads():
    """The export's read, built once: every clinician's bookings, and one clinician's."""
    everyone = (sa.select(Booking.id, Booking.starts_at, Booking.ends_at, StaffUser.name, Booking.patient_id,
                          Patient.contact_encrypted, Booking.status, Booking.source)
                .join(StaffUser, StaffUser.id == Booking.clinician_id)
                .join(Patient, Patient.id == Booking.patient_id)
                .where(Booking.starts_at >= sa.bindparam("from_instant"), Booking.starts_at < sa.bindparam("until"))
                .order_by(Booking.starts_at, Booking.id))
    return DriverRead(everyone), DriverRead(everyone.where(Booking.clinician_id == sa.bindparam("clinician_id")))


_EVERYONE, _ONE_CLINICIAN = _export_reads()


def csv_cell(value):
    """One CSV field as the csv module's default (excel) dialect writes it: in quotes, with its
    quotes doubled, when it holds a comma, a quote or a line break; as it is otherwise."""
    text = "" if value is None else str(value)
    return '"' + text.replace('"', '""') + '"' if any(mark in text for mark in ',"\r\n') else text


def csv_line(values):
    """One CSV record, its line break included."""
    return ",".join(csv_cell(value) for value in values) + "\r\n"


def schedule_csv(connection, first_day, last_day, zone, cipher, clinician_id=None):
    """The CSV file (header first) of every booking, cancelled ones included, starting on the
    clinic dates `first_day` to `last_day`, by time; only `clinician_id`'s when given; in pieces
    of up to BATCH rows, for a streamed response.

    Read on SQLAlchemy `connection` in batches, so a year of a big practice is never held in
    memory at once, as the driver's plain values (for 90,000 rows SQLAlchemy's rows and column
    types cost a fifth of the export). Each patient's contact is decrypted once, and each
    patient's, clinician's and time's fields are written out once: a year has 90,000 bookings
    but 10,000 patients, 50 clinicians and a few thousand distinct times (writing every field of
    every row through the csv module, which looks at each character, was a third of the export).
    """
    bounds = {"from_instant": local_midnight(first_day, zone),
              "until": local_midnight(last_day + timedelta(days=1), zone)}
    if clinician_id is None:
        batches = _EVERYONE.batches(connection, BATCH, **bounds)
    else:
        batches = _ONE_CLINICIAN.batches(connection, BATCH, clinician_id=clinician_id, **bounds)
    local, zone_cell, patients, clinicians, times = ZoneInfo(zone), csv_cell(zone), {}, {}, {}

    def clinic_time(stored):
        """(clinic date, clinic time) fields of a stored start or end; on a day the clocks change the
        time names its offset: the two 01:30s of the repeated hour differ."""
        moment = from_driver(stored).astimezone(local)
        return (moment.date().isoformat(),
                csv_cell(with_zone_on_change(moment, f"{moment.hour:02d}:{moment.minute:02d}", zone)))

    yield csv_line(HEADER)
    for batch in batches:
        lines = []
        for booking_id, starts_at, ends_at, clinician, patient_id, sealed, status, source in batch:
            # Only typed text can start a formula (csv_safe); ids, dates, times and the status and
            # source words are the app's own, and hold no comma, quote or line break.
            if (patient := patients.get(patient_id)) is None:
                contact = cipher.decrypt(sealed) or {}
                patient = patients[patient_id] = ",".join(csv_cell(csv_safe(contact.get(field)))
                                                          for field in ("name", "email", "phone"))
            if (name := clinicians.get(clinician)) is None:
                name = clinicians[clinician] = csv_cell(csv_safe(clinician))
            if (start := times.get(starts_at)) is None:
                start = times[starts_at] = clinic_time(starts_at)
            if (end := times.get(ends_at)) is None:
                end = times[ends_at] = clinic_time(ends_at)
            lines.append(f"{booking_id},{start[0]},{start[1]},{end[1]},{zone_cell},{name},{patient},"
                         f"{status},{source}\r\n")
        yield "".join(lines)
