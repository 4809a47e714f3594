"""booking.write_queue: SQLite writers of different processes take turns on a file lock."""

import os
import subprocess
import sys
import threading

import pytest
import sqlalchemy as sa

from booking import write_queue
from booking.extensions import DriverRead, db, write_queue_of
from tests.conftest import sqlite_only
from tests.intake_factories import complete_intake

metadata = sa.MetaData()
notes = sa.Table("queue_notes", metadata, sa.Column("id", sa.Integer, primary_key=True), sa.Column("text", sa.Text))
READ = DriverRead(sa.select(notes.c.text).where(notes.c.id == sa.bindparam("note_id")))

# Another process asks for the lock without waiting: exit status 0 if it got it.
_PROBE = ("import fcntl, os, sys\nfd = os.open(sys.argv[1], os.O_RDWR | os.O_CREAT)\n"
          "try:\n    fcntl.lockf(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)\nexcept OSError:\n    sys.exit(1)\n")
# Another process takes the lock, says so, and holds it until a line arrives on its input.
_HOLDER = ("import fcntl, os, sys\nfd = os.open(sys.argv[1], os.O_RDWR | os.O_CREAT)\n"
           "fcntl.lockf(fd, fcntl.LOCK_EX)\nprint('held', flush=True)\nsys.stdin.readline()\n")


def free_elsewhere(queue):
    """True if another process could take the write lock now."""
    return subprocess.run([sys.executable, "-c", _PROBE, queue.path]).returncode == 0


class Holder:
    """Another process holding the write lock until `release()`."""

    def __init__(self, queue):
        self.process = subprocess.Popen([sys.executable, "-c", _HOLDER, queue.path], stdin=subprocess.PIPE,
                                        stdout=subprocess.PIPE, text=True)
        assert self.process.stdout.readline().strip() == "held"

    def release(self):
        self.process.communicate("go\n", timeout=10)


@pytest.fixture
def queued(tmp_path):
    """(engine, queue): a SQLite file whose writers take turns, with a table to write to."""
    sqlite_only()
    engine = sa.create_engine(f"sqlite:///{tmp_path}/queue.sqlite", connect_args={"timeout": 0.5})
    metadata.create_all(engine)
    queue = write_queue.install(engine, wait_seconds=0.5)
    yield engine, queue
    engine.dispose()


def write_in_thread(engine, text):
    """Insert and commit in a thread of its own; returns (thread, done event, errors)."""
    done, errors = threading.Event(), []

    def write():
        try:
            with engine.begin() as connection:
                connection.execute(notes.insert().values(text=text))
        except Exception as error:  # noqa: BLE001  reported to the test
            errors.append(error)
        done.set()

    thread = threading.Thread(target=write)
    thread.start()
    return thread, done, errors


def test_a_write_holds_the_turn_until_its_commit_has_returned(tmp_path):
    sqlite_only()
    engine = sa.create_engine(f"sqlite:///{tmp_path}/queue.sqlite")
    metadata.create_all(engine)
    seen_after_commit = []
    driver_commit = engine.dialect.do_commit

    def commit_then_look(dbapi_connection):  # the driver's COMMIT, then another process tries the lock
        driver_commit(dbapi_connection)
        seen_after_commit.append(free_elsewhere(queue))

    engine.dialect.do_commit = commit_then_look
    queue = write_queue.install(engine, wait_seconds=0.5)
    with engine.connect() as connection:
        connection.execute(notes.insert().values(text="one"))
        assert queue.held() and not free_elsewhere(queue)
        connection.commit()
        assert seen_after_commit == [False]  # still held while the COMMIT ran
        assert not queue.held() and free_elsewhere(queue)
    engine.dispose()


def test_reads_take_no_turn_and_the_queue_leaves_driver_reads_their_short_path(queued):
    engine, queue = queued
    # A statement listener would send every DriverRead through SQLAlchemy's Connection.
    assert not engine.dispatch.before_cursor_execute
    assert READ.first(engine, note_id=1) is None
    assert not queue.held() and free_elsewhere(queue)
    with engine.connect() as connection:
        assert connection.execute(sa.select(sa.func.count()).select_from(notes)).scalar() == 0
        assert not queue.held() and free_elsewhere(queue)


