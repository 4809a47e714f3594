"""Booking benchmark: the patient week view and the booking POST against a bare Flask "hello".

    .venv/bin/python benchmarks/booking_bench.py [--seconds 5] [--rounds 3] [--concurrency 8] [--workers 2]

Seeds a fresh database (SQLite in a temporary folder, or BENCH_DATABASE_URL) with 4
clinicians, a year of weekday opening hours and 5,000 bookings; serves the app and a bare
Flask hello app the same way (gunicorn, 2 sync workers, bound to 127.0.0.1 only); drives
each with the same Python load generator (threads + http.client) for a bounded time, hello
and the week view alternating for a few rounds; prints requests per second, p50/p99 latency
and the ratios to hello. Target: the week view at least 40% of hello's throughput. Every
server is stopped before the script ends.

The week view phase asks for one week over and over, so after each worker's first request
it measures the page when warm: one query (the patient's intake state with the schedule
version) and the rendered page from the per-process cache (booking/appointments/week_cache.py).
The POST phase changes the schedule on every request, so any week view served meanwhile
would be computed afresh.
"""

import argparse
import http.client
import os
import random
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from datetime import timedelta
from pathlib import Path
from urllib.parse import urlencode

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

HOST = "127.0.0.1"  # never anything else: the benchmark only talks to this machine
CLINICIANS = 4
BOOKINGS = 5000
TARGET_RATIO = 0.40


def free_port():
    """A free TCP port on 127.0.0.1."""
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return sock.getsockname()[1]


def bulk_patients(app, count):
    """Insert `count` patient records in one statement (contact details encrypted once, shared); their ids."""
    import sqlalchemy as sa

    from booking.crypto import cipher_for
    from booking.extensions import db
    from booking.models import Patient
    from booking.timeutil import utcnow

    contact, now = cipher_for(app.config).encrypt({"name": "Bench Patient", "email": "bench@example.org"}), utcnow()
    first = (db.session.scalar(sa.select(sa.func.max(Patient.id))) or 0) + 1
    ids = list(range(first, first + count))
    db.session.execute(sa.insert(Patient), [{"id": id_, "contact_encrypted": contact, "created_at": now,
                                             "updated_at": now} for id_ in ids])
    if db.engine.dialect.name == "postgresql":  # explicit ids leave the sequence behind
        db.session.execute(sa.text("SELECT setval('patient_id_seq', :last)"), {"last": ids[-1]})
    return ids


def bench_config(database_url):
    """The configuration the served app and the seeding share."""
    from booking.config import normalise_database_url

    return {"SECRET_KEY": "benchmark-secret-key-0123456789-abcdefghijklmnop",
            "SQLALCHEMY_DATABASE_URI": normalise_database_url(database_url),
            "INTAKE_ENCRYPTION_KEYS": ["3q6Qx0Lq2-0mA5vJb8jY0pQ9fW4kR7tU1sN6zC2eH8o="],
            "PATIENT_SEARCH_KEY": "benchmark-patient-search-key-0123456789-abcdef",
            # The POST phase sends forms without a CSRF token; the check itself costs microseconds.
            "WTF_CSRF_ENABLED": False, "SESSION_COOKIE_SECURE": False}


