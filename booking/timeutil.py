"""Instants are UTC and timezone-aware everywhere; clinic wall-clock time only at the edges."""

from datetime import datetime, timezone
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlalchemy.types import TypeDecorator


def utcnow():
    """The current instant, timezone-aware in UTC. Use as a column default (a callable)."""
    return datetime.now(timezone.utc)


def as_utc(moment):
    """Return an aware datetime in UTC; refuse naive ones, which would be ambiguous."""
    if moment.tzinfo is None:
        raise ValueError("naive datetime: say which time zone it is in")
    return moment.astimezone(timezone.utc)


def to_zone(moment, zone_name):
    """Show an instant as wall-clock time in the IANA zone `zone_name`."""
    return as_utc(moment).astimezone(ZoneInfo(zone_name))


# How people read a time: "Tuesday 1 December 2026, 10:00 AM EST" (emails and history lines).
TIME_FORMAT = "%A %-d %B %Y, %-I:%M %p"


def local_text(moment, zone_name):
    """An instant as wall-clock time in `zone_name`, with the zone's abbreviation."""
    local = to_zone(moment, zone_name)
    return f"{local.strftime(TIME_FORMAT)} {local.tzname()}"


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
