"""Soak: 50 patients browsing and booking across two instances for ten minutes.

    .venv/bin/python benchmarks/soak.py [--seconds 600] [--patients 50] [--workers 2]
    BENCH_DATABASE_URL=postgresql://postgres@127.0.0.1:5432/bench .venv/bin/python benchmarks/soak.py

Seeds a fresh database as booking_bench.py does (SQLite in a temporary folder, or
BENCH_DATABASE_URL, whose public schema is emptied first), serves the app twice (two
gunicorn instances on 127.0.0.1 only, each with --workers sync workers), and runs
--patients simulated patients for --seconds. Each patient opens an intake's booking link,
browses week pages on both instances, opens a time's confirm page and, every few visits,
books it (a time someone else took first is a 409, as for a real patient). Stops by itself.

Prints the error rate (5xx, connection failures and any status a patient should not see),
p50/p99 latency per kind of request, and each gunicorn worker's resident memory (RSS) after
the first tenth of the run against its last reading. Targets: error rate 0, RSS flat within 10%.
"""

import argparse
import itertools
import os
import random
import shutil
import statistics
import sys
import tempfile
import threading
import time
from datetime import timedelta
from pathlib import Path
from urllib.parse import urlencode

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.booking_bench import ROOT, Server, bench_config, request, seed, session_cookie  # noqa: E402

EXPECTED = {"week": {200}, "confirm": {200}, "book": {302, 409}, "start": {302}}
BOOK_EVERY = 4  # one visit in four ends in a booking; the rest only browse


def worker_pids(master_pid):
    """The pids of a gunicorn master's workers (its child processes)."""
    children = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as stat:
                    if int(stat.read().rsplit(")", 1)[1].split()[1]) == master_pid:
                        children.append(int(entry))
            except (OSError, IndexError, ValueError):
                continue
    return sorted(children)


def rss_kib(pid):
    """Resident memory of a process in KiB (None once it has gone)."""
    try:
        with open(f"/proc/{pid}/status") as status:
            for line in status:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
    except OSError:
        return None
    return None


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
        except OSError as error:
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
        """One simulated patient after another in this thread, until the deadline."""
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


def sample_memory(masters, readings, stop, every=5.0):
    """Every `every` seconds, note each worker's RSS: {pid: [(seconds since start, KiB)]}."""
    started = time.monotonic()
    while not stop.wait(every):
        for master in masters:
            for pid in worker_pids(master):
                value = rss_kib(pid)
                if value:
                    readings.setdefault(pid, []).append((time.monotonic() - started, value))


def percentile(values, share):
    ordered = sorted(values)
    return ordered[max(0, int(len(ordered) * share) - 1)] * 1000 if ordered else 0.0


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
    try:
        servers = [Server("benchmarks.bench_wsgi:app", args.workers, env) for _ in range(2)]
        soak = Soak([server.port for server in servers], weeks, posts, args.seconds)
        sampler = threading.Thread(target=sample_memory, args=([s.process.pid for s in servers], readings, stop))
        sampler.start()
        threads = [threading.Thread(target=soak.patient, args=(n,)) for n in range(args.patients)]
        print(f"{args.patients} patients on two instances ({args.workers} workers each) for {args.seconds:.0f} s...",
              flush=True)
        for server in servers:  # let every worker load the app before the clock starts
            for _ in range(4 * args.workers):
                request(server.port, "GET", "/healthz")
        started = time.monotonic()
        soak.deadline = started + args.seconds
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        soak.elapsed = time.monotonic() - started
    finally:
        stop.set()
        for server in servers:
            server.stop()
        shutil.rmtree(workdir, ignore_errors=True)
    report(soak, readings, args)
    return 0


def report(soak, readings, args):
    """Print the figures and whether they meet the targets."""
    everything = [value for values in soak.latencies.values() for value in values]
    requests = len(everything) + sum(1 for e in soak.errors if isinstance(e[1], str))
    print(f"\n{requests} requests in {soak.elapsed:.0f} s ({requests / soak.elapsed:.1f}/s); "
          f"error rate {len(soak.errors) / max(requests, 1):.4%} ({len(soak.errors)} errors)")
    print(f"{'request':<10}{'count':>8}{'p50 ms':>10}{'p99 ms':>10}")
    for kind, values in list(soak.latencies.items()) + [("all", everything)]:
        if values:
            print(f"{kind:<10}{len(values):>8}{statistics.median(values) * 1000:>10.1f}{percentile(values, 0.99):>10.1f}")
    print("statuses:", dict(sorted(soak.counts.items())))
    if soak.errors:
        print("first errors:", soak.errors[:10])
    warm_after = args.seconds / 10
    growth = []
    print(f"\nRSS per worker (KiB): after {warm_after:.0f} s -> last reading")
    for pid, values in sorted(readings.items()):
        warm = next((kib for at, kib in values if at >= warm_after), values[0][1])
        last = values[-1][1]
        growth.append((last - warm) / warm)
        print(f"  worker {pid}: {warm} -> {last} ({(last - warm) / warm:+.1%})")
    flat = all(abs(g) <= 0.10 for g in growth)
    print(f"\nTargets: error rate 0 {'met' if not soak.errors else 'MISSED'}; "
          f"RSS flat within 10% {'met' if flat else 'MISSED'}.")


if __name__ == "__main__":
    sys.exit(main())
