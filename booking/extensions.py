"""Flask extensions, created unbound and bound to an app in create_app."""

import os
import sqlite3
import threading
import time
import weakref

from flask_login import LoginManager
from flask_migrate import Migrate
from flask_sqlalchemy import SQLAlchemy
from flask_wtf import CSRFProtect
from sqlalchemy import MetaData, create_engine, event
from sqlalchemy.exc import DBAPIError, DisconnectionError
from sqlalchemy.orm import DeclarativeBase

from booking import held_writes, write_queue

# Named constraints, so that migrations can drop and alter them on every database.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    """Declarative base for every model."""

    metadata = MetaData(naming_convention=NAMING_CONVENTION)


db = SQLAlchemy(model_class=Base)
migrate = Migrate(render_as_batch=True, compare_type=True)
csrf = CSRFProtect()
login_manager = LoginManager()


def _sqlite_settings(dbapi_connection, connection_record):
    """Per SQLite connection: enforce foreign keys (off unless asked), zero deleted content, use write-ahead logging.

    With write-ahead logging, pages keep reading while a booking is being written and a
    commit costs one sync instead of several; `synchronous` stays FULL, so a committed
    booking survives a power cut. The mode is stored in the file, so this only changes an
    older database once; if other connections hold it open just then, it is tried again on
    the next connection. (It needs the file on a local disk, as SQLite always advises.)
    """
    if type(dbapi_connection).__module__.startswith("sqlite3"):
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        # Deleted and overwritten content is zeroed, not left in free pages: an erased email
        # body (a private link) must not be readable in a copy of the file.
        cursor.execute("PRAGMA secure_delete=ON")
        if cursor.execute("PRAGMA journal_mode").fetchone()[0] not in ("wal", "memory"):
            try:
                cursor.execute("PRAGMA journal_mode=WAL")
            except sqlite3.OperationalError:  # locked by another connection: next time
                pass
        cursor.close()


class IdlePing:
    """Ping a pooled connection at checkout only if it sat unused for `idle_seconds` or more.

    SQLAlchemy's `pool_pre_ping` pings at every checkout: on PostgreSQL a round trip added to
    every request. A connection returned a moment ago by the previous request was working
    then; one that sat idle may have been closed by a database restart, a failover or a
    firewall, and is pinged. A failed ping is a DisconnectionError, which makes the pool
    replace the connection (and retry) before anyone uses it. A restart inside the idle
    window is caught on use instead: that request fails with the friendly 503, and the
    disconnect it saw makes SQLAlchemy discard every older pooled connection.
    """

    def __init__(self, engine, idle_seconds, clock=time.monotonic):
        self.engine, self.idle_seconds, self.clock = engine, idle_seconds, clock
        event.listen(engine, "checkin", self.checked_in)
        event.listen(engine, "checkout", self.checked_out)

    def checked_in(self, _dbapi_connection, record):
        record.info["idle_since"] = self.clock()

    def checked_out(self, dbapi_connection, record, _proxy):
        idle_since = record.info.pop("idle_since", None)  # None: connected just now
        if idle_since is None or self.clock() - idle_since < self.idle_seconds:
            return
        try:
            self.engine.dialect.do_ping(dbapi_connection)
        except Exception as error:  # noqa: BLE001  any failure: this connection is not to be used
            raise DisconnectionError(f"the connection died while idle: {error}") from error


def one_statement(engine):
    """A pooled connection for one read statement that needs no transaction.

    On PostgreSQL it runs in autocommit, sparing the BEGIN and ROLLBACK round trips; Python's
    sqlite3 opens no transaction for a SELECT anyway, and switching its isolation level back
    costs a statement, so SQLite keeps its default. Use it as a context manager.
    """
    connection = engine.connect()
    if engine.dialect.name != "sqlite":
        connection = connection.execution_options(isolation_level="AUTOCOMMIT")
    return connection


def single_write(engine):
    """A connection for one writing statement that is a transaction of its own, committed when
    the `with` block ends. Send it exactly one statement.

    On PostgreSQL it is a connection of the autocommit pool (add_read_pool): the statement
    commits as the server runs it, and a single statement is atomic, so the BEGIN and COMMIT
    that `engine.begin()` sends, each a round trip of its own, are spared (two of the three
    round trips of a questionnaire step's save). While a listener watches the engine's
    statements (the tests' counters), one of the engine's own connections is switched to
    autocommit instead, so that it sees the statement as DriverRead's listeners do. SQLite has
    no round trips to spare: `engine.begin()`.
    """
    if engine.dialect.name == "sqlite":
        return engine.begin()
    autocommit = _READ_POOLS.get(engine)
    if autocommit is None or engine.dispatch.before_cursor_execute:
        return one_statement(engine)
    return autocommit.connect()