def seed(config, post_count):
    """Create the schema and the data; returns (week to show, [(clinician id, slot value, intake token)])."""
    import sqlalchemy as sa

    from booking import create_app
    from booking.appointments.availability import Rules, clinic_day, free_slots, local_instant, week_start
    from booking.appointments.web import slot_value
    from booking.extensions import db
    from booking.models import Booking, ClinicianProfile, Intake, OpeningHours, StaffUser
    from booking.timeutil import utcnow
    from booking.tokens import new_token, token_hash

    app = create_app(config)
    zone = app.config["CLINIC_TIMEZONE"]
    rng = random.Random(7)
    with app.app_context():
        if db.engine.dialect.name == "postgresql":
            with db.engine.begin() as connection:
                connection.execute(sa.text("DROP SCHEMA public CASCADE; CREATE SCHEMA public"))
        db.create_all()
        ids = []
        for n in range(CLINICIANS):
            user = StaffUser(email=f"bench{n}@clinic.example", name=f"Dr Bench {n}", role="clinician",
                             password_hash="!")
            db.session.add(user)
            db.session.flush()
            ids.append(user.id)
            db.session.add(ClinicianProfile(clinician_id=user.id))
            for weekday in range(5):
                for start, end in ((9, 12), (13, 17)):
                    db.session.add(OpeningHours(clinician_id=user.id, weekday=weekday,
                                                start_time=time_of(start), end_time=time_of(end)))
        today = clinic_day(utcnow(), zone)
        # A year of consultations: half a year back, half ahead; 5,000 of them, none overlapping.
        grid = [(clinician, local_instant(today + timedelta(days=d), time_of(h, m), zone))
                for clinician in ids for d in range(-182, 183) if (today + timedelta(days=d)).weekday() < 5
                for h in (9, 10, 11, 13, 14, 15, 16) for m in (0, 30)]
        # A patient per booking and per intake (a patient has one upcoming consultation), in bulk.
        patient_ids = bulk_patients(app, BOOKINGS + post_count)
        for number, (clinician, starts_at) in enumerate(rng.sample(grid, BOOKINGS)):
            db.session.add(Booking(clinician_id=clinician, starts_at=starts_at,
                                   ends_at=starts_at + timedelta(minutes=30), patient_id=patient_ids[number],
                                   busy_until=starts_at + timedelta(minutes=30), status="booked",
                                   manage_token_hash=token_hash(new_token()), source="phone"))
        db.session.commit()
        week = week_start(today + timedelta(days=7))
        slots = free_slots(db.session, today + timedelta(days=2), today + timedelta(days=59), zone, now=utcnow(),
                           rules=Rules())
        rng.shuffle(slots)
        posts = []
        for number, slot in enumerate(slots[:post_count]):
            token = new_token()
            db.session.add(Intake(status="submitted", booking_token_hash=token_hash(token),
                                  patient_id=patient_ids[BOOKINGS + number]))
            posts.append((slot.clinician_id, slot_value(slot.starts_at), token))
        db.session.commit()
        total = db.session.scalar(sa.select(sa.func.count()).select_from(Booking))
        db.engine.dispose()
    return week, posts, total


def time_of(hour, minute=0):
    """A datetime.time."""
    from datetime import time as wall

    return wall(hour, minute)


class Server:
    """A gunicorn serving one WSGI app on 127.0.0.1, stopped by `stop()`."""

    def __init__(self, target, workers, env):
        self.port = free_port()
        self.process = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "--workers", str(workers), "--bind", f"{HOST}:{self.port}",
             "--log-level", "warning", "--timeout", "30", target],
            cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                with socket.create_connection((HOST, self.port), timeout=0.5):
                    return
            except OSError:
                time.sleep(0.2)
        self.stop()
        raise RuntimeError(f"{target} did not start")

    def stop(self):
        """Stop gunicorn and its workers."""
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)


def request(port, method, path, body=None, cookie=None):
    """One HTTP request; returns (status, headers, seconds)."""
    connection = http.client.HTTPConnection(HOST, port, timeout=30)
    headers = {"Cookie": cookie} if cookie else {}
    if body is not None:
        headers["Content-Type"] = "application/x-www-form-urlencoded"
    started = time.perf_counter()
    connection.request(method, path, body=body, headers=headers)
    response = connection.getresponse()
    response.read()
    elapsed = time.perf_counter() - started
    connection.close()
    return response.status, response.getheaders(), elapsed


def session_cookie(port, token):
    """The patient's session cookie after opening the intake's booking link."""
    status, headers, _ = request(port, "GET", f"/book/start/{token}")
    assert status == 302, status
    for name, value in headers:
        if name.lower() == "set-cookie" and value.startswith("session="):
            return value.split(";", 1)[0]
    raise RuntimeError("no session cookie")


