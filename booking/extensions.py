"""Flask extensions, created unbound and bound to an app in create_app."""

import sqlite3
import time

from flask_login import LoginManager
from flask_migrate import Migrate
from flask_sqlalchemy import SQLAlchemy
from flask_wtf import CSRFProtect
from sqlalchemy import MetaData, event
from sqlalchemy.exc import DisconnectionError
from sqlalchemy.orm import DeclarativeBase

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
            idle_seconds = app.config.get("DATABASE_PING_IDLE_SECONDS")
            if engine.dialect.name != "sqlite" and idle_seconds is not None:
                app.extensions.setdefault("booking_idle_ping", {})[engine] = IdlePing(engine, float(idle_seconds))
    schedule_version.init_app(db.session)
