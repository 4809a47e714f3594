"""PostgreSQL: a transaction's last writes go to the server with its COMMIT, in one round trip.

A booking's last statements (its history line, its emails, the waiting list's UPDATE and the
schedule version's bump) need nothing back from the server. Sent one at a time, each waited
for its answer: on PostgreSQL a round trip each, in which the server's process is woken,
answers and sleeps again, and the worker waits. `hold` keeps such a statement on its
connection instead, and the connection's COMMIT sends what it holds and the COMMIT together,
in one pipeline (psycopg's pipeline mode): one round trip for all of them.

What stays as it was: the server runs the statements in the order the program gave them, in
the same transaction. Any other statement on the connection (a read, the ORM's flush, a
SAVEPOINT, its release or rollback) first sends what is held, in one pipeline of its own; a
ROLLBACK drops what is held (the server never had it), as does closing the connection;
statement listeners see each held statement when it is held, as the program wrote it. What
changes: an error in a held statement is raised by the next statement or by the COMMIT, as
SQLAlchemy's error from that call; at the COMMIT the transaction ends rolled back, as when the
server refuses a COMMIT. The statements held are ones that no unique index can refuse.

SQLite has no round trips (its statements run in the process): there `hold` says no, and the
caller runs the statement at once; so does a PostgreSQL driver without pipelines (`supported`).
"""

import contextlib
import weakref


class HeldWrites:
    """The statements held on each driver connection of one PostgreSQL engine."""

    def __init__(self):
        self.held = weakref.WeakKeyDictionary()  # driver connection -> [(sql, arguments, many)]

    def hold(self, driver_connection, sql, arguments, many):
        """Keep one statement for the connection's next statement or COMMIT."""
        self.held.setdefault(driver_connection, []).append((sql, arguments, many))

    def send(self, driver_connection, commit=False):
        """Send what `driver_connection` holds (and with `commit`, the COMMIT), in one pipeline,
        and wait for the answers; True if anything was held. An error is the driver's, raised
        once every answer is in."""
        statements = self.held.pop(driver_connection, None) if self.held else None
        if not statements:
            return False
        with driver_connection.pipeline():
            cursor = driver_connection.cursor()
            try:
                for sql, arguments, many in statements:
                    (cursor.executemany if many else cursor.execute)(sql, arguments)
                if commit:
                    cursor.execute("COMMIT")
            finally:
                cursor.close()
        return True

    def drop(self, driver_connection):
        """Forget what `driver_connection` holds (its transaction rolled back, or it is closed)."""
        if self.held:
            self.held.pop(driver_connection, None)


def supported(engine):
    """True if `engine`'s driver can send a pipeline: psycopg 3 on libpq 14 or newer (psycopg's
    binary package brings its own). With any other driver, statements are not held."""
    if engine.dialect.name != "postgresql" or engine.dialect.driver != "psycopg":
        return False
    import psycopg  # the driver this engine was built with

    return psycopg.capabilities.has_pipeline()


def _driver(connection):
    """The driver's connection, whether the pool passed its proxy or the driver's own."""
    return getattr(connection, "dbapi_connection", connection)


def install(engine):
    """Wrap PostgreSQL `engine`'s dialect calls so that statements can be held; returns its HeldWrites.

    As booking.write_queue does on SQLite, the dialect's own calls are wrapped (not engine
    events): the COMMIT must go in the same pipeline as what is held, and DriverWrite's and
    DriverRead's statements, which skip SQLAlchemy's Connection, go through the dialect's execute.
    """
    writes = HeldWrites()

    def executing(real):
        """`real` (the dialect's execute, executemany or execute without parameters), after
        what the cursor's connection holds has been sent."""
        def execute(cursor, *args, **kwargs):
            """Send the held statements first: the server runs everything in the program's order."""
            if writes.held:
                writes.send(cursor.connection)
            return real(cursor, *args, **kwargs)
        return execute

    def committing(real):
        """`real` (the dialect's commit), with what the connection holds sent in the COMMIT's pipeline."""
        def commit(dbapi_connection, *args, **kwargs):
            """One round trip: the held statements, then COMMIT; psycopg then finds nothing left to commit."""
            driver = _driver(dbapi_connection)
            try:
                writes.send(driver, commit=True)
            except Exception:
                # The server skipped the COMMIT after the error: end the transaction as a refused
                # COMMIT ends it, rolled back, and raise the error (SQLAlchemy wraps it as its own).
                with contextlib.suppress(Exception):
                    driver.rollback()
                raise
            return real(dbapi_connection, *args, **kwargs)
        return commit

    def ending(real):
        """`real` (the dialect's rollback, close or terminate), after what the connection holds is dropped."""
        def ended(dbapi_connection, *args, **kwargs):
            """Nothing held survives a rollback or a closed connection."""
            writes.drop(_driver(dbapi_connection))
            return real(dbapi_connection, *args, **kwargs)
        return ended

    dialect = engine.dialect
    for name in ("do_execute", "do_executemany", "do_execute_no_params"):
        setattr(dialect, name, executing(getattr(dialect, name)))
    dialect.do_commit = committing(dialect.do_commit)
    for name in ("do_rollback", "do_close", "do_terminate"):
        setattr(dialect, name, ending(getattr(dialect, name)))
    return writes
