"""A small per-process cache of rendered feeds, keyed by everything that would change them.

Calendar apps poll a feed every few minutes and its bookings rarely change in between, so
a cheap aggregate query (count, newest update, highest id of the bookings in the window)
decides whether the text rendered last time is still right. Entries also expire after a
few minutes, so a change made behind the ORM's back (raw SQL) heals on its own. Each
process keeps its own cache; none is needed for correctness, so several instances are fine.
"""

import hashlib
import threading
from collections import OrderedDict
from datetime import timedelta

import sqlalchemy as sa

from booking.models import Booking


def feed_version(session, *, clinician_id, start, end):
    """(count, newest updated_at, highest id) of the bookings a feed would list: one indexed query."""
    return tuple(session.execute(
        sa.select(sa.func.count(), sa.func.max(Booking.updated_at), sa.func.max(Booking.id))
        .where(Booking.clinician_id == clinician_id, Booking.active,
               Booking.starts_at >= start, Booking.starts_at < end)).one())


def etag_for(key):
    """A strong ETag for a cache key, so clients can ask "has it changed?"."""
    return hashlib.sha256(repr(key).encode()).hexdigest()[:32]


class FeedCache:
    """Least-recently-used rendered feeds, each valid for `ttl`."""

    def __init__(self, size=64, ttl=timedelta(minutes=5)):
        self.size, self.ttl = size, ttl
        self._entries = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key, now):
        """The text cached for `key`, or None if absent or expired."""
        with self._lock:
            entry = self._entries.get(key)
            if entry is None or now - entry[0] > self.ttl:
                self._entries.pop(key, None)
                return None
            self._entries.move_to_end(key)
            return entry[1]

    def put(self, key, text, now):
        """Remember `text` for `key`, dropping the least recently used entry when full."""
        with self._lock:
            self._entries[key] = (now, text)
            self._entries.move_to_end(key)
            while len(self._entries) > self.size:
                self._entries.popitem(last=False)


def cache_for(app):
    """The app's feed cache (created on first use; one per app, so test apps never share)."""
    return app.extensions.setdefault("calendar_feed_cache", FeedCache())