def load(port, make_request, seconds, concurrency, limit=None):
    """Run requests from `concurrency` threads for `seconds` (or `limit` requests); return stats."""
    latencies, statuses, lock = [], {}, threading.Lock()
    counter = iter(range(limit if limit is not None else 10**9))
    deadline = time.monotonic() + seconds

    def worker():
        while time.monotonic() < deadline:
            with lock:
                index = next(counter, None)
            if index is None:
                return
            method, path, body, cookie = make_request(index)
            status, _headers, elapsed = request(port, method, path, body, cookie)
            with lock:
                latencies.append(elapsed)
                statuses[status] = statuses.get(status, 0) + 1

    started = time.monotonic()
    threads = [threading.Thread(target=worker) for _ in range(concurrency)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    duration = time.monotonic() - started
    return {"rps": len(latencies) / duration, "latencies": latencies, "statuses": statuses}


def combine(rounds):
    """One endpoint's rounds as one result: median req/s, latencies pooled across rounds."""
    latencies = sorted(value for r in rounds for value in r["latencies"])
    statuses = {}
    for r in rounds:
        for status, count in r["statuses"].items():
            statuses[status] = statuses.get(status, 0) + count
    return {"rps": statistics.median(r["rps"] for r in rounds), "count": len(latencies), "statuses": statuses,
            "p50": statistics.median(latencies) * 1000 if latencies else 0,
            "p99": latencies[int(len(latencies) * 0.99) - 1] * 1000 if latencies else 0}


def main():
    """Seed, serve, measure, print, stop."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=float, default=5.0, help="length of each measured phase")
    parser.add_argument("--rounds", type=int, default=3, help="hello and week view phases, alternated")
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--posts", type=int, default=600, help="prepared bookings for the POST phase")
    args = parser.parse_args()
    workdir = Path(tempfile.mkdtemp(prefix="booking-bench-"))
    database_url = os.environ.get("BENCH_DATABASE_URL") or f"sqlite:///{workdir / 'bench.sqlite'}"
    config = bench_config(database_url)
    print(f"Seeding {CLINICIANS} clinicians, a year of opening hours and {BOOKINGS} bookings ({database_url.split(':')[0]})...")
    week, posts, total = seed(config, args.posts)
    print(f"  {total} bookings in the database; {len(posts)} free slots prepared for the POST phase")
    env = dict(os.environ, BENCH_DATABASE_URL=database_url, PYTHONPATH=str(ROOT))
    servers = []
    try:
        hello = Server("benchmarks.hello_wsgi:app", args.workers, env)
        servers.append(hello)
        app_server = Server("benchmarks.bench_wsgi:app", args.workers, env)
        servers.append(app_server)
        cookie = session_cookie(app_server.port, posts[-1][2])
        week_path = "/book/?" + urlencode({"clinician": "any", "week": week.isoformat()})
        assert request(app_server.port, "GET", week_path, cookie=cookie)[0] == 200
        prepared = [(clinician, start, session_cookie(app_server.port, token)) for clinician, start, token in posts[:-1]]
        # The machine's speed drifts (other work, CPU frequency): alternating the two phases and
        # taking each round's ratio keeps the comparison fair.
        rounds = {"hello": [], "week view": []}
        for _ in range(args.rounds):
            rounds["hello"].append(load(hello.port, lambda i: ("GET", "/", None, None), args.seconds,
                                        args.concurrency))
            rounds["week view"].append(load(app_server.port, lambda i: ("GET", week_path, None, cookie),
                                            args.seconds, args.concurrency))
        post = load(app_server.port, lambda i: (
            "POST", "/book/confirm", urlencode({"clinician": prepared[i][0], "start": prepared[i][1],
                                                "name": "Bench Patient", "email": "bench@example.org"}),
            prepared[i][2]), args.seconds, args.concurrency, limit=len(prepared))
    finally:
        for server in servers:
            server.stop()
        shutil.rmtree(workdir, ignore_errors=True)
    results = {name: combine(measured) for name, measured in rounds.items()}
    results["booking POST"] = combine([post])
    base = results["hello"]["rps"] or 1
    print(f"\ngunicorn, {args.workers} sync workers, {args.concurrency} client threads, "
          f"{args.rounds} rounds of {args.seconds:.0f} s per phase (req/s: median of rounds)")
    print(f"{'endpoint':<14}{'requests':>10}{'req/s':>10}{'p50 ms':>10}{'p99 ms':>10}{'vs hello':>10}  statuses")
    for name, r in results.items():
        print(f"{name:<14}{r['count']:>10}{r['rps']:>10.1f}{r['p50']:>10.1f}{r['p99']:>10.1f}"
              f"{r['rps'] / base:>10.0%}  {r['statuses']}")
    ratios = [week_round["rps"] / (hello_round["rps"] or 1)
              for hello_round, week_round in zip(rounds["hello"], rounds["week view"])]
    ratio = statistics.median(ratios)
    verdict = "meets" if ratio >= TARGET_RATIO else "misses"
    print(f"\nWeek view throughput is {ratio:.0%} of hello (rounds: {', '.join(f'{r:.0%}' for r in ratios)}): "
          f"{verdict} the {TARGET_RATIO:.0%} target.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
