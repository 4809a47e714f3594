"""`flask backup` and `flask restore`: a copy taken while bookings are written restores whole.

Runs on SQLite (online backup API) and, with TEST_DATABASE_URL, on PostgreSQL (pg_dump).
"""

import threading
from datetime import time, timedelta

import pytest
import sqlalchemy as sa
from cryptography.fernet import Fernet

from booking import create_app
from booking.appointments.availability import clinic_day, local_instant
from booking.appointments.bookings import create_booking
from booking.appointments.schedule_version import read_plan_version, read_version
from booking.backups.copies import restore
from booking.config import normalise_database_url
from booking.crypto import cipher_for
from booking.extensions import db as _db
from booking.models import Booking, BookingEvent, Intake, OutboxMessage, StaffUser
from booking.timeutil import utcnow
from tests.booking_factories import ZONE, add_clinician, add_intake, context
from tests.conftest import POSTGRES, base_test_config
from tests.conftest import scratch_postgres_database
from tests.patient_factories import make_patient

EVERY_DAY = {day: [(time(0), time(23, 30))] for day in range(7)}
PLANTED = {"phq9_item_1": 2, "note": "planted answer for the restore check"}


@pytest.fixture
def empty_database_url(tmp_path):
    """The URL of a new, empty database (a second PostgreSQL database beside the test one)."""
    if not POSTGRES:
        yield f"sqlite:///{tmp_path / 'restored.sqlite'}"
        return
    with scratch_postgres_database("restore") as url:
        yield url


def seed_clinic(app):
    """A clinician open all day, a receptionist, and an intake holding the planted answer."""
    with app.app_context():
        clinician_id = add_clinician(_db.session, hours=EVERY_DAY)
        intake_id, _token = add_intake(_db.session, app.config)
        _db.session.get(Intake, intake_id).answers_encrypted = cipher_for(app.config).encrypt(PLANTED)
        _db.session.commit()
        from tests.factories import create_staff_user

        receptionist = create_staff_user(_db.session, "receptionist")
    return clinician_id, intake_id, receptionist.id


def keep_booking(app, clinician_id, actor_id, stop, booked):
    """Book one phone consultation after another (each with its email) until `stop` is set."""
    with app.app_context():
        actor = _db.session.get(StaffUser, actor_id)
        # Every half hour from midnight three clinic days ahead; the day's last start is 23:00
        # (hours end at 23:30), so the next one is the following midnight: the writer never runs
        # off the grid, whatever the time of day the test runs at.
        day = clinic_day(utcnow(), ZONE) + timedelta(days=3)
        start = local_instant(day, time(0), ZONE)
        while not stop.is_set():
            if start >= local_instant(day, time(23, 30), ZONE):
                day += timedelta(days=1)
                start = local_instant(day, time(0), ZONE)
            create_booking(_db.session, context(utcnow()), clinician_id=clinician_id, starts_at=start,
                           patient_id=make_patient(_db.session, name="Phone Patient", email="phone@example.org").id,
                           link_for=lambda token: f"https://clinic.example/book/manage/{token}", source="phone",
                           actor=actor)
            _db.session.commit()
            booked.append(start)
            start += timedelta(minutes=30)


def table_rows(engine):
    """{table name: {primary key: row}} for every table the models know."""
    found = {}
    with engine.connect() as connection:
        for table in _db.metadata.sorted_tables:
            key = [column.name for column in table.primary_key.columns]
            found[table.name] = {tuple(row._mapping[k] for k in key): tuple(row)
                                 for row in connection.execute(sa.select(table))}
    return found


def restored_app(url, tmp_path, **overrides):
    return create_app(base_test_config(tmp_path, SQLALCHEMY_DATABASE_URI=normalise_database_url(url), **overrides))


