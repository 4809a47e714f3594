"""SQLite's booking overlap guard, on the schema `flask db upgrade` builds: it refuses every overlap
of active bookings, lets a booking change itself, and reads one booking however long the
clinician's history (revision 0019; PostgreSQL's exclusion constraint has its own tests)."""

from datetime import datetime, timedelta

import pytest
import sqlalchemy as sa

from booking.extensions import db
from tests.booking_factories import add_clinician
from tests.patient_factories import make_patient
from tests.test_migrations import migrated_app

NINE = datetime(2031, 3, 3, 9, 0)  # UTC; far enough ahead that no rule but the guard applies
INSERT = sa.text(
    "INSERT INTO booking (clinician_id, starts_at, ends_at, busy_until, status, patient_id, manage_token_hash, "
    "sequence, source, created_at, updated_at) VALUES (:clinician, :starts, :busy, :busy, :status, :patient, "
    ":token, 0, 'phone', :starts, :starts)")


@pytest.fixture
def guarded(tmp_path):
    """(app, clinician id, patient id) on a migrated SQLite database."""
    app = migrated_app(f"sqlite:///{tmp_path / 'guard.sqlite'}", tmp_path)
    with app.app_context():
        clinician = add_clinician(db.session)
        patient = make_patient(db.session).id
        db.session.commit()
    yield app, clinician, patient
    with app.app_context():
        db.engine.dispose()


def book(app, clinician, patient, starts_minutes, busy_minutes, status="completed"):
    """INSERT a booking from NINE + `starts_minutes` busy until NINE + `busy_minutes`; its id, or
    False when the database refuses it. ("completed" holds time as "booked" does, and a patient
    may have any number of them.)"""
    starts, busy = NINE + timedelta(minutes=starts_minutes), NINE + timedelta(minutes=busy_minutes)
    try:
        with app.app_context(), db.engine.begin() as connection:
            return connection.execute(INSERT, {
                "clinician": clinician, "starts": starts, "busy": busy, "status": status, "patient": patient,
                "token": f"{clinician}:{starts_minutes}:{busy_minutes}:{status}".ljust(64, "x")}).lastrowid
    except sa.exc.IntegrityError as error:
        assert "booking_no_overlap" in str(error.orig)
        return False


def test_the_migrated_guard_is_the_models_guard(guarded, tmp_path):
    app, _clinician, _patient = guarded
    from booking import create_app
    from tests.conftest import base_test_config

    built = create_app(base_test_config(tmp_path / "built", SQLALCHEMY_DATABASE_URI=f"sqlite:///{tmp_path}/b.sqlite"))
    triggers = "SELECT name, sql FROM sqlite_master WHERE type = 'trigger' AND name LIKE 'booking_no_overlap%'"
    with built.app_context():
        db.create_all()
        by_models = dict(db.session.execute(sa.text(triggers)).all())
        db.engine.dispose()
    with app.app_context():
        assert dict(db.session.execute(sa.text(triggers)).all()) == by_models


def test_every_overlap_of_active_bookings_is_refused_and_touching_is_not(guarded):
    app, clinician, patient = guarded
    assert book(app, clinician, patient, 0, 60)  # 9:00-10:00
    assert book(app, clinician, patient, 10, 20, status="cancelled")  # holds nothing, and starts later
    assert not book(app, clinician, patient, 0, 15)  # the same start
    # Inside the 9:00 booking: the last active booking to start before 9:40 is still the 9:00 one,
    # whichever cancelled row starts in between.
    assert not book(app, clinician, patient, 30, 40)
    assert book(app, clinician, patient, 120, 150)  # 11:00-11:30
    assert not book(app, clinician, patient, 110, 160)  # around 11:00-11:30
    assert not book(app, clinician, patient, 50, 70)  # over the end of 9:00-10:00
    assert book(app, clinician, patient, 60, 120)  # 10:00-11:00: touching both neighbours
    assert book(app, clinician, patient, 30, 40, status="cancelled")  # a cancelled row may overlap anything
    other = add_other_clinician(app)
    assert book(app, other, patient, 0, 60)  # another clinician's time


def add_other_clinician(app):
    """A second clinician's id."""
    with app.app_context():
        clinician = add_clinician(db.session)
        db.session.commit()
        return clinician


def test_a_booking_may_change_its_own_time_but_not_into_another(guarded):
    app, clinician, patient = guarded
    own = book(app, clinician, patient, 0, 30)
    book(app, clinician, patient, 60, 90)
    move = sa.text("UPDATE booking SET starts_at = :starts, busy_until = :busy, ends_at = :busy WHERE id = :id")
    with app.app_context(), db.engine.begin() as connection:  # longer, over its own old time
        connection.execute(move, {"id": own, "starts": NINE + timedelta(minutes=10),
                                  "busy": NINE + timedelta(minutes=50)})
    with app.app_context(), pytest.raises(sa.exc.IntegrityError, match="booking_no_overlap"), \
            db.engine.begin() as connection:  # into 10:00-10:30
        connection.execute(move, {"id": own, "starts": NINE + timedelta(minutes=40),
                                  "busy": NINE + timedelta(minutes=70)})


def steps(connection, work):
    """SQLite virtual machine steps `work()` takes on `connection` (a SQLAlchemy Connection)."""
    taken = []

    def step():
        taken.append(1)
        return 0  # go on

    driver = connection.connection.dbapi_connection
    driver.set_progress_handler(step, 1)
    try:
        work()
    finally:
        driver.set_progress_handler(None, 1)
    return len(taken)


def steps_to_book(app, clinician, patient, starts_minutes):
    """SQLite virtual machine steps (its own work, not time) to INSERT one booking at NINE + `starts_minutes`."""
    starts = NINE + timedelta(minutes=starts_minutes)
    with app.app_context(), db.engine.connect() as connection:
        count = steps(connection, lambda: connection.execute(INSERT, {
            "clinician": clinician, "starts": starts, "busy": starts + timedelta(minutes=30), "status": "completed",
            "patient": patient, "token": "s" * 64}))
        connection.rollback()
    return count


def test_the_guard_reads_one_booking_however_long_the_history(guarded):
    # A year of a clinician's consultations made every INSERT scan all of them: the check's
    # work grew with the history. Here 40 and then 1,000 earlier bookings.
    app, clinician, patient = guarded
    rows = [{"clinician": clinician, "starts": NINE - timedelta(hours=n), "status": "completed",
             "busy": NINE - timedelta(hours=n, minutes=-40), "patient": patient, "token": f"{n:064d}"}
            for n in range(1, 1001)]
    with app.app_context(), db.engine.begin() as connection:
        connection.execute(INSERT, rows[:40])
    few = steps_to_book(app, clinician, patient, 0)
    with app.app_context(), db.engine.begin() as connection:
        connection.execute(INSERT, rows[40:])
    many = steps_to_book(app, clinician, patient, 0)
    assert many < few * 1.2, (few, many)
