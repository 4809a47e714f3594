"""Benchmark: a clinician feed with 2,000 bookings against a bare hello endpoint, same server, same run.

Seeds a temporary SQLite database, serves the app with werkzeug on 127.0.0.1 in a child
process (with a /bench/hello route added to the same app, so both pass the same middleware),
times sequential requests to each, and prints the medians and their ratio. Target: the feed
takes less than 10 hello-requests' worth of time.

    .venv/bin/python benchmarks/feed_bench.py [--bookings 2000] [--hello 300] [--feed 40]
"""

import argparse
import multiprocessing
import os
import statistics
import sys
import tempfile
import time
import urllib.request
from datetime import timedelta

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

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


def serve(database_path, port_queue):
    """Child process: serve the app with werkzeug on a free port."""
    import logging

    from werkzeug.serving import make_server

    # No per-request log lines in the timings (and no feed tokens in a log).
    logging.getLogger("booking").disabled = True
    logging.getLogger("werkzeug").disabled = True
    app = build_app(database_path)
    logging.getLogger("booking.requests").disabled = True
    server = make_server("127.0.0.1", 0, app, threaded=True)
    port_queue.put(server.server_port)
    server.serve_forever()


def timed(url, count, before_each=None):
    """Median and mean seconds of `count` sequential GETs of `url` (each a new connection)."""
    samples = []
    size = 0
    for _ in range(count):
        if before_each:
            before_each()
        started = time.perf_counter()
        with urllib.request.urlopen(url) as response:
            body = response.read()
            assert response.status == 200
        samples.append(time.perf_counter() - started)
        size = len(body)
    return statistics.median(samples), statistics.mean(samples), size


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
        ports = multiprocessing.get_context("fork").Queue()
        server = multiprocessing.get_context("fork").Process(target=serve, args=(database_path, ports), daemon=True)
        server.start()
        try:
            base = f"http://127.0.0.1:{ports.get(timeout=30)}"
            timed(base + "/bench/hello", 20)  # warm up both
            timed(base + feed_path, 3)
            hello_median, hello_mean, _ = timed(base + "/bench/hello", args.hello)
            feed_median, feed_mean, feed_size = timed(base + feed_path, args.feed)
            # Worst case: a booking changes before every fetch, so nothing rendered can be reused.
            cold_median, cold_mean, _ = timed(base + feed_path, max(args.feed // 2, 5),
                                              before_each=lambda: touch_a_booking(database_path))
        finally:
            server.terminate()
            server.join(timeout=10)
    ratio = feed_median / hello_median
    print(f"bookings in feed:  {args.bookings}  ({feed_size / 1024:.0f} KiB of iCalendar)")
    print(f"hello:  median {hello_median * 1000:7.2f} ms  mean {hello_mean * 1000:7.2f} ms  ({args.hello} requests)")
    print(f"feed:   median {feed_median * 1000:7.2f} ms  mean {feed_mean * 1000:7.2f} ms  ({args.feed} requests)")
    print(f"feed, a booking changed before each fetch (no reuse): median {cold_median * 1000:7.2f} ms  "
          f"mean {cold_mean * 1000:7.2f} ms  ratio {cold_median / hello_median:.1f}")
    print(f"ratio (feed median / hello median): {ratio:.1f}  (target < {TARGET_RATIO}: "
          f"{'met' if ratio < TARGET_RATIO else 'NOT met'})")
    return 0 if ratio < TARGET_RATIO else 1


if __name__ == "__main__":
    sys.exit(main())
