"""The database goes away for 10 seconds under load and comes back.

A private PostgreSQL cluster (initdb/pg_ctl on a free port, never the shared server) serves
two gunicorn instances. While it is stopped, /healthz says 503 and pages are the friendly
503; nothing half-written remains; after it returns both instances serve again within
5 seconds, without a restart.
"""

import itertools
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import time as clock_time, timedelta

import pytest
import sqlalchemy as sa

from booking.models import Booking, BookingEvent, OutboxMessage
from tests.booking_factories import add_clinician, add_intake
from tests.conftest import postgres_only, require_or_skip
from tests.multi.cluster import PrivateCluster, Processes, wait_until_answers
from tests.multi.conftest import Cluster, harness_config, require_gunicorn, upgrade_schema
from tests.multi.patient_http import Browser, offered_slots, open_booking, try_to_book
from tests.multi.test_two_instances import next_week

pytestmark = pytest.mark.multi_instance

OUTAGE_SECONDS = 10
RECOVERY_LIMIT_SECONDS = 5
AFTERWARDS = 2  # seconds of load watched after both instances recovered
LOAD_THREADS = 8
PATIENTS = 240  # enough that bookings go on through the outage and after it
EVERY_DAY = {day: [(clock_time(8), clock_time(18))] for day in range(7)}


@pytest.fixture(scope="module")
def private_cluster():
    postgres_only()
    try:
        cluster = PrivateCluster().init()
    except (FileNotFoundError, OSError) as error:
        require_or_skip(f"cannot build a private PostgreSQL cluster: {error}")
    cluster.start()
    try:
        engine = sa.create_engine(cluster.url(), isolation_level="AUTOCOMMIT")
        with engine.connect() as connection:
            connection.execute(sa.text("CREATE DATABASE booking"))
        engine.dispose()
        yield cluster
    finally:
        cluster.destroy()


@pytest.fixture(scope="module")
def instances(private_cluster, tmp_path_factory):
    """Two instances on the private cluster (rate limits in memory: Redis is not the subject)."""
    require_gunicorn()
    tmp_path = tmp_path_factory.mktemp("outage")
    config = harness_config(tmp_path, private_cluster.url("booking"))
    upgrade_schema(config)
    processes = Processes(config, tmp_path)
    try:
        running = Cluster(config, processes, processes.gunicorns("a", "b"), None)
        yield running
        with running.app.app_context():
            from booking.extensions import db

            db.engine.dispose()
    finally:
        processes.stop_all()


class Load:
    """Threads browsing week pages and booking on both instances, every answer recorded."""

    def __init__(self, cluster, clinician, slots, tokens):
        self.cluster, self.clinician, self.slots = cluster, clinician, slots
        self.records, self.booked, self.stop = [], set(), threading.Event()
        self.patients = []
        for number, token in enumerate(tokens):
            browser = Browser()
            open_booking(browser, cluster.bases[number % 2], token)
            self.patients.append((browser, slots[number]))
        self._next = itertools.count()
        self._lock = threading.Lock()

    def record(self, base, kind, answer):
        with self._lock:
            self.records.append((time.monotonic(), base, kind, answer.status, answer.text))

    def run(self):
        bases = self.cluster.bases
        while not self.stop.is_set():
            number = next(self._next)
            base = bases[number % 2]
            browser, slot = self.patients[number % len(self.patients)]
            self.record(base, "health", browser.get(base, "/healthz"))
            self.record(base, "week", browser.get(base, f"/book/?clinician={self.clinician}"))
            if slot not in self.booked:
                for answer in try_to_book(browser, base, self.clinician, slot):
                    self.record(base, "book", answer)
                    if answer.status == 302:
                        with self._lock:
                            self.booked.add(slot)
            time.sleep(0.05)

    def between(self, start, end):
        return [r for r in self.snapshot() if start <= r[0] < end]

    def snapshot(self):
        """The answers so far (a copy: the threads keep adding)."""
        with self._lock:
            return list(self.records)

    def booked_since(self, moment):
        """Whether a booking succeeded after `moment`."""
        return any(r[2] == "book" and r[3] == 302 and r[0] > moment for r in self.snapshot())


