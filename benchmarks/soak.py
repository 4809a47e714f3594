"""Soak: 50 patients browsing and booking across two instances for ten minutes.

    .venv/bin/python benchmarks/soak.py [--seconds 600] [--patients 50] [--workers 2]
    BENCH_DATABASE_URL=postgresql://postgres@127.0.0.1:5432/bench BENCH_REDIS_URL=redis://127.0.0.1:6379/0 \
        .venv/bin/python benchmarks/soak.py      # as deployed: rate limits counted in Redis

Seeds a fresh database as booking_bench.py does (SQLite in a temporary folder, or
BENCH_DATABASE_URL, whose public schema is emptied first), serves the app twice (two
gunicorn instances on 127.0.0.1 only, each with --workers sync workers), and runs
--patients simulated patients for --seconds. Each patient opens an intake's booking link,
browses week pages on both instances, opens a time's confirm page and, every few visits,
books it (a time someone else took first is a 409, as for a real patient). Stops by itself.

Prints the error rate (5xx, connection failures, a patient's thread stopped by an exception,
and any status a patient should not see); p50/p99 (nearest rank) per kind of request twice: as
the patients saw it, and as gunicorn timed it (its access log), because the patients are
threads of one Python process whose own waiting is in the first figure, not the server's; and
each gunicorn worker's resident memory (RSS) after the first tenth of the run against a reading
taken at the end, naming any worker that was replaced on the way (a replaced worker's memory
says nothing about a leak). Targets: error rate 0, RSS flat within 10%.
"""

import argparse
import http.client
import itertools
import os
import random
import shutil
import sys
import tempfile
import threading
import time
from datetime import timedelta
from pathlib import Path
from urllib.parse import urlencode

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.booking_bench import ROOT, Server, bench_config, request, seed, session_cookie  # noqa: E402
from benchmarks.wrk_runner import access_times, percentile_ms  # noqa: E402

EXPECTED = {"week": {200}, "confirm": {200}, "book": {302, 409}, "start": {302}}
BOOK_EVERY = 4  # one visit in four ends in a booking; the rest only browse


class Soak:
    """The patients' threads, what they saw, and the memory readings."""

    def __init__(self, ports, weeks, posts, seconds):
        self.ports, self.weeks, self.seconds = ports, weeks, seconds
        self.posts, self.post_lock = iter(posts), threading.Lock()
        self.latencies, self.errors, self.counts = {kind: [] for kind in EXPECTED}, [], {}
        self.lock = threading.Lock()
        self.deadline = time.monotonic() + seconds
        self.turn = itertools.count()

    def call(self, kind, method, path, body=None, cookie=None):
        port = self.ports[next(self.turn) % len(self.ports)]  # every request may land on either instance
        try:
            status, headers, elapsed = request(port, method, path, body, cookie)
        except (OSError, http.client.HTTPException) as error:
            with self.lock:
                self.errors.append((kind, type(error).__name__))
            return None, []
        with self.lock:
            self.latencies[kind].append(elapsed)
            self.counts[(kind, status)] = self.counts.get((kind, status), 0) + 1
            if status not in EXPECTED[kind]:
                self.errors.append((kind, status))
        return status, headers

    def next_patient(self, port):
        """A new patient: (clinician, slot, session cookie) from the next prepared intake, or None."""
        with self.post_lock:
            post = next(self.posts, None)
        if post is None:
            return None
        clinician, slot, token = post
        return clinician, slot, session_cookie(port, token)

    def patient(self, number):
        """One simulated patient after another in this thread, until the deadline; an exception
        that ends the thread is counted as an error, not lost."""
        try:
            self._patients(number)
        except Exception as error:  # noqa: BLE001  reported with the errors
            with self.lock:
                self.errors.append(("patient", f"{type(error).__name__}: {error}"))

    def _patients(self, number):
        rng = random.Random(number)
        port = self.ports[number % len(self.ports)]
        current, visits, may_book = self.next_patient(port), 0, True
        while current is not None and time.monotonic() < self.deadline:
            clinician, slot, cookie = current
            for _ in range(rng.randint(2, 5)):
                week = rng.choice(self.weeks)
                choice = rng.choice(["any", str(clinician)])
                self.call("week", "GET", "/book/?" + urlencode({"clinician": choice, "week": week}), cookie=cookie)
            self.call("confirm", "GET", "/book/confirm?" + urlencode({"clinician": clinician, "start": slot}),
                      cookie=cookie)
            visits += 1
            if may_book and visits % BOOK_EVERY == 0:
                self.call("book", "POST", "/book/confirm", urlencode({
                    "clinician": clinician, "start": slot, "name": "Soak Patient", "email": "soak@example.org"}),
                    cookie=cookie)
                # The next visitor; once the prepared intakes run out, this one goes on browsing.
                following = self.next_patient(port)
                current, may_book = (following, True) if following else (current, False)
            time.sleep(rng.uniform(0.05, 0.3))  # a person reads the page


def sample_memory(servers, readings, started, stop, every=5.0):
    """Every `every` seconds, and once more when `stop` is set, note each worker's RSS:
    {pid: [(seconds since `started`, KiB)]}."""
    while True:
        at = time.monotonic() - started
        for server in servers:
            for pid, kib in server.worker_rss_kib().items():
                readings.setdefault(pid, []).append((at, kib))
        if stop.is_set():
            return
        stop.wait(every)


def kind_of(method, path):
    """Which kind of soak request an access-log line is (None: set-up, not timed)."""
    if path == "/book/" and method == "GET":
        return "week"
    if path == "/book/confirm":
        return "confirm" if method == "GET" else "book"
    return None


