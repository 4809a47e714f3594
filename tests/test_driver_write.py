"""extensions.DriverWrite and DriverRead.first_on: a booking's own statements run on the driver's
cursor of the session's connection, inside its transaction, with values stored and read as
SQLAlchemy's own execution would store and read them."""

from datetime import datetime, timedelta, timezone

import pytest
import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from booking import write_queue
from booking.config import normalise_database_url
from booking.extensions import DriverRead, DriverWrite
from booking.timeutil import UTCDateTime
from tests.conftest import POSTGRES, TEST_DATABASE_URL, sqlite_only

metadata = sa.MetaData()
things = sa.Table("driver_write_things", metadata, sa.Column("id", sa.Integer, primary_key=True),
                  sa.Column("name", sa.Text, unique=True), sa.Column("at", UTCDateTime))
defaulted = sa.Table("driver_write_defaulted", metadata, sa.Column("id", sa.Integer, primary_key=True),
                     sa.Column("name", sa.Text, default="unnamed"))

INSERT = DriverWrite(things.insert(), returning=things.c.id)
RENAME = DriverWrite(sa.update(things).where(things.c.name == sa.bindparam("old")).values(name=sa.bindparam("new")))
READ = DriverRead(sa.select(things.c.id, things.c.name, things.c.at).where(things.c.id == sa.bindparam("thing_id")))
AFTER = DriverRead(sa.select(things.c.id).where(things.c.at > sa.bindparam("since")).order_by(things.c.id))

# 12:00 UTC, given in New York's winter offset: stored as the column stores it (naive UTC).
NOON = datetime(2026, 12, 7, 7, 0, tzinfo=timezone(timedelta(hours=-5)))


@pytest.fixture
def engine(tmp_path):
    """This pass's database, with the two tables."""
    url = normalise_database_url(TEST_DATABASE_URL) if POSTGRES else f"sqlite:///{tmp_path}/write.sqlite"
    engine = sa.create_engine(url)
    metadata.drop_all(engine)
    metadata.create_all(engine)
    yield engine
    metadata.drop_all(engine)
    engine.dispose()


def _stored(engine, thing_id):
    """The row as the database holds it, read by the driver alone (on SQLite, the text of `at`)."""
    with engine.connect() as connection:
        return connection.exec_driver_sql(f"SELECT name, at FROM driver_write_things WHERE id = {int(thing_id)}").one()


def test_an_insert_returns_the_new_rows_id_and_stores_each_value_as_sqlalchemy_does(engine):
    with engine.begin() as connection:
        orm_id = connection.execute(things.insert().values(name="sqlalchemy", at=NOON)).inserted_primary_key[0]
        driver_id = INSERT.execute(connection, {"name": "driver", "at": NOON})
    assert driver_id != orm_id and _stored(engine, driver_id).name == "driver"
    # Text on SQLite, compared as text by range checks and triggers: the same form, to the microsecond.
    assert _stored(engine, driver_id).at == _stored(engine, orm_id).at
    if not POSTGRES:
        assert _stored(engine, driver_id).at == "2026-12-07 12:00:00.000000"


def test_the_writes_are_the_connections_transaction_rolled_back_with_it(engine):
    with engine.connect() as connection:
        with connection.begin() as transaction:
            thing_id = INSERT.execute(connection, {"name": "kept?", "at": NOON})
            assert READ.first_on(connection, thing_id=thing_id)[1] == "kept?"  # seen inside it
            transaction.rollback()
    with engine.connect() as connection:
        assert READ.first_on(connection, thing_id=thing_id) is None


def test_an_update_returns_how_many_rows_it_changed(engine):
    with engine.begin() as connection:
        INSERT.execute(connection, {"name": "a", "at": NOON})
        assert RENAME.execute(connection, {"old": "a", "new": "b"}) == 1
        assert RENAME.execute(connection, {"old": "a", "new": "c"}) == 0


def test_executemany_writes_every_row_in_one_statement_that_listeners_see(engine):
    seen = []
    sa.event.listen(engine, "before_cursor_execute", lambda _c, _cur, statement, *_rest: seen.append(statement))
    with engine.begin() as connection:
        INSERT.executemany(connection, [{"name": "one", "at": NOON}, {"name": "two", "at": NOON + timedelta(hours=1)}])
        INSERT.executemany(connection, [])
    assert len(seen) == 1 and seen[0].startswith("INSERT INTO driver_write_things")
    with engine.connect() as connection:
        assert [row.name for row in connection.execute(sa.select(things.c.name).order_by(things.c.at))] == \
            ["one", "two"]


def test_a_refusal_is_sqlalchemys_integrity_error_and_the_transaction_can_roll_back(engine):
    with engine.connect() as connection:
        connection.begin()
        INSERT.execute(connection, {"name": "twice", "at": NOON})
        with pytest.raises(IntegrityError, match="driver_write_things"):
            INSERT.execute(connection, {"name": "twice", "at": NOON})
        connection.rollback()
        with connection.begin():
            assert INSERT.execute(connection, {"name": "twice", "at": NOON}) is not None


def test_a_statement_that_needs_python_side_defaults_is_refused_not_written_without_them(engine):
    with engine.begin() as connection, pytest.raises(ValueError, match="Python-side column defaults"):
        DriverWrite(defaulted.insert()).execute(connection, {"id": 1})


def test_first_on_gives_each_value_through_its_column_type(engine):
    with engine.begin() as connection:
        thing_id = INSERT.execute(connection, {"name": "typed", "at": NOON})
        row = READ.first_on(connection, thing_id=thing_id)
    assert row == (thing_id, "typed", NOON)
    assert row[2].tzinfo is not None and row[2].utcoffset() == timedelta(0)  # aware UTC, as the ORM gives it


def test_a_bound_time_compares_as_the_stored_one_to_the_microsecond(engine):
    # `at > :since` with `since` the row's own time: on SQLite both are text, and a bound
    # "12:00:00" (the driver's own form of a whole second) sorts before the stored
    # "12:00:00.000000", so the row would be found after itself. The rows are written by
    # SQLAlchemy's own execution: what is tested is DriverRead's binding.
    with engine.begin() as connection:
        connection.execute(things.insert().values(name="at noon", at=NOON))
        later = connection.execute(things.insert().values(name="a second later", at=NOON + timedelta(seconds=1))
                                   ).inserted_primary_key[0]
    with engine.connect() as connection:
        assert [row[0] for batch in AFTER.batches(connection, 10, since=NOON) for row in batch] == [later]


def test_sqlite_a_write_takes_the_write_queues_turn_until_the_commit(tmp_path):
    sqlite_only()
    engine = sa.create_engine(f"sqlite:///{tmp_path}/queued.sqlite")
    metadata.create_all(engine)
    queue = write_queue.install(engine, wait_seconds=0.5)
    try:
        with engine.connect() as connection:
            with connection.begin():
                assert not queue.held()
                INSERT.execute(connection, {"name": "queued", "at": NOON})
                assert queue.held()
            assert not queue.held()
    finally:
        engine.dispose()
