"""Instants are UTC and timezone-aware everywhere; clinic wall-clock time only at the edges."""

import re
from datetime import date, datetime, timezone
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlalchemy.types import TypeDecorator


def utcnow():
    """The current instant, timezone-aware in UTC. Use as a column default (a callable)."""
    return datetime.now(timezone.utc)


# Years a typed date may have: a year short of datetime's limit, so that a day or a week either side
# never overflows; how far ahead or back a date makes sense is each form's own message.
EARLIEST_YEAR, LATEST_YEAR = 1900, 9998
_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")


def parse_date(text):
    """The date written as YYYY-MM-DD in `text` (spaces around it allowed), or None.

    The one way the app reads a typed date: anything else (2026-6-1, 20260601, 2026-02-30, a
    year outside EARLIEST_YEAR..LATEST_YEAR, non-ASCII digits) is None.
    """
    text = (text or "").strip()
    if not text.isascii() or not _ISO_DATE.fullmatch(text):
        return None
    try:
        day = date.fromisoformat(text)
    except ValueError:
        return None
    return day if EARLIEST_YEAR <= day.year <= LATEST_YEAR else None


def as_utc(moment):
    """Return an aware datetime in UTC; refuse naive ones, which would be ambiguous."""
    if moment.tzinfo is None:
        raise ValueError("naive datetime: say which time zone it is in")
    return moment.astimezone(timezone.utc)


def to_zone(moment, zone_name):
    """Show an instant as wall-clock time in the IANA zone `zone_name`."""
    return as_utc(moment).astimezone(ZoneInfo(zone_name))


class UTCDateTime(TypeDecorator):
    """A timestamp column that stores UTC and always gives back aware UTC datetimes.

    SQLite keeps no zone, so values are stored as naive UTC there; PostgreSQL uses
    timestamptz. Either way, Python only ever sees aware UTC datetimes.
    """

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        value = as_utc(value)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=timezone.utc)
        return value.astimezone(timezone.utc)
