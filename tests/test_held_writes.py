"""DriverWrite.hold (booking.held_writes): on PostgreSQL a write whose result nobody needs waits on
its connection and goes to the server with the next statement or the COMMIT, in one round trip;
the server still runs everything in the program's order, and a rollback drops it. On SQLite it
runs at once."""

import pytest
import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from booking.appointments.bookings import create_booking, note_event
from booking.appointments.schedule_version import read_version
from booking.config import normalise_database_url
from booking.extensions import DriverWrite, hold_writes
from booking.models import BookingEvent, OutboxMessage, ScheduleVersion, StaffUser
from tests.booking_factories import add_clinician, context, utc
from tests.conftest import POSTGRES, TEST_DATABASE_URL, postgres_only, sqlite_only
from tests.outbox_helpers import recipient_of
from tests.patient_factories import make_patient

metadata = sa.MetaData()
counters = sa.Table("held_write_counters", metadata, sa.Column("id", sa.Integer, primary_key=True),
                    sa.Column("value", sa.Integer, nullable=False))
notes = sa.Table("held_write_notes", metadata, sa.Column("id", sa.Integer, primary_key=True),
                 sa.Column("counter_id", sa.ForeignKey("held_write_counters.id"), nullable=False),
                 sa.Column("text", sa.Text, nullable=False))

ADD_ONE = DriverWrite(sa.update(counters).where(counters.c.id == sa.bindparam("counter_id"))
                      .values(value=counters.c.value + 1))
NOTE = DriverWrite(notes.insert())


@pytest.fixture
def engine(tmp_path):
    """This pass's database with counter 1 at 0; writes may be held on PostgreSQL, as in the app."""
    url = normalise_database_url(TEST_DATABASE_URL) if POSTGRES else f"sqlite:///{tmp_path}/held.sqlite"
    engine = sa.create_engine(url)
    hold_writes(engine)
    metadata.drop_all(engine)
    metadata.create_all(engine)
    with engine.begin() as connection:
        connection.execute(counters.insert().values(id=1, value=0))
    yield engine
    metadata.drop_all(engine)
    engine.dispose()


def _value(engine):
    """Counter 1's committed value, read on a connection of its own."""
    with engine.connect() as connection:
        return connection.scalar(sa.select(counters.c.value).where(counters.c.id == 1))


def _driver_value(connection, sql):
    """The first value `sql` reads as the server has it in `connection`'s transaction, asked on the
    driver's own cursor (past the dialect, which would send what is held first)."""
    cursor = connection.connection.dbapi_connection.cursor()
    try:
        cursor.execute(sql)
        return cursor.fetchone()[0]
    finally:
        cursor.close()


def _driver_count(connection):
    """Counter 1's value as the server has it in `connection`'s transaction (_driver_value)."""
    return _driver_value(connection, "SELECT value FROM held_write_counters WHERE id = 1")


def test_a_held_write_reaches_postgresql_with_the_commit_and_is_committed(engine):
    postgres_only()
    with engine.connect() as connection:
        connection.begin()
        ADD_ONE.hold(connection, {"counter_id": 1})
        NOTE.hold_many(connection, [{"counter_id": 1, "text": "first"}, {"counter_id": 1, "text": "second"}])
        assert _driver_count(connection) == 0  # not sent yet
        connection.commit()
    assert _value(engine) == 1
    with engine.connect() as connection:
        assert connection.scalars(sa.select(notes.c.text).order_by(notes.c.id)).all() == ["first", "second"]


def test_a_held_update_locks_its_row_only_when_it_is_sent(engine):
    postgres_only()
    with engine.connect() as connection:
        connection.begin()
        ADD_ONE.hold(connection, {"counter_id": 1})
        with engine.connect() as other:  # the row is free until the COMMIT's round trip
            locked = other.execute(sa.select(counters.c.value).where(counters.c.id == 1).with_for_update(nowait=True))
            assert locked.scalar() == 0
            other.rollback()
        connection.commit()
    assert _value(engine) == 1


def test_the_next_statement_on_the_connection_sends_what_is_held_first(engine):
    postgres_only()
    with engine.connect() as connection:
        connection.begin()
        ADD_ONE.hold(connection, {"counter_id": 1})
        ADD_ONE.hold(connection, {"counter_id": 1})
        # Through SQLAlchemy (the dialect's execute): the server runs the held UPDATEs before the read.
        assert connection.scalar(sa.select(counters.c.value).where(counters.c.id == 1)) == 2
        assert _driver_count(connection) == 2
        connection.rollback()
    assert _value(engine) == 0


def test_a_rollback_drops_what_is_held_and_the_next_transaction_commits_only_its_own(engine):
    postgres_only()
    with engine.connect() as connection:
        connection.begin()
        ADD_ONE.hold(connection, {"counter_id": 1})
        connection.rollback()
        connection.begin()
        NOTE.hold(connection, {"counter_id": 1, "text": "after the rollback"})
        connection.commit()
    assert _value(engine) == 0
    with engine.connect() as connection:
        assert connection.scalars(sa.select(notes.c.text)).all() == ["after the rollback"]


def test_a_held_write_in_a_savepoint_rolled_back_is_undone_with_it(engine):
    postgres_only()
    with engine.connect() as connection:
        connection.begin()
        NOTE.hold(connection, {"counter_id": 1, "text": "kept"})
        savepoint = connection.begin_nested()
        ADD_ONE.hold(connection, {"counter_id": 1})
        savepoint.rollback()  # ROLLBACK TO SAVEPOINT: the UPDATE is sent before it, and undone by it
        connection.commit()
    assert _value(engine) == 0
    with engine.connect() as connection:
        assert connection.scalars(sa.select(notes.c.text)).all() == ["kept"]


