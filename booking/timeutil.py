"""Instants are UTC and timezone-aware everywhere; clinic wall-clock time only at the edges."""

import re
from datetime import date, datetime, time, timedelta, timezone
from functools import lru_cache
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
    """The wall-clock time of `moment` in the zone, as the front desk reads it ("10:00"; "01:30 EST" on a
    day the clocks change)."""
    local = to_zone(moment, zone_name)
    return with_zone_on_change(local, f"{local.hour:02d}:{local.minute:02d}", zone_name)


def twelve_hour(local):
    """A wall-clock time as "9:30 AM" (by hand: strftime is slow, and this runs for every slot shown)."""
    return f"{local.hour % 12 or 12}:{local.minute:02d} {'AM' if local.hour < 12 else 'PM'}"


@lru_cache(maxsize=2048)  # a day page labels each time once per clinician and per booking: the same few dozen instants
def clock_label(moment, zone_name):
    """A time label on staff and booking pages: "9:30 AM", or "1:30 AM EST" on a day the clocks change."""
    local = to_zone(moment, zone_name)
    return with_zone_on_change(local, twelve_hour(local), zone_name)


def with_zone_on_change(local, text, zone_name):
    """`text` (a label of the zone-local datetime `local`) with the zone's abbreviation on a day the clocks
    change, where the same clock time can mean two instants and the offset differs through the day."""
    return f"{text} {local.tzname()}" if changes_clocks(local.date(), zone_name) else text


@lru_cache(maxsize=1024)
def changes_clocks(day, zone_name):
    """True if the zone's clocks go forward or back on `day` (the day is not 24 hours long)."""
    zone = ZoneInfo(zone_name)
    start = datetime.combine(day, time(0), zone).astimezone(timezone.utc)
    end = datetime.combine(day + timedelta(days=1), time(0), zone).astimezone(timezone.utc)
    return end - start != timedelta(days=1)


def wall_clock_instant(day, wall, zone_name, fold=0):
    """The UTC instant at which the zone's clocks read `wall` on `day`, or None if they never do.

    `fold` 1 asks for the second time they read it, in the hour repeated when clocks go back;
    on any other time there is no second one (None). A time skipped when clocks go forward is None
    too: zoneinfo alone would quietly move it an hour.
    """
    zone = ZoneInfo(zone_name)
    local = datetime.combine(day, wall).replace(fold=fold)
    moment = local.replace(tzinfo=zone).astimezone(timezone.utc)
    back = moment.astimezone(zone)
    return moment if back.replace(tzinfo=None) == local and back.fold == fold else None


def wall_clock_instants(day, wall, zone_name):
    """Every instant at which the zone's clocks read `wall` on `day`, earliest first: one, none (skipped
    when clocks go forward) or two (repeated when they go back)."""
    return [moment for fold in (0, 1) if (moment := wall_clock_instant(day, wall, zone_name, fold)) is not None]


class ClockTimeError(ValueError):
    """A typed clinic time that names no instant, or two with no valid choice between them.

    `message` is for the person typing; `choices` are [(fold value, label)] of a repeated time.
    """

    def __init__(self, message, choices=()):
        super().__init__(message)
        self.message = message
        self.choices = list(choices)


def _change_around(before, after, zone):
    """The instant, to the minute, from which the zone's offset differs from its offset at `before`."""
    offset = before.astimezone(zone).utcoffset()
    low, high = before, after  # low has the old offset, high the new one
    while high - low > timedelta(minutes=1):
        middle = low + (high - low) / 2
        low, high = (middle, high) if middle.astimezone(zone).utcoffset() == offset else (low, middle)
    return high.replace(second=0, microsecond=0)


def _change_words(change, zone):
    """ "from 2:00 AM EST to 3:00 AM EDT": the clock reading just before a change and just after it."""
    old, new = (change - timedelta(microseconds=1)).astimezone(zone), change.astimezone(zone)
    # The old clock's reading at the change itself (2:00, not 1:59:59), in the old offset's name.
    return f"from {twelve_hour(old + timedelta(microseconds=1))} {old.tzname()} to {twelve_hour(new)} {new.tzname()}"


def repeated_time_choices(day, wall, zone_name):
    """[(fold value, label)] of the two instants a clock time repeated on `day` names, else []."""
    moments = wall_clock_instants(day, wall, zone_name)
    if len(moments) < 2:
        return []
    return [(str(fold), f"{clock_label(moment, zone_name)} ({which})")
            for fold, (moment, which) in enumerate(zip(moments, ("first", "second")))]


def resolve_clock_time(day, wall, zone_name, which=None):
    """The UTC instant a typed clinic date and time name.

    `which` ("0" or "1") picks the first or second of a time repeated when clocks go back; it is
    ignored for any other time. Raises ClockTimeError for a time the clocks skip, and for a
    repeated time without a valid `which` (its `choices` list both).
    """
    zone = ZoneInfo(zone_name)
    moments = wall_clock_instants(day, wall, zone_name)
    when = f"{twelve_hour(wall)} on {day.strftime('%A %-d %B %Y')}"
    if len(moments) == 1:
        return moments[0]
    if not moments:
        # fold 1 reads the skipped time with the offset after the change, fold 0 with the one before.
        earlier = datetime.combine(day, wall).replace(fold=1, tzinfo=zone).astimezone(timezone.utc)
        later = datetime.combine(day, wall).replace(fold=0, tzinfo=zone).astimezone(timezone.utc)
        change = _change_around(earlier, later, zone)
        raise ClockTimeError(f"There is no {when}: the clocks go forward {_change_words(change, zone)}. "
                             "Choose a time outside the skipped hour.")
    choices = repeated_time_choices(day, wall, zone_name)
    if which in ("0", "1"):
        return moments[int(which)]
    change = _change_around(moments[0], moments[1], zone)
    if which:
        raise ClockTimeError(f"Choose one of the two times listed: {choices[0][1]} or {choices[1][1]}.", choices)
    raise ClockTimeError(f"{when[0].upper()}{when[1:]} happens twice: the clocks go back "
                         f"{_change_words(change, zone)}. Choose which {twelve_hour(wall)}.", choices)


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
        return from_driver(value)


def from_driver(value):
    """A UTCDateTime column's value as an aware UTC datetime (None stays None).

    Takes what the column type gets (a naive UTC datetime on SQLite, an aware one on
    PostgreSQL) and what the driver alone gives (DriverRead): on SQLite the stored text, naive
    UTC ("2026-11-29 13:00:00.000000").
    """
    if value is None:
        return None
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    return value.replace(tzinfo=timezone.utc) if value.tzinfo is None else value.astimezone(timezone.utc)
