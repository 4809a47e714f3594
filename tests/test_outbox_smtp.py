"""SMTP delivery against a real local server (aiosmtpd on 127.0.0.1), and servers that misbehave."""

import asyncio
import re
import socket
import sqlite3
import threading
from datetime import timedelta

import pytest
import sqlalchemy as sa
from aiosmtpd.controller import Controller

from booking.models import OutboxMessage
from booking.outbox.backends import SEND_DEADLINE_SECONDS, SMTPBackend, backend_from_config
from booking.outbox.sender import SenderPolicy, send_due
from tests.outbox_helpers import ENVELOPE, NOW, at, body_of, policy, queue


def free_port():
    """A TCP port nobody is listening on right now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class RefuseTwiceHandler:
    """Answers 451 (try later) to the first two messages, then accepts."""

    def __init__(self):
        self.attempts = 0
        self.accepted = []

    async def handle_DATA(self, server, session, envelope):
        self.attempts += 1
        if self.attempts <= 2:
            return "451 4.3.0 Mail server temporarily rejected message"
        self.accepted.append(envelope)
        return "250 2.0.0 OK"


@pytest.fixture
def smtp_server():
    """A local SMTP server that refuses twice, then accepts."""
    handler = RefuseTwiceHandler()
    controller = Controller(handler, hostname="127.0.0.1", port=free_port())
    controller.start()
    yield controller, handler
    controller.stop()


def test_smtp_refuses_twice_then_accepts_and_the_message_arrives_once(db, smtp_server):
    controller, handler = smtp_server
    [message_id] = queue(db.session, recipient="jordan@patient.example", subject="Your consultation")
    backend = SMTPBackend("127.0.0.1", controller.port, starttls=False, timeout=10)
    now = NOW
    outcomes = []
    for _ in range(5):  # more runs than needed: later ones must find nothing to send
        outcomes.append(send_due(db.session, backend=backend, envelope=ENVELOPE, policy=policy(max_tries=5),
                                 clock=at(now)))
        now += timedelta(hours=1)
    assert outcomes == [(0, 1), (0, 1), (1, 0), (0, 0), (0, 0)]
    assert handler.attempts == 3 and len(handler.accepted) == 1
    envelope = handler.accepted[0]
    assert envelope.rcpt_tos == ["jordan@patient.example"]
    assert b"Subject: Your consultation" in envelope.original_content
    row = db.session.get(OutboxMessage, message_id)
    assert (row.status, row.tries) == ("sent", 3)
    assert "451" in row.last_error  # the last failure stays visible after the success


class WatchingHandler:
    """Accepts every message; at each MAIL and QUIT notes which of the messages it has accepted
    the database already shows as sent (read on a connection of its own)."""

    def __init__(self, engine):
        self.engine = engine
        self.accepted, self.sessions, self.seen = [], set(), []

    def _note(self):
        with self.engine.connect() as connection:
            sent = set(connection.scalars(sa.select(OutboxMessage.id).where(OutboxMessage.status == "sent")))
        self.seen.append((list(self.accepted), sent))

    async def handle_MAIL(self, server, session, envelope, address, mail_options):
        self._note()
        envelope.mail_from = address
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        self.accepted.append(int(re.search(rb"<outbox-(\d+)-", envelope.original_content).group(1)))
        self.sessions.add(id(session))
        return "250 OK"

    async def handle_QUIT(self, server, session, envelope):
        self._note()
        return "221 Bye"


def test_a_batch_goes_on_one_connection_and_each_message_is_marked_sent_before_the_next_command(db):
    ids = queue(db.session, count=3)
    handler = WatchingHandler(db.engine)
    controller = Controller(handler, hostname="127.0.0.1", port=free_port())
    controller.start()
    try:
        backend = SMTPBackend("127.0.0.1", controller.port, starttls=False, timeout=10)
        assert send_due(db.session, backend=backend, envelope=ENVELOPE, policy=policy(), clock=at(NOW)) == (3, 0)
    finally:
        controller.stop()
    assert handler.accepted == ids and len(handler.sessions) == 1
    # Three MAILs and a QUIT; by each, every message the server had accepted was already marked
    # (committed): a sender killed then would send nothing twice.
    assert [accepted for accepted, _sent in handler.seen] == [[], ids[:1], ids[:2], ids]
    assert all(set(accepted) <= sent for accepted, sent in handler.seen)


class MarkWatchingHandler:
    """At DATA (the whole message is in, the server has not answered yet) notes, from connections
    of its own, the row's committed status and whether the sender has the mark executed but not
    committed (PostgreSQL: the sender's session idle in a transaction whose last statement set
    `sent_at`) or holds SQLite's write lock. Then answers `reply`."""

    def __init__(self, engine, reply):
        self.engine, self.reply, self.seen = engine, reply, []

    def _mark_open(self):
        if self.engine.dialect.name == "postgresql":
            with self.engine.connect() as connection:
                return connection.scalar(sa.text(
                    "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                    "AND pid <> pg_backend_pid() AND state = 'idle in transaction' "
                    "AND query LIKE 'UPDATE outbox_message SET%sent_at%'")) == 1
        # SQLite: taking the write lock at once, without waiting, fails while the sender holds it.
        other = sqlite3.connect(self.engine.url.database, timeout=0, isolation_level=None)
        try:
            other.execute("BEGIN IMMEDIATE")
            other.execute("ROLLBACK")
            return False
        except sqlite3.OperationalError:
            return True
        finally:
            other.close()

    async def handle_DATA(self, server, session, envelope):
        with self.engine.connect() as connection:
            status = connection.scalar(sa.select(OutboxMessage.status))
        self.seen.append((status, self._mark_open()))
        return self.reply