def test_a_held_writes_error_is_raised_by_the_commit_as_sqlalchemys_and_nothing_is_committed(engine):
    postgres_only()
    with engine.connect() as connection:
        connection.begin()
        ADD_ONE.execute(connection, {"counter_id": 1})  # sent at once
        NOTE.hold(connection, {"counter_id": 99, "text": "no such counter"})  # refused by the foreign key
        with pytest.raises(IntegrityError):
            connection.commit()
        connection.rollback()
        assert _driver_count(connection) == 0  # the connection is usable again
    assert _value(engine) == 0


def test_statement_listeners_see_a_held_write_when_it_is_held(engine):
    seen = []
    sa.event.listen(engine, "before_cursor_execute", lambda _c, _cur, statement, *_rest: seen.append(statement))
    with engine.connect() as connection:
        connection.begin()
        ADD_ONE.hold(connection, {"counter_id": 1})
        assert [statement.split()[0] for statement in seen] == ["UPDATE"]
        connection.commit()
    assert _value(engine) == 1


def test_on_sqlite_a_held_write_runs_at_once(engine):
    sqlite_only()
    with engine.connect() as connection:
        connection.begin()
        ADD_ONE.hold(connection, {"counter_id": 1})
        assert _driver_count(connection) == 1
        connection.commit()
    assert _value(engine) == 1


def test_a_bookings_writes_after_its_insert_go_to_postgresql_with_its_commit(db):
    postgres_only()
    clinician_id = add_clinician(db.session, name="Dr Priya Patel")
    clinician_email = db.session.get(StaffUser, clinician_id).email
    patient_id = make_patient(db.session, name="Jordan Rivers", email="jordan@patient.example").id
    db.session.commit()
    version = read_version(db.session)
    db.session.commit()
    booking, _token = create_booking(db.session, context(utc(2030, 6, 3, 12)), clinician_id=clinician_id,
                                     starts_at=utc(2030, 6, 4, 14), patient_id=patient_id,
                                     link_for=lambda token: "http://127.0.0.1:5000/book/manage/token")
    booking_id = booking.id
    connection = db.session.connection()
    # The server has the booking's row (its id came back), not yet its history line or its emails.
    assert _driver_value(connection, f"SELECT count(*) FROM booking WHERE id = {booking_id}") == 1
    assert _driver_value(connection, f"SELECT count(*) FROM booking_event WHERE booking_id = {booking_id}") == 0
    assert _driver_value(connection, f"SELECT count(*) FROM outbox_message WHERE booking_id = {booking_id}") == 0
    unlocked = []

    def version_row_free(_connection):
        """Just before the COMMIT, after the version's bump: is the version's row still free to lock?"""
        with db.engine.connect() as other:
            other.execute(sa.select(ScheduleVersion.version).where(ScheduleVersion.id == 1)
                          .with_for_update(nowait=True))  # raises if the bump had been sent
            other.rollback()
        unlocked.append(True)

    sa.event.listen(db.engine, "commit", version_row_free)
    try:
        db.session.commit()
    finally:
        sa.event.remove(db.engine, "commit", version_row_free)
    assert unlocked == [True]  # the bump went with the COMMIT, in its round trip
    assert read_version(db.session) == version + 1
    assert db.session.scalars(sa.select(BookingEvent.kind).where(BookingEvent.booking_id == booking_id)).all() == [
        "created"]
    emails = db.session.scalars(sa.select(OutboxMessage).where(OutboxMessage.booking_id == booking_id)
                                .order_by(OutboxMessage.id)).all()
    assert [recipient_of(row) for row in emails] == ["jordan@patient.example", clinician_email]


def test_a_history_line_goes_to_postgresql_with_the_next_statement_not_on_its_own(db):
    # Every change's history line (a cancellation's, a move's, a status's) is noted this way:
    # nothing reads its id, so it costs no round trip of its own.
    postgres_only()
    clinician_id = add_clinician(db.session, name="Dr Priya Patel")
    patient_id = make_patient(db.session, name="Jordan Rivers", email="jordan@patient.example").id
    booking, _token = create_booking(db.session, context(utc(2030, 6, 3, 12)), clinician_id=clinician_id,
                                     starts_at=utc(2030, 6, 4, 14), patient_id=patient_id,
                                     link_for=lambda token: "http://127.0.0.1:5000/book/manage/token")
    db.session.commit()
    booking_id = booking.id
    count = f"SELECT count(*) FROM booking_event WHERE booking_id = {booking_id}"
    note_event(db.session, booking_id, at=utc(2030, 6, 3, 13), kind="cancelled", detail="by the patient")
    assert _driver_value(db.session.connection(), count) == 1  # only "created": the line waits
    db.session.commit()
    assert db.session.scalars(sa.select(BookingEvent.kind).where(BookingEvent.booking_id == booking_id)
                              .order_by(BookingEvent.id)).all() == ["created", "cancelled"]


def test_a_postgresql_driver_without_pipelines_runs_a_held_write_at_once(monkeypatch):
    postgres_only()
    import psycopg

    monkeypatch.setattr(psycopg.capabilities, "has_pipeline", lambda check=False: False)  # libpq older than 14
    engine = sa.create_engine(normalise_database_url(TEST_DATABASE_URL))
    hold_writes(engine)
    metadata.drop_all(engine)
    metadata.create_all(engine)
    try:
        with engine.connect() as connection:
            connection.execute(counters.insert().values(id=1, value=0))
            ADD_ONE.hold(connection, {"counter_id": 1})
            assert _driver_count(connection) == 1
            connection.commit()
        assert _value(engine) == 1
    finally:
        metadata.drop_all(engine)
        engine.dispose()
