"""Back up and restore the whole database. Plain functions over SQLAlchemy engines; no Flask.

SQLite uses its online backup API (a consistent copy while the app keeps writing);
PostgreSQL uses `pg_dump --format=custom` (one snapshot) and `pg_restore`. A restore goes
only into an empty database, and is undone (the database emptied again) when the
configured encryption keys cannot read the restored health data: a restore nobody can
read is worse than none, since it looks like it worked.
"""

import os
import sqlite3
import subprocess
import time

import sqlalchemy as sa

from booking.appointments.schedule_version import raise_version
from booking.crypto import InvalidToken


class BackupError(RuntimeError):
    """The backup or restore could not be done; the message says why and what to do."""


def backup(engine, path):
    """Write a copy of the database behind `engine` to `path` (a file that must not exist yet)."""
    if os.path.exists(path):
        raise BackupError(f"{path} exists already; choose a new file name so no backup is overwritten.")
    if engine.dialect.name == "sqlite":
        source = sqlite3.connect(engine.url.database)
        target = sqlite3.connect(path)
        try:
            with target:
                source.backup(target)  # one step: a consistent copy even while others write
        finally:
            target.close()
            source.close()
    elif engine.dialect.name == "postgresql":
        _run(["pg_dump", "--format=custom", "--no-owner", "--no-privileges", "--file", path], engine.url)
    else:
        raise BackupError(f"Backups of {engine.dialect.name} databases are not supported.")


def restore(engine, path, cipher, *, clock=time.time_ns):
    """Load the backup at `path` into the empty database behind `engine`; check `cipher` reads it.

    Returns the number of encrypted values checked. Raises BackupError when the database is
    not empty, the file is missing or unreadable, or a key is missing (the database is then
    emptied again). Afterwards the schedule version jumps past the clock (see restart_version).
    """
    if not os.path.isfile(path):
        raise BackupError(f"No backup file at {path}.")
    if sa.inspect(engine).get_table_names():
        raise BackupError("The database is not empty. Restore only into a new, empty database "
                          "(create one, point DATABASE_URL at it, then run the restore).")
    if engine.dialect.name == "sqlite":
        engine.dispose()
        source = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
        target = sqlite3.connect(engine.url.database)
        try:
            with target:
                source.backup(target)
        finally:
            target.close()
            source.close()
    elif engine.dialect.name == "postgresql":
        _run(["pg_restore", "--no-owner", "--no-privileges", "--exit-on-error", "--single-transaction",
              "--dbname", engine.url.database, path], engine.url)
    else:
        raise BackupError(f"Restores into {engine.dialect.name} databases are not supported.")
    try:
        checked = check_readable(engine, cipher)
    except InvalidToken as error:
        empty_database(engine)
        raise BackupError("The configured INTAKE_ENCRYPTION_KEYS cannot read the intakes in this backup, so "
                          "the restore was undone and the database is empty again. Configure the keys the "
                          "backed-up installation used (in instance/config.py) and restore again.") from error
    restart_version(engine, clock)
    return checked


def encrypted_columns(engine):
    """(table, column) of every column holding encrypted data (named `*_encrypted`)."""
    inspector = sa.inspect(engine)
    return [(table, column["name"]) for table in inspector.get_table_names()
            for column in inspector.get_columns(table) if column["name"].endswith("_encrypted")]


def check_readable(engine, cipher):
    """Decrypt every encrypted value; returns how many. Raises InvalidToken at the first that fails."""
    checked = 0
    with engine.connect() as connection:
        for table, column in encrypted_columns(engine):
            values = connection.execute(sa.select(sa.column(column)).select_from(sa.table(table))
                                        .where(sa.column(column).is_not(None)))
            for (value,) in values:
                cipher.decrypt(value)
                checked += 1
    return checked


def restart_version(engine, clock=time.time_ns):
    """Move the schedule version past every number an earlier copy of this database can have used.

    Server processes cache weeks by version; a restored, older number would let them serve
    pages cached before the restore. The clock in microseconds exceeds every earlier
    version (each restore starts from its own clock reading, and nothing bumps a million
    times a second), so versions stay unique across restores.
    """
    with engine.begin() as connection:
        raise_version(connection, clock() // 1000)


def empty_database(engine):
    """Drop every table (the undo of a refused restore)."""
    if engine.dialect.name == "postgresql":
        with engine.begin() as connection:
            connection.execute(sa.text("DROP SCHEMA public CASCADE; CREATE SCHEMA public"))
        return
    metadata = sa.MetaData()
    metadata.reflect(engine)
    metadata.drop_all(engine)


def _run(command, url):
    """Run a PostgreSQL client program against `url`; BackupError with its message on failure."""
    environment = dict(os.environ, PGHOST=url.host or "", PGPORT=str(url.port or 5432),
                       PGUSER=url.username or "", PGPASSWORD=url.password or "", PGDATABASE=url.database or "")
    try:
        result = subprocess.run(command, env=environment, capture_output=True, text=True, check=False)
    except FileNotFoundError as error:
        raise BackupError(f"{command[0]} is not installed (PostgreSQL client programs are needed).") from error
    if result.returncode != 0:
        raise BackupError(f"{command[0]} failed: {result.stderr.strip()[-2000:]}")
