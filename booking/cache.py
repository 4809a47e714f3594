"""The app's per-process caches: bounded and time-limited (cachetools), safe to share between threads."""

import threading
import time

import cachetools


class TTLCache:
    """Entries expire `seconds` after they were stored; beyond `size`, the least recently used go first.

    cachetools' caches are not thread-safe, so one lock guards each. `seconds` <= 0 turns it off.
    """

    def __init__(self, seconds, size, clock=time.monotonic):
        self.seconds, self.clock = seconds, clock
        # Read through the attribute, so a test can move the clock of a cache already in use.
        self._data = cachetools.TTLCache(maxsize=size, ttl=seconds if seconds > 0 else 1, timer=lambda: self.clock())
        self._lock = threading.Lock()

    def get(self, key):
        """The stored value, or None if absent or expired."""
        with self._lock:
            return self._data.get(key)

    def put(self, key, value):
        """Store `value` (unless the cache is off) and return it."""
        if self.seconds > 0:
            with self._lock:
                self._data[key] = value
        return value

    def clear(self):
        """Forget everything."""
        with self._lock:
            self._data.clear()