def flushed_connection(session):
    """The session's own connection, after the autoflush that `session.execute` would do."""
    if session.autoflush:
        session.flush()
    return session.connection()


def execute_on_connection(session, statement, params):
    """`session.execute(statement, params)` for a statement of columns, not entities: the same
    autoflush, then the session's own connection, without the ORM's execute around it (its
    events, compile state and result setup cost a booking's reads about 150 k instructions each)."""
    return flushed_connection(session).execute(statement, params)


def _compile_for_driver(statement, dialect, column_keys=None):
    """(SQL text, its literal parameters, the positional order or None, the bound values'
    processors) of `statement` compiled for `dialect` (an INSERT or UPDATE for `column_keys`)."""
    compiled = statement.compile(dialect=dialect, column_keys=column_keys)
    if getattr(compiled, "insert_prefetch", None) or getattr(compiled, "update_prefetch", None):
        # Column defaults computed in Python are filled in by SQLAlchemy's execution, which a driver statement skips.
        raise ValueError(f"a driver statement cannot fill in Python-side column defaults: {compiled.string}")
    # The statement's own literal values; the caller's parameters fill in the rest.
    fixed = compiled.construct_params({bind.key: None for bind in compiled.binds.values() if bind.required})
    order = compiled.positiontup if compiled.positional else None
    # What the column types do to a bound value before the driver sees it, as the dialect has
    # them (a UTCDateTime is stored on SQLite as naive UTC text with six decimals, the form its
    # comparisons and triggers expect); integers and text need nothing.
    processors = {bind.key: processor for bind in compiled.binds.values()
                  if (processor := bind.type.dialect_impl(dialect).bind_processor(dialect)) is not None}
    return compiled.string, fixed, order, processors


def _driver_arguments(compiled, params):
    """(the SQL text, the driver's arguments) of `compiled` (_compile_for_driver) for the caller's bound parameters."""
    sql, fixed, order, processors = compiled
    values = {**fixed, **params}
    for name in processors.keys() & params.keys():
        values[name] = processors[name](values[name])
    return sql, tuple(values[name] for name in order) if order is not None else values


def _on_driver_cursor(connection, sql, parameters, call, many=False):
    """`call(cursor)` after `sql` with `parameters` has run on a driver cursor of SQLAlchemy
    `connection`, in its transaction; returns what `call` returns. Statement listeners see it as
    any statement; the dialect's own execute runs it (on SQLite, the write queue's); a driver
    error is raised as SQLAlchemy's own, after the connection is invalidated if it was lost."""
    dialect = connection.dialect
    dbapi_connection = connection.connection.dbapi_connection
    cursor = dbapi_connection.cursor()
    try:
        if connection.engine.dispatch.before_cursor_execute:  # statement counters and tracers see it
            connection.engine.dispatch.before_cursor_execute(connection, cursor, sql, parameters, None, many)
        (dialect.do_executemany if many else dialect.do_execute)(cursor, sql, parameters)
        return call(cursor)
    except dialect.loaded_dbapi.Error as error:
        if dialect.is_disconnect(error, dbapi_connection, cursor):
            connection.invalidate(error)
        raise _sqlalchemy_error(dialect, error, sql, parameters) from error
    finally:
        cursor.close()


