"""What `make serve` (gunicorn, several worker processes) checks before it serves.

Rate-limit counters in memory:// belong to one process, so with N workers a "20 per
minute" limit lets about 20 x N through. Under gunicorn the app therefore uses Redis
when it answers (SERVE_REDIS_URL, default redis://127.0.0.1:6379/0) and the
configuration named no shared store, and refuses to start with several workers and
per-process counters unless ALLOW_PER_WORKER_RATE_LIMITS is set (environment or config).
"""

import gc
import logging

from booking import ratelimit

log = logging.getLogger("booking.serving")
DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/0"


class PerWorkerRateLimits(RuntimeError):
    """Several workers would each keep their own rate-limit counters."""


def is_per_process(storage_uri):
    """True if counters in `storage_uri` are not shared between processes."""
    return (storage_uri or "memory://").startswith("memory://")


def redis_answers(url, timeout=0.5):
    """True if a Redis server answers PING at `url` within `timeout` seconds."""
    import redis

    try:
        return bool(redis.Redis.from_url(url, socket_connect_timeout=timeout, socket_timeout=timeout).ping())
    except (redis.exceptions.RedisError, OSError, ValueError):
        return False


def choose_rate_limit_store(configured, redis_url, answers=redis_answers):
    """The store to use: the configured one if it is shared, else Redis at `redis_url` if it answers."""
    if not is_per_process(configured):
        return configured
    return redis_url if answers(redis_url) else configured


def check_workers(workers, storage_uri, allowed=False):
    """Raise PerWorkerRateLimits if `workers` > 1 would each count limits on their own."""
    if workers > 1 and is_per_process(storage_uri) and not allowed:
        raise PerWorkerRateLimits(
            f"Refusing to start {workers} workers with rate limits kept in process memory: each worker "
            f"would count on its own, so a '20 per minute' limit would let about {20 * workers} through. "
            "Start Redis (or set RATELIMIT_STORAGE_URI=redis://host:port), run one worker (WORKERS=1), "
            "or set ALLOW_PER_WORKER_RATE_LIMITS=1 to accept per-worker limits.")


def prepare(app, workers, environ):
    """gunicorn's on_starting: pick the shared store for `app`, then refuse per-worker limits."""
    chosen = choose_rate_limit_store(app.config["RATELIMIT_STORAGE_URI"],
                                     environ.get("SERVE_REDIS_URL") or DEFAULT_REDIS_URL)
    if chosen != app.config["RATELIMIT_STORAGE_URI"]:
        app.config["RATELIMIT_STORAGE_URI"] = chosen
        ratelimit.init_app(app)
    allowed = environ.get("ALLOW_PER_WORKER_RATE_LIMITS") == "1" or app.config.get("ALLOW_PER_WORKER_RATE_LIMITS")
    check_workers(workers, chosen, bool(allowed))
    log.info("rate limits kept in %s", "process memory" if is_per_process(chosen) else "a shared store")


def settle_heap():
    """Set what the process holds once the app is built (modules, the app, its mappers and
    templates) aside from the garbage collector's full passes (gc.freeze).

    A full collection walks every tracked object: some 130,000 in a worker, 50-120 ms each time,
    every few dozen requests of the big clinic's day page (a request itself costs 15-20 ms), which
    set its p99. Frozen, they are never walked again and a full pass takes 1-4 ms. They live as
    long as the process anyway; what requests create is collected as before.
    """
    gc.collect()  # what the start-up left as garbage is freed, not frozen
    gc.freeze()
