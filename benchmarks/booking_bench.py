"""Every public page, and the big clinic's staff pages, measured with wrk against a bare Flask "hello".

    .venv/bin/python benchmarks/booking_bench.py [--seconds 5] [--rounds 3] [--big | --staff-only]
    BENCH_DATABASE_URL=postgresql://postgres@127.0.0.1:5432/bench .venv/bin/python benchmarks/booking_bench.py

Seeds a fresh database (SQLite in a temporary folder, or BENCH_DATABASE_URL, whose public
schema is emptied) with booking.big_clinic: a small clinic by default (4 clinicians, 2,000
patients, a month of past consultations), the 50-clinician practice with --big. Serves the
app (CSRF checked, as in production) and a bare Flask hello the same way: gunicorn, 2 sync
workers, 127.0.0.1 only. wrk (benchmarks/wrk_runner.py) loads each page with -t2 -c16;
hello and the page alternate for --rounds rounds and the page's ratio is the median of the
rounds' ratios (the machine's speed drifts). The booking and questionnaire-step POSTs send
distinct prepared requests (sessions and CSRF tokens collected beforehand); like each page,
each POST first has an unmeasured run of its own (--post-warmup requests), whose p99 is
printed under the table: a worker's first booking compiles a dozen statements and loads the
clinic's hours (some 25 ms in process), and the requests queued behind it wait that long too,
which in a one-second run of 500 requests was the p99. Then each POST alternates with hello
for --rounds runs of --post-seconds, each over its own --posts of the prepared requests; the
table has the medians and each run is printed under it. With --big the
staff pages run at 4 connections (the year's CSV export at 2, in runs of at least 10 s). Prints hello's own req/s (so the client is seen not to be
the limit), each page's req/s, p50/p99 and ratio, the workers' RSS, and the load average.
"""

import argparse
import http.client
import logging
import os
import random
import shutil
import statistics
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path
from urllib.parse import urlencode

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.wrk_runner import HOST, Server  # noqa: E402  (Server: also soak.py's)

CLINICIANS = 4
BOOKINGS = 5000


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


def bench_config(database_url, csrf=False):
    """The configuration the served app and the seeding share (`csrf`: check CSRF tokens, as in production).

    BENCH_REDIS_URL, if set, holds the rate limits' counters, as several instances need (else
    each worker counts its own, in memory).
    """
    from booking.config import normalise_database_url

    redis = {"RATELIMIT_STORAGE_URI": os.environ["BENCH_REDIS_URL"]} if os.environ.get("BENCH_REDIS_URL") else {}
    return {**redis, "INTAKE_START_RATE_LIMIT": "1000000 per hour", "BOOKING_ADDRESS_RATE_LIMIT": "1000000 per hour",
            "BOOKING_EMAIL_RATE_LIMIT": "1000000 per hour", "FEED_RATE_LIMIT": "1000000 per minute",
            "SECRET_KEY": "benchmark-secret-key-0123456789-abcdefghijklmnop",
            "SQLALCHEMY_DATABASE_URI": normalise_database_url(database_url),
            "INTAKE_ENCRYPTION_KEYS": ["3q6Qx0Lq2-0mA5vJb8jY0pQ9fW4kR7tU1sN6zC2eH8o="],
            "PATIENT_SEARCH_KEY": "benchmark-patient-search-key-0123456789-abcdef",
            "WTF_CSRF_ENABLED": csrf, "SESSION_COOKIE_SECURE": False,
            # Bookable four months ahead: free times enough for every POST run's own bookings.
            "BOOKING_HORIZON_DAYS": 120}


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



PATIENT_PAGES = [("/healthz", "/healthz", None), ("guide contents", "/guide/", None),
                 ("guide page", "/guide/risks", None), ("questionnaire start", "/intake/start", None),
                 ("404 page", "/no-such-page", None)]


def staff_pages(week, clinician_id):
    """(name, path, role) of the big clinic's staff pages: the front desk's, and the clinicians' queue."""
    year_ago = (week - timedelta(days=365)).isoformat()
    return [("staff day, all clinicians", f"/staff/schedule?date={week.isoformat()}", "receptionist"),
            ("staff week, one clinician",
             f"/staff/schedule?view=week&date={week.isoformat()}&clinician={clinician_id}", "receptionist"),
            ("clinician queue", "/staff/intakes", "clinician"),
            ("patient search", "/staff/patients?q=Patient4321", "receptionist"),
            ("year CSV export", f"/staff/schedule/export?from={year_ago}&to={week.isoformat()}", "receptionist")]


