"""Clinician feeds and range exports: tokens, windows and the events they list. No Flask.

A feed token is shown once and stored only as its SHA-256; rotating replaces the stored
hash, so the old URL stops working at once. Events are read with one query of plain
columns (no ORM objects, no per-row lookups), since calendar apps poll feeds often.
"""

from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import sqlalchemy as sa

from booking.calendar.ical import FeedEvent, booking_uid, build_feed
from booking.models import Booking, FeedToken, Patient, StaffUser
from booking.timeutil import parse_date
from booking.tokens import new_token, plausible_token, token_hash

STATUS_WORDS = {"booked": "Booked", "arrived": "Arrived", "completed": "Completed", "no_show": "Did not attend"}


class RangeError(ValueError):
    """A date range that cannot be exported; `field` names the input at fault."""

    def __init__(self, field, message):
        super().__init__(message)
        self.field = field
        self.message = message


class FeedTokenError(ValueError):
    """A feed token cannot be issued (for example, to someone who is not an active clinician)."""


def issue_feed_token(session, clinician, *, actor, now):
    """Give `clinician` a new feed token, replacing any old one; returns the token (shown once)."""
    if clinician is None or clinician.role != "clinician" or not clinician.active:
        raise FeedTokenError("Feed links are only for active clinicians.")
    token = new_token()
    row = session.scalar(sa.select(FeedToken).where(FeedToken.clinician_id == clinician.id))
    if row is None:
        row = FeedToken(clinician_id=clinician.id)
        session.add(row)
    row.token_hash = token_hash(token)
    row.created_at = now
    row.created_by_id = getattr(actor, "id", None)
    return token


def clinician_for_token(session, token):
    """The active clinician whose current feed token is `token`, or None (wrong, old, deactivated)."""
    if not plausible_token(token):
        return None
    return session.scalar(
        sa.select(StaffUser).join(FeedToken, FeedToken.clinician_id == StaffUser.id)
        .where(FeedToken.token_hash == token_hash(token), StaffUser.active.is_(True),
               StaffUser.role == "clinician"))


def feed_tokens_by_clinician(session):
    """{clinician id: FeedToken} for every clinician who has one."""
    return {row.clinician_id: row for row in session.scalars(sa.select(FeedToken))}


def from_days_back(now, days_back):
    """Where a clinician's feed begins: `days_back` days before `now`. It has no end: every booking
    from then on is listed, including one staff made beyond the booking horizon."""
    return now - timedelta(days=days_back)


def parse_range(start_text, end_text, *, zone_name, max_days):
    """Turn two YYYY-MM-DD dates (end inclusive, clinic time) into UTC instants. Raises RangeError."""
    start_day = _parse_day(start_text, "start", "start date")
    end_day = _parse_day(end_text, "end", "end date")
    if end_day < start_day:
        raise RangeError("end", "The end date is before the start date.")
    if (end_day - start_day).days + 1 > max_days:
        raise RangeError("end", f"Choose a range of at most {max_days} days.")
    zone = ZoneInfo(zone_name)
    start = datetime.combine(start_day, time.min, tzinfo=zone)
    end = datetime.combine(end_day + timedelta(days=1), time.min, tzinfo=zone)
    return start, end


def _parse_day(text, field, label):
    if not text or not text.strip():
        raise RangeError(field, f"Enter the {label}, for example 2026-12-01.")
    day = parse_date(text)
    if day is None:
        raise RangeError(field, f"The {label} must be a real date written as YYYY-MM-DD.")
    return day


@dataclass(frozen=True)
class FeedOptions:
    """How events are titled and described."""

    clinic_name: str
    zone: str
    domain: str
    address: str
    show_patient_names: bool = False
    # Decrypts patient names when they are shown; not part of the cache key.
    cipher: object = field(default=None, compare=False, hash=False, repr=False)


def before(end):
    """The query condition "starts before `end`", or none for an open-ended feed."""
    return () if end is None else (Booking.starts_at < end,)


def booking_events(session, *, clinician, start, end, options):
    """FeedEvents for `clinician`'s active bookings starting in [start, end) (end None: no end), from one query."""
    columns = [Booking.id, Booking.sequence, Booking.starts_at, Booking.ends_at, Booking.status, Booking.source]
    if options.show_patient_names:
        columns.append(Patient.contact_encrypted)
    query = sa.select(*columns)
    if options.show_patient_names:
        query = query.join(Patient, Patient.id == Booking.patient_id)
    rows = session.execute(
        query
        .where(Booking.clinician_id == clinician.id, Booking.active,
               Booking.starts_at >= start, *before(end))
        .order_by(Booking.starts_at, Booking.id)).all()
    where = f"with {clinician.name} at {options.clinic_name}."
    events = []
    for row in rows:
        title = (f"Consultation: {(options.cipher.decrypt(row[6]) or {}).get('name') or ''}".rstrip(": ")
                 if options.show_patient_names else "Consultation")
        events.append(FeedEvent(uid=booking_uid(row[0], options.domain), sequence=row[1], starts_at=row[2],
                                ends_at=row[3], title=title,
                                description=f"{STATUS_WORDS.get(row[4], row[4])} ({row[5]}) {where}",
                                location=options.address))
    return events


def clinician_feed(session, clinician, *, now, config, options, cache=None):
    """(ics as UTF-8 bytes, etag) of `clinician`'s feed: every booking from FEED_DAYS_BACK days back on.

    With the feed cache (booking.cache.TTLCache), the text rendered for the same bookings is reused.
    """
    from booking.calendar.feed_cache import etag_for, feed_version

    start, end = from_days_back(now, int(config["FEED_DAYS_BACK"])), None
    version = feed_version(session, clinician_id=clinician.id, start=start, end=end)
    key = (clinician.id, clinician.name, version, options)
    text = cache.get(key) if cache is not None else None
    if text is None:
        events = booking_events(session, clinician=clinician, start=start, end=end, options=options)
        # Cached as bytes: encoding half a megabyte on every poll would cost as much as the rest.
        text = build_feed(events, name=f"{clinician.name} · {options.clinic_name}", now=now,
                          zone=options.zone).encode("utf-8")
        if cache is not None:
            cache.put(key, text)
    return text, etag_for(key)


def range_export(session, clinician, *, start, end, now, options):
    """The .ics text of every active booking of `clinician` starting in [start, end)."""
    events = booking_events(session, clinician=clinician, start=start, end=end, options=options)
    return build_feed(events, name=f"{clinician.name} · {options.clinic_name}", now=now, zone=options.zone)
