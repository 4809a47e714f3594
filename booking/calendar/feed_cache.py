"""A small per-process cache of rendered feeds, keyed by everything that would change them.

Calendar apps poll a feed every few minutes and its bookings rarely change in between, so
a cheap aggregate query (count, newest update, highest id of the bookings in the window)
decides whether the text rendered last time is still right. Entries also expire after a
few minutes, so a change made behind the ORM's back (raw SQL) heals on its own. Each
process keeps its own cache; none is needed for correctness, so several instances are fine.
"""

import hashlib

import sqlalchemy as sa

from booking.cache import TTLCache
from booking.calendar.feeds import before
from booking.models import Booking


def feed_version(session, *, clinician_id, start, end):
    """(count, newest updated_at, highest id) of the bookings a feed would list: one indexed query."""
    return tuple(session.execute(
        sa.select(sa.func.count(), sa.func.max(Booking.updated_at), sa.func.max(Booking.id))
        .where(Booking.clinician_id == clinician_id, Booking.active,
               Booking.starts_at >= start, *before(end))).one())


def etag_for(key):
    """A strong ETag for a cache key, so clients can ask "has it changed?"."""
    return hashlib.sha256(repr(key).encode()).hexdigest()[:32]


# Calendar apps poll every few minutes; five minutes bounds how long a change behind the ORM's back shows.
FEED_CACHE_SECONDS = 5 * 60
FEED_CACHE_SIZE = 64


def cache_for(app):
    """The app's feed cache (created on first use; one per app, so test apps never share)."""
    cache = app.extensions.get("calendar_feed_cache")
    if cache is None:
        cache = app.extensions["calendar_feed_cache"] = TTLCache(FEED_CACHE_SECONDS, FEED_CACHE_SIZE)
    return cache