def test_a_backup_taken_during_bookings_restores_every_table(app, tmp_path, empty_database_url):
    clinician_id, intake_id, actor_id = seed_clinic(app)
    stop, booked = threading.Event(), []
    writer = threading.Thread(target=keep_booking, args=(app, clinician_id, actor_id, stop, booked))
    writer.start()
    try:
        while len(booked) < 5 and writer.is_alive():
            stop.wait(0.05)
        backup_file = tmp_path / "clinic.backup"
        result = app.test_cli_runner().invoke(args=["backup", str(backup_file)])
        after = len(booked)
        while len(booked) < after + 3 and writer.is_alive():  # bookings go on after the copy
            stop.wait(0.05)
        assert writer.is_alive(), "the booking writer stopped (see its exception above)"
    finally:
        stop.set()
        writer.join(timeout=60)
    assert result.exit_code == 0, result.output
    with app.app_context():
        source = table_rows(_db.engine)
        source_version = read_version(_db.session)

    target = restored_app(empty_database_url, tmp_path)
    result = target.test_cli_runner().invoke(args=["restore", str(backup_file)])
    assert result.exit_code == 0, result.output
    with target.app_context():
        copy = table_rows(_db.engine)
        restored_version = read_version(_db.session)
        answers = cipher_for(target.config).decrypt(_db.session.get(Intake, intake_id).answers_encrypted)
        bookings = _db.session.scalars(sa.select(Booking.id)).all()
        events = set(_db.session.scalars(sa.select(BookingEvent.booking_id)))
        emailed = set(_db.session.scalars(sa.select(OutboxMessage.booking_id)))
        _db.engine.dispose()
    assert answers == PLANTED
    # A snapshot: every table holds exactly the source's rows up to the last one it kept.
    for name, rows in source.items():
        if name == "schedule_version":
            continue
        kept = copy[name]
        newest = max(kept, default=())
        assert kept == {key: row for key, row in rows.items() if key <= newest}, name
    assert 5 <= len(bookings) <= len(booked)
    # Nothing half-written: each restored booking kept its history event and its email.
    assert set(bookings) == events == emailed
    assert restored_version > source_version


def test_a_restore_with_the_wrong_keys_is_refused_and_undone(app, tmp_path, empty_database_url):
    seed_clinic(app)
    backup_file = tmp_path / "clinic.backup"
    assert app.test_cli_runner().invoke(args=["backup", str(backup_file)]).exit_code == 0
    with app.app_context():
        _db.engine.dispose()
    stranger = restored_app(empty_database_url, tmp_path, INTAKE_ENCRYPTION_KEYS=[Fernet.generate_key().decode()])
    result = stranger.test_cli_runner().invoke(args=["restore", str(backup_file)])
    assert result.exit_code != 0
    assert "cannot read the intakes" in result.output
    with stranger.app_context():
        assert sa.inspect(_db.engine).get_table_names() == []
        _db.engine.dispose()


def test_a_restore_into_a_database_in_use_is_refused(app, tmp_path):
    seed_clinic(app)
    backup_file = tmp_path / "clinic.backup"
    runner = app.test_cli_runner()
    assert runner.invoke(args=["backup", str(backup_file)]).exit_code == 0
    with app.app_context():
        before = _db.session.scalar(sa.select(sa.func.count()).select_from(Intake))
    result = runner.invoke(args=["restore", str(backup_file)])
    assert result.exit_code != 0 and "not empty" in result.output
    with app.app_context():
        assert _db.session.scalar(sa.select(sa.func.count()).select_from(Intake)) == before
    # ...and a backup never overwrites an older one.
    again = runner.invoke(args=["backup", str(backup_file)])
    assert again.exit_code != 0 and "exists already" in again.output


def test_each_restore_starts_the_schedule_version_past_the_last(app, tmp_path, empty_database_url):
    """Two restores of one backup, the first one bumped since: the second never repeats a number."""
    seed_clinic(app)
    backup_file = tmp_path / "clinic.backup"
    assert app.test_cli_runner().invoke(args=["backup", str(backup_file)]).exit_code == 0
    target = restored_app(empty_database_url, tmp_path)
    cipher = cipher_for(target.config)
    with target.app_context():
        restore(_db.engine, str(backup_file), cipher, clock=lambda: 1_800_000_000_000_000_000)
        first = read_version(_db.session)
        assert read_plan_version(_db.session) == first  # the confirm page's cache is keyed by it
        _db.session.remove()
        from booking.backups.copies import empty_database

        empty_database(_db.engine)
        restore(_db.engine, str(backup_file), cipher, clock=lambda: 1_800_000_001_000_000_000)
        second = read_version(_db.session)
        _db.session.remove()
        _db.engine.dispose()
    assert first == 1_800_000_000_000_000
    assert second == first + 1_000_000