def send_one_through(handler, session):
    """Queue one message and send it to a local server answering with `handler`; (sent, failed)."""
    queue(session)
    controller = Controller(handler, hostname="127.0.0.1", port=free_port())
    controller.start()
    try:
        backend = SMTPBackend("127.0.0.1", controller.port, starttls=False, timeout=10)
        return send_due(session, backend=backend, envelope=ENVELOPE, policy=policy(), clock=at(NOW))
    finally:
        controller.stop()


def test_the_sent_mark_waits_over_the_send_uncommitted_on_postgres_and_not_at_all_on_sqlite(db):
    """PostgreSQL: the mark is executed before the final data and committed on the 250, so a
    sender killed after the 250 has only the COMMIT left to send. SQLite: nothing is marked and no
    write lock is held while the server has the message (other writers must not wait on a send)."""
    handler = MarkWatchingHandler(db.engine, "250 OK")
    assert send_one_through(handler, db.session) == (1, 0)
    assert handler.seen == [("sending", db.engine.dialect.name == "postgresql")]
    row = db.session.scalars(sa.select(OutboxMessage)).one()
    assert (row.status, row.body_text, row.sent_at) == ("sent", "", NOW)


def test_a_refusal_after_the_data_rolls_the_mark_back_and_records_the_failure(db):
    handler = MarkWatchingHandler(db.engine, "451 4.3.0 Try again later")
    assert send_one_through(handler, db.session) == (0, 1)
    assert handler.seen == [("sending", db.engine.dialect.name == "postgresql")]
    row = db.session.scalars(sa.select(OutboxMessage)).one()
    assert (row.status, row.tries, row.sent_at, row.claimed_by) == ("pending", 1, None, None)
    assert "451" in row.last_error and body_of(row) == "Hello"  # not erased: it is still to be sent


