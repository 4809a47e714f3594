"""extensions.DriverRead: the busiest page's one read, run on the pooled driver connection."""

import pytest
import sqlalchemy as sa
from sqlalchemy.exc import DBAPIError

from booking.config import normalise_database_url
from booking.extensions import DriverRead, add_read_pool, read_pool_of
from tests.conftest import POSTGRES, TEST_DATABASE_URL, postgres_only

metadata = sa.MetaData()
things = sa.Table("driver_read_things", metadata, sa.Column("id", sa.Integer, primary_key=True),
                  sa.Column("name", sa.Text))
READ = DriverRead(sa.select(things.c.name, sa.literal(7)).where(things.c.id == sa.bindparam("thing_id")))


@pytest.fixture
def engine(tmp_path):
    """One pooled connection (so every check sees the connection the read used), on this pass's database."""
    url = normalise_database_url(TEST_DATABASE_URL) if POSTGRES else f"sqlite:///{tmp_path}/read.sqlite"
    engine = sa.create_engine(url, pool_size=1, max_overflow=0)
    metadata.drop_all(engine)
    metadata.create_all(engine)
    with engine.begin() as connection:
        connection.execute(things.insert(), [{"id": 1, "name": "first"}, {"id": 2, "name": "second"}])
    yield engine
    metadata.drop_all(engine)
    engine.dispose()


def test_reads_the_row_with_the_statements_own_literals_and_returns_the_connection(engine):
    assert READ.first(engine, thing_id=2) == ("second", 7)
    assert READ.first(engine, thing_id=3) is None
    assert engine.pool.checkedout() == 0


def test_a_driver_error_is_sqlalchemys_own_and_the_connection_goes_back_to_the_pool(engine):
    things.drop(engine)
    with pytest.raises(DBAPIError, match="driver_read_things"):
        READ.first(engine, thing_id=1)
    assert engine.pool.checkedout() == 0
    things.create(engine)  # the connection still works
    assert READ.first(engine, thing_id=1) is None


def test_statement_listeners_see_the_read(engine):
    seen = []
    sa.event.listen(engine, "before_cursor_execute", lambda _c, _cur, statement, *_rest: seen.append(statement))
    assert READ.first(engine, thing_id=1) == ("first", 7)
    assert len(seen) == 1 and "FROM driver_read_things" in seen[0]
    assert engine.pool.checkedout() == 0


def test_postgresql_the_next_transaction_on_the_connection_is_a_transaction_again(engine):
    # The read runs in autocommit; the pooled connection must leave it, or the next request's
    # transaction would commit each statement as it went.
    postgres_only()
    READ.first(engine, thing_id=1)
    with engine.connect() as connection:
        assert connection.connection.dbapi_connection.autocommit is False
        connection.execute(things.insert().values(id=3, name="rolled back"))
        connection.rollback()
    assert READ.first(engine, thing_id=3) is None


READ_ON_READ_POOL = DriverRead(sa.select(things.c.name).where(things.c.id == sa.bindparam("thing_id")), read_pool=True)


def test_postgresql_a_read_pool_read_never_switches_the_apps_connections_and_closes_with_the_engine(
        engine, monkeypatch):
    # The week page's read runs on a pool of its own whose connections stay in autocommit: the app's
    # pool is not touched (no autocommit switch and back, no rollback), and disposing the app's
    # engine closes the read pool's connections too (tests and restarts leave none behind).
    postgres_only()
    read_engine = add_read_pool(engine, {"pool_size": 1, "max_overflow": 0})
    assert read_pool_of(engine) is read_engine
    switched, rolled_back = [], []
    monkeypatch.setattr(engine.dialect, "set_isolation_level", lambda *args: switched.append(args))
    engine.dispose()
    assert READ_ON_READ_POOL.first(engine, thing_id=2) == ("second",)
    # (Counted from here: SQLAlchemy's first connection rolls back once after reading the server's settings.)
    monkeypatch.setattr(read_engine.dialect, "do_rollback", lambda connection: rolled_back.append(connection))
    assert READ_ON_READ_POOL.first(engine, thing_id=1) == ("first",)
    assert switched == [] and engine.pool.checkedin() == 0  # the app's pool opened no connection
    assert rolled_back == []  # taken back without a rollback: it never holds a transaction
    assert read_engine.pool.checkedin() == 1 and read_engine.pool.checkedout() == 0
    with read_engine.connect() as connection:
        assert connection.connection.dbapi_connection.autocommit is True
    engine.dispose()
    assert read_engine.pool.checkedin() == 0


def test_a_read_pool_read_without_a_read_pool_runs_as_any_other(engine):
    # SQLite has none (its reads open no transaction); nor has an engine the app did not set up.
    assert read_pool_of(engine) is None
    assert READ_ON_READ_POOL.first(engine, thing_id=2) == ("second",)
    assert engine.pool.checkedout() == 0
