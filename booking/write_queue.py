"""SQLite writers wait their turn on an operating-system lock instead of SQLite's sleeps.

SQLite lets one connection write at a time. A connection that asks while another writes is
put to sleep by SQLite's busy handler and asks again later: after 1 ms, then 2, 5, 10 ms and
longer, however soon the other finished. Under wrk, with two workers saving questionnaire
steps and bookings, nearly every booking met the other worker's write and slept, and those
sleeps, not the work, made the slowest requests slow.

So a connection takes a lock on a file beside the database (`<database>-writer`, a POSIX
record lock) just before its transaction's first INSERT, UPDATE or DELETE, and gives it back
once the transaction's COMMIT or ROLLBACK has returned. A writer of another process blocks on
that lock instead, and the kernel wakes it the moment the lock is let go. The lock only puts
writers in line: SQLite's own locking still decides who writes, and a writer that does not
take the lock (another program, the sqlite3 shell) is waited for by SQLite as before.

POSIX record locks belong to a process, not to a connection, so the connections of one
process share one turn: a count of them in a write transaction says when to let it go. Two
connections of one process thus never wait for each other here (one that waited for the
other in the same thread would wait forever); SQLite's busy handler orders them as before. A
connection waits at most `wait_seconds` (SQLite's own busy timeout) for another process's
turn to end, then goes on without it, so a writer stuck elsewhere ends in the usual "busy"
answer from SQLite, never in a request that hangs.
"""

import _thread
import fcntl
import os
import threading
import weakref

from booking.filemodes import PRIVATE_FILE

# What starts a write; Python's sqlite3 opens the transaction (BEGIN) just before these.
_WRITES = ("INSERT", "UPDATE", "DELETE", "REPLACE")


class WriteQueue:
    """One process's turn at writing one SQLite database file, shared by its connections."""

    def __init__(self, database_path, wait_seconds):
        self.path = database_path + "-writer"
        self.wait_seconds = wait_seconds
        self._reset()
        _QUEUES.add(self)

    def _reset(self):
        """A process's fresh state: no turn held, none asked for (also in a forked child, which
        holds none of its parent's locks and runs none of its threads)."""
        self._mutex = threading.Lock()  # one connection of the process asks for a turn at a time
        self._handoff = threading.Lock()  # between a waiting connection and the thread that waits for it
        self._holders = 0
        self._asking = None  # the Event of a helper thread still waiting for the lock, if any
        self._fd = None

    def _lock_file(self):
        """The lock file's descriptor in this process."""
        if self._fd is None:
            self._fd = os.open(self.path, os.O_RDWR | os.O_CREAT, PRIVATE_FILE)
        return self._fd

    def enter(self):
        """Take a share of the process's turn, waiting for another process's to end; False if
        that took longer than wait_seconds (the caller then writes without one)."""
        if not self._mutex.acquire(timeout=self.wait_seconds):
            return False
        try:
            if self._holders == 0 and not self._take(self._lock_file()):
                return False
            self._holders += 1
            return True
        finally:
            self._mutex.release()

    def _take(self, fd):
        """Lock `fd` at once if free, else wait up to wait_seconds. The wait is a blocking lockf
        in a helper thread (the kernel wakes it the moment the lock is let go; a lockf cannot be
        given a time limit). If the caller stops waiting first, the helper lets the lock go as
        soon as it gets it, unless a later caller of this process is waiting on it by then."""
        try:
            fcntl.lockf(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return True
        except OSError:
            pass
        with self._handoff:
            asking, new = self._asking, self._asking is None  # an earlier caller's helper may still be waiting
            if new:
                asking = self._asking = threading.Event()
            asking.waiting = True
            if new:  # _thread, not threading.Thread: start() would wait for the thread to begin running
                _thread.start_new_thread(self._wait_in_helper, (fd, asking))
        got = asking.wait(self.wait_seconds)
        with self._handoff:
            if got or asking.is_set():
                self._asking = None
                return True
            asking.waiting = False  # the helper lets it go if it comes now
            return False

    def _wait_in_helper(self, fd, asking):
        """The helper thread: wait for the lock, then hand it over, or let it go if no one waits."""
        fcntl.lockf(fd, fcntl.LOCK_EX)
        with self._handoff:
            if asking.waiting:
                asking.set()
                return
            self._asking = None
        # No one waits for it now. A connection of this process entering its turn meanwhile
        # (holding the mutex) found the lock already the process's own: it is theirs then.
        if self._mutex.acquire(blocking=False):
            try:
                if self._holders == 0:
                    fcntl.lockf(fd, fcntl.LOCK_UN)
            finally:
                self._mutex.release()

    def leave(self):
        """Give back one connection's share; the last one lets the turn go."""
        with self._mutex:
            if self._holders == 0:
                return
            self._holders -= 1
            if self._holders == 0:
                fcntl.lockf(self._fd, fcntl.LOCK_UN)

    def held(self):
        """True while a connection of this process is in a write transaction."""
        return self._holders > 0


_QUEUES = weakref.WeakSet()


def _after_fork_in_child():
    """A forked child starts every queue afresh: the parent's lock and helper threads are not its own."""
    for queue in list(_QUEUES):
        queue._reset()


os.register_at_fork(after_in_child=_after_fork_in_child)


def install(engine, wait_seconds):
    """Make the connections of SQLite file `engine` take its write queue before writing; returns the queue.

    It wraps the dialect's own calls rather than listening for engine events. The turn is
    given back in the dialect's commit, rollback and close, after the driver's call has
    returned (the engine's `commit` event comes before the COMMIT, which would let the next
    writer in while this one still holds SQLite's lock); and it is taken in the dialect's
    execute calls, because a `before_cursor_execute` listener would send every DriverRead
    (extensions) through SQLAlchemy's Connection, which those reads exist to skip.
    """
    queue = WriteQueue(engine.url.database, wait_seconds)
    writing = set()  # ids of the driver connections holding a share

    def executing(real):
        """`real` (the dialect's execute, executemany or execute without parameters), after a
        transaction's first write has taken a share."""
        def execute(cursor, statement, *args, **kwargs):
            """Take a share before the first INSERT, UPDATE or DELETE on this connection."""
            key = id(cursor.connection)
            if key not in writing and statement.lstrip()[:7].upper().startswith(_WRITES) and queue.enter():
                writing.add(key)
            return real(cursor, statement, *args, **kwargs)
        return execute

    def ending(real):
        """`real` (the dialect's commit, rollback, close or terminate), then the connection's share given back."""
        def ended(dbapi_connection, *args, **kwargs):
            """The driver's call first: the turn ends only once it has returned."""
            try:
                return real(dbapi_connection, *args, **kwargs)
            finally:
                # The pool passes its proxy or the driver's connection itself.
                key = id(getattr(dbapi_connection, "dbapi_connection", dbapi_connection))
                if key in writing:
                    writing.discard(key)
                    queue.leave()
        return ended

    dialect = engine.dialect
    for name in ("do_execute", "do_executemany", "do_execute_no_params"):
        setattr(dialect, name, executing(getattr(dialect, name)))
    for name in ("do_commit", "do_rollback", "do_close", "do_terminate"):
        setattr(dialect, name, ending(getattr(dialect, name)))
    return queue


def writes_to_a_file(engine):
    """True for a SQLite engine on a database file (not in memory)."""
    database = engine.url.database
    return engine.dialect.name == "sqlite" and bool(database) and database != ":memory:" \
        and not database.startswith("file::memory:")