class SlowHandler:
    """Answers MAIL, RCPT and the data each after `pause` seconds: every reply well within the
    per-command timeout, the three together not within the send deadline."""

    def __init__(self, pause):
        self.pause = pause

    async def handle_MAIL(self, server, session, envelope, address, mail_options):
        await asyncio.sleep(self.pause)
        envelope.mail_from = address
        return "250 OK"

    async def handle_RCPT(self, server, session, envelope, address, options):
        await asyncio.sleep(self.pause)
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        await asyncio.sleep(self.pause)
        return "250 OK"


def test_a_server_slow_at_every_command_is_given_up_at_the_send_deadline(db):
    """Per command nothing times out (0.5 s of 2 s), but one message may not take more than the
    deadline in all (1 s here; SEND_DEADLINE_SECONDS in use): a sender's lease must outlast it."""
    [message_id] = queue(db.session)
    controller = Controller(SlowHandler(0.5), hostname="127.0.0.1", port=free_port())
    controller.start()
    try:
        backend = SMTPBackend("127.0.0.1", controller.port, starttls=False, timeout=2, send_deadline=1)
        assert send_due(db.session, backend=backend, envelope=ENVELOPE, policy=policy(), clock=at(NOW)) == (0, 1)
    finally:
        controller.stop()
    row = db.session.get(OutboxMessage, message_id)
    assert (row.status, row.tries) == ("pending", 1) and "timed out" in row.last_error


def test_the_default_lease_outlasts_the_longest_smtp_send(app):
    backend = backend_from_config({**app.config, "MAIL_SMTP_HOST": "mail.example"}, app.instance_path)
    assert backend.send_deadline == SEND_DEADLINE_SECONDS
    assert SenderPolicy.from_config(app.config).claim_timeout_seconds >= 2 * backend.send_deadline


class MisbehavingServer:
    """A TCP server that either closes every connection at once or never says anything."""

    def __init__(self, mode):
        self.mode = mode
        self.socket = socket.socket()
        self.socket.bind(("127.0.0.1", 0))
        self.socket.listen()
        self.port = self.socket.getsockname()[1]
        self.connections = []
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self):
        while True:
            try:
                connection, _ = self.socket.accept()
            except OSError:
                return
            if self.mode == "close":
                connection.close()
            else:
                self.connections.append(connection)  # hold it open, silent

    def stop(self):
        self.socket.close()
        for connection in self.connections:
            connection.close()


@pytest.mark.parametrize("mode, error_name", [("close", "SMTPServerDisconnected"), ("silent", "timed out")])
def test_a_server_that_hangs_up_or_times_out_leaves_the_message_pending_with_the_error(db, mode, error_name):
    server = MisbehavingServer(mode)
    try:
        [message_id] = queue(db.session)
        backend = SMTPBackend("127.0.0.1", server.port, starttls=False, timeout=0.5)
        assert send_due(db.session, backend=backend, envelope=ENVELOPE, policy=policy(), clock=at(NOW)) == (0, 1)
    finally:
        server.stop()
    row = db.session.get(OutboxMessage, message_id)
    assert row.status == "pending" and row.tries == 1
    assert error_name.lower() in row.last_error.lower()


def test_no_smtp_server_at_all_is_a_retryable_error(db):
    [message_id] = queue(db.session)
    backend = SMTPBackend("127.0.0.1", free_port(), starttls=False, timeout=2)
    assert send_due(db.session, backend=backend, envelope=ENVELOPE, policy=policy(), clock=at(NOW)) == (0, 1)
    assert "ConnectionRefusedError" in db.session.get(OutboxMessage, message_id).last_error


def test_starttls_required_but_not_offered_sends_nothing_in_the_clear(db, smtp_server):
    controller, handler = smtp_server
    queue(db.session)
    backend = SMTPBackend("127.0.0.1", controller.port, starttls=True, timeout=10)
    assert send_due(db.session, backend=backend, envelope=ENVELOPE, policy=policy(), clock=at(NOW)) == (0, 1)
    assert handler.attempts == 0
    error = db.session.scalar(sa.select(OutboxMessage.last_error))
    assert "STARTTLS" in error or "starttls" in error.lower()