def server_latencies(logs):
    """{kind: [seconds]} from gunicorn access logs written as "METHOD PATH STATUS MICROSECONDS"."""
    found = {}
    for log in logs:
        for line in Path(log).read_text().splitlines():
            method, path, _status, _micros = line.split()
            kind = kind_of(method, path)
            if kind:
                found.setdefault(kind, []).extend(access_times([line]))
    return found


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=float, default=600.0)
    parser.add_argument("--patients", type=int, default=50)
    parser.add_argument("--workers", type=int, default=2, help="gunicorn workers per instance")
    parser.add_argument("--posts", type=int, default=1500, help="prepared intakes, each with a free time")
    args = parser.parse_args()
    workdir = Path(tempfile.mkdtemp(prefix="booking-soak-"))
    database_url = os.environ.get("BENCH_DATABASE_URL") or f"sqlite:///{workdir / 'soak.sqlite'}"
    print(f"Seeding ({database_url.split(':')[0]})...", flush=True)
    week, posts, total = seed(bench_config(database_url), args.posts)
    weeks = [(week + timedelta(days=7 * n)).isoformat() for n in range(-1, 7)]
    env = dict(os.environ, BENCH_DATABASE_URL=database_url, PYTHONPATH=str(ROOT))
    servers, readings, stop = [], {}, threading.Event()
    logs = [workdir / f"access-{n}.log" for n in range(2)]
    try:
        servers = [Server("benchmarks.bench_wsgi:app", args.workers, env, access_log=log) for log in logs]
        soak = Soak([server.port for server in servers], weeks, posts, args.seconds)
        threads = [threading.Thread(target=soak.patient, args=(n,)) for n in range(args.patients)]
        print(f"{args.patients} patients on two instances ({args.workers} workers each) for {args.seconds:.0f} s...",
              flush=True)
        for server in servers:  # let every worker load the app before the clock starts
            for _ in range(4 * args.workers):
                request(server.port, "GET", "/healthz")
        for log in logs:  # time only the soak's own requests
            log.write_text("")
        started = time.monotonic()
        soak.deadline = started + args.seconds
        sampler = threading.Thread(target=sample_memory, args=(servers, readings, started, stop))
        sampler.start()
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        soak.elapsed = time.monotonic() - started
        stop.set()
        sampler.join()  # it takes one last reading as it stops: the end of the run, not up to 5 s before
        served = server_latencies(logs)
    finally:
        stop.set()
        for server in servers:
            server.stop()
        shutil.rmtree(workdir, ignore_errors=True)
    report(soak, served, readings, args)
    return 0


def report(soak, served, readings, args):
    """Print the figures and whether they meet the targets."""
    everything = [value for values in soak.latencies.values() for value in values]
    requests = len(everything) + sum(1 for e in soak.errors if isinstance(e[1], str))
    print(f"\n{requests} requests in {soak.elapsed:.0f} s ({requests / soak.elapsed:.1f}/s); "
          f"error rate {len(soak.errors) / max(requests, 1):.4%} ({len(soak.errors)} errors)")
    print("latency in ms: as the patients saw it (one Python process of threads: its own waiting included) "
          "and as gunicorn timed it")
    print(f"{'request':<10}{'count':>8}{'p50':>9}{'p99':>9}{'served':>9}{'p50':>9}{'p99':>9}")
    served_all = [value for values in served.values() for value in values]
    for kind, values in [*soak.latencies.items(), ("all", everything)]:
        on_server = served_all if kind == "all" else served.get(kind, [])
        if values or on_server:
            print(f"{kind:<10}{len(values):>8}{percentile_ms(values, 0.5):>9.1f}{percentile_ms(values, 0.99):>9.1f}"
                  f"{len(on_server):>9}{percentile_ms(on_server, 0.5):>9.1f}{percentile_ms(on_server, 0.99):>9.1f}")
    print("statuses:", dict(sorted(soak.counts.items())))
    if soak.errors:
        print("first errors:", soak.errors[:10])
    flat = memory_report(readings, warm_after=args.seconds / 10, end=soak.elapsed)
    print(f"\nTargets: error rate 0 {'met' if not soak.errors else 'MISSED'}; "
          f"RSS flat within 10% {'met' if flat else 'MISSED'}.")


def memory_report(readings, *, warm_after, end):
    """Print each worker's RSS after `warm_after` s against its reading at the end; True if every
    worker that lasted the run stayed within 10% and none was replaced."""
    print(f"\nRSS per worker (KiB): after {warm_after:.0f} s -> at the end ({end:.0f} s)")
    if not readings:
        print("  no readings: memory not measured")
        return False
    first_seen = min(values[0][0] for values in readings.values())
    last_seen = max(values[-1][0] for values in readings.values())
    flat = True
    for pid, values in sorted(readings.items()):
        warm = next((kib for at, kib in values if at >= warm_after), values[-1][1])
        last = values[-1][1]
        if values[0][0] > first_seen or values[-1][0] < last_seen:
            # Started late or gone early: gunicorn replaced a worker (a crash or a timeout).
            flat = False
            print(f"  worker {pid}: {warm} -> {last}, replaced (seen {values[0][0]:.0f}-{values[-1][0]:.0f} s)")
            continue
        growth = (last - warm) / warm
        flat = flat and abs(growth) <= 0.10
        print(f"  worker {pid}: {warm} -> {last} ({growth:+.1%})")
    return flat


if __name__ == "__main__":
    sys.exit(main())