class DriverRead:
    """One read statement, compiled once per database and run on the driver's own cursor.

    For the busiest page's single query, where SQLAlchemy's result machinery cost more than
    the query itself. The row comes back as the driver gives it, without SQLAlchemy's type
    processing (text and integers as they are; a date and time on SQLite as its stored
    text), so use it only for columns read as such. It runs on the pooled driver connection
    (in autocommit on PostgreSQL: with `read_pool`, one of the engine's read pool, which stays
    in autocommit), or on a SQLAlchemy connection (`one_statement`) while an
    engine event listens for statements; either way a driver error is raised as SQLAlchemy's
    own, after the connection is invalidated if it was lost: a database that went away is the
    friendly 503 page here as everywhere else.
    """

    def __init__(self, statement, read_pool=False):
        self.statement = statement
        # With `read_pool`, PostgreSQL runs it on the engine's pool of autocommit connections
        # (add_read_pool), if it has one, instead of switching a transactional one to autocommit and back.
        self.read_pool = read_pool
        self._compiled = {}  # dialect -> (SQL text, its literal parameters, positional order or None)
        self._processors = {}  # dialect -> each selected column's result processor (or None)

    def _for(self, dialect):
        found = self._compiled.get(dialect)
        if found is None:
            found = self._compiled[dialect] = _compile_for_driver(self.statement, dialect)
        return found

    def _arguments(self, dialect, params):
        """(the SQL text, the driver's arguments) for the caller's bound parameters."""
        return _driver_arguments(self._for(dialect), params)

    def first_on(self, connection, **params):
        """The first row (a tuple) for these bound parameters, or None, read on SQLAlchemy
        `connection` inside its transaction, each value through its column type as SQLAlchemy's
        own row would give it (a UTCDateTime an aware datetime): for a read among a transaction's
        statements, where SQLAlchemy's execution and result set-up cost more than the read."""
        dialect = connection.dialect
        sql, arguments = self._arguments(dialect, params)
        row = _on_driver_cursor(connection, sql, arguments, _first_row)
        if row is None:
            return None
        processors = self._processors.get(dialect)
        if processors is None:
            processors = self._processors[dialect] = tuple(
                column.type.dialect_impl(dialect).result_processor(dialect, None)
                for column in self.statement.selected_columns)
        return tuple(value if process is None else process(value) for process, value in zip(processors, row))

    def first(self, engine, **params):
        """The first row for these bound parameters, or None."""
        sql, arguments = self._arguments(engine.dialect, params)
        if engine.dispatch.before_cursor_execute:  # statement counters and tracers see it, as any statement
            with one_statement(engine) as connection:
                def before(cursor):
                    engine.dispatch.before_cursor_execute(connection, cursor, sql, arguments, None, False)
                return self._run(engine, connection.connection.dbapi_connection, connection.invalidate, sql,
                                 arguments, before)
        held = _held_reader(engine)
        if held is not None:
            return held.read(engine, sql, arguments)
        # The pooled driver connection alone: SQLAlchemy's Connection around it cost a fifth of
        # this read on SQLite and more on PostgreSQL. Pool events (IdlePing's check) still run.
        read_engine = _READ_POOLS.get(engine) if self.read_pool else None
        pooled = self._checkout(read_engine or engine)
        try:
            # Python's sqlite3 opens no transaction for a SELECT; the read pool's connections are in autocommit.
            if read_engine is not None or engine.dialect.name == "sqlite":
                return self._run(engine, pooled.dbapi_connection, pooled.invalidate, sql, arguments)
            return self._in_autocommit(engine, pooled, sql, arguments)
        finally:
            pooled.close()

    @staticmethod
    def _checkout(engine):
        """A pooled driver connection; a database that cannot be reached raises SQLAlchemy's error,
        as `engine.connect()` would (the pool's own checkout raises the driver's)."""
        try:
            return engine.raw_connection()
        except engine.dialect.loaded_dbapi.Error as error:
            lost = engine.dialect.is_disconnect(error, None, None)
            raise _sqlalchemy_error(engine.dialect, error, invalidated=lost) from error

    @staticmethod
    def _in_autocommit(engine, pooled, sql, arguments):
        """The read in autocommit (no BEGIN and ROLLBACK round trips); the connection's own isolation
        level is put back before it returns to the pool, or, if that fails, the connection is
        discarded: the next transaction on it must be a transaction."""
        dialect, dbapi_connection = engine.dialect, pooled.dbapi_connection
        try:
            dialect.set_isolation_level(dbapi_connection, "AUTOCOMMIT")
        except dialect.loaded_dbapi.Error as error:
            pooled.invalidate(error)
            raise _sqlalchemy_error(dialect, error) from error
        try:
            return DriverRead._run(engine, dbapi_connection, pooled.invalidate, sql, arguments)
        finally:
            if pooled.dbapi_connection is not None:  # None: already invalidated, never reused
                try:
                    dialect.reset_isolation_level(dbapi_connection)
                except Exception:  # noqa: BLE001  whatever failed, this connection is not to be used again
                    pooled.invalidate()

    def batches(self, connection, size, **params):
        """The rows for these bound parameters, `size` at a time: lists of the driver's own tuples,
        read on SQLAlchemy `connection`'s driver connection, in its transaction.

        For a long read such as a year's CSV export, where building SQLAlchemy's rows and running
        each value through its column type cost more than the database's work. On PostgreSQL the
        rows come through a server-side cursor, so a long result is never held at once (SQLite's
        cursor steps through the result as it is read). A driver error is raised as SQLAlchemy's,
        as from `first`.
        """
        engine = connection.engine
        sql, arguments = self._arguments(engine.dialect, params)
        dbapi_connection = connection.connection.dbapi_connection
        postgresql = engine.dialect.name == "postgresql"
        cursor = dbapi_connection.cursor(name="driver_read_batches") if postgresql else dbapi_connection.cursor()
        try:
            if engine.dispatch.before_cursor_execute:  # statement counters and tracers see it, as any statement
                engine.dispatch.before_cursor_execute(connection, cursor, sql, arguments, None, False)
            engine.dialect.do_execute(cursor, sql, arguments)  # the dialect's: held writes go first
            while rows := cursor.fetchmany(size):
                yield rows
        except engine.dialect.loaded_dbapi.Error as error:
            if engine.dialect.is_disconnect(error, dbapi_connection, cursor):
                connection.invalidate(error)
            raise _sqlalchemy_error(engine.dialect, error, sql, arguments) from error
        finally:
            cursor.close()

    @staticmethod
    def _run(engine, dbapi_connection, invalidate, sql, arguments, before=None):
        """Execute on a driver cursor and fetch one row; a driver error becomes SQLAlchemy's, and
        a lost connection is invalidated (the pool replaces it)."""
        cursor = None
        try:
            cursor = dbapi_connection.cursor()  # a closed connection refuses already here
            if before is not None:
                before(cursor)
            cursor.execute(sql, arguments)
            return cursor.fetchone()
        except engine.dialect.loaded_dbapi.Error as error:
            if engine.dialect.is_disconnect(error, dbapi_connection, cursor):
                invalidate(error)
            raise _sqlalchemy_error(engine.dialect, error, sql, arguments) from error
        finally:
            if cursor is not None:
                cursor.close()


