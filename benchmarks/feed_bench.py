"""Benchmark: a clinician feed with 2,000 bookings against a bare hello endpoint, same server, same run.

Seeds a temporary SQLite database, serves the app with gunicorn (one sync worker, 127.0.0.1,
wrk_runner.Server) with a /bench/hello route added to the same app, so both pass the same
middleware, times sequential requests to each, and prints median and p99 (nearest rank) twice:
as this Python client saw them (a new connection each, its own overhead included) and as
gunicorn timed them (its access log, without paths: no feed token is written). Target, judged
on gunicorn's times since the client's fixed cost would flatter the ratio: the feed's median
takes less than 10 hello medians. Also prints the worker's resident memory after the run.

    .venv/bin/python benchmarks/feed_bench.py [--bookings 2000] [--hello 300] [--feed 40]
"""

import argparse
import os
import statistics
import sys
import tempfile
import time
import urllib.request
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.wrk_runner import Server, access_times, percentile_ms  # noqa: E402

TARGET_RATIO = 10


def build_app(database_path):
    """The real app on a SQLite file, plus a bare hello route."""
    from booking import create_app

    app = create_app({"SECRET_KEY": "benchmark-secret-key-that-is-long-enough-0123456789",
                      "PATIENT_SEARCH_KEY": "benchmark-patient-search-key-0123456789-abcdef",
                      "INTAKE_ENCRYPTION_KEYS": ["3q6Qx0Lq2-0mA5vJb8jY0pQ9fW4kR7tU1sN6zC2eH8o="],
                      "SQLALCHEMY_DATABASE_URI": f"sqlite:///{database_path}", "TESTING": False,
                      # Every fetch comes from one address: still counted, but never refused.
                      "FEED_RATE_LIMIT": "1000000 per minute"})
    app.add_url_rule("/bench/hello", "bench_hello", lambda: "hello")
    return app


def seed(app, count):
    """One clinician with `count` bookings inside the feed window; returns the feed path."""
    from benchmarks.booking_bench import bulk_patients
    from booking.calendar.feeds import issue_feed_token
    from booking.extensions import db
    from booking.models import Booking
    from booking.staff.accounts import create_staff
    from booking.timeutil import utcnow
    from booking.tokens import new_token, token_hash

    with app.app_context():
        db.create_all()
        now = utcnow().replace(minute=0, second=0, microsecond=0)
        clinician = create_staff(db.session, email="dr.bench@clinic.example", name="Dr Bench", role="clinician",
                                 password="benchmark-password-long")
        db.session.flush()
        first = now - timedelta(days=29)
        step = timedelta(hours=1)  # 2,000 hourly slots fit in the 30 days back + 180 ahead
        patient_ids = bulk_patients(app, count)
        for number in range(count):
            starts = first + number * step
            db.session.add(Booking(clinician_id=clinician.id, starts_at=starts, ends_at=starts + timedelta(minutes=30),
                                   busy_until=starts + timedelta(minutes=30), patient_id=patient_ids[number],
                                   manage_token_hash=token_hash(new_token()),
                                   sequence=number % 3, status="booked"))
        token = issue_feed_token(db.session, clinician, actor=None, now=now)
        db.session.commit()
    return f"/calendar/feed/{token}.ics"


def served():
    """The app gunicorn serves (`benchmarks.feed_bench:served()`): the database in FEED_BENCH_DATABASE."""
    import logging

    # No per-request log lines in the timings (and no feed tokens in a log).
    logging.getLogger("booking").disabled = True
    app = build_app(os.environ["FEED_BENCH_DATABASE"])
    logging.getLogger("booking.requests").disabled = True
    return app


class Phase:
    """Sequential GETs of one URL, timed by this client and by gunicorn's access log."""

    def __init__(self, url, count, log, before_each=None):
        self.client, self.size = [], 0
        already = len(log.read_text().splitlines())
        for _ in range(count):
            if before_each:
                before_each()
            started = time.perf_counter()
            with urllib.request.urlopen(url) as response:
                body = response.read()
                assert response.status == 200
            self.client.append(time.perf_counter() - started)
            self.size = len(body)
        lines = log.read_text().splitlines()
        deadline = time.monotonic() + 5
        while len(lines) < already + count and time.monotonic() < deadline:  # the last line follows the response
            time.sleep(0.05)
            lines = log.read_text().splitlines()
        self.server = access_times(lines[already:])

    def line(self, name):
        return (f"{name:<8}client median {statistics.median(self.client) * 1000:7.2f} ms  "
                f"p99 {percentile_ms(self.client, 0.99):7.2f} ms   gunicorn median "
                f"{statistics.median(self.server) * 1000:7.2f} ms  p99 {percentile_ms(self.server, 0.99):7.2f} ms  "
                f"({len(self.client)} requests)")


def touch_a_booking(database_path):
    """Change one booking's update time, as an edit would, outside the server."""
    import sqlite3

    with sqlite3.connect(database_path, timeout=30) as connection:
        connection.execute("UPDATE booking SET updated_at = strftime('%Y-%m-%d %H:%M:%f', 'now') "
                           "WHERE id = (SELECT min(id) FROM booking)")


def main():
    """Seed, serve, time, print."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bookings", type=int, default=2000)
    parser.add_argument("--hello", type=int, default=300)
    parser.add_argument("--feed", type=int, default=40)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        database_path = os.path.join(folder, "bench.sqlite")
        feed_path = seed(build_app(database_path), args.bookings)
        log = Path(folder, "access.log")
        env = dict(os.environ, FEED_BENCH_DATABASE=database_path, PYTHONPATH=str(ROOT))
        server = Server("benchmarks.feed_bench:served()", 1, env, access_log=log, access_format="%(m)s %(s)s %(D)s")
        try:
            Phase(server.url + "/bench/hello", 20, log)  # warm up both
            Phase(server.url + feed_path, 3, log)
            hello = Phase(server.url + "/bench/hello", args.hello, log)
            feed = Phase(server.url + feed_path, args.feed, log)
            # Worst case: a booking changes before every fetch, so nothing rendered can be reused.
            cold = Phase(server.url + feed_path, max(args.feed // 2, 5), log,
                         before_each=lambda: touch_a_booking(database_path))
            rss = server.worker_rss_mb()
        finally:
            server.stop()
    ratio = statistics.median(feed.server) / statistics.median(hello.server)
    print(f"bookings in feed:  {args.bookings}  ({feed.size / 1024:.0f} KiB of iCalendar)")
    for name, phase in (("hello", hello), ("feed", feed), ("cold", cold)):
        print(phase.line(name))
    print("cold: a booking changed before each fetch, so nothing rendered can be reused; "
          f"ratio {statistics.median(cold.server) / statistics.median(hello.server):.1f}")
    print(f"worker RSS after the run: {', '.join(f'{mb:.0f} MB' for mb in rss)}")
    print(f"ratio (feed median / hello median, gunicorn's times): {ratio:.1f}; as the client saw them "
          f"{statistics.median(feed.client) / statistics.median(hello.client):.1f}  (target < {TARGET_RATIO}: "
          f"{'met' if ratio < TARGET_RATIO else 'NOT met'})")
    return 0 if ratio < TARGET_RATIO else 1


if __name__ == "__main__":
    sys.exit(main())
