"""A small per-process cache for the week of free times, the busiest page's costly part: the
computed slots, and the rendered week page itself (appointments.views.shared_page).

What is cached is only ever a copy of what the database says: entries are keyed by the
schedule version (booking.appointments.schedule_version, read once per request), so a change
made through the app by any server process makes every older entry unreachable at once, and
entries also expire after BOOKING_WEEK_CACHE_SECONDS (changes made outside the app). No
instance needs another's cache, and a stale free time would still be refused at booking
(the database's overlap guard; the patient sees "That time was just taken").

Times that depend on `now` (minimum notice, horizon) are NOT baked into the cached list of
slots: each request cuts its own window out of it, as of the current second (a view worked
out during a second is kept for the rest of it: RecentViews).
"""

from bisect import bisect_left, bisect_right
from dataclasses import replace
from datetime import datetime, timedelta, timezone
from typing import NamedTuple
from zoneinfo import ZoneInfo

import sqlalchemy as sa

from booking.appointments.availability import BOOKABLE, Rules, clinician_plans, fill_hours, free_slots, week_start
from booking.appointments.schedule_version import read_plan_version, read_version
from booking.appointments.settings import load_rules
from booking.appointments.web import booking_context, slot_value
from booking.cache import TTLCache
from booking.models import ClinicianProfile, StaffUser
from booking.timeutil import twelve_hour, with_zone_on_change

MAX_ENTRIES = 512  # weeks x clinician filters x pages; rendered pages are ~16 KB, so 8 MB at most
# With apply_notice=False, `now` is the earliest start kept: this keeps every slot of the week.
_DAWN = datetime(1970, 1, 1, tzinfo=timezone.utc)


def cache_for(app):
    """The app's week cache (one per app and process), created on first use."""
    cache = app.extensions.get("booking_week_cache")
    if cache is None:
        cache = app.extensions["booking_week_cache"] = TTLCache(
            float(app.config.get("BOOKING_WEEK_CACHE_SECONDS", 60)), MAX_ENTRIES)
    return cache


class RecentViews:
    """Week views worked out during the current second, by their arguments (week_view's memo).

    `second` is whatever names the current second (week_view passes the request's second with
    this cache's clock second). Only one second is ever held: the first view kept for a new
    second drops the previous second's.
    At most `size` views are kept within a second; beyond that they are worked out, not kept.
    """

    def __init__(self, size=256):
        self.size = size
        # (second, {key: view}) in one attribute, so a reader never pairs one second with another's views.
        self._held = (None, {})

    def get(self, second, key):
        """The view kept for `key` during `second`, or None."""
        held_second, views = self._held
        return views.get(key) if held_second == second else None

    def put(self, second, key, view):
        """Keep `view` for the rest of `second`; returns it."""
        held_second, views = self._held
        if held_second != second:
            views = {}
            self._held = (second, views)
        if len(views) < self.size:
            views[key] = view
        return view


def recent_for(app):
    """The app's RecentViews (one per app and process)."""
    recent = app.extensions.get("booking_recent_views")
    if recent is None:
        recent = app.extensions["booking_recent_views"] = RecentViews()
    return recent


class WeekSlots:
    """A week's free slots without the notice/horizon cut: each start once, in time order."""

    def __init__(self, version, slots, zone):
        self.version = version
        self.slots = slots
        self.starts = [slot.starts_at for slot in slots]
        # (clinic date, "9:30 AM", value for links, clinician id) per slot: formatted once, not per request
        self.display = [_display(slot.starts_at.astimezone(zone), slot_value(slot.starts_at), zone.key)
                        + (slot.clinician_id,) for slot in slots]

    def window(self, earliest, latest):
        """(first, stop) indexes of the slots starting from `earliest` to `latest` (None: no end)."""
        first = bisect_left(self.starts, earliest)
        stop = len(self.starts) if latest is None else bisect_right(self.starts, latest)
        return first, max(first, stop)


class Snapshot(NamedTuple):
    """What the week page needs besides the slots, as of one schedule version."""

    version: int
    rules: Rules
    clinicians: tuple  # (id, name, email, active) rows of the active clinicians who take bookings, by name
    names: dict  # {id: name} of those clinicians


