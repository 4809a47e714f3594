"""The database's own guards, on a schema built by `flask db upgrade` (what production runs).

The behaviour tests elsewhere build their schema from the models; these check that the
migrations' triggers, exclusion constraint and partial indexes refuse what they must, and
let through what they must, on the engine of this run (SQLite, or TEST_DATABASE_URL).
"""

import contextlib
import shutil
from datetime import timedelta

import pytest
import sqlalchemy as sa
from flask_migrate import upgrade

from booking import create_app
from booking.extensions import db as _db
from booking.models import AuditEvent, Booking
from tests.booking_factories import add_booking, add_intake, utc
from tests.conftest import POSTGRES, base_test_config, scratch_postgres_database
from tests.factories import create_staff_user

NINE = utc(2030, 6, 3, 13, 0)  # any instant: the guards do not care about "now"


@pytest.fixture(scope="session")
def migrated_url(tmp_path_factory, postgres_ready):
    """A database built once per run by the migrations: a SQLite file, or a PostgreSQL database
    named after the test database (so parallel runs on other databases never clash)."""
    folder = tmp_path_factory.mktemp("migrated")
    with contextlib.ExitStack() as stack:
        target = (stack.enter_context(scratch_postgres_database("guards")) if POSTGRES
                  else f"sqlite:///{folder / 'migrated.sqlite'}")
        app = create_app(base_test_config(folder, SQLALCHEMY_DATABASE_URI=target))
        with app.app_context():
            upgrade()
            _db.engine.dispose()
        yield target


@pytest.fixture
def migrated(migrated_url, tmp_path):
    """An app context on an empty copy of the migrated database."""
    if POSTGRES:
        url = migrated_url
    else:
        shutil.copy(migrated_url.removeprefix("sqlite:///"), tmp_path / "copy.sqlite")
        url = f"sqlite:///{tmp_path / 'copy.sqlite'}"
    app = create_app(base_test_config(tmp_path, SQLALCHEMY_DATABASE_URI=url))
    with app.app_context():
        if POSTGRES:
            names = ", ".join(f'"{t.name}"' for t in _db.metadata.sorted_tables if t.name != "schedule_version")
            with _db.engine.begin() as connection:
                connection.execute(sa.text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))
        yield app
        _db.session.remove()
        _db.engine.dispose()


def refused(action):
    """True if the database refuses `action` (the session is rolled back either way)."""
    try:
        action()
    except sa.exc.DBAPIError:
        _db.session.rollback()
        return True
    return False


def clinician(app):
    return create_staff_user(_db.session, "clinician").id


def test_overlapping_bookings_of_one_clinician_are_refused(migrated):
    first = clinician(migrated)
    add_booking(_db.session, first, NINE, minutes=60)
    # Starts inside the first (different start time, so only the overlap guard can refuse it).
    assert refused(lambda: add_booking(_db.session, first, NINE + timedelta(minutes=30)))
    # Wraps the first entirely.
    assert refused(lambda: add_booking(_db.session, first, NINE - timedelta(minutes=30), minutes=120))
    # Ends one minute into the first.
    assert refused(lambda: add_booking(_db.session, first, NINE - timedelta(minutes=29)))
    assert _db.session.scalar(sa.select(sa.func.count()).select_from(Booking)) == 1


def test_touching_bookings_other_clinicians_and_cancelled_ones_are_allowed(migrated):
    first, second = clinician(migrated), clinician(migrated)
    add_booking(_db.session, first, NINE)
    assert not refused(lambda: add_booking(_db.session, first, NINE + timedelta(minutes=30)))  # ends == starts
    assert not refused(lambda: add_booking(_db.session, first, NINE - timedelta(minutes=30)))
    assert not refused(lambda: add_booking(_db.session, second, NINE))
    assert not refused(lambda: add_booking(_db.session, first, NINE, status="cancelled"))


def test_the_buffer_after_a_booking_is_guarded_too(migrated):
    first = clinician(migrated)
    add_booking(_db.session, first, NINE, buffer=15)  # busy until 9:45
    assert refused(lambda: add_booking(_db.session, first, NINE + timedelta(minutes=40)))
    assert not refused(lambda: add_booking(_db.session, first, NINE + timedelta(minutes=45)))


def test_moving_or_reviving_a_booking_onto_another_is_refused(migrated):
    first = clinician(migrated)
    add_booking(_db.session, first, NINE)
    later_id, _ = add_booking(_db.session, first, NINE + timedelta(hours=2))
    cancelled_id, _ = add_booking(_db.session, first, NINE, status="cancelled")

    def move():
        booking = _db.session.get(Booking, later_id)
        booking.starts_at, booking.ends_at = NINE + timedelta(minutes=15), NINE + timedelta(minutes=45)
        booking.busy_until = booking.ends_at
        _db.session.commit()

    def revive():
        _db.session.get(Booking, cancelled_id).status = "booked"
        _db.session.commit()

    assert refused(move)
    assert refused(revive)
    assert _db.session.get(Booking, later_id).starts_at == NINE + timedelta(hours=2)


def test_reviving_a_cancellation_of_a_patient_who_booked_again_is_refused(migrated):
    # An undone cancellation (issue 11) relies on this: the patient's one upcoming consultation.
    first = clinician(migrated)
    cancelled_id, _ = add_booking(_db.session, first, NINE, status="cancelled")
    patient_id = _db.session.get(Booking, cancelled_id).patient_id
    add_booking(_db.session, first, NINE + timedelta(days=1), patient_id=patient_id)

    def revive():
        _db.session.get(Booking, cancelled_id).status = "booked"
        _db.session.commit()

    assert refused(revive)
    assert _db.session.get(Booking, cancelled_id).status == "cancelled"


def test_one_active_booking_per_intake(migrated):
    first = clinician(migrated)
    intake_id, _ = add_intake(_db.session, migrated.config)
    add_booking(_db.session, first, NINE, intake_id=intake_id, status="cancelled")
    add_booking(_db.session, first, NINE + timedelta(hours=1), intake_id=intake_id)
    assert refused(lambda: add_booking(_db.session, first, NINE + timedelta(hours=3), intake_id=intake_id))
    other_intake, _ = add_intake(_db.session, migrated.config)
    assert not refused(lambda: add_booking(_db.session, first, NINE + timedelta(hours=3), intake_id=other_intake))


def test_one_active_booking_per_clinician_and_start(migrated):
    first = clinician(migrated)
    add_booking(_db.session, first, NINE, status="cancelled")
    add_booking(_db.session, first, NINE)
    assert refused(lambda: add_booking(_db.session, first, NINE))


def test_the_audit_log_cannot_be_changed_or_emptied(migrated):
    _db.session.add(AuditEvent(action="sign_in", detail="kept"))
    _db.session.commit()

    def change():
        _db.session.execute(sa.update(AuditEvent).values(detail="rewritten"))
        _db.session.commit()

    def remove():
        _db.session.execute(sa.delete(AuditEvent))
        _db.session.commit()

    assert refused(change)
    assert refused(remove)
    assert _db.session.scalars(sa.select(AuditEvent.detail)).all() == ["kept"]
