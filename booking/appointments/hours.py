"""Editing clinicians' booking profiles, weekly hours and exceptions. Free of Flask."""

from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

import sqlalchemy as sa

from booking.appointments.availability import local_instant
from booking.models import Booking, ClinicianProfile, OpeningHours, ScheduleException, StaffUser
from booking.models.appointments import EXCEPTION_KINDS

WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")


class HoursError(ValueError):
    """An hours change that cannot be made; the message is for the person editing."""


def parse_wall_time(text):
    """'HH:MM' (24-hour) as a time, or None."""
    try:
        return datetime.strptime((text or "").strip()[:5], "%H:%M").time()
    except ValueError:
        return None


def clinician_or_error(session, clinician_id):
    """The active clinician with this id, or HoursError."""
    user = session.get(StaffUser, clinician_id) if isinstance(clinician_id, int) else None
    if user is None or user.role != "clinician":
        raise HoursError("Choose a clinician from the list.")
    return user


def save_profile(session, clinician_id, *, accepts_bookings, consultation_minutes, buffer_minutes):
    """Create or update a clinician's booking profile (caller commits). Raises HoursError."""
    clinician_or_error(session, clinician_id)
    if not isinstance(consultation_minutes, int) or not 5 <= consultation_minutes <= 480:
        raise HoursError("The consultation length must be from 5 to 480 minutes.")
    if not isinstance(buffer_minutes, int) or not 0 <= buffer_minutes <= 240:
        raise HoursError("The buffer must be from 0 to 240 minutes.")
    profile = session.get(ClinicianProfile, clinician_id)
    if profile is None:
        profile = ClinicianProfile(clinician_id=clinician_id)
        session.add(profile)
    profile.accepts_bookings = bool(accepts_bookings)
    profile.consultation_minutes = consultation_minutes
    profile.buffer_minutes = buffer_minutes
    return profile


def _check_interval(session, clinician_id, weekday, start, end, ignore_id=None):
    """Raise HoursError unless start-end is a valid interval not overlapping that day's others."""
    if weekday not in range(7):
        raise HoursError("Choose a day of the week.")
    if start is None or end is None:
        raise HoursError("Write times as HH:MM, for example 09:00 and 17:30.")
    if start >= end:
        raise HoursError("The end time must be after the start time.")
    for row in session.scalars(sa.select(OpeningHours).where(OpeningHours.clinician_id == clinician_id,
                                                             OpeningHours.weekday == weekday,
                                                             OpeningHours.id != ignore_id)):
        if row.start_time < end and start < row.end_time:
            raise HoursError(f"That overlaps {WEEKDAYS[weekday]} {row.start_time:%H:%M}–{row.end_time:%H:%M}.")


def change_weekly_hours(session, hours_id, start, end):
    """Change one weekly interval's times in place (bookings already made stay). Raises HoursError."""
    row = session.get(OpeningHours, hours_id)
    if row is None:
        raise HoursError("Those hours no longer exist.")
    _check_interval(session, row.clinician_id, row.weekday, start, end, ignore_id=row.id)
    row.start_time, row.end_time = start, end
    return row


def add_weekly_hours(session, clinician_id, weekday, start, end):
    """Add an interval to a clinician's week; refuses overlaps with the same day's intervals."""
    clinician_or_error(session, clinician_id)
    _check_interval(session, clinician_id, weekday, start, end)
    row = OpeningHours(clinician_id=clinician_id, weekday=weekday, start_time=start, end_time=end)
    session.add(row)
    return row


def remove_weekly_hours(session, hours_id):
    """Remove one weekly interval. Existing bookings stay. Raises HoursError if unknown."""
    row = session.get(OpeningHours, hours_id)
    if row is None:
        raise HoursError("Those hours no longer exist.")
    session.delete(row)
    return row


def exception_range(zone, first_day, first_time, last_day, last_time):
    """UTC (start, end) of an exception from clinic dates and optional times (none: whole days)."""
    if first_day is None or last_day is None:
        raise HoursError("Write dates as YYYY-MM-DD.")
    start = local_instant(first_day, first_time or time(0), zone)
    end = (local_instant(last_day, last_time, zone) if last_time
           else local_instant(last_day + timedelta(days=1), time(0), zone))
    if start >= end:
        raise HoursError("The end must be after the start.")
    if end - start > timedelta(days=366):
        raise HoursError("An exception can last at most a year.")
    return start, end


def add_exception(session, *, clinician_id, kind, starts_at, ends_at, note, actor):
    """Add a closed day, blocked period or extra hours (clinician_id None: whole clinic).

    Returns (exception, the active bookings inside it in time order): bookings are never
    cancelled automatically, so staff can contact those patients.
    """
    if kind not in EXCEPTION_KINDS:
        raise HoursError("Choose closed, blocked or extra hours.")
    if clinician_id is not None:
        clinician_or_error(session, clinician_id)
    elif kind == "extra":
        raise HoursError("Extra hours belong to one clinician.")
    note = (note or "").strip()
    if len(note) > 120:
        raise HoursError("Keep the note to 120 characters.")
    row = ScheduleException(clinician_id=clinician_id, kind=kind, starts_at=starts_at, ends_at=ends_at,
                            note=note, created_by_id=getattr(actor, "id", None))
    session.add(row)
    affected = []
    if kind != "extra":
        query = sa.select(Booking).where(Booking.active, Booking.starts_at < ends_at, Booking.ends_at > starts_at)
        if clinician_id is not None:
            query = query.where(Booking.clinician_id == clinician_id)
        affected = session.scalars(query.order_by(Booking.starts_at)).all()
    return row, affected


def whole_days(row, zone):
    """(first day, last day) in the clinic's zone if the exception covers whole days, else None."""
    start, end = row.starts_at.astimezone(ZoneInfo(zone)), row.ends_at.astimezone(ZoneInfo(zone))
    if start.time() != time(0) or end.time() != time(0):
        return None
    return start.date(), end.date() - timedelta(days=1)


def remove_exception(session, exception_id):
    """Remove an exception. Raises HoursError if unknown."""
    row = session.get(ScheduleException, exception_id)
    if row is None:
        raise HoursError("That exception no longer exists.")
    session.delete(row)
    return row