def bookable_clinicians(session):
    """(id, name, email, active) of every active clinician who takes bookings, by name: a new
    booking's note to its clinician needs no read of its own."""
    return session.execute(
        sa.select(StaffUser.id, StaffUser.name, StaffUser.email, StaffUser.active)
        .join(ClinicianProfile, ClinicianProfile.clinician_id == StaffUser.id)
        .where(ClinicianProfile.accepts_bookings.is_(True), BOOKABLE)
        .order_by(StaffUser.name, StaffUser.id)).all()


def schedule_snapshot(session, cache, config, version=None):
    """The current schedule version with its rules and bookable clinicians (one query when cached).

    Settings, profiles and staff names, addresses and activation all bump the version, so a
    cached snapshot of the current version is exactly what the database holds. A caller that
    read the version already (with its own query) passes it.
    """
    if version is None:
        version = read_version(session)
    return _snapshot(session, cache, config, "snapshot", version)


def plan_snapshot(session, cache, config, plan_version):
    """The rules and bookable clinicians as of `plan_version` (the plan version, read by the
    caller): none of them changes with a booking, so a stream of bookings keeps this cached."""
    return _snapshot(session, cache, config, "plan snapshot", plan_version)


def _snapshot(session, cache, config, kind, version):
    """The Snapshot cached under (`kind`, `version`), read (two queries) on a miss."""
    found = cache.get((kind, version))
    if found is None:
        clinicians = tuple(bookable_clinicians(session))
        found = cache.put((kind, version), Snapshot(version, load_rules(session, config), clinicians,
                                                    {row.id: row.name for row in clinicians}))
    return found


def plan_context(session, app):
    """(the rules Context of this request, the bookable clinicians) as of the plan version, from
    `app`'s per-process cache while it holds: one read of the version instead of the clinic's
    rules, its clinicians and a clinician's hours and exceptions for the week. A time checked
    against it still reads the clinician's bookings for the day; a new booking's emails name
    its clinician from the plan's rows."""
    cache, plan_version = cache_for(app), read_plan_version(session)
    snapshot = plan_snapshot(session, cache, app.config, plan_version)
    return booking_context(rules=snapshot.rules, plans=plan_source(cache, plan_version),
                           clinicians=snapshot.clinicians), snapshot.clinicians


def plan_source(cache, plan_version):
    """A Context's `plans`: (session, day, zone, clinician id) -> that clinician's plan without
    bookings for the week holding `day`, in a list (empty if they take no bookings), from the
    cache while the plan version holds. Each call gets its own plan to add the bookings to."""
    def plans(session, day, zone_name, clinician_id):
        monday = week_start(day)
        key = ("plan", plan_version, monday, zone_name, clinician_id)
        found = cache.get(key)
        if found is None:
            found = cache.put(key, tuple(fill_hours(session, clinician_plans(session, [clinician_id]), monday,
                                                    monday + timedelta(days=6), zone_name)))
        return [replace(plan, busy=[]) for plan in found]
    return plans


def week_slots(session, cache, first_day, last_day, zone_name, *, clinician_ids=None, ignore_booking_id=None,
               version=None):
    """The WeekSlots of these days, from the cache when the schedule version still matches.

    Reads the version (one query) unless given; on a miss, availability's four queries more.
    """
    if version is None:
        version = read_version(session)
    key = ("slots", version, first_day, last_day, zone_name,
           None if clinician_ids is None else tuple(clinician_ids), ignore_booking_id)
    found = cache.get(key)
    if found is not None:
        return found
    seen, unique = set(), []
    # apply_notice=False with `now` far in the past: every free slot, the caller cuts the window.
    for slot in free_slots(session, first_day, last_day, zone_name, now=_DAWN, rules=Rules(),
                           clinician_ids=clinician_ids, ignore_booking_id=ignore_booking_id,
                           apply_notice=False):
        if slot.starts_at not in seen:  # "first available" lists each time once (the first clinician's)
            seen.add(slot.starts_at)
            unique.append(slot)
    return cache.put(key, WeekSlots(version, unique, ZoneInfo(zone_name)))


def _display(local, value, zone_name):
    """(date, label, value) of a slot starting at the clinic-zone datetime `local`.

    On a day the clocks change the label names the zone's abbreviation, so the two 1:30s of the
    day they go back read apart ("1:30 AM EDT", "1:30 AM EST").
    """
    return local.date(), with_zone_on_change(local, twelve_hour(local), zone_name), value

