"""Editing clinicians' booking profiles, weekly hours and exceptions. Free of Flask."""

from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

import sqlalchemy as sa

from booking.appointments.availability import clinic_day, weekly_blocks
from booking.models import Booking, ClinicianProfile, OpeningHours, RecurringBlock, ScheduleException, StaffUser
from booking.models.appointments import EXCEPTION_KINDS
from booking.signals import hours_opened
from booking.timeutil import ClockTimeError, resolve_clock_time

SENDER = "hours"

WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")


class HoursError(ValueError):
    """An hours change that cannot be made; the message is for the person editing."""


class NotYours(HoursError):
    """A clinician asked to change someone else's hours, or something only the front desk changes."""


# What a clinician may enter for themselves: time off, never extra hours (the front desk plans those).
CLINICIAN_KINDS = ("closed", "blocked")


def check_editor(actor, clinician_id, kind=None):
    """Raise NotYours unless `actor` may change `clinician_id`'s time off (None: the whole clinic).

    Admins and receptionists change anyone's; a clinician only their own closed days and blocks.
    """
    if actor.role in ("admin", "receptionist"):
        return
    if actor.role != "clinician" or clinician_id != actor.id:
        raise NotYours("You can change only your own time off and blocks; the front desk changes the rest.")
    if kind in EXCEPTION_KINDS and kind not in CLINICIAN_KINDS:  # an unknown kind is add_exception's to refuse
        raise NotYours("Extra hours are added by the front desk; you can add your own time off and blocks.")


def opened(session, now):
    """Times may have opened: flush the change, then tell the waitlist (booking.signals.hours_opened)."""
    session.flush()
    hours_opened.send(SENDER, session=session, now=now)


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


def save_profile(session, clinician_id, *, accepts_bookings, consultation_minutes, buffer_minutes, now):
    """Create or update a clinician's booking profile (caller commits). Raises HoursError.

    A clinician who takes bookings may have new times (taking bookings again, a shorter
    consultation): the waitlist hears of it.
    """
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
    if profile.accepts_bookings:
        opened(session, now)
    return profile


def _check_weekly_times(weekday, start, end):
    """Raise HoursError unless `weekday` is a day of the week and start-end a forward interval."""
    if weekday not in range(7):
        raise HoursError("Choose a day of the week.")
    if start is None or end is None:
        raise HoursError("Write times as HH:MM, for example 09:00 and 17:30.")
    if start >= end:
        raise HoursError("The end time must be after the start time.")


def _check_interval(session, clinician_id, weekday, start, end, ignore_id=None):
    """Raise HoursError unless start-end is a valid interval not overlapping that day's others."""
    _check_weekly_times(weekday, start, end)
    for row in session.scalars(sa.select(OpeningHours).where(OpeningHours.clinician_id == clinician_id,
                                                             OpeningHours.weekday == weekday,
                                                             OpeningHours.id != ignore_id)):
        if row.start_time < end and start < row.end_time:
            raise HoursError(f"That overlaps {WEEKDAYS[weekday]} {row.start_time:%H:%M}–{row.end_time:%H:%M}.")


def change_weekly_hours(session, hours_id, start, end, *, now):
    """Change one weekly interval's times in place (bookings already made stay). Raises HoursError."""
    row = session.get(OpeningHours, hours_id)
    if row is None:
        raise HoursError("Those hours no longer exist.")
    _check_interval(session, row.clinician_id, row.weekday, start, end, ignore_id=row.id)
    row.start_time, row.end_time = start, end
    opened(session, now)
    return row


def add_weekly_hours(session, clinician_id, weekday, start, end, *, now):
    """Add an interval to a clinician's week; refuses overlaps with the same day's intervals."""
    clinician_or_error(session, clinician_id)
    _check_interval(session, clinician_id, weekday, start, end)
    row = OpeningHours(clinician_id=clinician_id, weekday=weekday, start_time=start, end_time=end)
    session.add(row)
    opened(session, now)
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
    # A time the clocks repeat is read to cover the most: from its first run, to its second.
    # A time they skip cannot be meant, so it is refused in words.
    try:
        start = resolve_clock_time(first_day, first_time or time(0), zone, which="0")
        end = (resolve_clock_time(last_day, last_time, zone, which="1") if last_time
               else resolve_clock_time(last_day + timedelta(days=1), time(0), zone, which="0"))
    except ClockTimeError as error:
        raise HoursError(error.message) from error
    if start >= end:
        raise HoursError("The end must be after the start.")
    if end - start > timedelta(days=366):
        raise HoursError("An exception can last at most a year.")
    return start, end