def seed_clinic(config, big):
    """An empty schema with booking.big_clinic's data; returns (app, week to show, a clinician id)."""
    import sqlalchemy as sa

    from booking import create_app
    from booking.appointments.availability import clinic_day, week_start
    from booking.big_clinic import seed_big_clinic
    from booking.extensions import db
    from booking.models import StaffUser
    from booking.timeutil import utcnow

    app = create_app(config)
    with app.app_context():
        if db.engine.dialect.name == "postgresql":
            with db.engine.begin() as connection:
                connection.execute(sa.text("DROP SCHEMA public CASCADE; CREATE SCHEMA public"))
        db.create_all()
        sizes = {} if big else {"clinicians": 4, "patients": 2000, "past_days": 30}
        print("  seeded:", seed_big_clinic(db.session, app.config, utcnow(), **sizes))
        clinician = db.session.scalar(sa.select(StaffUser.id).where(StaffUser.role == "clinician"))
    return app, week_start(clinic_day(utcnow(), app.config["CLINIC_TIMEZONE"]) + timedelta(days=7)), clinician


def alternate(hello, server, path, args, connections=16, cookie=None, requests=None):
    """Rounds of hello then the page: {"rps", "p50", "p99", "ratio", "non_2xx", "hello_rps"} (medians)."""
    from benchmarks.wrk_runner import run_wrk

    pairs, cold = [], None
    if requests is None:  # unmeasured: each worker's first requests connect, compile templates, fill caches
        run_wrk(server.url + path, 3, connections, cookie=cookie)
    elif args.post_warmup:  # the same for a POST, over prepared requests of its own (each can be sent once)
        cold = run_wrk(server.url + path, 1, connections, requests=requests[:args.post_warmup])
        requests = requests[args.post_warmup:]
    # A POST's runs each take their own share of the prepared requests (one can be sent once).
    rounds = args.rounds
    shares = [None] * rounds if requests is None else [requests[index::rounds] for index in range(rounds)]
    seconds = args.seconds if requests is None else args.post_seconds
    for share in shares:
        pairs.append((run_wrk(hello.url + "/", args.seconds, connections),
                      run_wrk(server.url + path, seconds, connections, cookie=cookie, requests=share)))
    median = lambda key, side=1: statistics.median(pair[side][key] for pair in pairs)  # noqa: E731
    return {"rps": median("rps"), "p50": median("p50"), "p99": median("p99"), "hello_rps": median("rps", 0),
            "ratio": statistics.median(page["rps"] / hello_["rps"] for hello_, page in pairs),
            "non_2xx": sum(page["non_2xx"] + page["errors"] for _h, page in pairs),
            "used_up": any(page["used_up"] for _h, page in pairs), "cold": cold,
            "runs": None if requests is None else [(page["rps"], page["p50"], page["p99"]) for _h, page in pairs]}


