"""Instants are UTC and timezone-aware everywhere; clinic wall-clock time only at the edges."""

import re
from datetime import date, datetime, timezone
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


# Friendly names of the zones most patients of a US, Canadian, Australian or UK clinic live in;
# any other zone is named after its city by zone_label.
ZONE_NAMES = {
    "America/New_York": "Eastern Time (New York)", "America/Detroit": "Eastern Time (Detroit)",
    "America/Toronto": "Eastern Time (Toronto)", "America/Chicago": "Central Time (Chicago)",
    "America/Winnipeg": "Central Time (Winnipeg)", "America/Regina": "Central Time (Regina)",
    "America/Denver": "Mountain Time (Denver)", "America/Edmonton": "Mountain Time (Edmonton)",
    "America/Phoenix": "Mountain Time (Phoenix)", "America/Los_Angeles": "Pacific Time (Los Angeles)",
    "America/Vancouver": "Pacific Time (Vancouver)", "America/Anchorage": "Alaska Time (Anchorage)",
    "Pacific/Honolulu": "Hawaii Time (Honolulu)", "America/Halifax": "Atlantic Time (Halifax)",
    "America/Puerto_Rico": "Atlantic Time (Puerto Rico)", "America/St_Johns": "Newfoundland Time (St. John's)",
    "Europe/London": "UK Time (London)", "Europe/Dublin": "Irish Time (Dublin)",
    "Australia/Sydney": "Australian Eastern Time (Sydney)", "Australia/Melbourne": "Australian Eastern Time (Melbourne)",
    "Australia/Brisbane": "Australian Eastern Time (Brisbane)", "Australia/Hobart": "Australian Eastern Time (Hobart)",
    "Australia/Adelaide": "Australian Central Time (Adelaide)", "Australia/Darwin": "Australian Central Time (Darwin)",
    "Australia/Perth": "Australian Western Time (Perth)",
    "UTC": "UTC", "Etc/UTC": "UTC", "GMT": "UTC", "Etc/GMT": "UTC",
}


def zone_label(name):
    """A zone's name as people say it: "Eastern Time (New York)", else "Paris time" from "Europe/Paris"."""
    if name in ZONE_NAMES:
        return ZONE_NAMES[name]
    region, _, city = name.rpartition("/")
    if not region or region == "Etc":
        return name  # e.g. "Etc/GMT+5": no city to name it after
    return f"{city.replace('_', ' ')} time"


# The two ways people write a date in our forms: ISO (what a native date input sends) and US month-first.
_ISO_DATE = re.compile(r"^(\d{4})-(\d{1,2})-(\d{1,2})$", re.ASCII)
_US_DATE = re.compile(r"^(\d{1,2})/(\d{1,2})/(\d{4})$", re.ASCII)
# Years a typed date may have: a year short of datetime's limit, so that a day or a week either side
# never overflows; how far ahead or back a date makes sense is each form's own message.
EARLIEST_YEAR, LATEST_YEAR = 1900, 9998


def parse_date(text):
    """The date in `text` written as YYYY-MM-DD or MM/DD/YYYY, or None if it is neither or not a real date.

    The one way the app reads a typed date: anything else (20260601, 2026-02-30, day-first dates,
    a year outside EARLIEST_YEAR..LATEST_YEAR, non-ASCII digits) is None.
    """
    text = (text or "").strip()
    if match := _ISO_DATE.match(text):
        year, month, day = match.groups()
    elif match := _US_DATE.match(text):
        month, day, year = match.groups()
    else:
        return None
    try:
        found = date(int(year), int(month), int(day))
    except ValueError:
        return None
    return found if EARLIEST_YEAR <= found.year <= LATEST_YEAR else None


# How people read a time: "Tuesday 1 December 2026, 10:00 AM EST" (emails and history lines).
TIME_FORMAT = "%A %-d %B %Y, %-I:%M %p"


def clock_text(moment, zone_name):
    """The wall-clock time of `moment` in the zone, as the front desk reads it ("10:00")."""
    return to_zone(moment, zone_name).strftime("%H:%M")


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
