"""Benchmark: patient search at 10,000 patients, in process: time per search and SQL statements.

Seeds a temporary SQLite database (or, with BENCH_DATABASE_URL, a PostgreSQL database of its
own: its public schema is emptied first) with 10,000 encrypted patients and their blind
indexes (bulk inserts of precomputed values), then runs each kind of search many times and
prints the median and 95th-percentile time and the statements each search ran.

    .venv/bin/python benchmarks/patient_search_bench.py [--patients 10000] [--rounds 200]
"""

import argparse
import os
import statistics
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

QUERIES = {"email": "p4321@example.org", "phone": "(555) 000-4321", "date of birth": "1971-02-10",
           "part of a name": "person432", "two name parts": "person4321 fam"}


def build_app(url):
    from booking import create_app
    from booking.config import normalise_database_url

    return create_app({"SECRET_KEY": "benchmark-secret-key-0123456789-abcdefghijklmnop",
                       "PATIENT_SEARCH_KEY": "benchmark-patient-search-key-0123456789-abcdef",
                       "INTAKE_ENCRYPTION_KEYS": ["3q6Qx0Lq2-0mA5vJb8jY0pQ9fW4kR7tU1sN6zC2eH8o="],
                       "SQLALCHEMY_DATABASE_URI": normalise_database_url(url)})


def seed(app, count):
    """`count` patients with their indexes, in two bulk inserts (the tests' volume patients)."""
    import sqlalchemy as sa

    from booking.extensions import db
    from booking.models import PatientIndex
    from tests.patient_factories import insert_patients

    with app.app_context():
        if db.engine.dialect.name == "postgresql":
            with db.engine.begin() as connection:
                connection.execute(sa.text("DROP SCHEMA public CASCADE; CREATE SCHEMA public"))
        db.create_all()
        insert_patients(db.session, app.config, count)
        return db.session.scalar(sa.select(sa.func.count()).select_from(PatientIndex))


def measure(app, rounds):
    """{kind: (median ms, p95 ms, statements per search, results)}."""
    import sqlalchemy as sa

    from booking.crypto import cipher_for
    from booking.extensions import db
    from booking.patients.record import contact_of
    from booking.patients.search import search_patients

    cipher, key = cipher_for(app.config), app.config["PATIENT_SEARCH_KEY"]
    figures = {}
    with app.app_context():
        statements = []
        sa.event.listen(db.engine, "before_cursor_execute", lambda *args: statements.append(args[2]))
        for kind, text in QUERIES.items():
            times = []
            for _ in range(rounds):
                db.session.expire_all()
                statements.clear()
                started = time.perf_counter()
                found = search_patients(db.session, text, key=key, contact_of=lambda p: contact_of(p, cipher))
                times.append((time.perf_counter() - started) * 1000)
                db.session.rollback()
            times.sort()
            figures[kind] = (statistics.median(times), times[int(len(times) * 0.95) - 1],
                             len([s for s in statements if s.lstrip().upper().startswith("SELECT")]), len(found))
    return figures


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--patients", type=int, default=10_000)
    parser.add_argument("--rounds", type=int, default=200)
    args = parser.parse_args()
    url = os.environ.get("BENCH_DATABASE_URL")
    with tempfile.TemporaryDirectory() as folder:
        app = build_app(url or f"sqlite:///{folder}/search.sqlite")
        rows = seed(app, args.patients)
        print(f"{args.patients:,} patients, {rows:,} index rows on {app.config['SQLALCHEMY_DATABASE_URI'].split(':')[0]}")
        for kind, (median, p95, selects, results) in measure(app, args.rounds).items():
            print(f"  {kind:15} median {median:6.2f} ms  p95 {p95:6.2f} ms  {selects} SELECT per search, "
                  f"{results} found")


if __name__ == "__main__":
    main()