class DriverWrite:
    """One INSERT, UPDATE or DELETE, compiled once per database (and set of columns given), run on
    the driver's cursor of a SQLAlchemy connection, inside that connection's transaction.

    For a booking's own statements (its row, its history line, its emails, the waiting list and
    the schedule's version), where SQLAlchemy's execution around each statement (its execution
    context, the bound values' processing, the result's set-up) cost more than SQLite's work:
    an eighth of a booking POST. What a statement needs from SQLAlchemy is kept: bound values go
    through their column types' processors; `before_cursor_execute` listeners see the statement;
    the dialect's own execute is the one called, so on SQLite the write queue (booking.write_queue)
    gives the transaction its turn as for any write; a driver error is raised as SQLAlchemy's own
    (an IntegrityError stays one), after the connection is invalidated if it was lost. Column
    defaults computed in Python are not filled in (a statement that would need them is refused
    when it is compiled): give every column's value.
    """

    def __init__(self, statement, returning=None):
        self.statement = statement
        # An INSERT's primary key column, whose new value execute() returns: RETURNING where the
        # database has it, else the driver's lastrowid (SQLite, as SQLAlchemy itself does).
        self.returning = returning
        self._compiled = {}  # (dialect, column keys, returning) -> _compile_for_driver's tuple

    def _for(self, dialect, keys, returning):
        found = self._compiled.get((dialect, keys, returning))
        if found is None:
            statement = self.statement.returning(self.returning) if returning else self.statement
            found = self._compiled[(dialect, keys, returning)] = _compile_for_driver(statement, dialect, list(keys))
        return found

    def execute(self, connection, params):
        """Run it for one set of bound parameters on SQLAlchemy `connection`; the new row's
        primary key with `returning`, else the number of rows the database says it changed."""
        dialect = connection.dialect
        returning = self.returning is not None and dialect.name != "sqlite"
        sql, arguments = _driver_arguments(self._for(dialect, tuple(params), returning), params)
        if returning:
            return _on_driver_cursor(connection, sql, arguments, _first_value)
        return _on_driver_cursor(connection, sql, arguments, _lastrowid if self.returning is not None else _rowcount)

    def executemany(self, connection, rows):
        """Run it once for each of `rows` (bound parameters with the same keys), in one driver call."""
        if not rows:
            return
        compiled = self._for(connection.dialect, tuple(rows[0]), False)
        _on_driver_cursor(connection, compiled[0], [_driver_arguments(compiled, row)[1] for row in rows], _rowcount,
                          many=True)

    def hold(self, connection, params):
        """execute() for a statement whose result the caller does not need: on PostgreSQL it is
        held and sent with the transaction's next statement or its COMMIT, in one round trip
        (booking.held_writes); on SQLite it runs at once."""
        sql, arguments = _driver_arguments(self._for(connection.dialect, tuple(params), False), params)
        if not _hold(connection, sql, arguments, False):
            _on_driver_cursor(connection, sql, arguments, _rowcount)

    def hold_many(self, connection, rows):
        """executemany(), held as hold() holds one statement."""
        if not rows:
            return
        compiled = self._for(connection.dialect, tuple(rows[0]), False)
        arguments = [_driver_arguments(compiled, row)[1] for row in rows]
        if not _hold(connection, compiled[0], arguments, True):
            _on_driver_cursor(connection, compiled[0], arguments, _rowcount, many=True)