def test_a_rollback_a_connection_closed_mid_write_and_an_invalidated_one_give_the_turn_back(queued):
    engine, queue = queued
    with engine.connect() as connection:
        connection.execute(notes.insert().values(text="undone"))
        connection.rollback()
        assert not queue.held() and free_elsewhere(queue)
    with engine.connect() as connection:  # returned to the pool mid-transaction: the pool rolls it back
        connection.execute(notes.insert().values(text="abandoned"))
    assert not queue.held() and free_elsewhere(queue)
    with engine.connect() as connection:
        connection.execute(notes.insert().values(text="lost"))
        connection.invalidate()
    assert not queue.held() and free_elsewhere(queue)
    with engine.connect() as connection:
        assert connection.execute(sa.select(notes.c.text)).all() == []


def test_a_writer_waits_for_another_process_turn_and_writes_as_soon_as_it_ends(queued):
    engine, queue = queued
    queue.wait_seconds = 30
    holder = Holder(queue)
    thread, done, errors = write_in_thread(engine, "after the other")
    assert not done.wait(0.3)  # waiting its turn
    holder.release()
    assert done.wait(10) and errors == []
    thread.join()
    with engine.connect() as connection:
        assert connection.execute(sa.select(notes.c.text)).scalars().all() == ["after the other"]
    assert free_elsewhere(queue)


def test_a_writer_stops_waiting_after_the_busy_timeout_and_the_late_lock_is_let_go(queued):
    engine, queue = queued
    holder = Holder(queue)
    thread, done, errors = write_in_thread(engine, "without a turn")
    # The other process holds only the queue's lock, not SQLite's: after wait_seconds the
    # write goes on without a turn, and SQLite lets it through.
    assert done.wait(10) and errors == []
    thread.join()
    assert not queue.held()
    holder.release()
    # The helper thread still waiting gets the lock now, finds no one waiting, and lets it go.
    assert any(free_elsewhere(queue) for _ in range(50))
    with engine.connect() as connection:
        assert connection.execute(sa.select(notes.c.text)).scalars().all() == ["without a turn"]


def test_two_connections_of_one_process_never_wait_for_each_other_here(queued):
    # A per-connection lock would make the second writer of one thread wait forever for the
    # first; with the process's shared turn, SQLite answers it ("database is locked") instead.
    engine, queue = queued
    with engine.connect() as first:
        first.execute(notes.insert().values(text="first"))
        thread, done, errors = write_in_thread(engine, "second")
        assert done.wait(10), "the second writer of the process is stuck behind the first"
        thread.join()
        assert len(errors) == 1 and "locked" in str(errors[0])
        assert queue.held()  # still the first's
        first.commit()
    assert free_elsewhere(queue)


def test_a_forked_child_holds_none_of_its_parents_turn(queued):
    engine, queue = queued
    with engine.connect() as connection:
        connection.execute(notes.insert().values(text="parent's"))
        read, write = os.pipe()
        child = os.fork()
        if child == 0:  # the child: its own share would need the parent's lock, which it cannot have
            os.close(read)
            queue.wait_seconds = 0.2
            os.write(write, b"held" if queue.held() or queue.enter() else b"waited")
            os._exit(0)
        os.close(write)
        answer = os.read(read, 16)
        os.waitpid(child, 0)
        os.close(read)
        assert answer == b"waited"
        connection.commit()


def test_the_app_queues_sqlite_writers_for_as_long_as_sqlite_waits_and_leaves_no_turn_behind(make_app):
    sqlite_only()
    app = make_app()
    with app.app_context():
        queue = write_queue_of(db.engine)
        assert queue is not None and queue.wait_seconds == 30  # the app's SQLite busy timeout
    # Every step of a questionnaire, each saved in its own transaction (some by the step's own
    # UPDATE on a connection of its own), then the questionnaire sent.
    assert complete_intake(app.test_client()).status_code == 302
    assert not queue.held() and free_elsewhere(queue)
