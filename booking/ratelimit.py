"""Rate limits for the few views that need them: per client address (sign-in, feeds, booking)
and per other key (an intake, a patient's email address) where an address alone is too weak.

Built on the `limits` library (the engine under Flask-Limiter) rather than on Flask-Limiter:
that extension checks every request of every page in a before_request hook, even with no
default limits, which cost the busiest patient page about 12% of its time. Here only a
decorated view pays.

Counters live in RATELIMIT_STORAGE_URI: memory:// counts per process (in ProcessCounters);
redis://host:port shares them between gunicorn instances and machines. Each view counts on its own (fixed
windows, as Flask-Limiter's default), per client address as ProxyFix leaves it.

If the store cannot be reached the request goes ahead and the failure is logged: a Redis
outage must not lock every clinician out, and sign-in still has its per-account lockout.
"""

import hashlib
import logging
import math
import threading
import time
from functools import wraps

from flask import abort, current_app, request
from limits import parse_many
from limits.storage import Storage, storage_from_string
from limits.strategies import FixedWindowRateLimiter

log = logging.getLogger("booking.ratelimit")
EXTENSION = "booking_rate_limiter"


class ProcessCounters(Storage):
    """The memory:// store: fixed-window counters of one process, expired as they are read.

    limits' own MemoryStorage expires counters from a timer thread that it starts 10 ms after a
    hit whenever the previous one has finished, so a worker serving a counted request every
    few tens of milliseconds started a thread for nearly every one (0.7 ms each here), and the
    timer then took the interpreter lock in the middle of the next request. Here a counter past
    its window reads as zero and starts again on its next hit, and the counters whose windows
    have ended are swept inline, at most once every `sweep_seconds`, so memory stays bounded by
    the windows still open.
    """

    def __init__(self, sweep_seconds=60.0, clock=time.time):
        super().__init__()
        self._counters = {}  # key -> (count, window end)
        self._lock = threading.Lock()
        self._clock = clock
        self._sweep_seconds = sweep_seconds
        self._next_sweep = clock() + sweep_seconds

    @property
    def base_exceptions(self):
        """What limits may wrap as a storage error (nothing here fails but a bad value)."""
        return ValueError

    def incr(self, key, expiry, amount=1):
        """Count `amount` for `key` in its window (a new one of `expiry` seconds if it has none); the count."""
        now = self._clock()
        with self._lock:
            if now >= self._next_sweep:
                self._counters = {k: entry for k, entry in self._counters.items() if entry[1] > now}
                self._next_sweep = now + self._sweep_seconds
            count, ends = self._counters.get(key, (0, 0.0))
            if ends <= now:
                count, ends = 0, now + expiry
            self._counters[key] = (count + amount, ends)
            return count + amount

    def get(self, key):
        """The count of `key` in its window; 0 once the window has ended."""
        count, ends = self._counters.get(key, (0, 0.0))
        return count if ends > self._clock() else 0

    def get_expiry(self, key):
        """When the window of `key` ends (now if it has none)."""
        return self._counters.get(key, (0, self._clock()))[1]

    def check(self):
        """Always healthy: it is this process's memory."""
        return True

    def reset(self):
        """Forget every counter; how many there were."""
        with self._lock:
            cleared, self._counters = len(self._counters), {}
        return cleared

    def clear(self, key):
        """Forget the counter of `key`."""
        with self._lock:
            self._counters.pop(key, None)

    def __len__(self):
        """How many counters are held (the sweep's test reads it)."""
        return len(self._counters)


def store_for(uri):
    """The counters' store for RATELIMIT_STORAGE_URI: ProcessCounters for memory://, else limits' own."""
    return ProcessCounters() if uri.startswith("memory://") else storage_from_string(uri)


def init_app(app):
    """Create this app's limiter on the configured store."""
    app.extensions[EXTENSION] = FixedWindowRateLimiter(store_for(app.config["RATELIMIT_STORAGE_URI"]))


def rate_limited(setting, methods=None):
    """Decorator: answer 429 once this client address has used up app.config[setting] on this view.

    `setting` names a limit string such as "20 per minute" (several may be joined with ";");
    `methods` restricts counting to those HTTP methods (default: every method).
    """

    def decorate(view):
        scope = f"{view.__module__}.{view.__qualname__}"

        @wraps(view)
        def limited(*args, **kwargs):
            if methods is None or request.method in methods:
                enforce(setting, scope, request.remote_addr or "unknown")
            return view(*args, **kwargs)

        return limited

    return decorate


def enforce(setting, scope, key):
    """Count one request for `key` under app.config[setting]; abort with 429 and Retry-After once used up.

    `scope` names what is counted (e.g. "booking.email"), `key` whom it is counted for: an
    address, an intake id, an email address. The store sees only a hash of the key, so no
    patient's address sits in Redis.
    """
    digest = hashlib.sha256(str(key).encode("utf-8")).hexdigest()[:32]
    retry_after = _hit(current_app.config[setting], scope, digest)
    if retry_after is not None:
        abort(429, retry_after=retry_after)


def _hit(limit_text, scope, address):
    """Count one request; None if allowed, else the seconds until the client may try again."""
    limiter = current_app.extensions[EXTENSION]
    namespace = current_app.config["RATELIMIT_KEY_PREFIX"]
    try:
        for item in parse_many(limit_text):
            if not limiter.hit(item, namespace, scope, address):
                reset_at = limiter.get_window_stats(item, namespace, scope, address).reset_time
                return max(1, math.ceil(reset_at - time.time()))
    except Exception:  # the store is down or refused us: let the request through, loudly
        log.exception("rate-limit store unavailable; %s not limited", scope)
    return None
