"""Races: 32 people booking (or moving to) one time at once leave exactly one booking.

Each thread has its own test client, so its own request, app context, session and
database connection. Runs on SQLite and, with TEST_DATABASE_URL, on PostgreSQL.
"""

import threading
from datetime import time, timedelta

import pytest
import sqlalchemy as sa

from booking.appointments.availability import Rules, free_slots
from booking.appointments.web import slot_value
from booking.models import Booking
from booking.timeutil import utcnow
from tests.booking_factories import ZONE, add_booking, add_clinician, add_intake
from tests.conftest import postgres_only
from tests.patient_factories import make_patient

THREADS = 32
EVERY_DAY = {day: [(time(8), time(18))] for day in range(7)}
POOL = {"SQLALCHEMY_ENGINE_OPTIONS": {"pool_size": THREADS + 4, "max_overflow": 4, "pool_pre_ping": True}}


@pytest.fixture
def race_app(make_app):
    """An app whose pool gives every thread its own connection."""
    return make_app(**POOL)


def run_at_once(actions):
    """Run each callable in its own thread, released together; return results (or exceptions)."""
    barrier = threading.Barrier(len(actions))
    results = [None] * len(actions)

    def run(index, action):
        try:
            barrier.wait(timeout=30)
            results[index] = action()
        except BaseException as error:  # collected, so the test can say none escaped
            results[index] = error

    threads = [threading.Thread(target=run, args=(i, a)) for i, a in enumerate(actions)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    return results


def first_free(app, clinician_id, index=0):
    """A free slot of the clinician under the default rules."""
    with app.app_context():
        from booking.extensions import db

        today = utcnow().date()
        return free_slots(db.session, today + timedelta(days=2), today + timedelta(days=9), ZONE, now=utcnow(),
                          rules=Rules(), clinician_ids=[clinician_id])[index]


def count_active(app, **where):
    """Active bookings in the database."""
    with app.app_context():
        from booking.extensions import db

        query = sa.select(sa.func.count()).select_from(Booking).where(Booking.status != "cancelled")
        for name, value in where.items():
            query = query.where(getattr(Booking, name) == value)
        return db.session.scalar(query)


def test_32_patients_booking_one_time_leave_one_booking(race_app):
    app = race_app
    with app.app_context():
        from booking.extensions import db

        clinician = add_clinician(db.session, hours=EVERY_DAY)
        tokens = [add_intake(db.session, app.config)[1] for _ in range(THREADS)]
    slot = first_free(app, clinician)
    clients = []
    for token in tokens:
        client = app.test_client()
        assert client.get(f"/book/start/{token}").status_code == 302
        clients.append(client)
    form = {"clinician": str(clinician), "start": slot_value(slot.starts_at), "name": "Racing Patient",
            "email": "race@example.org", "phone": "", "tz": ""}
    results = run_at_once([lambda c=c: c.post("/book/confirm", data=form) for c in clients])
    errors = [r for r in results if isinstance(r, BaseException)]
    assert errors == []
    codes = sorted(r.status_code for r in results)
    assert codes == [302] + [409] * (THREADS - 1)
    refusals = [r.get_data(as_text=True) for r in results if r.status_code == 409]
    assert all("That time was just taken" in page and "The nearest free times" in page for page in refusals)
    assert count_active(app) == 1


def test_32_reschedules_to_one_time_leave_one_booking_there(race_app):
    app = race_app
    with app.app_context():
        from booking.extensions import db

        clinician = add_clinician(db.session, hours=EVERY_DAY)
    target = first_free(app, clinician)
    tokens = []
    with app.app_context():
        from booking.extensions import db

        base = target.starts_at + timedelta(days=1)
        for n in range(THREADS):
            tokens.append(add_booking(db.session, clinician, base + timedelta(minutes=30 * n))[1])
    clients = [app.test_client() for _ in tokens]
    data = {"start": slot_value(target.starts_at)}
    results = run_at_once([lambda c=c, t=t: c.post(f"/book/manage/{t}/reschedule", data=data)
                           for c, t in zip(clients, tokens)])
    assert [r for r in results if isinstance(r, BaseException)] == []
    assert sorted(r.status_code for r in results) == [302] + [409] * (THREADS - 1)
    assert all("That time was just taken" in r.get_data(as_text=True) for r in results if r.status_code == 409)
    assert count_active(app, starts_at=target.starts_at) == 1
    assert count_active(app) == THREADS  # nobody lost their booking


def test_double_click_on_confirm_books_once_and_shows_no_error(race_app):
    app = race_app
    with app.app_context():
        from booking.extensions import db

        clinician = add_clinician(db.session, hours=EVERY_DAY)
        _intake, token = add_intake(db.session, app.config)
    slot = first_free(app, clinician)
    client = app.test_client()
    client.get(f"/book/start/{token}")
    cookie = client.get_cookie("session").value
    twins = [app.test_client() for _ in range(2)]
    for twin in twins:  # the same browser session sending the form twice
        twin.set_cookie("session", cookie)
    form = {"clinician": str(clinician), "start": slot_value(slot.starts_at), "name": "Quick Clicker",
            "email": "click@example.org", "tz": ""}
    results = run_at_once([lambda c=c: c.post("/book/confirm", data=form) for c in twins])
    assert [r for r in results if isinstance(r, BaseException)] == []
    assert all(r.status_code in (200, 302, 409) for r in results)
    assert 302 in [r.status_code for r in results]
    assert count_active(app) == 1


def test_database_refuses_overlap_written_directly(app, db):
    clinician = add_clinician(db.session)
    start = utcnow().replace(microsecond=0) + timedelta(days=3)
    add_booking(db.session, clinician, start, buffer=10)
    with pytest.raises(sa.exc.IntegrityError):
        add_booking(db.session, clinician, start + timedelta(minutes=35))  # inside the buffer
    db.session.rollback()
    with pytest.raises(sa.exc.IntegrityError):
        add_booking(db.session, clinician, start)  # same start
    db.session.rollback()
    add_booking(db.session, clinician, start + timedelta(minutes=40))  # after the buffer
    add_booking(db.session, clinician, start, status="cancelled")  # cancelled rows hold nothing
    assert count_active(app) == 2


def test_postgres_exclusion_constraint_refuses_raw_sql_overlap(app, db):
    postgres_only()
    clinician = add_clinician(db.session)
    start = utcnow().replace(microsecond=0) + timedelta(days=3)
    add_booking(db.session, clinician, start)
    other_patient = make_patient(db.session).id
    db.session.commit()
    insert = sa.text(
        "INSERT INTO booking (clinician_id, starts_at, ends_at, busy_until, status, patient_id, "
        "manage_token_hash, sequence, source, created_at, updated_at) VALUES (:c, :s, :e, :e, 'booked', :p, "
        ":h, 0, 'phone', now(), now())")
    with pytest.raises(sa.exc.IntegrityError, match="booking_no_overlap"):
        with db.engine.begin() as connection:
            connection.execute(insert, {"c": clinician, "s": start + timedelta(minutes=10), "p": other_patient,
                                        "e": start + timedelta(minutes=40), "h": "f" * 64})
    assert count_active(app) == 1