def _hold(connection, sql, arguments, many):
    """Hold a statement on SQLAlchemy `connection` if its engine holds writes (PostgreSQL); True if held.
    Statement listeners see it now, as the program wrote it."""
    writes = _HELD_WRITES.get(connection.engine)
    if writes is None:
        return False
    dbapi_connection = connection.connection.dbapi_connection
    if connection.engine.dispatch.before_cursor_execute:
        cursor = dbapi_connection.cursor()
        try:
            connection.engine.dispatch.before_cursor_execute(connection, cursor, sql, arguments, None, many)
        finally:
            cursor.close()
    writes.hold(dbapi_connection, sql, arguments, many)
    return True


def _first_value(cursor):
    """The first value of the cursor's first row (what RETURNING gave back)."""
    return cursor.fetchone()[0]


def _first_row(cursor):
    """The cursor's first row, or None."""
    return cursor.fetchone()


def _lastrowid(cursor):
    """The rowid the INSERT just gave its row (SQLite: the integer primary key)."""
    return cursor.lastrowid


def _rowcount(cursor):
    """How many rows the database says the statement changed."""
    return cursor.rowcount


class HeldReader:
    """A SQLite file engine's connection for DriverRead, one per process, held out of the pool.

    Checking a connection out of the pool and back in (its events, its records, the rollback
    on return) cost the week page's one read more than the read itself: 5 µs against 3 µs.
    SQLite has no server to drop an idle connection, and Python's sqlite3 runs a SELECT outside
    any transaction (`_run` closes the cursor, which ends the read), so a connection kept by
    the process sees every commit as a pooled one does. It is taken from the pool once, with
    the pool's connect settings, and detached from it; the process's threads take turns on it
    (a read is a few microseconds; the pool's connections are opened for use across threads).
    It is replaced when the engine's pool is (`engine.dispose()`, as the restore command does
    before it writes the file) and once a read finds it lost. A forked child starts without one and
    leaves its parent's open and unused, as SQLite requires.
    """

    def __init__(self):
        self._reset()
        _READERS.add(self)

    def _reset(self):
        """No connection, no turn taken (also in a forked child, which runs none of its parent's threads)."""
        self.lock = threading.Lock()
        self.connection = self.pool = None

    def read(self, engine, sql, arguments):
        """DriverRead's one row, read on this process's connection to `engine`."""
        with self.lock:
            if self.connection is None or self.pool is not engine.pool:
                self.drop()
                # The pool's own checkout (its connect settings; its errors raised as SQLAlchemy's).
                pooled = DriverRead._checkout(engine)  # noqa: SLF001
                pooled.detach()
                self.connection, self.pool = pooled.dbapi_connection, engine.pool
            return DriverRead._run(engine, self.connection, self.drop, sql, arguments)  # noqa: SLF001

    def drop(self, _error=None):
        """Close and forget the connection (found lost by a read, or its pool replaced)."""
        connection, self.connection = self.connection, None
        if connection is not None:
            try:
                connection.close()
            except sqlite3.Error:
                pass


# An app's SQLite file engine -> its HeldReader (None for every other engine).
_HELD_READERS = weakref.WeakKeyDictionary()
_READERS = weakref.WeakSet()
# Connections a forked child found held by its parent, kept from being closed by garbage collection.
_INHERITED = []