def add_exception(session, *, clinician_id, kind, starts_at, ends_at, note, actor, now):
    """Add a closed day, blocked period or extra hours (clinician_id None: whole clinic).

    Returns (exception, the active bookings inside it in time order): bookings are never
    cancelled automatically, so staff can contact those patients.
    """
    check_editor(actor, clinician_id, kind)
    if kind not in EXCEPTION_KINDS:
        raise HoursError("Choose closed, blocked or extra hours.")
    if clinician_id is not None:
        clinician_or_error(session, clinician_id)
    elif kind == "extra":
        raise HoursError("Extra hours belong to one clinician.")
    row = ScheduleException(clinician_id=clinician_id, kind=kind, starts_at=starts_at, ends_at=ends_at,
                            note=_note(note), created_by_id=getattr(actor, "id", None))
    session.add(row)
    if kind == "extra":
        opened(session, now)
        return row, []
    return row, bookings_within(session, clinician_id, [(starts_at, ends_at)])


def _note(note):
    """The note of an exception or block, stripped; HoursError past 120 characters."""
    note = (note or "").strip()
    if len(note) > 120:
        raise HoursError("Keep the note to 120 characters.")
    return note


def bookings_within(session, clinician_id, periods):
    """The active bookings (of `clinician_id`; None: anyone's) that overlap any UTC (start, end) period, by time."""
    if not periods:
        return []
    query = sa.select(Booking).where(Booking.active, Booking.starts_at < max(end for _start, end in periods),
                                     Booking.ends_at > min(start for start, _end in periods))
    if clinician_id is not None:
        query = query.where(Booking.clinician_id == clinician_id)
    return [booking for booking in session.scalars(query.order_by(Booking.starts_at))
            if any(booking.starts_at < end and start < booking.ends_at for start, end in periods)]


def add_weekly_block(session, ctx, *, clinician_id, weekday, start, end, first_day, last_day, note, actor):
    """Block `start`-`end` every `weekday` from `first_day` to `last_day` (clinic dates, both required).

    The end date may be at most a year past the booking horizon (ctx gives now, zone and rules).
    Returns (block, the active bookings inside it in time order): like an exception, a block
    cancels nothing. Raises HoursError.
    """
    check_editor(actor, clinician_id)
    clinician_or_error(session, clinician_id)
    _check_weekly_times(weekday, start, end)
    if first_day is None or last_day is None:
        raise HoursError("A weekly block needs a first and a last date, written as YYYY-MM-DD.")
    if last_day < first_day:
        raise HoursError("The last date must be on or after the first date.")
    latest = clinic_day(ctx.now + ctx.rules.horizon, ctx.zone) + timedelta(days=365)
    if last_day > latest:
        raise HoursError(f"A weekly block can run at most a year past the booking horizon: until {latest:%A %-d %B %Y}.")
    row = RecurringBlock(clinician_id=clinician_id, weekday=weekday, start_time=start, end_time=end,
                         first_day=first_day, last_day=last_day, note=_note(note), created_at=ctx.now,
                         created_by_id=getattr(actor, "id", None))
    session.add(row)
    periods = [(s, e) for _kind, s, e, _note in
               weekly_blocks([(weekday, start, end, first_day, last_day, "")], ctx.zone, first_day, last_day)]
    return row, bookings_within(session, clinician_id, periods)


def remove_weekly_block(session, block_id, *, actor, now):
    """Remove a weekly block (its times open again). Raises HoursError if unknown, NotYours (check_editor)."""
    row = session.get(RecurringBlock, block_id)
    if row is None:
        raise HoursError("That weekly block no longer exists.")
    check_editor(actor, row.clinician_id)
    session.delete(row)
    opened(session, now)
    return row


def whole_days(row, zone):
    """(first day, last day) in the clinic's zone if the exception covers whole days, else None."""
    start, end = row.starts_at.astimezone(ZoneInfo(zone)), row.ends_at.astimezone(ZoneInfo(zone))
    if start.time() != time(0) or end.time() != time(0):
        return None
    return start.date(), end.date() - timedelta(days=1)


def remove_exception(session, exception_id, *, actor, now):
    """Remove an exception (a holiday or block gone opens its times). Raises HoursError if unknown, NotYours."""
    row = session.get(ScheduleException, exception_id)
    if row is None:
        raise HoursError("That exception no longer exists.")
    check_editor(actor, row.clinician_id, row.kind)
    session.delete(row)
    if row.kind != "extra":
        opened(session, now)
    return row
