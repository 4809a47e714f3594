"""The big clinic's staff pages in process: ms per request (median), SQL statements, cProfile's top.

    .venv/bin/python benchmarks/profile_staff.py [--database instance/big.sqlite] [--requests 40] [--top 30]
        [--sql] [PAGE ...]

Seeds booking.big_clinic's 50-clinician practice into `--database` (a SQLite path, or a
PostgreSQL URL whose public schema is emptied first) the first time, in about a minute, and
reuses it afterwards, so a change can be measured again in seconds. PAGE is "day", "week" or
"queue" (all three by default); each is requested through the WSGI interface
with a signed-in receptionist's (day, week) or clinician's (queue) cookie, warmed, then timed
`--requests` times; the median, the 99th percentile and the range of the CPU time per request
are printed. With
--sql, each statement's count and total time; with --top, cProfile's most costly functions.
"""

import argparse
import logging
import os
import statistics
import sys
import time
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.profile_requests import profile_top  # noqa: E402  (after the path is set)


def build_app(database):
    """The benchmark's app on `database` (a SQLite path or a URL), seeded with the big clinic if empty."""
    import sqlalchemy as sa

    from benchmarks.booking_bench import bench_config, seed_clinic
    from booking import create_app
    from booking.appointments.availability import clinic_day, week_start
    from booking.extensions import db
    from booking.models import StaffUser
    from booking.timeutil import utcnow

    url = database if "://" in database else f"sqlite:///{Path(database).resolve()}"
    config = bench_config(url, csrf=True)
    app = create_app(config)
    with app.app_context():
        # The big clinic's fifty, not any staff: a PostgreSQL test database holds a test's leftovers
        # (a small practice among them).
        seeded = sa.inspect(db.engine).has_table("staff_user") and db.session.scalar(
            sa.select(sa.func.count()).select_from(StaffUser).where(StaffUser.email.like("clinician%@big.example"))
        ) >= 50
    if not seeded:
        app, _week, _clinician = seed_clinic(config, big=True)
    with app.app_context():
        clinician = db.session.scalar(sa.select(StaffUser.id).where(StaffUser.role == "clinician",
                                                                    StaffUser.email.like("%@big.example"))
                                      .order_by(StaffUser.id))
    # The week the wrk benchmark shows: next week, every clinician's day partly booked.
    week = week_start(clinic_day(utcnow(), app.config["CLINIC_TIMEZONE"]) + timedelta(days=7))
    return app, week, clinician


def pages(app, week, clinician):
    """{name: (path, cookie)} of the three pages issue 13 sets a 50 ms p99 for."""
    from benchmarks import bench_prepare
    from benchmarks.booking_bench import staff_pages

    paths = {name: (path, role) for name, path, role in staff_pages(week, clinician)}
    cookies = {role: bench_prepare.staff_cookie(app, role) for role in ("receptionist", "clinician")}
    chosen = {"day": "staff day, all clinicians", "week": "staff week, one clinician", "queue": "clinician queue"}
    return {short: (paths[name][0], cookies[paths[name][1]]) for short, name in chosen.items()}


def serve(app, path, cookie):
    """GET `path` through the WSGI interface; (status, CPU seconds)."""
    from werkzeug.test import EnvironBuilder

    environ = EnvironBuilder(path=path, base_url="http://127.0.0.1", headers={"Cookie": cookie}).get_environ()
    seen = []
    started = time.process_time()
    body = app(environ, lambda status, headers, exc_info=None: seen.append(status))
    for _chunk in body:
        pass
    getattr(body, "close", lambda: None)()
    return seen[0], time.process_time() - started


def statements(app, path, cookie):
    """[(statement's first 110 characters, count, total ms)] of one request, costliest first."""
    import sqlalchemy as sa

    from booking.extensions import db

    totals = {}
    with app.app_context():
        engine = db.engine

    def before(conn, cursor, statement, parameters, context, executemany):
        conn.info["bench_started"] = time.perf_counter()

    def after(conn, cursor, statement, parameters, context, executemany):
        key = " ".join(statement.split())[:110]
        count, spent = totals.get(key, (0, 0.0))
        totals[key] = (count + 1, spent + time.perf_counter() - conn.info.pop("bench_started"))

    sa.event.listen(engine, "before_cursor_execute", before)
    sa.event.listen(engine, "after_cursor_execute", after)
    try:
        serve(app, path, cookie)
    finally:
        sa.event.remove(engine, "before_cursor_execute", before)
        sa.event.remove(engine, "after_cursor_execute", after)
    return sorted(((key, count, spent * 1000) for key, (count, spent) in totals.items()), key=lambda r: -r[2])


def main():
    """Seed or reuse, warm, time, print."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--database", default=str(ROOT / "instance" / "big.sqlite"))
    parser.add_argument("--requests", type=int, default=40)
    parser.add_argument("--top", type=int, default=0)
    parser.add_argument("--sql", action="store_true")
    parser.add_argument("pages", nargs="*", default=["day", "week", "queue"])
    args = parser.parse_args()
    app, week, clinician = build_app(args.database)
    logging.getLogger("booking.requests").disabled = True
    for handler in logging.getLogger("booking").handlers:
        handler.stream = open(os.devnull, "w")
    chosen = pages(app, week, clinician)
    from booking.serving import settle_heap

    settle_heap()  # as the served app does (wsgi.py): full collections skip what start-up built
    for name in args.pages:
        path, cookie = chosen[name]
        for _ in range(5):
            status, _spent = serve(app, path, cookie)
        assert status.startswith("200"), (path, status)
        times = sorted(serve(app, path, cookie)[1] * 1000 for _ in range(args.requests))
        print(f"{name:<6} {path:<60} median {statistics.median(times):6.1f} ms CPU, "
              f"p99 {times[int(len(times) * 0.99)]:.1f} (min {times[0]:.1f}, max {times[-1]:.1f}; "
              f"{args.requests} requests)")
        if args.sql:
            found = statements(app, path, cookie)
            print(f"  {sum(count for _k, count, _s in found)} statements, "
                  f"{sum(spent for _k, _c, spent in found):.1f} ms wall in the database:")
            for key, count, spent in found:
                print(f"  {spent:7.2f} ms {count:>3}x  {key}")
        if args.top:
            print(profile_top(lambda: [serve(app, path, cookie) for _ in range(10)], args.top, "tottime"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