def _after_fork_in_child():
    """A forked child holds none of its parent's readers' connections or turns."""
    for reader in list(_READERS):
        if reader.connection is not None:
            _INHERITED.append(reader.connection)
        reader._reset()  # noqa: SLF001


os.register_at_fork(after_in_child=_after_fork_in_child)


def _held_reader(engine):
    """The HeldReader of SQLite file `engine`; None for other engines."""
    try:
        return _HELD_READERS[engine]
    except KeyError:
        reader = _HELD_READERS[engine] = HeldReader() if write_queue.writes_to_a_file(engine) else None
        return reader


# An app's PostgreSQL engine -> its HeldWrites (booking.held_writes).
_HELD_WRITES = weakref.WeakKeyDictionary()
# An app's SQLite file engine -> its WriteQueue (booking.write_queue).
_WRITE_QUEUES = weakref.WeakKeyDictionary()


def write_queue_of(engine):
    """The WriteQueue init_database_events gave SQLite file `engine`, or None."""
    return _WRITE_QUEUES.get(engine)


# An app's PostgreSQL engine -> its pool of autocommit connections for DriverRead(read_pool=True).
_READ_POOLS = weakref.WeakKeyDictionary()


def add_read_pool(engine, options):
    """Give PostgreSQL `engine` a pool of connections kept in autocommit, for the busiest page's read
    (and for single_write's one statement).

    Switching a pooled connection to autocommit and back, and the rollback with which the pool
    takes it back, cost that page about 35 µs of its 0.7 ms; these connections are put in
    autocommit once, when they connect, and go back to their pool without a rollback (they never
    hold a transaction). The pool is built from the app's own engine options (so it opens its
    connections only when asked, one per worker that reads at once), is pinged after idling as
    the main pool is (the caller adds IdlePing), and is closed when `engine` is disposed. Returns
    the read engine.
    """
    read_engine = create_engine(engine.url, **{**options, "isolation_level": "AUTOCOMMIT",
                                               "pool_reset_on_return": None})
    _READ_POOLS[engine] = read_engine
    event.listen(engine, "engine_disposed", lambda _engine: read_engine.dispose())
    return read_engine


def hold_writes(engine):
    """Let DriverWrite.hold keep statements on PostgreSQL `engine`'s connections until their next
    statement or COMMIT (booking.held_writes); once per engine. Other databases run them at once."""
    if engine not in _HELD_WRITES and held_writes.supported(engine):
        _HELD_WRITES[engine] = held_writes.install(engine)


def read_pool_of(engine):
    """The read engine add_read_pool gave `engine`, or None."""
    return _READ_POOLS.get(engine)


def _sqlalchemy_error(dialect, error, sql=None, arguments=None, invalidated=False):
    """The driver's `error` as SQLAlchemy's own (OperationalError and so on), as SQLAlchemy raises it."""
    return DBAPIError.instance(sql, arguments, error, dialect.loaded_dbapi.Error, dialect=dialect,
                               connection_invalidated=invalidated)


def init_database_events(app):
    """Register the database hooks on this app's own engines and session only.

    (Listening on every `Engine` or `Session` class would reach other apps' and other
    libraries' connections in the same process.)
    """
    from booking.appointments import schedule_version

    with app.app_context():
        for engine in db.engines.values():
            if not event.contains(engine, "connect", _sqlite_settings):
                event.listen(engine, "connect", _sqlite_settings)
            if engine.dialect.name == "sqlite":
                if write_queue.writes_to_a_file(engine) and engine not in _WRITE_QUEUES:
                    # As long as SQLite itself would wait for the lock (pysqlite's default is 5 s).
                    busy_seconds = app.config["SQLALCHEMY_ENGINE_OPTIONS"].get("connect_args", {}).get("timeout", 5)
                    _WRITE_QUEUES[engine] = write_queue.install(engine, busy_seconds)
                continue
            hold_writes(engine)
            engines = [engine]
            if engine not in _READ_POOLS:
                engines.append(add_read_pool(engine, app.config["SQLALCHEMY_ENGINE_OPTIONS"]))
            idle_seconds = app.config.get("DATABASE_PING_IDLE_SECONDS")
            if idle_seconds is not None:
                for pinged in engines:
                    app.extensions.setdefault("booking_idle_ping", {})[pinged] = IdlePing(pinged, float(idle_seconds))
    schedule_version.init_app(db.session)