def first_all_ok(records, base, after):
    """When `base` first answered a health check and a week page with 200, both after `after`."""
    times = {}
    for at, where, kind, status, _text in records:
        if where == base and at >= after and status == 200 and kind in ("health", "week"):
            times.setdefault(kind, at)
    return max(times.values()) if len(times) == 2 else None


def recovery_times(load, instances, back):
    """When each instance first served both a health check and a week page after `back` (None: not yet)."""
    records = load.snapshot()
    return [first_all_ok(records, base, back) for base in instances.bases]


def test_a_ten_second_database_outage_under_load(instances, private_cluster):
    with instances.session() as session:
        clinician = add_clinician(session, hours=EVERY_DAY)
        tokens = [add_intake(session, instances.app.config)[1] for _ in range(PATIENTS)]
    viewer = Browser()
    open_booking(viewer, instances.bases[0], tokens[0])
    week = next_week()
    slots = [slot for weeks in (0, 7) for slot in
             offered_slots(viewer, instances.bases[0], clinician, week + timedelta(days=weeks))]
    load = Load(instances, clinician, slots, tokens)
    with ThreadPoolExecutor(LOAD_THREADS) as pool:
        for _ in range(LOAD_THREADS):
            pool.submit(load.run)
        try:
            wait_until_answers(lambda: load.booked_since(0), 30, "the first booking under load")
            stopped = time.monotonic()
            private_cluster.stop("fast")
            time.sleep(OUTAGE_SECONDS)
            down_until = time.monotonic()
            private_cluster.start()
            back = time.monotonic()
            # The load goes on until both instances serve again and a booking has gone through,
            # then AFTERWARDS seconds more, to show that no error follows the recovery.
            wait_until_answers(lambda: load.booked_since(back) and None not in recovery_times(load, instances, back),
                               RECOVERY_LIMIT_SECONDS + 10, "both instances after the outage")
            time.sleep(AFTERWARDS)
        finally:
            load.stop.set()  # else the pool would wait for the threads for ever

    # Both instances noticed: /healthz 503, and every failing page is the friendly 503.
    settled = stopped + 1  # requests in flight when the server stopped may still have succeeded
    outage = load.between(settled, down_until)
    for base in instances.bases:
        assert any(r[1] == base and r[2] == "health" and r[3] == 503 for r in outage), base
    failures = [r for r in load.snapshot() if r[3] >= 500]
    assert failures, "the load never met the outage"
    assert {r[3] for r in failures} == {503}, [(r[2], r[3], r[4][:300]) for r in failures if r[3] != 503][:3]
    pages = [r for r in failures if r[2] != "health"]
    assert pages and all("briefly unavailable" in r[4] and "Traceback" not in r[4] for r in pages)
    # Within 5 seconds of the server's return, both instances serve pages again.
    recovered = recovery_times(load, instances, back)
    assert None not in recovered
    recovery = max(recovered) - back
    print(f"\nDatabase outage: recovered {recovery:.2f} s after the server returned; "
          f"{len(failures)} friendly 503s, {len(load.booked)} bookings under load")
    assert recovery <= RECOVERY_LIMIT_SECONDS
    assert not [r for r in load.between(max(recovered) + 0.5, float("inf")) if r[3] >= 500]
    # Nothing half-written: each booking has its history event and its email, and every
    # booking a patient was told about is there.
    with instances.session() as session:
        bookings = {row.id: row for row in session.scalars(sa.select(Booking).where(Booking.clinician_id == clinician))}
        events = set(session.scalars(sa.select(BookingEvent.booking_id)))
        emails = set(session.scalars(sa.select(OutboxMessage.booking_id)))
    assert set(bookings) <= events and set(bookings) <= emails
    from booking.appointments.web import slot_value

    assert load.booked <= {slot_value(b.starts_at) for b in bookings.values()}
    assert load.booked_since(back), "no booking after the return"
