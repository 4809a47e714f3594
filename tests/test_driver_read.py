"""extensions.DriverRead: the busiest page's one read, run on the pooled driver connection, and
long reads (the CSV export) in batches on a connection's driver cursor."""

from datetime import datetime, timedelta, timezone

import os
import threading

import pytest
import sqlalchemy as sa
from sqlalchemy.exc import DBAPIError

from booking import extensions
from booking.config import normalise_database_url
from booking.extensions import DriverRead, add_read_pool, read_pool_of, single_write
from booking.timeutil import UTCDateTime, from_driver
from tests.conftest import POSTGRES, TEST_DATABASE_URL, postgres_only, sqlite_only

metadata = sa.MetaData()
things = sa.Table("driver_read_things", metadata, sa.Column("id", sa.Integer, primary_key=True),
                  sa.Column("name", sa.Text), sa.Column("at", UTCDateTime))
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


def _named(engine, thing_id):
    """The name of thing `thing_id`, read on a new connection (so only what is committed)."""
    with engine.connect() as connection:
        return connection.scalar(sa.select(things.c.name).where(things.c.id == thing_id))


RENAME = things.update().where(things.c.id == sa.bindparam("thing_id")).values(name=sa.bindparam("new_name"))


def test_postgresql_a_single_write_commits_as_it_runs_on_the_autocommit_pool(engine):
    # One statement needs no BEGIN and COMMIT around it, each a round trip: the read pool's
    # connections are in autocommit, so the statement is committed as the server runs it, and the
    # app's own pool is not touched.
    postgres_only()
    read_engine = add_read_pool(engine, {"pool_size": 1, "max_overflow": 0})
    engine.dispose()
    with single_write(engine) as connection:
        assert connection.connection.dbapi_connection.autocommit is True
        assert connection.execute(RENAME, {"thing_id": 1, "new_name": "renamed"}).rowcount == 1
        observer = sa.create_engine(engine.url, poolclass=sa.pool.NullPool)
        assert _named(observer, 1) == "renamed"  # already committed, before the block ends
    assert engine.pool.checkedin() == 0 and read_engine.pool.checkedin() == 1


def test_postgresql_a_single_write_is_seen_by_the_engines_statement_listeners(engine):
    # The tests count statements on the app's engine: while one listens, the statement runs on one
    # of the engine's own connections, still in autocommit.
    postgres_only()
    add_read_pool(engine, {"pool_size": 1, "max_overflow": 0})
    seen = []
    sa.event.listen(engine, "before_cursor_execute", lambda connection, cursor, statement, *args: seen.append(
        (statement.split()[0], connection.connection.dbapi_connection.autocommit)))
    with single_write(engine) as connection:
        connection.execute(RENAME, {"thing_id": 2, "new_name": "renamed"})
    assert seen == [("UPDATE", True)]
    assert _named(engine, 2) == "renamed"


def test_sqlite_a_single_write_is_a_transaction_committed_as_the_block_ends(engine):
    # No round trips to spare: engine.begin(), committed at the end and rolled back by an error.
    sqlite_only()
    with single_write(engine) as connection:
        connection.execute(RENAME, {"thing_id": 1, "new_name": "renamed"})
    assert _named(engine, 1) == "renamed"
    with pytest.raises(RuntimeError):
        with single_write(engine) as connection:
            connection.execute(RENAME, {"thing_id": 2, "new_name": "lost"})
            raise RuntimeError("after the statement")
    assert _named(engine, 2) == "second"


def _pool_traffic(engine):
    """Lists that fill with each new driver connection and each checkout of `engine`'s pool (emptied first)."""
    engine.dispose()
    connects, checkouts = [], []
    sa.event.listen(engine, "connect", lambda dbapi_connection, _record: connects.append(dbapi_connection))
    sa.event.listen(engine, "checkout", lambda dbapi_connection, _record, _proxy: checkouts.append(dbapi_connection))
    return connects, checkouts


def test_sqlite_reads_keep_one_connection_out_of_the_pool_and_see_each_commit(engine):
    # The week page's read: no checkout and check-in per request, and still the latest data.
    sqlite_only()  # PostgreSQL reads check a connection out of the read pool: the server may drop an idle one
    _connects, checkouts = _pool_traffic(engine)
    assert READ.first(engine, thing_id=1) == ("first", 7)
    assert len(checkouts) == 1 and engine.pool.checkedout() == 0  # taken once, then detached
    with engine.begin() as connection:  # a commit through the pool, on another connection
        connection.execute(things.update().where(things.c.id == 1).values(name="renamed"))
    for _ in range(3):
        assert READ.first(engine, thing_id=1) == ("renamed", 7)
    assert len(checkouts) == 2  # the update's own connection only
    with engine.begin() as connection:  # the read left no transaction open: a writer commits at once
        connection.execute(things.delete().where(things.c.id == 2))
    assert READ.first(engine, thing_id=2) is None


def test_sqlite_threads_take_turns_on_the_one_connection(engine):
    # A threaded server (`flask run` starts a thread per request) opens no connection per request.
    sqlite_only()
    connects, _checkouts = _pool_traffic(engine)
    rows, failures = [], []

    def read_many():
        try:
            rows.extend(READ.first(engine, thing_id=1 + n % 2) for n in range(300))
        except Exception as error:  # noqa: BLE001  reported below
            failures.append(error)

    readers = [threading.Thread(target=read_many) for _ in range(4)]
    for reader in readers:
        reader.start()
    for reader in readers:
        reader.join()
    assert failures == []
    assert sorted(set(rows)) == [("first", 7), ("second", 7)] and len(rows) == 1200
    assert len(connects) == 1


