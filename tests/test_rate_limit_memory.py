"""The memory:// store: counts within a window, starts again after it, keeps memory bounded,
and starts no thread on a hit (limits' own store started one for nearly every counted request)."""

import threading

from limits import parse
from limits.strategies import FixedWindowRateLimiter

from booking.ratelimit import EXTENSION, ProcessCounters


class Clock:
    """A clock the test moves by hand."""

    def __init__(self, now=1_000_000.0):
        self.now = now

    def __call__(self):
        return self.now


def test_a_window_counts_to_its_limit_then_starts_again_once_it_ends():
    clock = Clock()
    limiter = FixedWindowRateLimiter(ProcessCounters(sweep_seconds=3600, clock=clock))  # no sweep meanwhile
    item = parse("3 per minute")
    assert [limiter.hit(item, "scope", "address") for _ in range(4)] == [True, True, True, False]
    assert limiter.hit(item, "scope", "another address")  # each key counts on its own
    stats = limiter.get_window_stats(item, "scope", "address")
    assert (stats.remaining, stats.reset_time) == (0, clock.now + 60)
    start = clock.now
    clock.now = start + 59.9
    assert not limiter.hit(item, "scope", "address")
    clock.now = start + 60  # the window has ended: a fresh one, before any hit too
    assert limiter.get_window_stats(item, "scope", "address").remaining == 3
    assert limiter.hit(item, "scope", "address")
    assert limiter.get_window_stats(item, "scope", "address").remaining == 2


def test_ended_windows_are_swept_from_memory():
    clock = Clock()
    store = ProcessCounters(sweep_seconds=60, clock=clock)
    limiter = FixedWindowRateLimiter(store)
    for address in range(100):
        limiter.hit(parse("5 per second"), "scope", str(address))
    limiter.hit(parse("5 per hour"), "scope", "still counting")
    assert len(store) == 101
    clock.now += 61
    limiter.hit(parse("5 per second"), "scope", "new")
    assert len(store) == 2  # the hour's window and the new one


def test_a_hit_starts_no_thread(monkeypatch):
    started = []
    monkeypatch.setattr(threading.Thread, "start", lambda thread: started.append(thread))
    limiter = FixedWindowRateLimiter(ProcessCounters())
    for _ in range(3):
        limiter.hit(parse("10 per minute"), "scope", "address")
    assert started == []


def test_the_app_counts_in_process_with_memory_uri(make_app):
    app = make_app(RATELIMIT_STORAGE_URI="memory://")
    assert isinstance(app.extensions[EXTENSION].storage, ProcessCounters)
