"""Files that hold secrets or patient data are readable by their owner only."""

import os
import stat

PRIVATE_FILE = 0o600
PRIVATE_DIRECTORY = 0o700
SQLITE_COMPANIONS = ("", "-wal", "-shm", "-journal")


def make_private(path, mode=PRIVATE_FILE):
    """Remove group and other permissions from `path` if it exists and has any."""
    try:
        current = stat.S_IMODE(os.stat(path).st_mode)
    except FileNotFoundError:
        return
    if current & 0o077:
        os.chmod(path, mode)


def protect_sqlite_files(dbapi_connection, _connection_record):
    """Engine "connect" listener: the database file (and its WAL, shared memory) owner-only.

    SQLite creates the file with the process umask (often world-readable) and gives the
    -wal and -shm files the database file's own permissions, so fixing the file is enough
    for those created later; existing ones are fixed too.
    """
    for _seq, name, path in dbapi_connection.execute("PRAGMA database_list").fetchall():
        if path and name == "main":
            for suffix in SQLITE_COMPANIONS:
                make_private(path + suffix)


def init_app(app, engine):
    """Protect the SQLite file of `engine` on every new connection (nothing for other databases)."""
    if engine.dialect.name == "sqlite":
        from sqlalchemy import event

        event.listen(engine, "connect", protect_sqlite_files)