def test_sqlite_a_disposed_engine_reads_on_a_new_connection_and_closes_the_old_one(engine):
    # The restore command disposes the engine before it writes the database file.
    sqlite_only()
    connects, _checkouts = _pool_traffic(engine)
    READ.first(engine, thing_id=1)
    engine.dispose()
    assert READ.first(engine, thing_id=1) == ("first", 7)
    assert len(connects) == 2
    with pytest.raises(extensions.sqlite3.ProgrammingError, match="closed"):
        connects[0].execute("SELECT 1")


def test_sqlite_a_lost_connection_is_the_usual_error_then_replaced(engine):
    sqlite_only()
    connects, _checkouts = _pool_traffic(engine)
    READ.first(engine, thing_id=1)
    connects[0].close()  # as if the connection had gone
    with pytest.raises(DBAPIError, match="closed database"):
        READ.first(engine, thing_id=1)
    assert READ.first(engine, thing_id=1) == ("first", 7)
    assert len(connects) == 2


def test_sqlite_a_forked_child_opens_its_own_connection_and_leaves_its_parents_open(engine):
    # SQLite's rule: a connection opened before a fork is neither used nor closed in the child.
    sqlite_only()
    connects, _checkouts = _pool_traffic(engine)
    READ.first(engine, thing_id=1)
    child = os.fork()
    if child == 0:  # the child: exit 0 only if it read on a connection of its own
        try:
            ok = (READ.first(engine, thing_id=2) == ("second", 7) and len(connects) == 2
                  and connects[0] in extensions._INHERITED)  # noqa: SLF001
        except BaseException:  # noqa: BLE001  any failure is the child's exit code
            ok = False
        os._exit(0 if ok else 1)
    _pid, status = os.waitpid(child, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    assert connects[0].execute("SELECT 1").fetchone() == (1,)  # the parent's, still open
    assert READ.first(engine, thing_id=2) == ("second", 7) and len(connects) == 1


def test_an_in_memory_sqlite_database_reads_through_its_pool():
    # Every new connection to ":memory:" is a new, empty database: nothing can be held apart from the pool.
    memory = sa.create_engine("sqlite://")
    metadata.create_all(memory)
    with memory.begin() as connection:
        connection.execute(things.insert().values(id=1, name="in memory"))
    assert READ.first(memory, thing_id=1) == ("in memory", 7)
    with memory.begin() as connection:  # the pool's connection is still the database
        connection.execute(things.insert().values(id=2, name="still in memory"))
    assert READ.first(memory, thing_id=2) == ("still in memory", 7)
    memory.dispose()


NOON = datetime(2026, 12, 7, 12, 0, tzinfo=timezone.utc)
SINCE = DriverRead(sa.select(things.c.id, things.c.at).where(things.c.at >= sa.bindparam("since"))
                   .order_by(things.c.id))


def _timed_things(engine, count):
    """`count` more things, the nth at noon UTC plus n minutes."""
    with engine.begin() as connection:
        connection.execute(things.insert(), [{"id": 10 + n, "name": f"timed {n}", "at": NOON + timedelta(minutes=n)}
                                             for n in range(count)])


def test_batches_read_every_row_in_order_a_batch_at_a_time_with_values_bound_through_their_types(engine):
    _timed_things(engine, 7)
    # 12:02 UTC written as 07:02 in New York's winter offset: bound as the column stores it (on
    # SQLite naive UTC text; compared as it was given, "07:02-05:00" would come before every row).
    since = (NOON + timedelta(minutes=2)).astimezone(timezone(timedelta(hours=-5)))
    with engine.connect() as connection:
        batches = list(SINCE.batches(connection, 2, since=since))
    assert [len(batch) for batch in batches] == [2, 2, 1]
    rows = [row for batch in batches for row in batch]
    assert [row[0] for row in rows] == [12, 13, 14, 15, 16]
    assert from_driver(rows[0][1]) == NOON + timedelta(minutes=2)  # the driver's own value, made aware UTC


def test_batches_statement_listeners_see_the_read_and_a_driver_error_is_sqlalchemys_own(engine):
    seen = []
    sa.event.listen(engine, "before_cursor_execute", lambda _c, _cur, statement, *_rest: seen.append(statement))
    with engine.connect() as connection:
        assert list(SINCE.batches(connection, 10, since=NOON)) == []
    assert len(seen) == 1 and "FROM driver_read_things" in seen[0]
    things.drop(engine)
    with engine.connect() as connection, pytest.raises(DBAPIError, match="driver_read_things"):
        list(SINCE.batches(connection, 10, since=NOON))
    assert engine.pool.checkedout() == 0


def test_postgresql_batches_come_through_a_server_side_cursor(engine):
    # A year's export is never held in the worker at once: the server keeps the result and
    # hands it over a batch at a time.
    postgres_only()
    _timed_things(engine, 5)
    with engine.connect() as connection:
        batches = SINCE.batches(connection, 2, since=NOON)
        assert len(next(batches)) == 2
        open_cursors = connection.exec_driver_sql("SELECT name FROM pg_cursors").scalars().all()
        assert "driver_read_batches" in open_cursors
        assert sum(len(batch) for batch in batches) == 3
        assert "driver_read_batches" not in connection.exec_driver_sql("SELECT name FROM pg_cursors").scalars().all()