def main():
    """Seed, prepare, serve, measure, print, stop."""
    from benchmarks import bench_prepare
    from benchmarks.wrk_runner import Server as WrkServer

    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=float, default=5.0, help="length of each wrk run")
    parser.add_argument("--rounds", type=int, default=3, help="hello and page runs, alternated")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--posts", type=int, default=1000, help="prepared requests per POST run")
    parser.add_argument("--post-seconds", type=float, default=1.0,
                        help="length of each POST run: short enough that the prepared requests last")
    parser.add_argument("--post-warmup", type=int, default=200,
                        help="prepared requests of each POST sent first, unmeasured, as the pages' warm-up run")
    parser.add_argument("--big", action="store_true", help="the 50-clinician practice, with the staff pages")
    parser.add_argument("--staff-only", action="store_true",
                        help="with --big implied: only the staff pages (no public pages, no POSTs to prepare)")
    parser.add_argument("--only", metavar="TEXT", default="",
                        help="measure only the pages whose name contains TEXT (e.g. POST, week)")
    args = parser.parse_args()
    args.big = args.big or args.staff_only
    workdir = Path(tempfile.mkdtemp(prefix="booking-bench-"))
    database_url = os.environ.get("BENCH_DATABASE_URL") or f"sqlite:///{workdir / 'bench.sqlite'}"
    print(f"Seeding ({database_url.split(':')[0]}, {'big' if args.big else 'small'} clinic)...")
    app, week, clinician = seed_clinic(bench_config(database_url, csrf=True), args.big)
    logging.getLogger("booking.requests").disabled = True  # the preparation's thousands of request lines
    if not args.staff_only:
        week_cookie = bench_prepare.week_cookie(app)
        # Each POST run sends its own requests: --rounds runs of --posts, after the warm-up's.
        booking_posts = bench_prepare.booking_posts(app, args.post_warmup + args.posts * args.rounds)
        step_posts = bench_prepare.step_posts(app, args.post_warmup + args.posts * args.rounds)
        feed = bench_prepare.feed_path(app, clinician)
    staff = {role: bench_prepare.staff_cookie(app, role) for role in ("receptionist", "clinician")} if args.big else {}
    env = dict(os.environ, BENCH_DATABASE_URL=database_url, PYTHONPATH=str(ROOT), BENCH_CSRF="1")
    results, servers = {}, []
    try:
        hello = WrkServer("benchmarks.hello_wsgi:app", args.workers, env)
        servers.append(hello)
        server = WrkServer("benchmarks.bench_wsgi:app", args.workers, env)
        servers.append(server)
        if not args.staff_only:
            pages = PATIENT_PAGES + [
                ("week, first available", f"/book/?clinician=any&week={week.isoformat()}", week_cookie),
                ("week, one clinician", f"/book/?clinician={clinician}&week={week.isoformat()}", week_cookie),
                ("clinician's calendar feed", feed, None)]
            for name, path, cookie in pages:
                if args.only in name:
                    results[name] = alternate(hello, server, path, args, cookie=cookie)
            for name, path, prepared in (("booking POST", "/book/confirm", booking_posts),
                                         ("questionnaire step POST", "/intake/step/2", step_posts)):
                if args.only in name:
                    results[name] = alternate(hello, server, path, args, requests=prepared)
        for name, path, role in (staff_pages(week, clinician) if args.big else []):
            if args.only not in name:
                continue
            # A year's export takes a second or more: one at a time, over runs long enough to finish several.
            slow = name == "year CSV export"
            results[name] = alternate(hello, server, path, argparse.Namespace(**{
                **vars(args), "seconds": max(args.seconds, 10) if slow else args.seconds}),
                connections=2 if slow else 4, cookie=staff[role])
        rss = server.worker_rss_mb()
    finally:
        for running in servers:
            running.stop()
        shutil.rmtree(workdir, ignore_errors=True)
    report(results, rss, args)
    return 0


def report(results, rss, args):
    """Print the table, the workers' memory and the machine's load."""
    print(f"\nwrk -t2, gunicorn {args.workers} sync workers; {args.rounds} alternating rounds of {args.seconds:.0f} s "
          f"(POSTs: {args.post_seconds:g} s, each run over its own prepared requests); load average "
          f"{os.getloadavg()[0]:.1f}")
    print(f"{'page':<28}{'hello req/s':>12}{'req/s':>10}{'p50 ms':>9}{'p99 ms':>9}{'ratio':>8}{'not 2xx/3xx':>13}")
    for name, r in results.items():
        mark = "*" if r["used_up"] else ""
        print(f"{name:<28}{r['hello_rps']:>12.0f}{r['rps']:>9.0f}{mark:1}{r['p50']:>9.2f}{r['p99']:>9.2f}"
              f"{r['ratio']:>8.2f}{r['non_2xx']:>13}")
    if any(r["used_up"] for r in results.values()):
        print("* the prepared requests ran out before the run's end (the script then stops rather than repeat them): req/s is a lower "
              "bound; use more --posts or fewer --post-seconds")
    for name, r in results.items():
        if r.get("runs"):  # a POST's runs one by one too: one run's p99 moves by a third
            print(f"{name}, each run (req/s, p50 / p99 ms): "
                  + "; ".join(f"{rps:.0f}, {p50:.1f} / {p99:.1f}" for rps, p50, p99 in r["runs"]))
    for name, r in results.items():
        if r.get("cold"):
            print(f"{name}: its unmeasured first run, on workers that had not served it yet (statements to compile, "
                  f"the hours to load; with --only, workers perhaps still starting): {r['cold']['requests']} requests, "
                  f"p50 {r['cold']['p50']:.2f} ms, p99 {r['cold']['p99']:.2f} ms")
    print("worker RSS after the run: " + ", ".join(f"{mb:.0f} MB" for mb in rss))


if __name__ == "__main__":
    sys.exit(main())
