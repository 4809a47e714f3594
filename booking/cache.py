"""The app's per-process caches: bounded in entries and in bytes, time-limited (cachetools), thread-safe."""

import sys
import threading
import time

import cachetools

DEFAULT_MAX_BYTES = 16 * 1024 * 1024  # per cache; a worker holds a few of them


def approximate_size(value, _seen=None):
    """Bytes `value` holds, following tuples, lists, dicts, sets and objects' attributes (each object once).

    An estimate (shared interned strings are counted each time they are reached first), good
    enough to keep a process's caches inside a budget.
    """
    seen = set() if _seen is None else _seen
    if id(value) in seen:
        return 0
    seen.add(id(value))
    size = sys.getsizeof(value)
    if isinstance(value, (str, bytes, int, float, bool)) or value is None:
        return size
    if isinstance(value, dict):
        return size + sum(approximate_size(k, seen) + approximate_size(v, seen) for k, v in value.items())
    if isinstance(value, (tuple, list, set, frozenset)):
        return size + sum(approximate_size(item, seen) for item in value)
    attributes = getattr(value, "__dict__", None)
    if attributes is not None:
        size += approximate_size(attributes, seen)
    for name in getattr(type(value), "__slots__", ()):
        size += approximate_size(getattr(value, name, None), seen)
    return size


class TTLCache:
    """Entries expire `seconds` after they were stored; beyond `size` entries or `max_bytes`, the least
    recently used go first. A value larger than `max_bytes` on its own is not stored.

    cachetools' caches are not thread-safe, so one lock guards each. `seconds` <= 0 turns it off.
    """

    def __init__(self, seconds, size, clock=time.monotonic, max_bytes=DEFAULT_MAX_BYTES):
        self.seconds, self.clock, self.size, self.max_bytes = seconds, clock, size, max_bytes
        self._lock = threading.Lock()
        self._data = self._new()

    def _new(self):
        # Each entry weighs (1 entry, its bytes): cachetools evicts until both sums fit. Read the
        # clock through the attribute, so a test can move the clock of a cache already in use.
        return _TwoLimitCache(self.size, self.max_bytes, ttl=self.seconds if self.seconds > 0 else 1,
                              timer=lambda: self.clock())

    def get(self, key):
        """The stored value, or None if absent or expired."""
        with self._lock:
            return self._data.get(key)

    def put(self, key, value):
        """Store `value` (unless the cache is off, or the value alone exceeds the byte budget) and return it."""
        if self.seconds > 0:
            with self._lock:
                try:
                    self._data[key] = value
                except ValueError:  # too large for the budget on its own: served, not kept
                    pass
        return value

    def bytes_used(self):
        """The approximate bytes the stored values hold."""
        with self._lock:
            self._data.expire()
            return self._data.bytes

    def clear(self):
        """Forget everything."""
        with self._lock:
            self._data.clear()


class _TwoLimitCache(cachetools.TTLCache):
    """A TTLCache whose size is in bytes, with a second limit on the number of entries."""

    def __init__(self, entries, max_bytes, ttl, timer):
        super().__init__(maxsize=max_bytes, ttl=ttl, timer=timer, getsizeof=approximate_size)
        self.entries = entries

    @property
    def bytes(self):
        """The bytes held (cachetools' currsize)."""
        return self.currsize

    def __setitem__(self, key, value):
        super().__setitem__(key, value)
        while len(self) > self.entries:
            self.popitem()
